// The web UI's listing queries (metadata/browse.h) on SQLite and PostgreSQL:
// repository summaries filtered and paged in SQL with an ACL callback, tag
// summaries, what deleting a tag frees, usage per namespace.
#include "metadata/browse.h"

#include <gtest/gtest.h>

#include "metadata_fixture.h"

namespace berth::metadata {
namespace {

class MetadataBrowseTest : public MetadataFixture {
 protected:
  // A repository holding one image (its own config and layer, 10 bytes each) tagged `tag`.
  BuiltManifest Push(const std::string& repo, const std::string& tag, const std::string& seed,
                     const std::vector<oci::Digest>& shared = {}) {
    std::vector<oci::Digest> layers = {D(seed + " layer")};
    layers.insert(layers.end(), shared.begin(), shared.end());
    std::vector<oci::Digest> blobs = layers;
    blobs.push_back(D(seed + " config"));
    Link(repo, blobs);
    auto img = Image(D(seed + " config"), layers);
    EXPECT_TRUE(store_->PutManifest(repo, img.record, tag).ok());
    return img;
  }

  std::vector<std::string> Names(const RepositoryPage& page) {
    std::vector<std::string> out;
    for (const auto& r : page.items) out.push_back(r.name);
    return out;
  }

  static bool All(const std::string&) { return true; }
};

TEST_P(MetadataBrowseTest, NameFilterParsesPrefixAndSubstring) {
  EXPECT_FALSE(NameFilter::Parse("App").prefix);
  EXPECT_EQ(NameFilter::Parse("App").text, "app");
  EXPECT_TRUE(NameFilter::Parse("^team/").prefix);
  EXPECT_EQ(NameFilter::Parse("^team/").text, "team/");
  EXPECT_FALSE(NameFilter::Parse("^").prefix);
}

TEST_P(MetadataBrowseTest, ListsRepositoriesWithManifestsInCatalogOrderWithTheirFigures) {
  Push("a/two", "v1", "two");
  Push("a/two", "v2", "two b");
  Push("a-b", "latest", "ab");
  Push("a/one", "latest", "one");
  Link("blobs/only", {D("lonely")});  // a push in progress: not listed
  auto page = ListRepositorySummaries(*pool_, NameFilter::Parse(""), "", 50, All);
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(Names(*page), (std::vector<std::string>{"a/one", "a/two", "a-b"}));
  EXPECT_EQ(page->next, "");
  EXPECT_EQ(page->items[1].tag_count, 2);
  EXPECT_EQ(page->items[1].size, 40);  // four linked blobs of 10 bytes
  EXPECT_EQ(page->items[1].last_pushed_at, now_);
}

TEST_P(MetadataBrowseTest, FiltersBySubstringAndPrefixInTheDatabase) {
  for (const char* name : {"team/app", "team/web", "teamx/app", "other/team", "tea"}) Push(name, "v1", name);
  auto sub = ListRepositorySummaries(*pool_, NameFilter::Parse("APP"), "", 50, All);
  ASSERT_TRUE(sub.ok()) << sub.status().message();
  EXPECT_EQ(Names(*sub), (std::vector<std::string>{"team/app", "teamx/app"}));
  auto prefix = ListRepositorySummaries(*pool_, NameFilter::Parse("^team/"), "", 50, All);
  ASSERT_TRUE(prefix.ok()) << prefix.status().message();
  EXPECT_EQ(Names(*prefix), (std::vector<std::string>{"team/app", "team/web"}));
  auto exact = ListRepositorySummaries(*pool_, NameFilter::Parse("^tea"), "", 50, All);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(Names(*exact), (std::vector<std::string>{"tea", "team/app", "team/web", "teamx/app"}));
  // LIKE's wildcards are literal text in a filter.
  auto wildcard = ListRepositorySummaries(*pool_, NameFilter::Parse("%"), "", 50, All);
  ASSERT_TRUE(wildcard.ok());
  EXPECT_TRUE(wildcard->items.empty());
}

TEST_P(MetadataBrowseTest, PagesAndAsksTheCallerWhatIsVisible) {
  for (int i = 0; i < 30; ++i) Push("r/" + std::to_string(100 + i), "v1", std::to_string(i));
  // Only the even ones are visible: pages still fill up.
  auto even = [](const std::string& name) { return (name.back() - '0') % 2 == 0; };
  std::vector<std::string> seen;
  std::string last;
  for (int guard = 0; guard < 20; ++guard) {
    auto page = ListRepositorySummaries(*pool_, NameFilter::Parse(""), last, 4, even);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const auto& r : page->items) seen.push_back(r.name);
    if (page->next.empty()) break;
    EXPECT_EQ(page->items.size(), 4u);
    last = page->next;
  }
  ASSERT_EQ(seen.size(), 15u);
  EXPECT_EQ(seen.front(), "r/100");
  EXPECT_EQ(seen.back(), "r/128");
  // A bound on the names looked at per call: the page ends early and says where to go on.
  auto bounded = ListRepositorySummaries(*pool_, NameFilter::Parse(""), "", 10, even, 5);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->items.size(), 3u);
  EXPECT_EQ(bounded->next, "r/104");
}

