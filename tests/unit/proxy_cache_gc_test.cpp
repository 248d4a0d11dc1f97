// The pull-through cache's rows (proxy::RecordFilledBlob,
// MetadataStore::LinkCachedBlob) against garbage collection, on SQLite and
// PostgreSQL: a cached manifest is recorded before its blobs arrive (its blobs
// as references the store need not hold), so the fill of a blob must record
// the references of the manifests listing it, or GC takes the cached layer.
#include <gtest/gtest.h>

#include <algorithm>

#include "metadata/gc.h"
#include "metadata_fixture.h"
#include "proxy/pull_through_cache.h"
#include "storage/blob_store.h"
#include "storage/filesystem_driver.h"
#include "storage/layout.h"
#include "storage/manifest_store.h"

namespace berth::metadata {
namespace {

constexpr int64_t kDelay = 1000;
const std::string kRepo = "cache/lib/app";

class ProxyCacheGcTest : public MetadataFixture {
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

  // A manifest fetched from the upstream, stored as the cache does: every blob
  // a reference the store need not hold yet.
  void CacheManifest(const BuiltManifest& m, const std::string& tag) {
    auto parsed = oci::ParseManifest(m.body, "");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    const oci::Manifest manifest = *parsed;
    ManifestRecord record = m.record;
    for (auto& b : record.blobs) b.foreign = true;
    std::function<Status()> store = [&] { return manifests_->Put(kRepo, m.body, manifest, m.digest, tag); };
    Status s = store_->PutManifest(kRepo, record, tag, store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // A blob's bytes and storage link, as a fill's commit leaves them.
  oci::Digest StoreBlob(const std::string& content) {
    const oci::Digest d = oci::DigestOf(content);
    EXPECT_TRUE(store_->ProtectBlob(d.str(), static_cast<int64_t>(content.size())).ok());
    EXPECT_TRUE(driver_->PutContent(storage::layout::BlobData(d), content).ok());
    EXPECT_TRUE(driver_->PutContent(storage::layout::LayerLink(kRepo, d), d.str()).ok());
    return d;
  }
  void Fill(const std::string& content) {
    const oci::Digest d = StoreBlob(content);
    Status s = proxy::RecordFilledBlob(*store_, *manifests_, kRepo, d, static_cast<int64_t>(content.size()));
    ASSERT_TRUE(s.ok()) << s.message();
  }
  bool BytesExist(const oci::Digest& d) { return driver_->Stat(storage::layout::BlobData(d)).ok(); }
  bool Linked(const oci::Digest& d) { return driver_->Stat(storage::layout::LayerLink(kRepo, d)).ok(); }
  std::vector<std::string> References(const BuiltManifest& m) {
    auto r = store_->ManifestBlobs(kRepo, m.digest.str());
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<std::string>{};
  }
  // ManifestBlobs lists by digest.
  static std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
  void Collect() {
    GcOptions o;
    o.delay_ms = kDelay;
    o.owner = "test";
    GarbageCollector gc(*store_, *driver_, *manifests_, o);
    auto report = gc.Run(now_);
    ASSERT_TRUE(report.ok()) << report.status().message();
  }

  testing_util::TempDir store_dir_{"berth-proxy-gc-store"};
  std::unique_ptr<storage::StorageDriver> driver_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<storage::ManifestStore> manifests_;
};

TEST_P(ProxyCacheGcTest, FilledBlobsOfACachedManifestStayThroughGc) {
  const oci::Digest config = D("config"), layer = D("layer"), other_layer = D("other layer");
  const auto image = Image(config, {layer, other_layer});
  const auto unrelated = Image(D("config 2"), {D("layer 2")});
  const auto index = Index({image.digest, unrelated.digest});
  // A cold pull: the index and its manifests first, none of their blobs known yet.
  CacheManifest(image, "");
  CacheManifest(unrelated, "");
  CacheManifest(index, "v1");
  EXPECT_TRUE(References(image).empty());
  // Then the blobs, as the client pulls them.
  Fill("config");
  Fill("layer");
  EXPECT_EQ(References(image), Sorted({config.str(), layer.str()}));
  EXPECT_TRUE(References(unrelated).empty());  // lists neither
  // One blob recorded as the fill did before the fix: its link alone.
  const oci::Digest stored = StoreBlob("other layer");
  ASSERT_TRUE(store_->LinkBlob(kRepo, stored.str(), 11).ok());

  now_ += kDelay + 1;
  Collect();
  for (const auto& d : {config, layer}) {
    EXPECT_TRUE(BytesExist(d)) << d.str();
    EXPECT_TRUE(Linked(d)) << d.str();
  }
  // The link without a reference row is what GC took (the defect the rows fix).
  EXPECT_FALSE(Linked(other_layer));
  EXPECT_FALSE(BytesExist(other_layer));
  // Pulled again: filled again, and from then on kept.
  Fill("other layer");
  now_ += kDelay + 1;
  Collect();
  EXPECT_TRUE(Linked(other_layer));
  EXPECT_TRUE(BytesExist(other_layer));
  EXPECT_EQ(References(image), Sorted({config.str(), layer.str(), other_layer.str()}));
}

TEST_P(ProxyCacheGcTest, BlobFilledBeforeItsManifestIsReferencedToo) {
  // Another image of the repository pulled first made the layer known.
  const oci::Digest config = D("config"), layer = D("shared layer");
  Fill("shared layer");
  const auto image = Image(config, {layer});
  CacheManifest(image, "v2");
  Fill("config");
  EXPECT_EQ(References(image), Sorted({config.str(), layer.str()}));
  now_ += kDelay + 1;
  Collect();
  EXPECT_TRUE(Linked(layer));
  EXPECT_TRUE(BytesExist(layer));
}

TEST_P(ProxyCacheGcTest, AClaimedBlobIsNeitherLinkedNorReferenced) {
  const oci::Digest layer = D("claimed layer");
  const auto image = Image(D("cfg"), {layer});
  CacheManifest(image, "v3");
  // GC claims the blob's row (unreferenced, unlinked, past the grace) just before the fill records it.
  ASSERT_TRUE(store_->ProtectBlob(layer.str(), 13).ok());
  now_ += kDelay + 1;
  auto claimed = store_->ClaimBlobIfUnreferenced(layer.str(), now_ - kDelay);
  ASSERT_TRUE(claimed.ok() && *claimed);
  Status s = proxy::RecordFilledBlob(*store_, *manifests_, kRepo, layer, 13);
  EXPECT_EQ(s.code(), StatusCode::kBusy) << s.message();
  EXPECT_TRUE(References(image).empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, ProxyCacheGcTest, ::testing::ValuesIn(kTestEngines), EngineName);

}  // namespace
}  // namespace berth::metadata
