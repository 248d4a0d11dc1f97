// MetadataStore on SQLite and on PostgreSQL (the same tests, by engine): every operation, keyset pagination edge cases,
// hostile names, batched pull times and the queries garbage collection uses.
#include "metadata/metadata_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "metadata_fixture.h"

namespace berth::metadata {
namespace {

// distribution's catalog order (registry/storage/catalog.go, lessPath): byte
// order with '/' compared as NUL, i.e. component by component.
bool DistributionLessPath(const std::string& a, const std::string& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == '/') x = 0;
    if (y == '/') y = 0;
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

class MetadataStoreTest : public MetadataFixture {
 protected:
  // Pages through the catalog `n` at a time; every page but the last says more.
  std::vector<std::string> WalkCatalog(size_t n) {
    std::vector<std::string> all;
    std::string last;
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = store_->ListCatalog(n, last);
      EXPECT_TRUE(page.ok()) << page.status().message();
      if (!page.ok()) break;
      all.insert(all.end(), page->items.begin(), page->items.end());
      if (!page->more) break;
      EXPECT_FALSE(page->items.empty());
      last = page->items.back();
    }
    return all;
  }

  oci::Digest config_ = D("config"), layer_ = D("layer"), other_ = D("other layer");
};

TEST_P(MetadataStoreTest, PutManifestRecordsItsReferencesAndTag) {
  Link("team/app", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("team/app", img.record, "v1").ok());

  auto m = store_->GetManifest("team/app", img.digest.str());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, oci::media::kOciManifest);
  EXPECT_EQ(m->size, static_cast<int64_t>(img.body.size()));
  EXPECT_EQ(m->config, config_.str());
  EXPECT_EQ(m->created_at, now_);
  EXPECT_EQ(m->pushed_at, now_);
  EXPECT_FALSE(m->last_pulled_at);
  auto blobs = store_->ManifestBlobs("team/app", img.digest.str());
  std::vector<std::string> want{config_.str(), layer_.str()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*blobs, want);

  auto tag = store_->GetTag("team/app", "v1");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(tag->digest, img.digest.str());
  auto tags = store_->ListTags("team/app", 100, "");
  EXPECT_EQ(tags->items, (std::vector<std::string>{"v1"}));
  auto repo = store_->GetRepository("team/app");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->created_at, now_);
}

TEST_P(MetadataStoreTest, PutManifestNeedsItsBlobsAndWritesNothingOtherwise) {
  Link("team/app", {config_});  // the layer was never uploaded
  auto img = Image(config_, {layer_});
  Status s = store_->PutManifest("fresh/repo", img.record, "v1");
  ASSERT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(layer_.str()), std::string::npos);
  EXPECT_TRUE(store_->GetRepository("fresh/repo").status().IsNotFound());  // the transaction rolled back
  EXPECT_TRUE(store_->GetManifest("fresh/repo", img.digest.str()).status().IsNotFound());
}

TEST_P(MetadataStoreTest, ForeignLayersNeedNotBeStoredButAreReferencedWhenTheyAre) {
  Link("a", {config_});
  const oci::Digest foreign = D("foreign"), foreign_stored = D("foreign but stored");
  Link("b", {foreign_stored});
  auto img = Image(config_, {}, nullptr, "", nullptr, {foreign, foreign_stored});
  ASSERT_TRUE(store_->PutManifest("a", img.record, "").ok());
  auto blobs = store_->ManifestBlobs("a", img.digest.str());
  EXPECT_EQ(blobs->size(), 2u);  // config and the stored foreign layer
  EXPECT_NE(std::find(blobs->begin(), blobs->end(), foreign_stored.str()), blobs->end());
}

TEST_P(MetadataStoreTest, RetagMovesTheTagAndRepushKeepsCreatedAt) {
  Link("r", {config_, layer_, other_});
  auto one = Image(config_, {layer_});
  auto two = Image(config_, {other_});
  ASSERT_TRUE(store_->PutManifest("r", one.record, "latest").ok());
  now_ += 1000;
  ASSERT_TRUE(store_->PutManifest("r", two.record, "latest").ok());
  EXPECT_EQ(store_->GetTag("r", "latest")->digest, two.digest.str());
  EXPECT_EQ(store_->GetTag("r", "latest")->pushed_at, now_);
  now_ += 1000;
  ASSERT_TRUE(store_->PutManifest("r", one.record, "").ok());
  auto m = store_->GetManifest("r", one.digest.str());
  EXPECT_EQ(m->created_at, now_ - 2000);
  EXPECT_EQ(m->pushed_at, now_);
  EXPECT_EQ(store_->GetRepository("r")->last_pushed_at, now_);
}

