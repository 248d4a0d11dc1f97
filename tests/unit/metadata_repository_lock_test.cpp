// MetadataStore's serialised repository writes (PutManifest / DeleteManifest /
// DeleteTag / LinkBlob / UnlinkBlob with a storage half, and GC's
// UnlinkBlobIfUnreferenced): the write order around the storage call, and
// that two writers of one repository never run their storage halves at once --
// within a process (SQLite) and across two "replicas" (two stores on two pools
// of one PostgreSQL; PgRepositoryLock runs in the pg.client entry, with the
// server of the pg fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "metadata/postgres/pool.h"
#include "metadata_fixture.h"

namespace berth::metadata {
namespace {

using namespace std::chrono_literals;

// Counts the storage halves running at once; remembers the most seen.
class Overlap {
 public:
  // A storage half that takes a little while, so an overlap would show.
  Status Run() {
    const int now = ++inside_;
    int seen = most_.load();
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);
    --inside_;
    return Status::Ok();
  }
  int most() const { return most_.load(); }

 private:
  std::atomic<int> inside_{0};
  std::atomic<int> most_{0};
};

// `threads` writers, each alternately putting `m` with a tag and deleting it in `repo`.
void Hammer(const std::vector<MetadataStore*>& stores, const std::string& repo, const BuiltManifest& m,
            Overlap* overlap, int rounds) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (size_t i = 0; i < stores.size() * 2; ++i) {
    MetadataStore* store = stores[i % stores.size()];
    threads.emplace_back([&, store, i] {
      std::function<Status()> half = [overlap] { return overlap->Run(); };
      for (int r = 0; r < rounds; ++r) {
        Status s = i % 2 == 0 ? store->PutManifest(repo, m.record, "t" + std::to_string(i), half)
                              : store->DeleteManifest(repo, m.digest.str(), half);
        if (!s.ok() && !s.IsNotFound()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

class MetadataRepositoryLock : public MetadataFixture {};
INSTANTIATE_TEST_SUITE_P(Engines, MetadataRepositoryLock, ::testing::ValuesIn(kTestEngines), EngineName);

TEST_P(MetadataRepositoryLock, PutRunsStorageFirstAndWritesNoRowWhenItFails) {
  const oci::Digest config = D("config"), layer = D("layer");
  Link("r", {config, layer});
  auto img = Image(config, {layer});
  bool row_seen_by_storage = true;
  std::function<Status()> failing = [&] {
    row_seen_by_storage = store_->GetManifest("r", img.digest.str()).ok();
    return Status::IoError("disk gone");
  };
  EXPECT_EQ(store_->PutManifest("r", img.record, "v1", failing).code(), StatusCode::kIoError);
  EXPECT_FALSE(row_seen_by_storage) << "the row must not exist before storage has the bytes";
  EXPECT_TRUE(store_->GetManifest("r", img.digest.str()).status().IsNotFound());
  EXPECT_TRUE(store_->GetTag("r", "v1").status().IsNotFound());

  std::function<Status()> ok = [] { return Status::Ok(); };
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1", ok).ok());
  EXPECT_EQ(store_->GetTag("r", "v1")->digest, img.digest.str());
}

TEST_P(MetadataRepositoryLock, PutOfAManifestWithAnUnknownBlobIsNotFound) {
  auto img = Image(D("unknown-config"), {});
  std::function<Status()> ok = [] { return Status::Ok(); };
  EXPECT_TRUE(store_->PutManifest("r", img.record, "", ok).IsNotFound());
}

TEST_P(MetadataRepositoryLock, DeleteCommitsTheRowsBeforeStorage) {
  const oci::Digest config = D("config"), layer = D("layer");
  Link("r", {config, layer});
  auto img = Image(config, {layer});
  ASSERT_TRUE(store_->PutManifest("r", img.record, "v1").ok());
  bool gone_before_storage = false;
  std::function<Status()> storage = [&] {
    // Another connection: the delete is committed, not only done in an open transaction.
    gone_before_storage = store_->GetManifest("r", img.digest.str()).status().IsNotFound() &&
                          store_->GetTag("r", "v1").status().IsNotFound();
    return Status::Ok();
  };
  ASSERT_TRUE(store_->DeleteManifest("r", img.digest.str(), storage).ok());
  EXPECT_TRUE(gone_before_storage);

  ASSERT_TRUE(store_->PutManifest("r", img.record, "v2").ok());
  gone_before_storage = false;
  std::function<Status()> tag_storage = [&] {
    gone_before_storage = store_->GetTag("r", "v2").status().IsNotFound();
    return Status::Ok();
  };
  ASSERT_TRUE(store_->DeleteTag("r", "v2", tag_storage).ok());
  EXPECT_TRUE(gone_before_storage);
  EXPECT_TRUE(store_->GetManifest("r", img.digest.str()).ok()) << "a tag delete keeps the manifest";
}

TEST_P(MetadataRepositoryLock, TagsStorageRemovesWithAManifestLoseTheirRowsToo) {
  // After a crash, storage moved v2 to m2 but the rows still say v2 -> m1 and
  // do not know m2. Deleting m2 removes storage's v2: its row must go too.
  const oci::Digest config = D("config"), layer = D("layer");
  Link("r", {config, layer});
  auto m1 = Image(config, {layer});
  ASSERT_TRUE(store_->PutManifest("r", m1.record, "v2").ok());
  ASSERT_TRUE(store_->PutManifest("r", m1.record, "v1").ok());
  std::vector<std::string> removed;
  std::function<Status()> storage = [&] {
    removed = {"v2"};  // what DeleteByDigest found pointing at m2
    return Status::Ok();
  };
  ASSERT_TRUE(store_->DeleteManifest("r", D("m2").str(), storage, nullptr, &removed).ok());
  EXPECT_TRUE(store_->GetTag("r", "v2").status().IsNotFound());
  EXPECT_TRUE(store_->GetTag("r", "v1").ok()) << "a tag storage kept stays";
  EXPECT_TRUE(store_->GetManifest("r", m1.digest.str()).ok());
}

TEST_P(MetadataRepositoryLock, DeleteUnknownToTheDatabaseStillAsksStorage) {
  // Storage may be ahead of the database after a crash: its answer decides.
  int calls = 0;
  std::function<Status()> missing = [&] {
    ++calls;
    return Status::NotFound("manifest unknown");
  };
  EXPECT_TRUE(store_->DeleteManifest("r", D("m").str(), missing).IsNotFound());
  std::function<Status()> present = [&] {
    ++calls;
    return Status::Ok();
  };
  EXPECT_TRUE(store_->DeleteTag("r", "v1", present).ok());
  EXPECT_EQ(calls, 2);
}

TEST_P(MetadataRepositoryLock, ConcurrentWritersOfOneRepositoryTakeTurns) {
  const oci::Digest config = D("config"), layer = D("layer");
  Link("r", {config, layer});
  auto img = Image(config, {layer});
  Overlap overlap;
  Hammer({store_.get()}, "r", img, &overlap, 10);
  EXPECT_EQ(overlap.most(), 1) << "two storage halves of one repository ran at once";
}

// ---- blob links: upload/mount link steps, blob DELETE and GC's link removal (docs/gc.md) ----

// The repository's links nothing references (all of them here: no manifests).
std::vector<std::string> LinkRows(MetadataStore& store) {
  std::vector<std::string> out;
  auto links = store.UnreferencedLayerLinks(INT64_MAX, {}, 100);
  EXPECT_TRUE(links.ok()) << links.status().message();
  if (links.ok()) {
    for (const auto& l : *links) out.push_back(l.repository + "@" + l.digest);
  }
  return out;
}

TEST_P(MetadataRepositoryLock, BlobLinkRunsStorageFirstAndWritesNoRowWhenItFails) {
  const oci::Digest blob = D("blob");
  bool row_seen_by_storage = true;
  std::function<Status()> failing = [&] {
    row_seen_by_storage = !LinkRows(*store_).empty();
    return Status::IoError("disk gone");
  };
  EXPECT_EQ(store_->LinkBlob("r", blob.str(), 4, failing).code(), StatusCode::kIoError);
  EXPECT_FALSE(row_seen_by_storage) << "the link's row must not exist before storage has the link";
  EXPECT_TRUE(LinkRows(*store_).empty());
  std::function<Status()> ok = [] { return Status::Ok(); };
  ASSERT_TRUE(store_->LinkBlob("r", blob.str(), 4, ok).ok());
  EXPECT_EQ(LinkRows(*store_), std::vector<std::string>{"r@" + blob.str()});
}

TEST_P(MetadataRepositoryLock, BlobUnlinkCommitsTheRowBeforeStorage) {
  const oci::Digest blob = D("blob");
  ASSERT_TRUE(store_->LinkBlob("r", blob.str(), 4).ok());
  bool gone_before_storage = false;
  std::function<Status()> storage = [&] {
    gone_before_storage = LinkRows(*store_).empty();
    return Status::Ok();
  };
  ASSERT_TRUE(store_->UnlinkBlob("r", blob.str(), storage).ok());
  EXPECT_TRUE(gone_before_storage);
  // Unknown to the database (storage ahead after a crash): storage's answer decides.
  std::function<Status()> missing = [] { return Status::NotFound("blob unknown"); };
  EXPECT_TRUE(store_->UnlinkBlob("r", blob.str(), missing).IsNotFound());
}

TEST_P(MetadataRepositoryLock, BlobLinkStepsAndGcLinkRemovalTakeTurns) {
  // Without the lock, GC's row delete + storage delete could interleave with an
  // upload's storage link + row: the database would keep a link storage lacks.
  const oci::Digest blob = D("blob");
  Overlap overlap;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      std::function<Status()> half = [&overlap] { return overlap.Run(); };
      for (int r = 0; r < 8; ++r) {
        Status s;
        if (i % 3 == 0) {
          s = store_->LinkBlob("r", blob.str(), 4, half);
        } else if (i % 3 == 1) {
          s = store_->UnlinkBlobIfUnreferenced("r", blob.str(), INT64_MAX, half).status();
        } else {
          s = store_->UnlinkBlob("r", blob.str(), half);
        }
        if (!s.ok() && !s.IsNotFound()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(overlap.most(), 1) << "two link steps of one repository ran at once";
}

// ---- two replicas on one PostgreSQL ----

std::shared_ptr<Pool> PgTestPool() {
  auto pool = postgres::PgPool::Create(TestPgConfig(4));
  EXPECT_TRUE(pool.ok()) << pool.status().message();
  if (!pool.ok()) return nullptr;
  return std::shared_ptr<Pool>(std::move(*pool));
}

TEST(PgRepositoryLock, TwoReplicasWritingOneRepositoryTakeTurns) {
  if (TestEnv("BERTH_TEST_PG_PORT").empty())
    GTEST_SKIP() << "BERTH_TEST_PG_PORT not set (ctest -R '^pg\\.' starts PostgreSQL)";
  auto pool_a = PgTestPool(), pool_b = PgTestPool();
  ASSERT_TRUE(pool_a && pool_b);
  auto migrated = Migrate(*pool_a);
  ASSERT_TRUE(migrated.ok()) << migrated.status().message();
  MetadataStore a(pool_a), b(pool_b);
  // Names of this run only: the fixture's database is shared by the pg tests.
  const std::string repo = "lock-test/" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  const oci::Digest config = oci::DigestOf(repo + "/config"), layer = oci::DigestOf(repo + "/layer");
  ASSERT_TRUE(a.LinkBlob(repo, config.str(), 10).ok());
  ASSERT_TRUE(a.LinkBlob(repo, layer.str(), 10).ok());
  auto img = Image(config, {layer});
  Overlap overlap;
  Hammer({&a, &b}, repo, img, &overlap, 8);
  EXPECT_EQ(overlap.most(), 1) << "two replicas' storage halves of one repository ran at once";

  // Another repository is not held up by the lock of the first.
  std::atomic<bool> other_done{false};
  std::function<Status()> slow = [&] {
    std::function<Status()> quick = [] { return Status::Ok(); };
    std::thread other([&] { other_done = b.DeleteTag(repo + "-other", "none", quick).ok(); });
    other.join();
    return Status::Ok();
  };
  ASSERT_TRUE(a.DeleteTag(repo, "none", slow).ok());
  EXPECT_TRUE(other_done.load());
}

}  // namespace
}  // namespace berth::metadata