TEST_P(MetadataBrowseTest, ListsTagsWithTheirManifestsAndSizes) {
  Push("team/app", "v2", "b");
  auto v1 = Push("team/app", "v1", "a");
  auto tags = ListTagSummaries(*pool_, "team/app", "", "", 1);
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  ASSERT_EQ(tags->items.size(), 1u);
  EXPECT_EQ(tags->items[0].name, "v1");
  EXPECT_EQ(tags->items[0].digest, v1.digest.str());
  EXPECT_EQ(tags->items[0].media_type, oci::media::kOciManifest);
  EXPECT_EQ(tags->items[0].size, 20);
  EXPECT_EQ(tags->next, "v1");
  auto rest = ListTagSummaries(*pool_, "team/app", "", "v1", 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].name, "v2");
  EXPECT_EQ(rest->next, "");
  auto filtered = ListTagSummaries(*pool_, "team/app", "2", "", 10);
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->items.size(), 1u);
  EXPECT_EQ(ListTagSummaries(*pool_, "nope", "", "", 10).status().code(), StatusCode::kNotFound);
}

TEST_P(MetadataBrowseTest, AnIndexSizeCountsItsChildrensBlobsOnce) {
  const oci::Digest shared = D("shared layer");
  auto amd = Push("multi", "", "amd", {shared});
  auto arm = Push("multi", "", "arm", {shared});
  auto index = Index({amd.digest, arm.digest});
  ASSERT_TRUE(store_->PutManifest("multi", index.record, "v1").ok());
  auto tags = ListTagSummaries(*pool_, "multi", "", "", 10);
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  ASSERT_EQ(tags->items.size(), 1u);
  EXPECT_EQ(tags->items[0].size, 50);  // 2 configs + 2 layers + the shared one, 10 bytes each
}

TEST_P(MetadataBrowseTest, EstimatesWhatDeletingATagFrees) {
  const oci::Digest shared = D("shared layer");
  auto one = Push("team/app", "v1", "one", {shared});
  Push("team/app", "v2", "two", {shared});
  auto e = EstimateTagDeletion(*pool_, "team/app", "v1");
  ASSERT_TRUE(e.ok()) << e.status().message();
  // Its config and own layer (10 each) and its manifest's bytes; not the shared layer.
  EXPECT_EQ(e->blobs, 3);
  EXPECT_EQ(e->bytes, 20 + static_cast<int64_t>(one.body.size()));
  EXPECT_EQ(e->other_tags, 0);
  // Another tag keeps the manifest: nothing is freed.
  ASSERT_TRUE(store_->PutManifest("team/app", one.record, "stable").ok());
  auto kept = EstimateTagDeletion(*pool_, "team/app", "v1");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->other_tags, 1);
  EXPECT_EQ(kept->bytes, 0);
  EXPECT_EQ(EstimateTagDeletion(*pool_, "team/app", "nope").status().code(), StatusCode::kNotFound);
}

TEST_P(MetadataBrowseTest, SumsUsagePerNamespaceOfVisibleRepositories) {
  Push("team/a", "v1", "a");
  Push("team/b", "v1", "b");
  Push("solo", "v1", "s");
  Push("hidden/x", "v1", "x");
  auto usage = UsageByNamespace(*pool_, [](const std::string& n) { return n.rfind("hidden/", 0) != 0; });
  ASSERT_TRUE(usage.ok()) << usage.status().message();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0].name, "");
  EXPECT_EQ((*usage)[0].repositories, 1);
  EXPECT_EQ((*usage)[1].name, "team");
  EXPECT_EQ((*usage)[1].repositories, 2);
  EXPECT_EQ((*usage)[1].bytes, 40);
  auto totals = StoreTotalsOf(*pool_);
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->repositories, 4);
  EXPECT_GE(totals->blobs, 8);
}

INSTANTIATE_TEST_SUITE_P(Engines, MetadataBrowseTest, ::testing::ValuesIn(kTestEngines), EngineName);

}  // namespace
}  // namespace berth::metadata