TEST_P(MetadataStoreTest, DeleteTagKeepsTheManifest) {
  Link("r", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  EXPECT_TRUE(store_->DeleteTag("r", "v2").IsNotFound());
  EXPECT_TRUE(store_->DeleteTag("nope", "v1").IsNotFound());
  ASSERT_TRUE(store_->DeleteTag("r", "v1").ok());
  EXPECT_TRUE(store_->GetTag("r", "v1").status().IsNotFound());
  EXPECT_TRUE(store_->GetManifest("r", img.digest.str()).ok());
  EXPECT_TRUE(store_->ListTags("r", 10, "")->items.empty());
}

TEST_P(MetadataStoreTest, DeleteManifestTakesItsTagsAndReferences) {
  Link("r", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v2").ok());
  ASSERT_TRUE(store_->DeleteManifest("r", img.digest.str()).ok());
  EXPECT_TRUE(store_->DeleteManifest("r", img.digest.str()).IsNotFound());
  EXPECT_TRUE(store_->DeleteManifest("nope", img.digest.str()).IsNotFound());
  EXPECT_TRUE(store_->ListTags("r", 10, "")->items.empty());
  EXPECT_EQ(Sql("SELECT count(*) FROM manifest_blobs").rows[0].Int(0), 0);
  // The links remain, so the repository does.
  EXPECT_EQ(store_->ListCatalog(10, "")->items, (std::vector<std::string>{"r"}));
}

TEST_P(MetadataStoreTest, EmptiedRepositoryLeavesTheCatalog) {
  Link("lib", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("other", img.record, "v1").ok());  // a repository with a manifest, no links
  EXPECT_EQ(store_->ListCatalog(10, "")->items, (std::vector<std::string>{"lib", "other"}));
  ASSERT_TRUE(store_->DeleteManifest("other", img.digest.str()).ok());
  EXPECT_EQ(store_->ListCatalog(10, "")->items, (std::vector<std::string>{"lib"}));
  EXPECT_TRUE(store_->ListTags("other", 10, "").status().IsNotFound());

  ASSERT_TRUE(store_->UnlinkBlob("lib", config_.str()).ok());
  EXPECT_TRUE(store_->UnlinkBlob("lib", config_.str()).IsNotFound());
  EXPECT_EQ(store_->ListCatalog(10, "")->items, (std::vector<std::string>{"lib"}));
  ASSERT_TRUE(store_->UnlinkBlob("lib", layer_.str()).ok());
  EXPECT_TRUE(store_->ListCatalog(10, "")->items.empty());
  EXPECT_TRUE(store_->GetRepository("lib").status().IsNotFound());
}

TEST_P(MetadataStoreTest, IndexChildrenAreRecorded) {
  Link("r", {config_, layer_, other_});
  auto a = Image(config_, {layer_});
  auto b = Image(config_, {other_});
  ASSERT_TRUE(store_->PutManifest("r", a.record, "").ok());
  ASSERT_TRUE(store_->PutManifest("r", b.record, "").ok());
  auto idx = Index({a.digest, b.digest});
  ASSERT_TRUE(store_->PutManifest("r", idx.record, "multi").ok());
  auto children = store_->ManifestChildren("r", idx.digest.str());
  std::vector<std::string> want{a.digest.str(), b.digest.str()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*children, want);
  EXPECT_EQ(store_->GetManifest("r", idx.digest.str())->media_type, oci::media::kOciIndex);
}

TEST_P(MetadataStoreTest, ReferrersByDigestWithTheArtifactTypeFilter) {
  Link("r", {config_, layer_, other_});
  auto subject = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", subject.record, "v1").ok());
  auto sig =
      Image(config_, {other_}, &subject.digest, "application/vnd.example.signature", {{"org.example.signed-by", "ci"}});
  auto sbom = Image(config_, {layer_}, &subject.digest, "application/spdx+json");
  auto unrelated = Image(config_, {other_}, &sig.digest, "application/spdx+json");
  for (const auto* m : {&sig, &sbom, &unrelated}) ASSERT_TRUE(store_->PutManifest("r", m->record, "").ok());

  auto all = store_->ListReferrers("r", subject.digest.str(), "");
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_LT((*all)[0].digest, (*all)[1].digest);
  auto only = store_->ListReferrers("r", subject.digest.str(), "application/vnd.example.signature");
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].digest, sig.digest.str());
  EXPECT_EQ((*only)[0].size, static_cast<int64_t>(sig.body.size()));
  EXPECT_EQ((*only)[0].media_type, oci::media::kOciManifest);
  EXPECT_EQ(nlohmann::json::parse((*only)[0].annotations)["org.example.signed-by"], "ci");
  EXPECT_TRUE(store_->ListReferrers("r", subject.digest.str(), "application/none")->empty());
  EXPECT_TRUE(store_->ListReferrers("elsewhere", subject.digest.str(), "")->empty());
}

