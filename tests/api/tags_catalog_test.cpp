// GET /v2/<name>/tags/list and GET /v2/_catalog, with n/last pagination.
#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

json Body(const ClientResponse& r) { return json::parse(r.body, nullptr, /*allow_exceptions=*/false); }

json Strings(std::initializer_list<const char*> items) {
  json a = json::array();
  for (const char* s : items) a.push_back(s);
  return a;
}

class TagsTest : public ServerSuite<TagsTest> {
 protected:
  // Tags `tags` (in this order) on one image in `repo`.
  void TagAll(const std::string& repo, std::initializer_list<const char*> tags) {
    Image img = MakeImage(client(), repo, repo);
    for (const char* t : tags) ASSERT_EQ(PutManifest(client(), repo, t, img.body).status, 201u) << t;
  }
};

TEST_F(TagsTest, ListsTagsSorted) {
  TagAll("tags/sorted", {"c", "a", "d", "b", "a1", "0.9"});
  auto r = Do(client(), "GET", "/v2/tags/sorted/tags/list");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Link"), "");
  json body = Body(r);
  EXPECT_EQ(body["name"], "tags/sorted");
  EXPECT_EQ(body["tags"], Strings({"0.9", "a", "a1", "b", "c", "d"}));
}

TEST_F(TagsTest, Pagination) {
  TagAll("tags/page", {"d", "c", "b", "a"});
  auto p1 = Do(client(), "GET", "/v2/tags/page/tags/list?n=2");
  ASSERT_EQ(p1.status, 200u);
  EXPECT_EQ(Body(p1)["tags"], Strings({"a", "b"}));
  EXPECT_EQ(p1.header("Link"), "</v2/tags/page/tags/list?n=2&last=b>; rel=\"next\"");

  // Follow the Link exactly as given.
  std::string next = p1.header("Link");
  next = next.substr(1, next.find('>') - 1);
  auto p2 = Do(client(), "GET", next);
  ASSERT_EQ(p2.status, 200u);
  EXPECT_EQ(Body(p2)["tags"], Strings({"c", "d"}));
  EXPECT_EQ(p2.header("Link"), "") << "no further page";

  auto after_last = Do(client(), "GET", "/v2/tags/page/tags/list?n=2&last=d");
  EXPECT_EQ(after_last.status, 200u);
  EXPECT_EQ(Body(after_last)["tags"], json::array());
  EXPECT_EQ(after_last.header("Link"), "");

  auto last_only = Do(client(), "GET", "/v2/tags/page/tags/list?last=a");
  EXPECT_EQ(Body(last_only)["tags"], Strings({"b", "c", "d"}));

  auto exact = Do(client(), "GET", "/v2/tags/page/tags/list?n=4");
  EXPECT_EQ(Body(exact)["tags"], Strings({"a", "b", "c", "d"}));
  EXPECT_EQ(exact.header("Link"), "");

  auto more = Do(client(), "GET", "/v2/tags/page/tags/list?n=100");
  EXPECT_EQ(Body(more)["tags"], Strings({"a", "b", "c", "d"}));
  EXPECT_EQ(more.header("Link"), "");

  auto between = Do(client(), "GET", "/v2/tags/page/tags/list?n=1&last=bb");
  EXPECT_EQ(Body(between)["tags"], Strings({"c"}));
  EXPECT_EQ(between.header("Link"), "</v2/tags/page/tags/list?n=1&last=c>; rel=\"next\"");
}

TEST_F(TagsTest, ZeroPageSizeIsEmptyWithoutLink) {
  TagAll("tags/zero", {"a", "b"});
  auto r = Do(client(), "GET", "/v2/tags/zero/tags/list?n=0");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Body(r)["tags"], json::array());
  EXPECT_EQ(r.header("Link"), "");
}

TEST_F(TagsTest, UnknownRepositoryIsNameUnknown) {
  auto r = Do(client(), "GET", "/v2/tags/never-pushed/tags/list");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(ErrorCode(r), "NAME_UNKNOWN");
}

TEST_F(TagsTest, RepositoryWithoutTagsListsNone) {
  Image img = MakeImage(client(), "tags/untagged", "untagged");
  ASSERT_EQ(PutManifest(client(), "tags/untagged", img.digest, img.body).status, 201u);
  auto r = Do(client(), "GET", "/v2/tags/untagged/tags/list");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Body(r)["tags"], json::array());
}

TEST_F(TagsTest, DeletedTagIsNotListed) {
  TagAll("tags/deleted", {"keep", "drop"});
  ASSERT_EQ(Do(client(), "DELETE", "/v2/tags/deleted/manifests/drop").status, 202u);
  auto r = Do(client(), "GET", "/v2/tags/deleted/tags/list");
  EXPECT_EQ(Body(r)["tags"], Strings({"keep"}));
}

TEST_F(TagsTest, InvalidPageSizeIs400WithSpecErrorCode) {
  TagAll("tags/badn", {"a"});
  for (const char* n : {"abc", "-1", "1.5"}) {
    auto r = Do(client(), "GET", std::string("/v2/tags/badn/tags/list?n=") + n);
    EXPECT_EQ(r.status, 400u) << n;
    // The distribution spec: "The code field MUST be one of the following" (code-1 .. code-14).
    EXPECT_TRUE(IsSpecErrorCode(ErrorCode(r))) << "n=" << n << ": " << r.body;
  }
}

