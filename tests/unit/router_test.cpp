#include "registry/router.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace berth::registry {

std::ostream& operator<<(std::ostream& os, Endpoint e) {
  switch (e) {
    case Endpoint::kNotFound: return os << "kNotFound";
    case Endpoint::kBase: return os << "kBase";
    case Endpoint::kCatalog: return os << "kCatalog";
    case Endpoint::kTags: return os << "kTags";
    case Endpoint::kManifest: return os << "kManifest";
    case Endpoint::kBlob: return os << "kBlob";
    case Endpoint::kUploadStart: return os << "kUploadStart";
    case Endpoint::kUpload: return os << "kUpload";
    case Endpoint::kReferrers: return os << "kReferrers";
  }
  return os << "Endpoint(" << static_cast<int>(e) << ")";
}

namespace {

using Segs = std::vector<std::string>;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kUuid = "0f2b6c0e-7d2c-4c57-9d0e-0123456789ab";

// "/v2/a/b/" -> {"v2", "a", "b", ""}, as boost::urls::segments() yields them.
Segs Split(std::string_view path) {
  Segs out;
  if (path.empty()) return out;
  if (path.front() == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

void ExpectRoute(const Segs& segs, Endpoint endpoint, const std::string& name, const std::string& arg) {
  std::string where;
  for (const auto& s : segs) where += "/" + s;
  Route r = MatchRoute(segs);
  EXPECT_EQ(r.endpoint, endpoint) << where;
  EXPECT_EQ(r.name, name) << where;
  EXPECT_EQ(r.arg, arg) << where;
}

void ExpectRoute(std::string_view path, Endpoint endpoint, const std::string& name, const std::string& arg) {
  ExpectRoute(Split(path), endpoint, name, arg);
}

void ExpectNotFound(const Segs& segs) { ExpectRoute(segs, Endpoint::kNotFound, "", ""); }
void ExpectNotFound(std::string_view path) { ExpectNotFound(Split(path)); }

TEST(RouterTest, SplitHelperMatchesUrlSegments) {
  EXPECT_EQ(Split("/v2/"), (Segs{"v2", ""}));
  EXPECT_EQ(Split("/v2"), (Segs{"v2"}));
  EXPECT_EQ(Split("/v2/a/b/"), (Segs{"v2", "a", "b", ""}));
}

TEST(RouterTest, Base) {
  ExpectRoute(Segs{"v2", ""}, Endpoint::kBase, "", "");
  ExpectRoute(Segs{"v2"}, Endpoint::kBase, "", "");
}

TEST(RouterTest, Catalog) {
  ExpectRoute(Segs{"v2", "_catalog"}, Endpoint::kCatalog, "", "");
  ExpectNotFound(Segs{"v2", "_catalog", ""});
  ExpectNotFound(Segs{"v2", "_catalog", "x"});
  ExpectNotFound(Segs{"v2", "catalog"});
}

TEST(RouterTest, TagsList) {
  ExpectRoute("/v2/library/ubuntu/tags/list", Endpoint::kTags, "library/ubuntu", "list");
  ExpectRoute("/v2/a/tags/list", Endpoint::kTags, "a", "list");
  ExpectNotFound("/v2/a/tags/");
  ExpectNotFound("/v2/a/tags/lists");
  ExpectNotFound("/v2/a/tags/list/");
  ExpectNotFound("/v2/tags/list");  // no repository name
}

TEST(RouterTest, Manifests) {
  ExpectRoute("/v2/library/ubuntu/manifests/latest", Endpoint::kManifest, "library/ubuntu", "latest");
  ExpectRoute("/v2/a/manifests/" + kDigest, Endpoint::kManifest, "a", kDigest);
  // The reference is unvalidated here.
  ExpectRoute("/v2/a/manifests/", Endpoint::kManifest, "a", "");
  ExpectNotFound("/v2/manifests/latest");
}

TEST(RouterTest, Blobs) {
  ExpectRoute("/v2/library/ubuntu/blobs/" + kDigest, Endpoint::kBlob, "library/ubuntu", kDigest);
  ExpectRoute("/v2/a/blobs/not-a-digest", Endpoint::kBlob, "a", "not-a-digest");
  ExpectNotFound("/v2/blobs/" + kDigest);
}

TEST(RouterTest, UploadStartWithTrailingSlash) {
  Route r = MatchRoute(Split("/v2/library/ubuntu/blobs/uploads/"));
  EXPECT_EQ(r.endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(r.name, "library/ubuntu");
  EXPECT_EQ(r.arg, "");
  Route s = MatchRoute(Split("/v2/a/blobs/uploads/"));
  EXPECT_EQ(s.endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(s.name, "a");
}

TEST(RouterTest, UploadStartWithoutTrailingSlash) {
  Route r = MatchRoute(Split("/v2/library/ubuntu/blobs/uploads"));
  EXPECT_EQ(r.endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(r.name, "library/ubuntu");
  Route s = MatchRoute(Split("/v2/a/blobs/uploads"));
  EXPECT_EQ(s.endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(s.name, "a");
}

TEST(RouterTest, UploadById) {
  ExpectRoute("/v2/library/ubuntu/blobs/uploads/" + kUuid, Endpoint::kUpload, "library/ubuntu", kUuid);
  ExpectRoute("/v2/a/blobs/uploads/" + kUuid, Endpoint::kUpload, "a", kUuid);
  // The id is unvalidated here.
  ExpectRoute("/v2/a/blobs/uploads/xyz", Endpoint::kUpload, "a", "xyz");
  ExpectNotFound("/v2/blobs/uploads/" + kUuid);
  ExpectNotFound("/v2/blobs/uploads/");
}

TEST(RouterTest, Referrers) {
  ExpectRoute("/v2/library/ubuntu/referrers/" + kDigest, Endpoint::kReferrers, "library/ubuntu", kDigest);
  ExpectRoute("/v2/a/referrers/" + kDigest, Endpoint::kReferrers, "a", kDigest);
  ExpectNotFound("/v2/referrers/" + kDigest);
}

TEST(RouterTest, NestedNames) {
  ExpectRoute("/v2/a/b/c/manifests/v1", Endpoint::kManifest, "a/b/c", "v1");
  ExpectRoute("/v2/a/b/c/blobs/" + kDigest, Endpoint::kBlob, "a/b/c", kDigest);
  ExpectRoute("/v2/a/b/c/tags/list", Endpoint::kTags, "a/b/c", "list");
  ExpectRoute("/v2/a/b/c/blobs/uploads/", Endpoint::kUploadStart, "a/b/c", "");
  ExpectRoute("/v2/a/b/c/blobs/uploads/" + kUuid, Endpoint::kUpload, "a/b/c", kUuid);
  ExpectRoute("/v2/a/b/c/referrers/" + kDigest, Endpoint::kReferrers, "a/b/c", kDigest);
  ExpectRoute("/v2/a/b/c/d/e/f/g/manifests/latest", Endpoint::kManifest, "a/b/c/d/e/f/g", "latest");
  Route r = MatchRoute(Split("/v2/a/b/c/blobs/uploads"));
  EXPECT_EQ(r.endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(r.name, "a/b/c");
}

TEST(RouterTest, NamesContainingEndpointWords) {
  ExpectRoute("/v2/a/blobs/b/blobs/" + kDigest, Endpoint::kBlob, "a/blobs/b", kDigest);
  ExpectRoute("/v2/x/manifests/y/manifests/latest", Endpoint::kManifest, "x/manifests/y", "latest");
  ExpectRoute("/v2/a/blobs/b/manifests/latest", Endpoint::kManifest, "a/blobs/b", "latest");
  ExpectRoute("/v2/x/manifests/y/blobs/" + kDigest, Endpoint::kBlob, "x/manifests/y", kDigest);
  ExpectRoute("/v2/tags/list/tags/list", Endpoint::kTags, "tags/list", "list");
  ExpectRoute("/v2/referrers/manifests/latest", Endpoint::kManifest, "referrers", "latest");
  ExpectRoute("/v2/manifests/blobs/" + kDigest, Endpoint::kBlob, "manifests", kDigest);
  ExpectRoute("/v2/blobs/uploads/blobs/" + kDigest, Endpoint::kBlob, "blobs/uploads", kDigest);
  ExpectRoute("/v2/a/blobs/uploads/blobs/uploads/" + kUuid, Endpoint::kUpload, "a/blobs/uploads", kUuid);
  ExpectRoute("/v2/v2/manifests/latest", Endpoint::kManifest, "v2", "latest");
  ExpectRoute("/v2/_catalog/manifests/latest", Endpoint::kManifest, "_catalog", "latest");
  ExpectRoute("/v2/a/blobs/uploads/blobs/uploads/", Endpoint::kUploadStart, "a/blobs/uploads", "");
}

TEST(RouterTest, UnknownPaths) {
  ExpectNotFound("/v2/a");
  ExpectNotFound("/v2/a/b");
  ExpectNotFound("/v2/a/b/c");
  ExpectNotFound("/v2/a/foo/bar");
  ExpectNotFound("/v2/a/tags/foo");
  ExpectNotFound("/v2/a/manifest/latest");
  ExpectNotFound("/v2/a/blob/" + kDigest);
  ExpectNotFound("/v2/a/uploads/" + kUuid);
  ExpectNotFound("/v2/a/b/c/");
  ExpectNotFound("/v2/foo");
  ExpectNotFound(Segs{"v2", "", ""});
  ExpectNotFound(Segs{"v2", "a", ""});
}

TEST(RouterTest, NonV2Prefixes) {
  ExpectNotFound(Segs{});
  ExpectNotFound(Segs{""});
  ExpectNotFound("/");
  ExpectNotFound("/v1/");
  ExpectNotFound("/V2/");
  ExpectNotFound("/v2x/");
  ExpectNotFound("/v1/a/manifests/latest");
  ExpectNotFound("/v3/a/blobs/" + kDigest);
  ExpectNotFound("/api/v2/a/manifests/latest");
  ExpectNotFound("/a/v2/manifests/latest");
  ExpectNotFound("/_catalog");
  ExpectNotFound("/token");
  ExpectNotFound(Segs{"", "v2", ""});
}

TEST(RouterTest, SegmentsAreTakenVerbatim) {
  // Segments are already percent-decoded; a decoded '/' stays inside its segment.
  ExpectRoute(Segs{"v2", "a/b", "manifests", "latest"}, Endpoint::kManifest, "a/b", "latest");
  ExpectRoute(Segs{"v2", "..", "manifests", "latest"}, Endpoint::kManifest, "..", "latest");
  ExpectRoute(Segs{"v2", "", "manifests", "latest"}, Endpoint::kManifest, "", "latest");
}

}  // namespace
}  // namespace berth::registry