TEST_P(MetadataStoreTest, CatalogSortsLikeDistributionAndPagesByKeyset) {
  std::vector<std::string> names = {"a",   "a-b",  "a/b", "a_b", "a.b",   "a/b/c",   "a0", "b",
                                    "a/a", "a-/x", "ab",  "a/-", "a/b-c", "a/b/c/d", "z9", "0"};
  for (const auto& n : names) Link(n, {layer_});
  std::vector<std::string> want = names;
  std::sort(want.begin(), want.end(), DistributionLessPath);
  // "a/b" before "a-b": '/' sorts below every name character, as in distribution.
  EXPECT_LT(std::find(want.begin(), want.end(), "a/b"), std::find(want.begin(), want.end(), "a-b"));

  EXPECT_EQ(store_->ListCatalog(1000, "")->items, want);
  for (size_t n : {1u, 2u, 3u, 7u, 16u, 17u}) EXPECT_EQ(WalkCatalog(n), want) << "n=" << n;

  auto zero = store_->ListCatalog(0, "");
  EXPECT_TRUE(zero->items.empty());
  EXPECT_TRUE(zero->more);
  auto past = store_->ListCatalog(10, "zzzz");
  EXPECT_TRUE(past->items.empty());
  EXPECT_FALSE(past->more);
  auto exact_end = store_->ListCatalog(10, want.back());
  EXPECT_TRUE(exact_end->items.empty());
  EXPECT_FALSE(exact_end->more);
  auto huge = store_->ListCatalog(SIZE_MAX, "");
  EXPECT_EQ(huge->items, want);
  EXPECT_FALSE(huge->more);
  auto full = store_->ListCatalog(want.size(), "");
  EXPECT_EQ(full->items.size(), want.size());
  EXPECT_FALSE(full->more);
}

// Any `last` a client sends (not a name, odd bytes, NUL, non-UTF-8) starts the
// page exactly where distribution's lessPath says.
TEST_P(MetadataStoreTest, CatalogLastOfAnyBytesMatchesDistribution) {
  std::vector<std::string> names = {"a", "a-b", "a/b", "a_b", "a.b", "a/b/c", "b", "b/a", "ba", "c-d/e"};
  for (const auto& n : names) Link(n, {layer_});
  std::sort(names.begin(), names.end(), DistributionLessPath);
  std::mt19937 rng(7);
  const std::string alphabet = std::string("ab/-._0 \x01!~\x7f\xc3\xff", 15) + std::string(1, '\0');
  for (int i = 0; i < 2000; ++i) {
    std::string last;
    const int len = static_cast<int>(rng() % 5);
    for (int k = 0; k < len; ++k) last.push_back(alphabet[rng() % alphabet.size()]);
    std::vector<std::string> want;
    for (const auto& n : names) {
      if (DistributionLessPath(last, n)) want.push_back(n);
    }
    auto page = store_->ListCatalog(100, last);
    ASSERT_TRUE(page.ok()) << page.status().message();
    ASSERT_EQ(page->items, want) << "last=" << testing::PrintToString(last);
  }
}

TEST_P(MetadataStoreTest, TagsPageInByteOrder) {
  Link("r", {config_, layer_});
  auto img = Image(config_, {layer_});
  std::vector<std::string> tags = {"v1", "V1", "v1.0", "v1-rc", "v1_x", "latest", "_x", "9", "v10", "v2"};
  for (const auto& t : tags) ASSERT_TRUE(store_->PutManifest("r", img.record, t).ok());
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(store_->ListTags("r", 100, "")->items, tags);
  std::vector<std::string> walked;
  std::string last;
  while (true) {
    auto page = store_->ListTags("r", 3, last);
    ASSERT_TRUE(page.ok());
    walked.insert(walked.end(), page->items.begin(), page->items.end());
    if (!page->more) break;
    last = page->items.back();
  }
  EXPECT_EQ(walked, tags);
  auto zero = store_->ListTags("r", 0, "");
  EXPECT_TRUE(zero->items.empty());
  EXPECT_TRUE(zero->more);
  EXPECT_TRUE(store_->ListTags("r", 5, "zzz")->items.empty());
  EXPECT_FALSE(store_->ListTags("r", 5, "zzz")->more);
  EXPECT_EQ(store_->ListTags("r", 100, std::string("v1\0", 3))->items.front(), "v1-rc");
  EXPECT_TRUE(store_->ListTags("r", 100, "v\xff")->items.empty());
  EXPECT_TRUE(store_->ListTags("unknown", 5, "").status().IsNotFound());
}

