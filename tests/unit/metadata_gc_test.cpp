// GarbageCollector (src/metadata/gc.h) on SQLite and PostgreSQL over a
// filesystem store: the mark rules over Docker schema 2 images and manifest
// lists, OCI images and indexes with children, artifacts with a subject and
// their referrers; the grace; dry runs; the lease; finishing an interrupted run's claims.
#include "metadata/gc.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "metadata_fixture.h"
#include "storage/blob_store.h"
#include "storage/filesystem_driver.h"
#include "storage/layout.h"
#include "storage/manifest_store.h"

namespace berth::metadata {
namespace {

constexpr int64_t kDelay = 1000;

class GcTest : public MetadataFixture {
 protected:
  void SetUp() override {
    MetadataFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto d = storage::FilesystemDriver::Open(store_dir_.path());
    ASSERT_TRUE(d.ok()) << d.status().message();
    driver_ = std::move(*d);
    blobs_ = std::make_unique<storage::BlobStore>(*driver_);
    manifests_ = std::make_unique<storage::ManifestStore>(*driver_, *blobs_);
  }

  // A blob uploaded into `repo`: bytes, layer link, then the row (the registry's write order).
  oci::Digest Upload(const std::string& repo, const std::string& content) {
    const oci::Digest d = oci::DigestOf(content);
    EXPECT_TRUE(driver_->PutContent(storage::layout::BlobData(d), content).ok());
    EXPECT_TRUE(driver_->PutContent(storage::layout::LayerLink(repo, d), d.str()).ok());
    EXPECT_TRUE(store_->LinkBlob(repo, d.str(), static_cast<int64_t>(content.size())).ok());
    return d;
  }
  // A manifest PUT (storage under the repository lock, then the rows).
  void Push(const std::string& repo, const BuiltManifest& m, const std::string& tag = "") {
    auto parsed = oci::ParseManifest(m.body, "");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    const oci::Manifest manifest = *parsed;
    std::function<Status()> store = [&] { return manifests_->Put(repo, m.body, manifest, m.digest, tag); };
    Status s = store_->PutManifest(repo, m.record, tag, store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  bool BytesExist(const oci::Digest& d) { return driver_->Stat(storage::layout::BlobData(d)).ok(); }
  bool Linked(const std::string& repo, const oci::Digest& d) {
    return driver_->Stat(storage::layout::LayerLink(repo, d)).ok();
  }
  bool Revision(const std::string& repo, const oci::Digest& d) {
    return driver_->Stat(storage::layout::RevisionLink(repo, d)).ok();
  }

  Result<GcReport> Collect(bool delete_untagged, bool dry_run = false, const std::string& owner = "test") {
    GcOptions o;
    o.delay_ms = kDelay;
    o.delete_untagged = delete_untagged;
    o.dry_run = dry_run;
    o.page = 2;  // several pages even in small tests
    o.owner = owner;
    o.on_removed = [this](std::string_view kind, std::string_view repo, std::string_view digest, int64_t) {
      removed_.insert(std::string(kind) + " " + std::string(repo) + " " + std::string(digest));
    };
    GarbageCollector gc(*store_, *driver_, *manifests_, o);
    return gc.Run(now_);
  }

  static BuiltManifest DockerImage(const oci::Digest& config, const std::vector<oci::Digest>& layers) {
    nlohmann::json ls = nlohmann::json::array();
    for (const auto& l : layers) ls.push_back(Descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", l));
    return Build({{"schemaVersion", 2},
                  {"mediaType", std::string(oci::media::kDockerManifest)},
                  {"config", Descriptor("application/vnd.docker.container.image.v1+json", config)},
                  {"layers", ls}});
  }
  static BuiltManifest DockerList(const std::vector<oci::Digest>& children) {
    nlohmann::json ms = nlohmann::json::array();
    for (const auto& c : children) ms.push_back(Descriptor(oci::media::kDockerManifest, c));
    return Build(
        {{"schemaVersion", 2}, {"mediaType", std::string(oci::media::kDockerManifestList)}, {"manifests", ms}});
  }

  testing_util::TempDir store_dir_{"berth-gc-store"};
  std::unique_ptr<storage::FilesystemDriver> driver_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<storage::ManifestStore> manifests_;
  std::set<std::string> removed_;
};

TEST_P(GcTest, MarkRulesOverImagesListsIndexesAndReferrers) {
  const std::string r = "team/app";
  const oci::Digest config = Upload(r, "config");
  const oci::Digest shared = Upload(r, "shared layer");
  const oci::Digest only_old = Upload(r, "layer of the untagged image");
  const oci::Digest only_child = Upload(r, "layer of the list's child");
  const oci::Digest oci_child_layer = Upload(r, "layer of the kept index's child");
  const oci::Digest loose = Upload(r, "uploaded, never referenced");

  auto tagged = DockerImage(config, {shared});              // Docker schema 2, tagged: kept
  auto untagged = DockerImage(config, {shared, only_old});  // untagged: collected with delete_untagged
  auto list_child = DockerImage(config, {only_child});
  auto list = DockerList({list_child.digest});  // untagged list: collected, then its child
  auto kept_child = Image(config, {oci_child_layer});
  auto kept_index = Index({kept_child.digest});  // tagged OCI index: its child stays
  auto referrer = Image(config, {}, &tagged.digest, "application/vnd.example.sbom");  // subject kept: stays
  auto orphan = Image(config, {}, &untagged.digest, "application/vnd.example.sig");   // subject goes: goes
  Push(r, tagged, "v1");
  Push(r, untagged);
  Push(r, list_child);
  Push(r, list);
  Push(r, kept_child);
  Push(r, kept_index, "multi");
  Push(r, referrer);
  Push(r, orphan);

  // Within the grace nothing goes.
  auto early = Collect(true);
  ASSERT_TRUE(early.ok()) << early.status().message();
  EXPECT_EQ(early->blobs_deleted + early->manifests_deleted + early->links_deleted, 0);

  now_ += kDelay + 1;
  // Without delete_untagged: only the loose link and blob.
  auto first = Collect(false);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->manifests_deleted, 0);
  EXPECT_EQ(first->links_deleted, 1);
  EXPECT_EQ(first->blobs_deleted, 1);
  EXPECT_EQ(first->bytes_freed, static_cast<int64_t>(std::string("uploaded, never referenced").size()));
  EXPECT_FALSE(BytesExist(loose));
  EXPECT_FALSE(Linked(r, loose));
  EXPECT_TRUE(BytesExist(only_old));

  // A dry run with delete_untagged lists the first pass and changes nothing.
  removed_.clear();
  auto dry = Collect(true, true);
  ASSERT_TRUE(dry.ok()) << dry.status().message();
  EXPECT_TRUE(removed_.count("manifest " + r + " " + untagged.digest.str()));
  EXPECT_TRUE(removed_.count("manifest " + r + " " + list.digest.str()));
  EXPECT_FALSE(removed_.count("manifest " + r + " " + list_child.digest.str()));  // freed only by the list's deletion
  EXPECT_TRUE(Revision(r, untagged.digest));
  EXPECT_TRUE(store_->GetManifest(r, untagged.digest.str()).ok());

  removed_.clear();
  auto full = Collect(true);
  ASSERT_TRUE(full.ok()) << full.status().message();
  // Collected: the untagged image, its orphaned referrer, the list and (next pass) its child.
  for (const auto* gone : {&untagged, &orphan, &list, &list_child}) {
    EXPECT_TRUE(store_->GetManifest(r, gone->digest.str()).status().IsNotFound()) << gone->body;
    EXPECT_FALSE(Revision(r, gone->digest)) << gone->body;
    EXPECT_FALSE(BytesExist(gone->digest)) << gone->body;
  }
  EXPECT_EQ(full->manifests_deleted, 4);
  for (const auto& gone : {only_old, only_child}) {
    EXPECT_FALSE(BytesExist(gone));
    EXPECT_FALSE(Linked(r, gone));
  }
  // Kept: tagged image, tagged index and its child, the live subject's referrer, and everything they reference.
  for (const auto* kept : {&tagged, &kept_index, &kept_child, &referrer}) {
    EXPECT_TRUE(store_->GetManifest(r, kept->digest.str()).ok()) << kept->body;
    EXPECT_TRUE(Revision(r, kept->digest)) << kept->body;
    EXPECT_TRUE(BytesExist(kept->digest)) << kept->body;
  }
  for (const auto& kept : {config, shared, oci_child_layer}) {
    EXPECT_TRUE(BytesExist(kept));
    EXPECT_TRUE(Linked(r, kept));
  }
  // A second run finds nothing.
  auto again = Collect(true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->blobs_deleted + again->manifests_deleted + again->links_deleted, 0);
}

TEST_P(GcTest, SharedBlobsStayWhileAnyRepositoryReferencesThem) {
  const oci::Digest config_a = Upload("a", "config");
  const oci::Digest shared_a = Upload("a", "shared");
  const oci::Digest unique_a = Upload("a", "unique to a");
  Upload("b", "config");
  Upload("b", "shared");
  auto a = Image(config_a, {shared_a, unique_a});
  auto b = Image(config_a, {shared_a});
  Push("a", a, "latest");
  Push("b", b, "latest");
  ASSERT_TRUE(
      store_->DeleteManifest("a", a.digest.str(), [&] { return manifests_->DeleteByDigest("a", a.digest); }).ok());
  now_ += kDelay + 1;
  // A dry run counts the blobs that removing a's garbage links would free, and removes nothing.
  auto dry = Collect(false, true);
  ASSERT_TRUE(dry.ok()) << dry.status().message();
  EXPECT_EQ(dry->links_deleted, 3);
  EXPECT_EQ(dry->blobs_deleted, 2);
  EXPECT_TRUE(BytesExist(unique_a));
  EXPECT_TRUE(Linked("a", unique_a));
  auto report = Collect(false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->bytes_freed, dry->bytes_freed);
  EXPECT_FALSE(BytesExist(unique_a));
  EXPECT_FALSE(BytesExist(a.digest));
  EXPECT_TRUE(BytesExist(shared_a));
  EXPECT_TRUE(BytesExist(config_a));
  EXPECT_TRUE(Linked("b", shared_a));
  EXPECT_FALSE(Linked("a", shared_a));
  // Repository a is left empty: it leaves the catalog.
  EXPECT_TRUE(store_->GetRepository("a").status().IsNotFound());
  EXPECT_EQ(report->blobs_deleted, 2);  // unique_a and a's manifest bytes
}

TEST_P(GcTest, OneCollectorAtATimeAndAnInterruptedRunIsFinished) {
  const oci::Digest loose = Upload("r", "loose");
  ASSERT_TRUE(store_->UnlinkBlob("r", loose.str()).ok());
  now_ += kDelay + 1;
  ASSERT_TRUE(*store_->AcquireGcLease("other", 60'000));
  auto refused = Collect(false);
  EXPECT_EQ(refused.status().code(), StatusCode::kBusy);
  EXPECT_TRUE(BytesExist(loose));
  ASSERT_TRUE(store_->ReleaseGcLease("other").ok());
  // An earlier run claimed the blob and died before the bytes: the next run finishes it.
  ASSERT_TRUE(*store_->ClaimBlobIfUnreferenced(loose.str(), now_));
  auto report = Collect(false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->blobs_deleted, 1);
  EXPECT_FALSE(BytesExist(loose));
  EXPECT_TRUE(store_->ClaimedBlobs("", 10)->empty());
  // The lease was given back.
  EXPECT_TRUE(*store_->AcquireGcLease("other", 60'000));
}

TEST_P(GcTest, AStopRequestEndsTheRunBetweenTwoObjects) {
  const oci::Digest a = Upload("r", "a"), b = Upload("r", "b");
  ASSERT_TRUE(store_->UnlinkBlob("r", a.str()).ok());
  ASSERT_TRUE(store_->UnlinkBlob("r", b.str()).ok());
  now_ += kDelay + 1;
  GcOptions o;
  o.delay_ms = kDelay;
  o.owner = "test";
  // Shutdown is asked for as soon as the first blob is gone.
  o.stop_requested = [&] { return !BytesExist(a) || !BytesExist(b); };
  GarbageCollector gc(*store_, *driver_, *manifests_, o);
  auto report = gc.Run(now_);
  EXPECT_EQ(report.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(BytesExist(a), BytesExist(b)) << "the run must stop before the next object";
  // The lease is given back, and the next run finishes what was claimed.
  auto next = Collect(false);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_FALSE(BytesExist(a));
  EXPECT_FALSE(BytesExist(b));
}

TEST_P(GcTest, AManifestPutAfterGcIsBlobUnknown) {
  const oci::Digest config = Upload("r", "config");
  const oci::Digest layer = Upload("r", "layer");
  now_ += kDelay + 1;
  auto report = Collect(false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_FALSE(Linked("r", layer));
  EXPECT_FALSE(BytesExist(layer));
  // The client HEADed before the sweep and skipped its uploads: the PUT's rows refuse (the blob rows are gone).
  auto img = Image(config, {layer});
  EXPECT_TRUE(store_->PutManifest("r", img.record, "v1").IsNotFound());
}

INSTANTIATE_TEST_SUITE_P(Engines, GcTest, ::testing::ValuesIn(kTestEngines), EngineName);

// SQLite: `berth gc` and `berth serve` are two processes on one database file;
// the repository lock (which GC's link and manifest removals and the manifest
// PUT take) must hold across them. Two stores with their own open of the lock
// file stand for the two processes (open-file-description locks conflict
// between opens, as between processes).
TEST(SqliteRepositoryLockFile, SerialisesStoresOnOneDatabaseFile) {
  testing_util::TempDir dir("berth-lockfile");
  auto pool = OpenTestPool(dir.path());
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  ASSERT_TRUE(Migrate(**pool).ok());
  MetadataStoreOptions o;
  o.repository_lock_file = dir.path() + "/metadata.db.locks";
  MetadataStore serve(*pool, o), gc(*pool, o);
  std::atomic<bool> serve_inside{false}, gc_ran_while_serve_inside{false};
  std::thread first([&] {
    std::function<Status()> slow = [&] {
      serve_inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      serve_inside = false;
      return Status::Ok();
    };
    EXPECT_TRUE(serve.DeleteTag("r", "t", slow).ok());
  });
  while (!serve_inside) std::this_thread::yield();
  std::function<Status()> probe = [&] {
    if (serve_inside) gc_ran_while_serve_inside = true;
    return Status::Ok();
  };
  EXPECT_TRUE(gc.DeleteTag("r", "t", probe).ok());
  first.join();
  EXPECT_FALSE(gc_ran_while_serve_inside) << "the second store entered the repository's lock while the first held it";
  // Another repository (another stripe) does not wait.
  std::atomic<bool> done{false};
  std::thread holder([&] {
    std::function<Status()> hold = [&] {
      while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return Status::Ok();
    };
    EXPECT_TRUE(serve.DeleteTag("r", "t", hold).ok());
  });
  std::string other = "other";
  for (int i = 0; std::hash<std::string_view>{}(other) % 64 == std::hash<std::string_view>{}("r") % 64; ++i)
    other = "other" + std::to_string(i);
  std::function<Status()> quick = [] { return Status::Ok(); };
  EXPECT_TRUE(gc.DeleteTag(other, "t", quick).ok());
  done = true;
  holder.join();
}

}  // namespace
}  // namespace berth::metadata
