// What policies (docs/policies.md) read and guard in the metadata database, on
// both engines: the tag guard under the repository lock (immutable tags), a
// quota's usage (distinct blobs), the governed repositories by name prefix, and
// a repository's contents for retention.
#include <gtest/gtest.h>

#include <algorithm>

#include "metadata_fixture.h"
#include "policy/quota.h"

namespace berth::metadata {
namespace {

class PolicyMetadataTest : public MetadataFixture {};

// Refuses moving any tag the guard is shown (a stand-in for an immutable rule).
MetadataStore::TagGuard RefuseMoving(const std::string& digest, std::vector<TagInfo>* seen) {
  return [digest, seen](const std::vector<TagInfo>& tags) -> Status {
    *seen = tags;
    for (const auto& t : tags) {
      if (t.digest != digest) return Status(StatusCode::kAlreadyExists, "immutable");
    }
    return Status::Ok();
  };
}

TEST_P(PolicyMetadataTest, TagGuardSeesTheTagAsItIsAndStopsTheWrite) {
  const auto config = D("c"), layer = D("l"), layer2 = D("l2");
  Link("imm/app", {config, layer, layer2});
  auto a = Image(config, {layer});
  auto b = Image(config, {layer2});
  int stored = 0;
  std::function<Status()> store = [&] {
    ++stored;
    return Status::Ok();
  };
  std::vector<TagInfo> seen;
  ASSERT_TRUE(store_->PutManifest("imm/app", a.record, "v1", store, RefuseMoving(a.digest.str(), &seen)).ok());
  EXPECT_TRUE(seen.empty());  // a new tag: nothing to guard
  ASSERT_TRUE(store_->PutManifest("imm/app", a.record, "v1", store, RefuseMoving(a.digest.str(), &seen)).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].digest, a.digest.str());
  Status moved = store_->PutManifest("imm/app", b.record, "v1", store, RefuseMoving(b.digest.str(), &seen));
  EXPECT_EQ(moved.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(stored, 2);  // the refused write never reached storage
  EXPECT_EQ(store_->GetTag("imm/app", "v1")->digest, a.digest.str());
  // Deletes: the tag, and a manifest with the tags pointing at it.
  ASSERT_TRUE(store_->PutManifest("imm/app", a.record, "v2", store).ok());
  EXPECT_EQ(store_->DeleteTag("imm/app", "v1", store, RefuseMoving("", &seen)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->DeleteManifest("imm/app", a.digest.str(), store, RefuseMoving("", &seen)).code(),
            StatusCode::kAlreadyExists);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].name, "v1");
  EXPECT_EQ(seen[1].name, "v2");
  EXPECT_TRUE(store_->GetTag("imm/app", "v1").ok());
}

TEST_P(PolicyMetadataTest, UsageCountsDistinctBlobsAndManifestsOnce) {
  const auto x = D("x"), y = D("y"), z = D("z");
  Link("team/a", {x, y});
  Link("team/b", {x});
  Link("teamx/c", {z});
  Link("other", {z});
  auto img = Image(x, {y});
  ASSERT_TRUE(store_->PutManifest("team/a", img.record, "v1").ok());
  ASSERT_TRUE(store_->PutManifest("team/b", img.record, "v1").ok());  // x and y linked? y is not: references only
  auto names = store_->RepositoriesWithPrefix("team/");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(*names, (std::vector<std::string>{"team/a", "team/b"}));
  EXPECT_EQ(store_->RepositoriesWithPrefix("")->size(), 4u);
  auto usage = store_->StoredBytes({"team/a", "team/b"}, y.str());
  ASSERT_TRUE(usage.ok()) << usage.status().message();
  EXPECT_EQ(usage->bytes, 10 + 10 + img.record.size);  // x, y, the manifest: each once
  EXPECT_TRUE(usage->holds_digest);
  EXPECT_FALSE(store_->StoredBytes({"team/a", "team/b"}, z.str())->holds_digest);
  EXPECT_EQ(store_->StoredBytes({"nobody"})->bytes, 0);
  EXPECT_EQ(store_->StoredBytes({})->bytes, 0);

  // Through a policy: the first match decides which repositories it governs.
  auto cfg = config::ParseConfig(
      "policies:\n  - {name: \"team/b\"}\n  - {name: \"team/**\", quota: {bytes: 100}}\n", "p.yaml");
  ASSERT_TRUE(cfg.ok());
  auto set = policy::PolicySet::Compile(*cfg);
  ASSERT_TRUE(set.ok());
  auto governed = policy::GovernedRepositories(*store_, **set, (*set)->policies()[1]);
  EXPECT_EQ(*governed, (std::vector<std::string>{"team/a"}));
  auto fits = policy::CheckQuota(*store_, **set, "team/a", 1, "");
  ASSERT_TRUE(fits.ok());
  const int64_t used = 20 + img.record.size;
  EXPECT_EQ(fits->empty(), used + 1 <= 100) << *fits;
  auto over = policy::CheckQuota(*store_, **set, "team/new", 1000, "");
  ASSERT_TRUE(over.ok());
  EXPECT_NE(over->find("quota exceeded for team/**: "), std::string::npos) << *over;
  EXPECT_TRUE(policy::CheckQuota(*store_, **set, "team/a", 1000, x.str())->empty());  // already held: needs nothing
  EXPECT_TRUE(policy::CheckQuota(*store_, **set, "team/b", 1000, "")->empty());       // no quota there
}

TEST_P(PolicyMetadataTest, ContentsListTagsManifestsAndChildren) {
  const auto c = D("c"), l1 = D("l1"), l2 = D("l2");
  Link("r", {c, l1, l2});
  auto i1 = Image(c, {l1});
  auto i2 = Image(c, {l2});
  auto idx = Index({i1.digest, i2.digest});
  ASSERT_TRUE(store_->PutManifest("r", i1.record, "").ok());
  ASSERT_TRUE(store_->PutManifest("r", i2.record, "one").ok());
  ASSERT_TRUE(store_->PutManifest("r", idx.record, "multi").ok());
  auto contents = store_->GetRepositoryContents("r");
  ASSERT_TRUE(contents.ok()) << contents.status().message();
  ASSERT_EQ(contents->tags.size(), 2u);
  EXPECT_EQ(contents->tags[0].name, "multi");
  EXPECT_EQ(contents->tags[0].digest, idx.digest.str());
  EXPECT_EQ(contents->manifests.size(), 3u);
  auto children = contents->children;
  std::sort(children.begin(), children.end());
  std::vector<std::pair<std::string, std::string>> expected = {{idx.digest.str(), i1.digest.str()},
                                                               {idx.digest.str(), i2.digest.str()}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(children, expected);
  EXPECT_TRUE(store_->GetRepositoryContents("unknown")->tags.empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, PolicyMetadataTest, ::testing::ValuesIn(kTestEngines), EngineName);

}  // namespace
}  // namespace berth::metadata