TEST_P(MetadataStoreTest, HostileNamesAndTagsAreBoundNotSpliced) {
  const std::vector<std::string> repos = {"'; DROP TABLE repositories; --", "a\" OR \"1\"=\"1",
                                          "x'); DELETE FROM tags;--", "back\\slash", "percent%_under"};
  const std::vector<std::string> tags = {"t' OR '1'='1", "'; DROP TABLE tags; --", "$1", "?", ":name"};
  Link("safe", {config_, layer_});
  auto img = Image(config_, {layer_});
  for (const auto& r : repos) {
    Link(r, {layer_});
    for (const auto& t : tags) ASSERT_TRUE(store_->PutManifest(r, img.record, t).ok()) << r << " " << t;
  }
  ASSERT_TRUE(store_->PutManifest("safe", img.record, "v1").ok());
  for (const auto& r : repos) {
    auto listed = store_->ListTags(r, 100, "");
    ASSERT_TRUE(listed.ok()) << r;
    std::vector<std::string> want = tags;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(listed->items, want);
    EXPECT_EQ(store_->GetTag(r, tags[0])->digest, img.digest.str());
  }
  EXPECT_EQ(store_->ListCatalog(100, "")->items.size(), repos.size() + 1);
  ASSERT_TRUE(store_->DeleteTag(repos[0], tags[1]).ok());
  EXPECT_TRUE(store_->DeleteTag(repos[0], "%").IsNotFound());  // no LIKE, no wildcards
  EXPECT_EQ(store_->ListTags("safe", 100, "")->items, (std::vector<std::string>{"v1"}));
  EXPECT_EQ(Sql("SELECT count(*) FROM tags").rows[0].Int(0), static_cast<int64_t>(repos.size() * tags.size()));
}