// The catalog needs a registry of its own so that its contents are known exactly.
class CatalogTest : public ServerSuite<CatalogTest> {
 protected:
  void SetUp() override {
    ServerSuite::SetUp();
    if (HasFatalFailure() || seeded_) return;
    seeded_ = true;
    for (const char* repo : {"cat/b", "cat/a", "cat/a/nested", "cat/a/nested/deeper", "alpha", "zeta/x-y_z.w"}) {
      PushImage(client(), repo, "latest", repo);
    }
  }
  static inline bool seeded_ = false;
  static inline const json kAll =
      Strings({"alpha", "cat/a", "cat/a/nested", "cat/a/nested/deeper", "cat/b", "zeta/x-y_z.w"});
};

TEST_F(CatalogTest, ListsNestedRepositoriesSorted) {
  auto r = Do(client(), "GET", "/v2/_catalog");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(Body(r)["repositories"], kAll);
  EXPECT_EQ(r.header("Link"), "");
}

TEST_F(CatalogTest, PaginationVisitsEveryRepositoryOnce) {
  auto first = Do(client(), "GET", "/v2/_catalog?n=2");
  ASSERT_EQ(first.status, 200u);
  EXPECT_EQ(Body(first)["repositories"], Strings({"alpha", "cat/a"}));
  EXPECT_EQ(first.header("Link"), "</v2/_catalog?n=2&last=cat/a>; rel=\"next\"");

  json all = json::array();
  std::string target = "/v2/_catalog?n=2";
  for (int page = 0; page < 10 && !target.empty(); ++page) {
    auto r = Do(client(), "GET", target);
    ASSERT_EQ(r.status, 200u) << target;
    json repos = Body(r)["repositories"];
    EXPECT_LE(repos.size(), 2u);
    for (auto& x : repos) all.push_back(x);
    std::string link = r.header("Link");
    target = link.empty() ? "" : link.substr(1, link.find('>') - 1);
  }
  EXPECT_TRUE(target.empty()) << "pagination did not end";
  EXPECT_EQ(all, kAll);
}

TEST_F(CatalogTest, HugePageSizeIsClamped) {
  for (const char* n : {"100000", "99999999999999999999999999"}) {
    auto r = Do(client(), "GET", std::string("/v2/_catalog?n=") + n);
    EXPECT_EQ(r.status, 200u) << n << ": " << r.body;
    EXPECT_EQ(Body(r)["repositories"], kAll) << n;
  }
}

TEST_F(CatalogTest, LastSkipsAhead) {
  auto r = Do(client(), "GET", "/v2/_catalog?last=cat/a/nested/deeper");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Body(r)["repositories"], Strings({"cat/b", "zeta/x-y_z.w"}));
}

TEST_F(CatalogTest, ZeroPageSizeIsEmptyWithoutLink) {
  auto r = Do(client(), "GET", "/v2/_catalog?n=0");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Body(r)["repositories"], json::array());
  EXPECT_EQ(r.header("Link"), "");
}

// The catalog comes from the metadata database in distribution's order, which
// compares names component by component ('/' below every other character):
// "a/b" before "a-b" and "a_b" -- byte order would put "a-b" first.
class CatalogOrderTest : public ServerSuite<CatalogOrderTest> {};

TEST_F(CatalogOrderTest, DistributionOrderAcrossPagesAndOnlyRepositoriesWithManifests) {
  for (const char* repo : {"a_b", "a-b", "a/b", "a", "a/b/c", "a.b"}) PushImage(client(), repo, "v1", repo);
  PushBlob(client(), "a/blobs-only", "a layer whose manifest never came");  // not listed, as in distribution
  const json want = Strings({"a", "a/b", "a/b/c", "a-b", "a.b", "a_b"});
  auto all = Do(client(), "GET", "/v2/_catalog");
  ASSERT_EQ(all.status, 200u) << all.body;
  EXPECT_EQ(Body(all)["repositories"], want);

  json paged = json::array();
  std::string target = "/v2/_catalog?n=1";
  for (int page = 0; page < 10 && !target.empty(); ++page) {
    auto r = Do(client(), "GET", target);
    ASSERT_EQ(r.status, 200u) << target;
    json repos = Body(r)["repositories"];
    EXPECT_EQ(repos.size(), 1u) << target;
    for (auto& x : repos) paged.push_back(x);
    std::string link = r.header("Link");
    target = link.empty() ? "" : link.substr(1, link.find('>') - 1);
  }
  EXPECT_EQ(paged, want);
  // A `last` that is no repository lands where distribution's comparison puts it.
  auto after = Do(client(), "GET", "/v2/_catalog?last=a/zzz");
  EXPECT_EQ(Body(after)["repositories"], Strings({"a-b", "a.b", "a_b"}));
}

}  // namespace
}  // namespace berth::apitest