TEST_P(MetadataStoreTest, PullsAreBatchedInMemoryUntilAFlush) {
  Link("r", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  const int64_t pushed = now_;
  now_ += 5000;
  for (int i = 0; i < 100; ++i) store_->TouchPulled("r", img.digest.str());
  now_ += 1000;
  store_->TouchPulled("r", img.digest.str());
  store_->TouchPulled("r", D("never pushed").str());  // a pull of something unknown is ignored
  store_->TouchPulled("gone", img.digest.str());
  EXPECT_FALSE(store_->GetManifest("r", img.digest.str())->last_pulled_at);  // nothing written yet
  ASSERT_TRUE(store_->FlushPulls().ok());
  EXPECT_EQ(store_->GetManifest("r", img.digest.str())->last_pulled_at, pushed + 6000);
  EXPECT_EQ(store_->GetRepository("r")->last_pulled_at, pushed + 6000);
  // An older time never overwrites a newer one.
  now_ = pushed;
  store_->TouchPulled("r", img.digest.str());
  ASSERT_TRUE(store_->FlushPulls().ok());
  EXPECT_EQ(store_->GetManifest("r", img.digest.str())->last_pulled_at, pushed + 6000);
}

TEST_P(MetadataStoreTest, PendingPullsAreBounded) {
  MetadataStoreOptions options;
  options.max_pending_pulls = 3;
  MetadataStore small(pool_, options);
  for (int i = 0; i < 10; ++i) small.TouchPulled("r", D(std::to_string(i)).str());
  small.TouchPulled("r", D("0").str());  // already pending: still recorded
  EXPECT_EQ(small.DroppedPulls(), 7);
  ASSERT_TRUE(small.FlushPulls().ok());
  small.TouchPulled("r", D("new").str());
  EXPECT_EQ(small.DroppedPulls(), 7);
}

TEST_P(MetadataStoreTest, BackgroundFlushWritesPullsAndStopFlushesTheRest) {
  Link("r", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  MetadataStoreOptions options;
  options.pull_flush_interval_ms = 20;
  options.clock = [this] { return now_.load(); };
  {
    MetadataStore flushing(pool_, options);
    flushing.StartPullFlusher();
    flushing.StartPullFlusher();  // idempotent
    flushing.TouchPulled("r", img.digest.str());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!store_->GetManifest("r", img.digest.str())->last_pulled_at && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(store_->GetManifest("r", img.digest.str())->last_pulled_at, now_);
    now_ += 1;
    flushing.TouchPulled("r", img.digest.str());
  }  // destroyed: stops and flushes what is pending
  EXPECT_EQ(store_->GetManifest("r", img.digest.str())->last_pulled_at, now_);
}

// Writers on several threads at once: each operation is its own transaction;
// SQLite queues them on the busy timeout, none fails and none is lost.
TEST_P(MetadataStoreTest, ConcurrentWritersAllSucceed) {
  Link("shared", {config_});
  constexpr int kThreads = 4, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const oci::Digest layer = D("layer " + std::to_string(t) + "/" + std::to_string(i));
        const std::string repo = "repo" + std::to_string(i % 5);
        if (!store_->LinkBlob(repo, layer.str(), 1).ok()) ++failures;
        auto img = Image(config_, {layer});
        if (!store_->PutManifest(repo, img.record, "t" + std::to_string(t) + "-" + std::to_string(i)).ok()) ++failures;
        if (!store_->PutManifest("shared", Image(config_, {}).record, "same").ok()) ++failures;
        store_->TouchPulled(repo, img.digest.str());
        (void)store_->ListTags(repo, 10, "");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  ASSERT_TRUE(store_->FlushPulls().ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM tags").rows[0].Int(0), kThreads * kEach + 1);
  EXPECT_EQ(Sql("SELECT count(*) FROM manifests WHERE last_pulled_at IS NOT NULL").rows[0].Int(0), kThreads * kEach);
}

// ---- the queries garbage collection builds on ----

TEST_P(MetadataStoreTest, UnreferencedBlobsRespectLinksReferencesAndGrace) {
  const oci::Digest loose = D("loose");
  Link("r", {config_, layer_, loose});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  const int64_t t0 = now_;
  ASSERT_TRUE(store_->UnlinkBlob("r", loose.str()).ok());
  // Linked blobs, referenced blobs and the manifest's own bytes are never candidates.
  auto none = store_->UnreferencedBlobs(t0, "", 100);
  EXPECT_TRUE(none->empty());  // `loose` is still within its grace (touched at t0)
  auto found = store_->UnreferencedBlobs(t0 + 1, "", 100);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].digest, loose.str());
  // A link renews the grace between mark and sweep: the sweep's re-check keeps it.
  now_ += 10;
  Link("r2", {loose});
  EXPECT_FALSE(*store_->DeleteBlobIfUnreferenced(loose.str(), t0 + 1));
  ASSERT_TRUE(store_->UnlinkBlob("r2", loose.str()).ok());
  EXPECT_FALSE(*store_->DeleteBlobIfUnreferenced(loose.str(), t0 + 1));  // touched at t0+10
  EXPECT_TRUE(*store_->DeleteBlobIfUnreferenced(loose.str(), now_ + 1));
  EXPECT_FALSE(*store_->DeleteBlobIfUnreferenced(loose.str(), now_ + 1));  // already gone
  // Referenced blobs refuse deletion even past any grace.
  EXPECT_FALSE(*store_->DeleteBlobIfUnreferenced(layer_.str(), now_ + 1'000'000));
  EXPECT_FALSE(*store_->DeleteBlobIfUnreferenced(img.digest.str(), now_ + 1'000'000));
  // TouchBlob (a HEAD) renews the grace too.
  ASSERT_TRUE(store_->TouchBlob(layer_.str()).ok());
  EXPECT_TRUE(store_->TouchBlob(D("unknown").str()).IsNotFound());
}

TEST_P(MetadataStoreTest, AManifestCannotReferenceABlobGcDeleted) {
  const oci::Digest b = D("b");
  Link("r", {config_, b});
  ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
  ASSERT_TRUE(*store_->DeleteBlobIfUnreferenced(b.str(), now_ + 1));
  // The client HEADed b before the sweep and skipped its upload: its PUT is refused (MANIFEST_BLOB_UNKNOWN).
  auto img = Image(config_, {b});
  EXPECT_TRUE(store_->PutManifest("r", img.record, "v1").IsNotFound());
  // And the foreign key refuses a direct reference to a deleted blob.
  auto bare = Image(config_, {});
  ASSERT_TRUE(store_->PutManifest("r", bare.record, "").ok());
  auto c = pool_->Acquire();
  const Value params[] = {b.str()};
  EXPECT_EQ((*c)->Execute("INSERT INTO manifest_blobs (manifest_id, digest) SELECT id, $1 FROM manifests", params)
                .status()
                .code(),
            StatusCode::kConflict);
}

TEST_P(MetadataStoreTest, UnreferencedLayerLinksPerRepository) {
  const oci::Digest spare = D("spare");
  Link("a", {config_, layer_, spare});
  Link("b", {config_, layer_});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("a", img.record, "v1").ok());
  const int64_t grace_over = now_ + 1;
  auto links = store_->UnreferencedLayerLinks(grace_over, {}, 100);
  ASSERT_TRUE(links.ok()) << links.status().message();
  // a: only the spare link; b: both links (no manifest of b references them).
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& l : *links) got.emplace_back(l.repository, l.digest);
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, std::string>> want = {
      {"a", spare.str()}, {"b", config_.str()}, {"b", layer_.str()}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_TRUE(store_->UnreferencedLayerLinks(now_, {}, 100)->empty());  // within the grace
  // Keyset: one at a time gives the same.
  std::vector<std::pair<std::string, std::string>> paged;
  LayerLinkKey after;
  while (true) {
    auto page = store_->UnreferencedLayerLinks(grace_over, after, 1);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    paged.emplace_back(page->back().repository, page->back().digest);
    after = page->back();
  }
  std::sort(paged.begin(), paged.end());
  EXPECT_EQ(paged, want);
  EXPECT_FALSE(*store_->UnlinkBlobIfUnreferenced("a", layer_.str(), grace_over));
  EXPECT_TRUE(*store_->UnlinkBlobIfUnreferenced("a", spare.str(), grace_over));
  EXPECT_TRUE(*store_->UnlinkBlobIfUnreferenced("b", config_.str(), grace_over));
  EXPECT_TRUE(*store_->UnlinkBlobIfUnreferenced("b", layer_.str(), grace_over));
  EXPECT_TRUE(store_->GetRepository("b").status().IsNotFound());  // emptied: gone from the catalog
}

TEST_P(MetadataStoreTest, UntaggedManifestsSpareChildrenAndReferrersOfKeptSubjects) {
  Link("r", {config_, layer_, other_});
  auto tagged = Image(config_, {layer_});
  auto untagged = Image(config_, {other_});
  auto child = Image(config_, {layer_, other_});
  auto index = Index({child.digest});
  auto referrer = Image(config_, {}, &tagged.digest, "application/vnd.example");
  const oci::Digest absent = D("absent subject");
  auto orphan_referrer = Image(config_, {}, &absent, "application/vnd.example");
  ASSERT_TRUE(store_->PutManifest("r", tagged.record, "v1").ok());
  for (const auto* m : {&untagged, &child, &index, &referrer, &orphan_referrer}) {
    ASSERT_TRUE(store_->PutManifest("r", m->record, "").ok());
  }
  auto digests = [&](int64_t older_than) {
    std::vector<std::string> out;
    auto r = store_->UntaggedManifests(older_than, 0, 100);
    EXPECT_TRUE(r.ok()) << r.status().message();
    for (const auto& k : *r) out.push_back(k.digest);
    std::sort(out.begin(), out.end());
    return out;
  };
  std::vector<std::string> want = {untagged.digest.str(), index.digest.str(), orphan_referrer.digest.str()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(digests(now_ + 1), want);
  EXPECT_TRUE(digests(now_).empty());  // within the grace
  // The sweep re-checks: a tag pushed meanwhile keeps the manifest.
  ASSERT_TRUE(store_->PutManifest("r", untagged.record, "late").ok());
  EXPECT_FALSE(*store_->DeleteManifestIfUntagged("r", untagged.digest.str(), now_ + 1));
  EXPECT_FALSE(*store_->DeleteManifestIfUntagged("r", child.digest.str(), now_ + 1));
  // Deleting the untagged index frees its child for the next pass.
  EXPECT_TRUE(*store_->DeleteManifestIfUntagged("r", index.digest.str(), now_ + 1));
  auto next = digests(now_ + 1);
  EXPECT_NE(std::find(next.begin(), next.end(), child.digest.str()), next.end());
  // A deleted subject frees its referrers.
  ASSERT_TRUE(store_->DeleteManifest("r", tagged.digest.str()).ok());
  next = digests(now_ + 1);
  EXPECT_NE(std::find(next.begin(), next.end(), referrer.digest.str()), next.end());
}

// ---- GC's claim protocol and lease (docs/gc.md) ----

TEST_P(MetadataStoreTest, ClaimOnlyUnreferencedBlobsPastTheGrace) {
  const oci::Digest loose = D("loose");
  Link("r", {config_, layer_, loose});
  auto img = Image(config_, {layer_});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  const int64_t t0 = now_;
  ASSERT_TRUE(store_->UnlinkBlob("r", loose.str()).ok());
  EXPECT_FALSE(*store_->ClaimBlobIfUnreferenced(loose.str(), t0));  // within the grace
  for (const auto& d : {layer_, config_, img.digest}) {
    EXPECT_FALSE(*store_->ClaimBlobIfUnreferenced(d.str(), t0 + 1'000'000)) << d.str();
  }
  EXPECT_FALSE(*store_->ClaimBlobIfUnreferenced(D("unknown").str(), t0 + 1));
  EXPECT_TRUE(*store_->ClaimBlobIfUnreferenced(loose.str(), t0 + 1));
  EXPECT_TRUE(*store_->ClaimBlobIfUnreferenced(loose.str(), t0 + 1));  // an earlier claim is finished, not lost
  // A claimed blob is not a candidate any more; it is listed as claimed.
  EXPECT_TRUE(store_->UnreferencedBlobs(t0 + 1, "", 100)->empty());
  auto claimed = store_->ClaimedBlobs("", 100);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].digest, loose.str());
  EXPECT_TRUE(store_->ClaimedBlobs(loose.str(), 100)->empty());
  EXPECT_FALSE(*store_->DeleteClaimedBlob(layer_.str()));  // not claimed: never deleted this way
  EXPECT_TRUE(*store_->DeleteClaimedBlob(loose.str()));
  EXPECT_FALSE(*store_->DeleteClaimedBlob(loose.str()));
  EXPECT_TRUE(store_->ClaimedBlobs("", 100)->empty());
}

TEST_P(MetadataStoreTest, WritersTreatAClaimedBlobAsAbsent) {
  ASSERT_TRUE(*store_->AcquireGcLease("gc", 60'000));  // a live collector holds the claims below
  const oci::Digest b = D("b");
  Link("r", {config_, b});
  ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(b.str(), now_ + 1));
  now_ += 10;
  // A HEAD does not renew it (404: the client uploads).
  EXPECT_TRUE(store_->TouchBlob(b.str()).IsNotFound());
  // A link after storage (upload or mount that did not protect first) is refused, and writes nothing.
  EXPECT_EQ(store_->LinkBlob("r", b.str(), 10).code(), StatusCode::kBusy);
  EXPECT_EQ(Sql("SELECT count(*) FROM blob_links WHERE digest = $1", {b.str()}).rows[0].Int(0), 0);
  // A manifest referencing it: MANIFEST_BLOB_UNKNOWN.
  auto img = Image(config_, {b});
  EXPECT_TRUE(store_->PutManifest("r", img.record, "v1").IsNotFound());
  EXPECT_TRUE(store_->GetManifest("r", img.digest.str()).status().IsNotFound());
  // A manifest whose own bytes are the claimed blob is refused before store() runs.
  auto own = Image(config_, {});
  Link("r", {own.digest});
  ASSERT_TRUE(store_->UnlinkBlob("r", own.digest.str()).ok());
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(own.digest.str(), now_ + 1));
  MetadataStoreOptions quick;
  quick.clock = [this] { return now_.load(); };
  quick.claim_wait_ms = 50;
  MetadataStore impatient(pool_, quick);
  bool stored = false;
  auto store_fn = [&]() -> Status {
    stored = true;
    return Status::Ok();
  };
  EXPECT_EQ(impatient.PutManifest("r", own.record, "v1", store_fn).code(), StatusCode::kBusy);
  EXPECT_FALSE(stored);
  // The claim still stands, untouched by the refused writers.
  EXPECT_EQ(store_->ClaimedBlobs("", 100)->size(), 2u);
}

TEST_P(MetadataStoreTest, ProtectBlobWaitsForGcToFinishThenInsertsAfresh) {
  const oci::Digest b = D("b");
  Link("r", {b});
  ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
  ASSERT_TRUE(*store_->AcquireGcLease("gc", 60'000));  // a live collector
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(b.str(), now_ + 1));
  MetadataStoreOptions quick;
  quick.clock = [this] { return now_.load(); };
  quick.claim_wait_ms = 50;
  MetadataStore impatient(pool_, quick);
  EXPECT_EQ(impatient.ProtectBlob(b.str(), 10).code(), StatusCode::kBusy);  // GC has not finished
  // GC finishes (bytes, then row) while a writer waits: the writer then owns a fresh row.
  std::thread gc([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(*store_->DeleteClaimedBlob(b.str()));
  });
  now_ += 5;
  EXPECT_TRUE(store_->ProtectBlob(b.str(), 10).ok());
  gc.join();
  EXPECT_TRUE(store_->ClaimedBlobs("", 100)->empty());
  EXPECT_EQ(Sql("SELECT touched_at FROM blobs WHERE digest = $1", {b.str()}).rows[0].Int(0), now_.load());
  // Protected: GC cannot claim it within the grace that counts from now.
  EXPECT_FALSE(*store_->ClaimBlobIfUnreferenced(b.str(), now_));
  EXPECT_TRUE(store_->LinkBlob("r", b.str(), 10).ok());
}

TEST_P(MetadataStoreTest, AClaimWhoseCollectorDiedIsTakenBackByAWriter) {
  const oci::Digest b = D("b"), c = D("c");
  Link("r", {b, c});
  ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
  ASSERT_TRUE(store_->UnlinkBlob("r", c.str()).ok());
  MetadataStoreOptions quick;
  quick.clock = [this] { return now_.load(); };
  quick.claim_wait_ms = 50;
  MetadataStore impatient(pool_, quick);
  // Claimed under a live lease: the writer waits, in vain here.
  ASSERT_TRUE(*store_->AcquireGcLease("gc", 1'000));
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(b.str(), now_ + 1));
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(c.str(), now_ + 1));
  EXPECT_EQ(impatient.ProtectBlob(b.str(), 10).code(), StatusCode::kBusy);
  EXPECT_TRUE(*store_->StillClaimed(b.str()));
  // The collector died: its lease expires, and nobody would finish the claim
  // before the next run. A writer takes the blob back at once.
  now_ += 1'001;
  EXPECT_TRUE(impatient.ProtectBlob(b.str(), 10).ok());
  EXPECT_FALSE(*store_->StillClaimed(b.str()));
  EXPECT_EQ(Sql("SELECT touched_at FROM blobs WHERE digest = $1", {b.str()}).rows[0].Int(0), now_.load());
  EXPECT_EQ(store_->ClaimedBlobs("", 100)->size(), 1u);  // c: nobody asked for it
  EXPECT_TRUE(store_->LinkBlob("r", b.str(), 10).ok());
}

TEST_P(MetadataStoreTest, AForeignReferenceIsNeverRecordedToAClaimedBlob) {
  const oci::Digest b = D("b");
  Link("r", {config_, b});
  ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
  ASSERT_TRUE(*store_->AcquireGcLease("gc", 60'000));
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(b.str(), now_ + 1));
  // A manifest that lists B as a foreign layer (a cached one, or `urls`) is
  // recorded without the reference: it would block the claim's row delete.
  auto img = Image(config_, {b});
  for (auto& ref : img.record.blobs) {
    if (ref.digest == b.str()) ref.foreign = true;
  }
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM manifest_blobs WHERE digest = $1", {b.str()}).rows[0].Int(0), 0);
  EXPECT_TRUE(*store_->DeleteClaimedBlob(b.str()));
}

TEST_P(MetadataStoreTest, ClaimAndManifestPutRaceOneWinsNeverBoth) {
  // On PostgreSQL the claim's FOR UPDATE and the PUT's FOR SHARE meet on the
  // blob's row; on SQLite BEGIN IMMEDIATE serialises them. Either way: the
  // claim wins and the PUT is NotFound, or the PUT wins and the claim is refused.
  constexpr int kRounds = 30;
  for (int i = 0; i < kRounds; ++i) {
    const oci::Digest b = D("race " + std::to_string(i));
    Link("r", {config_, b});
    ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
    auto img = Image(config_, {b}, nullptr, "", {{"round", std::to_string(i)}});
    std::atomic<bool> go{false};
    Result<bool> claimed = false;
    Status put;
    std::thread gc([&] {
      while (!go) std::this_thread::yield();
      claimed = store_->ClaimBlobIfUnreferenced(b.str(), now_ + 1);
    });
    std::thread pusher([&] {
      while (!go) std::this_thread::yield();
      put = store_->PutManifest("r", img.record, "");
    });
    go = true;
    gc.join();
    pusher.join();
    ASSERT_TRUE(claimed.ok()) << claimed.status().message();
    if (*claimed) {
      EXPECT_TRUE(put.IsNotFound()) << i << ": " << put.message();
    } else {
      EXPECT_TRUE(put.ok()) << i << ": " << put.message();
    }
    if (*claimed) {
      ASSERT_TRUE(*store_->DeleteClaimedBlob(b.str()));
    }
  }
}

TEST_P(MetadataStoreTest, OneGcLeaseAtATimeWithExpiry) {
  EXPECT_TRUE(*store_->AcquireGcLease("a", 1000));
  EXPECT_FALSE(*store_->AcquireGcLease("b", 1000));
  now_ += 900;
  EXPECT_TRUE(*store_->AcquireGcLease("a", 1000));  // renewed until now + 1000
  now_ += 900;
  EXPECT_FALSE(*store_->AcquireGcLease("b", 1000));
  now_ += 200;  // a's lease expired (a crashed collector)
  EXPECT_TRUE(*store_->AcquireGcLease("b", 1000));
  EXPECT_FALSE(*store_->AcquireGcLease("a", 1000));
  EXPECT_TRUE(store_->ReleaseGcLease("a").ok());  // not a's: nothing happens
  EXPECT_FALSE(*store_->AcquireGcLease("a", 1000));
  EXPECT_TRUE(store_->ReleaseGcLease("b").ok());
  EXPECT_TRUE(*store_->AcquireGcLease("a", 1000));
}

INSTANTIATE_TEST_SUITE_P(Engines, MetadataStoreTest, ::testing::ValuesIn(kTestEngines), EngineName);

TEST(CatalogSortKeyTest, SlashSortsFirstAndKeysAreText) {
  EXPECT_LT(CatalogSortKey("a/b"), CatalogSortKey("a-b"));
  EXPECT_LT(CatalogSortKey("a-b"), CatalogSortKey("a_b"));
  EXPECT_LT(CatalogSortKey("a"), CatalogSortKey("a/b"));
  EXPECT_EQ(CatalogSortKey("a/b"), "a b");
  EXPECT_EQ(CatalogSortKey(std::string("a\0b", 3)), "a b");
  EXPECT_EQ(CatalogSortKey("a\x01zzz"), "a!");
  EXPECT_EQ(CatalogSortKey("a\xc3\xa9zz"), "a\x7f");
}

}  // namespace
}  // namespace berth::metadata
