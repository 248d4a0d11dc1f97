// BlobStore, UploadStore, ManifestStore and the on-disk layout, over a real
// FilesystemDriver in a fresh temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "oci/media_types.h"
#include "storage/blob_store.h"
#include "storage/filesystem_driver.h"
#include "storage/layout.h"
#include "storage/manifest_store.h"
#include "storage/store_walk.h"
#include "storage/upload_store.h"
#include "temp_dir.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using oci::Digest;
using oci::DigestAlgorithm;
using oci::DigestOf;

Digest ParseDigest(const std::string& s) {
  auto d = Digest::Parse(s);
  EXPECT_TRUE(d.ok()) << s;
  return d.ok() ? *d : Digest();
}

// ---------------------------------------------------------------------------
// layout: must equal CNCF distribution's paths byte for byte.

const std::string kHex = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

TEST(LayoutTest, Roots) {
  EXPECT_EQ(layout::kRoot, "/docker/registry/v2");
  EXPECT_EQ(layout::RepositoriesRoot(), "/docker/registry/v2/repositories");
  EXPECT_EQ(layout::Repository("library/ubuntu"), "/docker/registry/v2/repositories/library/ubuntu");
}

TEST(LayoutTest, Blobs) {
  Digest d = ParseDigest("sha256:" + kHex);
  EXPECT_EQ(layout::BlobDir(d), "/docker/registry/v2/blobs/sha256/ab/" + kHex);
  EXPECT_EQ(layout::BlobData(d), "/docker/registry/v2/blobs/sha256/ab/" + kHex + "/data");
  Digest e = DigestOf("abc", DigestAlgorithm::kSha512);
  EXPECT_EQ(layout::BlobData(e), "/docker/registry/v2/blobs/sha512/dd/" + e.hex() + "/data");
}

TEST(LayoutTest, RepositoryLinks) {
  Digest d = ParseDigest("sha256:" + kHex);
  const std::string repo = "/docker/registry/v2/repositories/a/b";
  EXPECT_EQ(layout::LayerLink("a/b", d), repo + "/_layers/sha256/" + kHex + "/link");
  EXPECT_EQ(layout::RevisionLink("a/b", d), repo + "/_manifests/revisions/sha256/" + kHex + "/link");
  EXPECT_EQ(layout::RevisionsDir("a/b", DigestAlgorithm::kSha256), repo + "/_manifests/revisions/sha256");
  EXPECT_EQ(layout::RevisionsDir("a/b", DigestAlgorithm::kSha512), repo + "/_manifests/revisions/sha512");
  EXPECT_EQ(layout::TagsDir("a/b"), repo + "/_manifests/tags");
  EXPECT_EQ(layout::Tag("a/b", "v1.0"), repo + "/_manifests/tags/v1.0");
  EXPECT_EQ(layout::TagCurrentLink("a/b", "latest"), repo + "/_manifests/tags/latest/current/link");
  EXPECT_EQ(layout::TagIndexLink("a/b", "latest", d), repo + "/_manifests/tags/latest/index/sha256/" + kHex + "/link");
}

TEST(LayoutTest, Uploads) {
  const std::string id = "0f2b6c0e-7d2c-4c57-9d0e-0123456789ab";
  const std::string repo = "/docker/registry/v2/repositories/library/ubuntu";
  EXPECT_EQ(layout::UploadsDir("library/ubuntu"), repo + "/_uploads");
  EXPECT_EQ(layout::Upload("library/ubuntu", id), repo + "/_uploads/" + id);
  EXPECT_EQ(layout::UploadData("library/ubuntu", id), repo + "/_uploads/" + id + "/data");
  EXPECT_EQ(layout::UploadStartedAt("library/ubuntu", id), repo + "/_uploads/" + id + "/startedat");
}

TEST(LayoutTest, Referrers) {
  Digest subject = ParseDigest("sha256:" + kHex);
  Digest referrer = ParseDigest("sha256:" + std::string(64, '1'));
  const std::string repo = "/docker/registry/v2/repositories/a";
  EXPECT_EQ(layout::ReferrersDir("a", subject), repo + "/_referrers/sha256/" + kHex);
  EXPECT_EQ(layout::ReferrerLink("a", subject, referrer),
            repo + "/_referrers/sha256/" + kHex + "/sha256/" + std::string(64, '1') + "/link");
}

TEST(LayoutTest, AllPathsAreClean) {
  Digest d = ParseDigest("sha256:" + kHex);
  for (const std::string& p :
       {layout::BlobData(d), layout::LayerLink("a/b", d), layout::RevisionLink("a", d),
        layout::TagCurrentLink("a", "t"), layout::TagIndexLink("a", "t", d), layout::UploadData("a", "u"),
        layout::ReferrerLink("a", d, d), layout::RepositoriesRoot()}) {
    EXPECT_TRUE(IsCleanStoragePath(p)) << p;
  }
}

// ---------------------------------------------------------------------------

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<testing_util::TempDir>("berth-storage");
    dir_ = tmp_->path();
    auto d = FilesystemDriver::Open(dir_);
    ASSERT_TRUE(d.ok()) << d.status().message();
    driver_ = std::move(*d);
    blobs_ = std::make_unique<BlobStore>(*driver_);
    uploads_ = std::make_unique<UploadStore>(*driver_, *blobs_);
    manifests_ = std::make_unique<ManifestStore>(*driver_, *blobs_);
  }
  void TearDown() override {
    manifests_.reset();
    uploads_.reset();
    blobs_.reset();
    driver_.reset();
    tmp_.reset();
    EXPECT_FALSE(fs::exists(dir_));
  }

  std::string Disk(const std::string& storage_path) const { return dir_ + storage_path; }
  std::string ReadDisk(const std::string& storage_path) const {
    std::ifstream in(Disk(storage_path), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool Exists(const std::string& storage_path) const { return fs::exists(Disk(storage_path)); }

  // Stores `content` as a blob linked into `name`; returns its digest.
  Digest PutBlob(const std::string& name, const std::string& content) {
    Digest d = DigestOf(content);
    EXPECT_TRUE(blobs_->PutSmall(d, content).ok());
    EXPECT_TRUE(blobs_->Link(name, d).ok());
    return d;
  }

  // Uploads `content` through the upload store, in one append.
  Digest Upload(const std::string& name, const std::string& content) {
    auto id = uploads_->Start(name);
    EXPECT_TRUE(id.ok());
    auto s = uploads_->Acquire(name, *id);
    EXPECT_TRUE(s.ok()) << s.status().message();
    EXPECT_TRUE((*s)->Append(content.data(), content.size()).ok());
    Digest d = DigestOf(content);
    Status c = (*s)->Commit(d);
    EXPECT_TRUE(c.ok()) << c.message();
    return d;
  }

  std::unique_ptr<testing_util::TempDir> tmp_;
  std::string dir_;
  std::unique_ptr<FilesystemDriver> driver_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<UploadStore> uploads_;
  std::unique_ptr<ManifestStore> manifests_;
};

// ---------------------------------------------------------------------------
// BlobStore

using BlobStoreTest = StorageTest;

TEST_F(BlobStoreTest, PutSmallGetSmallStat) {
  Digest d = DigestOf("content");
  EXPECT_EQ(blobs_->Stat(d).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(blobs_->GetSmall(d).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(blobs_->PutSmall(d, "content").ok());
  auto size = blobs_->Stat(d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 7);
  auto got = blobs_->GetSmall(d);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "content");
  EXPECT_EQ(ReadDisk(layout::BlobData(d)), "content");
}

TEST_F(BlobStoreTest, OpenAtOffset) {
  Digest d = DigestOf("0123456789");
  ASSERT_TRUE(blobs_->PutSmall(d, "0123456789").ok());
  auto r = blobs_->Open(d, 6);
  ASSERT_TRUE(r.ok());
  char buf[16];
  auto n = (*r)->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "6789");
  EXPECT_EQ(blobs_->Open(DigestOf("missing"), 0).status().code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, LinkUnlinkStatInRepository) {
  Digest d = DigestOf("layer");
  ASSERT_TRUE(blobs_->PutSmall(d, "layer").ok());
  EXPECT_FALSE(blobs_->IsLinked("a/b", d));
  EXPECT_EQ(blobs_->StatInRepository("a/b", d).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(blobs_->Link("a/b", d).ok());
  EXPECT_TRUE(blobs_->IsLinked("a/b", d));
  EXPECT_EQ(ReadDisk(layout::LayerLink("a/b", d)), d.str());  // distribution's link format: the digest string
  auto size = blobs_->StatInRepository("a/b", d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 5);
  // Other repositories do not see it.
  EXPECT_FALSE(blobs_->IsLinked("a", d));
  EXPECT_FALSE(blobs_->IsLinked("a/b/c", d));
  EXPECT_EQ(blobs_->StatInRepository("other", d).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(blobs_->Unlink("a/b", d).ok());
  EXPECT_FALSE(blobs_->IsLinked("a/b", d));
  EXPECT_EQ(blobs_->StatInRepository("a/b", d).status().code(), StatusCode::kNotFound);
  // The link's <alg>/<hex> directory is removed, the content stays.
  EXPECT_FALSE(Exists(layout::Repository("a/b") + "/_layers/sha256/" + d.hex()));
  EXPECT_TRUE(Exists(layout::Repository("a/b") + "/_layers/sha256"));
  EXPECT_TRUE(blobs_->Stat(d).ok());
  EXPECT_EQ(blobs_->Unlink("a/b", d).code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, LinkedButContentMissing) {
  Digest d = DigestOf("ghost");
  ASSERT_TRUE(blobs_->Link("a", d).ok());
  EXPECT_TRUE(blobs_->IsLinked("a", d));
  EXPECT_EQ(blobs_->StatInRepository("a", d).status().code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, LinkIsIdempotent) {
  Digest d = PutBlob("a", "x");
  ASSERT_TRUE(blobs_->Link("a", d).ok());
  EXPECT_TRUE(blobs_->IsLinked("a", d));
  EXPECT_EQ(ReadDisk(layout::LayerLink("a", d)), d.str());
}

// A FilesystemDriver that also hands out direct URLs, as an object store does.
class RedirectingDriver final : public StorageDriver {
 public:
  explicit RedirectingDriver(StorageDriver& inner) : inner_(inner) {}
  DriverInfo Info() const override { return DriverInfo{"redirecting", "", true, true}; }
  Result<std::string> RedirectUrl(const std::string& p) override { return "https://direct.example" + p; }
  Result<std::string> GetContent(const std::string& p) override { return inner_.GetContent(p); }
  Status PutContent(const std::string& p, std::string_view c) override { return inner_.PutContent(p, c); }
  Result<std::unique_ptr<FileReader>> Reader(const std::string& p, int64_t off) override {
    return inner_.Reader(p, off);
  }
  Result<std::unique_ptr<FileWriter>> Writer(const std::string& p) override { return inner_.Writer(p); }
  Result<FileInfo> Stat(const std::string& p) override { return inner_.Stat(p); }
  Result<std::vector<std::string>> List(const std::string& p) override { return inner_.List(p); }
  Status Move(const std::string& f, const std::string& t) override { return inner_.Move(f, t); }
  Status Delete(const std::string& p) override { return inner_.Delete(p); }
  Status CheckWritable() override { return inner_.CheckWritable(); }

 private:
  StorageDriver& inner_;
};

TEST_F(BlobStoreTest, FindGivesSizeAndAReaderFromAnOffset) {
  Digest d = PutBlob("a/b", "0123456789");
  auto blob = blobs_->Find("a/b", d);
  ASSERT_TRUE(blob.ok()) << blob.status().message();
  EXPECT_EQ(blob->size(), 10);
  // A filesystem has no direct URLs: the bytes are served by the registry.
  EXPECT_FALSE(driver_->Info().can_redirect);
  EXPECT_EQ(blob->RedirectUrl().status().code(), StatusCode::kUnsupported);
  auto r = blob->Open(4);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE((*r)->NativeFd(), 0);  // sendfile/mmap can send it
  char buf[16];
  auto n = (*r)->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "456789");
}

TEST_F(BlobStoreTest, FindGivesTheDriversDirectUrlOfTheBlobData) {
  RedirectingDriver driver(*driver_);
  BlobStore blobs(driver);
  Digest d = PutBlob("a/b", "direct");
  auto blob = blobs.Find("a/b", d);
  ASSERT_TRUE(blob.ok()) << blob.status().message();
  EXPECT_EQ(blob->size(), 6);
  auto url = blob->RedirectUrl();
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "https://direct.example" + layout::BlobData(d));
}

TEST_F(BlobStoreTest, FindOnlyWhatTheRepositoryLinksAndTheStoreHolds) {
  Digest d = PutBlob("a/b", "linked");
  EXPECT_EQ(blobs_->Find("a", d).status().code(), StatusCode::kNotFound);      // content, but no link here
  EXPECT_EQ(blobs_->Find("a/b/c", d).status().code(), StatusCode::kNotFound);  // nor in a nested repository
  EXPECT_EQ(blobs_->Find("a/b", DigestOf("unknown")).status().code(), StatusCode::kNotFound);
  Digest ghost = DigestOf("ghost");
  ASSERT_TRUE(blobs_->Link("a/b", ghost).ok());  // a link, but no content
  EXPECT_EQ(blobs_->Find("a/b", ghost).status().code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// UploadStore

using UploadStoreTest = StorageTest;

TEST_F(UploadStoreTest, IsValidUploadId) {
  EXPECT_TRUE(IsValidUploadId("0f2b6c0e-7d2c-4c57-9d0e-0123456789ab"));
  EXPECT_TRUE(IsValidUploadId("00000000-0000-0000-0000-000000000000"));
  for (const char* bad : {"", "0f2b6c0e-7d2c-4c57-9d0e-0123456789a", "0f2b6c0e-7d2c-4c57-9d0e-0123456789abc",
                          "0F2B6C0E-7D2C-4C57-9D0E-0123456789AB", "0f2b6c0e7d2c-4c57-9d0e-0123456789abc",
                          "0f2b6c0e-7d2c-4c57-9d0e_0123456789ab", "0f2b6c0e-7d2c-4c57-9d0e-0123456789ag",
                          "../../../../../../../../../etc/pass", "0f2b6c0e-7d2c-4c57-9d0e-01234567/9ab",
                          "------------------------------------", "0f2b6c0e-7d2c-4c57-9d0e-0123456789a\n"}) {
    EXPECT_FALSE(IsValidUploadId(bad)) << "'" << bad << "'";
  }
}

TEST_F(UploadStoreTest, StartCreatesDistinctValidUuids) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto id = uploads_->Start("a/b");
    ASSERT_TRUE(id.ok()) << id.status().message();
    EXPECT_TRUE(IsValidUploadId(*id)) << *id;
    EXPECT_EQ((*id)[14], '4') << *id;                                          // version 4
    EXPECT_NE(std::string("89ab").find((*id)[19]), std::string::npos) << *id;  // RFC 4122 variant
    ids.insert(*id);
    // distribution's startedat file: present under the upload directory.
    EXPECT_TRUE(Exists(layout::UploadStartedAt("a/b", *id)));
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(UploadStoreTest, StartedAtIsUnixSeconds) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  std::string started = ReadDisk(layout::UploadStartedAt("a", *id));
  ASSERT_FALSE(started.empty());
  long long secs = std::stoll(started);
  long long now = static_cast<long long>(::time(nullptr));
  EXPECT_LE(std::llabs(now - secs), 60) << started;
}

TEST_F(UploadStoreTest, SizeAcquireAppendRelease) {
  auto id = uploads_->Start("a/b");
  ASSERT_TRUE(id.ok());
  auto size = uploads_->Size("a/b", *id);
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, 0);
  {
    auto s = uploads_->Acquire("a/b", *id);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)->uuid(), *id);
    EXPECT_EQ((*s)->size(), 0);
    ASSERT_TRUE((*s)->Append("hello ", 6).ok());
    EXPECT_EQ((*s)->size(), 6);
    ASSERT_TRUE((*s)->Append("world", 5).ok());
    EXPECT_EQ((*s)->size(), 11);
  }
  size = uploads_->Size("a/b", *id);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 11);
  EXPECT_EQ(ReadDisk(layout::UploadData("a/b", *id)), "hello world");
  {
    auto s = uploads_->Acquire("a/b", *id);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->size(), 11);
    ASSERT_TRUE((*s)->Append("!", 1).ok());
  }
  EXPECT_EQ(*uploads_->Size("a/b", *id), 12);
}

TEST_F(UploadStoreTest, UnknownUpload) {
  const std::string id = "0f2b6c0e-7d2c-4c57-9d0e-0123456789ab";
  EXPECT_EQ(uploads_->Size("a", id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Acquire("a", id).status().code(), StatusCode::kNotFound);
  // A failed Acquire does not leave the id marked busy.
  EXPECT_EQ(uploads_->Acquire("a", id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Cancel("a", id).code(), StatusCode::kNotFound);
  EXPECT_FALSE(Exists(layout::Upload("a", id)));
}

TEST_F(UploadStoreTest, UploadBelongsToItsRepository) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(uploads_->Size("b", *id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Acquire("b", *id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Cancel("b", *id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(uploads_->Size("a", *id).ok());
  EXPECT_TRUE(uploads_->Acquire("a", *id).ok());
}

TEST_F(UploadStoreTest, AcquireTwiceIsBusy) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  auto first = uploads_->Acquire("a", *id);
  ASSERT_TRUE(first.ok());
  auto second = uploads_->Acquire("a", *id);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  EXPECT_EQ(uploads_->Cancel("a", *id).code(), StatusCode::kBusy);
  // Size is readable while the upload is held.
  EXPECT_TRUE(uploads_->Size("a", *id).ok());
  first = Status::NotFound("released");  // destroys the session
  auto third = uploads_->Acquire("a", *id);
  EXPECT_TRUE(third.ok()) << third.status().message();
}

TEST_F(UploadStoreTest, ConcurrentAcquireHasOneWinner) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> won{0};
    std::atomic<int> busy{0};
    std::vector<std::unique_ptr<UploadSession>> held(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        auto s = uploads_->Acquire("a", *id);
        if (s.ok()) {
          ++won;
          held[t] = std::move(*s);
        } else if (s.status().code() == StatusCode::kBusy) {
          ++busy;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(busy.load(), 7) << "round " << round;
  }
}

TEST_F(UploadStoreTest, SessionsOfDifferentUploadsAreIndependent) {
  auto a = uploads_->Start("r");
  auto b = uploads_->Start("r");
  ASSERT_TRUE(a.ok() && b.ok());
  auto sa = uploads_->Acquire("r", *a);
  auto sb = uploads_->Acquire("r", *b);
  ASSERT_TRUE(sa.ok());
  ASSERT_TRUE(sb.ok());
  ASSERT_TRUE((*sa)->Append("aaa", 3).ok());
  ASSERT_TRUE((*sb)->Append("b", 1).ok());
  EXPECT_TRUE((*sa)->Commit(DigestOf("aaa")).ok());
  EXPECT_TRUE((*sb)->Commit(DigestOf("b")).ok());
  EXPECT_EQ(*blobs_->GetSmall(DigestOf("aaa")), "aaa");
  EXPECT_EQ(*blobs_->GetSmall(DigestOf("b")), "b");
}

// Pipelined pieces over the real driver (O_DIRECT where it can), across two
// sessions: releasing the first waits for its write in flight and caches the
// hash of what was stored. Failed writes: tests/unit/upload_pipeline_test.cpp.
TEST_F(UploadStoreTest, PipelinedPiecesContinueInTheNextSession) {
  auto id = uploads_->Start("a/b");
  ASSERT_TRUE(id.ok());
  const std::string big(UploadSession::kPipelinedPiece + 1000, 'b'), small = "small", rest(1 << 20, 'r');
  {
    auto s = uploads_->Acquire("a/b", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->AppendPiece({big.data(), big.size()}).ok());
    ASSERT_TRUE((*s)->AppendPiece({small.data(), small.size()}).ok());
    ASSERT_TRUE((*s)->AppendPiece({big.data(), big.size()}).ok());
  }  // released with the last write possibly in flight
  {
    auto s = uploads_->Acquire("a/b", *id);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->size(), static_cast<int64_t>(2 * big.size() + small.size()));
    ASSERT_TRUE((*s)->AppendPiece({rest.data(), rest.size()}).ok());
    ASSERT_TRUE((*s)->FinishPieces().ok());
    Status c = (*s)->Commit(DigestOf(big + small + big + rest));
    ASSERT_TRUE(c.ok()) << c.message();
  }
  EXPECT_EQ(ReadDisk(layout::BlobData(DigestOf(big + small + big + rest))), big + small + big + rest);
}

// Upload purging: what started before the cutoff goes, unless a request holds
// it or its start time cannot be read; distribution's RFC 3339 start times count.
TEST_F(UploadStoreTest, PurgeStartedRemovesOnlyOldUnheldUploads) {
  auto make = [&](const std::string& name, const std::string& started) {
    auto id = uploads_->Start(name);
    EXPECT_TRUE(id.ok());
    {
      auto s = uploads_->Acquire(name, *id);
      EXPECT_TRUE(s.ok());
      EXPECT_TRUE((*s)->Append("partial", 7).ok());
    }
    if (!started.empty()) EXPECT_TRUE(driver_->PutContent(layout::UploadStartedAt(name, *id), started).ok());
    return *id;
  };
  const auto now = std::chrono::system_clock::now();
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::string old_berth = make("a/b", std::to_string(now_s - 8 * 86400));
  const std::string old_dist = make("c", "2020-01-02T03:04:05.123456789Z");
  const std::string fresh = make("a/b", "");  // Start's own time: now
  const std::string garbage = make("c", "yesterday");
  const std::string held_id = make("a/b", std::to_string(now_s - 8 * 86400));
  auto held = uploads_->Acquire("a/b", held_id);
  ASSERT_TRUE(held.ok());
  const auto cutoff = now - std::chrono::hours(7 * 24);

  auto dry = uploads_->PurgeStarted(cutoff, /*dry_run=*/true);
  EXPECT_EQ(dry.removed, 2);
  EXPECT_EQ(dry.kept, 3);
  EXPECT_TRUE(Exists(layout::Upload("a/b", old_berth)));
  EXPECT_TRUE(Exists(layout::Upload("c", old_dist)));

  auto r = uploads_->PurgeStarted(cutoff, /*dry_run=*/false);
  EXPECT_EQ(r.removed, 2);
  EXPECT_EQ(r.kept, 3);
  EXPECT_EQ(r.failed, 0);
  EXPECT_FALSE(Exists(layout::Upload("a/b", old_berth)));
  EXPECT_FALSE(Exists(layout::Upload("c", old_dist)));
  EXPECT_EQ(uploads_->Size("a/b", old_berth).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*uploads_->Size("a/b", fresh), 7);
  EXPECT_EQ(*uploads_->Size("c", garbage), 7);
  EXPECT_EQ((*held)->size(), 7);  // still usable by the request that holds it
  ASSERT_TRUE((*held)->Append("+", 1).ok());
  held->reset();
  EXPECT_EQ(*uploads_->Size("a/b", held_id), 8);
  // Once released it is old and free: the next pass takes it.
  EXPECT_EQ(uploads_->PurgeStarted(cutoff, false).removed, 1);
  EXPECT_FALSE(Exists(layout::Upload("a/b", held_id)));
}

TEST_F(UploadStoreTest, CommitMakesBlobVisibleAndLinked) {
  auto id = uploads_->Start("library/app");
  ASSERT_TRUE(id.ok());
  const std::string content = "layer bytes";
  const Digest d = DigestOf(content);
  {
    auto s = uploads_->Acquire("library/app", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append(content.data(), 5).ok());
    ASSERT_TRUE((*s)->Append(content.data() + 5, content.size() - 5).ok());
    Status c = (*s)->Commit(d);
    ASSERT_TRUE(c.ok()) << c.message();
  }
  EXPECT_EQ(ReadDisk(layout::BlobData(d)), content);
  auto size = blobs_->StatInRepository("library/app", d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, static_cast<int64_t>(content.size()));
  EXPECT_EQ(ReadDisk(layout::LayerLink("library/app", d)), d.str());
  // The upload is gone.
  EXPECT_FALSE(Exists(layout::Upload("library/app", *id)));
  EXPECT_EQ(uploads_->Size("library/app", *id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Acquire("library/app", *id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(dir_ + "/_berth_tmp"));
}

TEST_F(UploadStoreTest, CommitEmptyBlob) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  auto s = uploads_->Acquire("a", *id);
  ASSERT_TRUE(s.ok());
  Status c = (*s)->Commit(DigestOf(""));
  ASSERT_TRUE(c.ok()) << c.message();
  auto size = blobs_->StatInRepository("a", DigestOf(""));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0);
}

TEST_F(UploadStoreTest, CommitWrongDigestStoresNothing) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  const Digest wrong = DigestOf("something else");
  {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("actual", 6).ok());
    Status c = (*s)->Commit(wrong);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.message().find(DigestOf("actual").str()), std::string::npos) << c.message();
  }
  EXPECT_EQ(blobs_->Stat(wrong).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(blobs_->Stat(DigestOf("actual")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(blobs_->IsLinked("a", wrong));
  EXPECT_FALSE(blobs_->IsLinked("a", DigestOf("actual")));
  EXPECT_FALSE(Exists(layout::Upload("a", *id)));
  EXPECT_FALSE(Exists(layout::kRoot + "/blobs"));
  EXPECT_EQ(uploads_->Size("a", *id).status().code(), StatusCode::kNotFound);
}

TEST_F(UploadStoreTest, CommitWrongSha512DigestStoresNothing) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  auto s = uploads_->Acquire("a", *id);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append("actual", 6).ok());
  Status c = (*s)->Commit(DigestOf("other", DigestAlgorithm::kSha512));
  EXPECT_EQ(c.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.message().find(DigestOf("actual", DigestAlgorithm::kSha512).str()), std::string::npos) << c.message();
  EXPECT_FALSE(Exists(layout::kRoot + "/blobs"));
}

TEST_F(UploadStoreTest, CommitSha512) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  const std::string content(3 << 20, 'z');  // more than one rehash buffer
  const Digest d = DigestOf(content, DigestAlgorithm::kSha512);
  {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append(content.data(), content.size()).ok());
    Status c = (*s)->Commit(d);
    ASSERT_TRUE(c.ok()) << c.message();
  }
  EXPECT_TRUE(Exists("/docker/registry/v2/blobs/sha512/" + d.hex().substr(0, 2) + "/" + d.hex() + "/data"));
  auto size = blobs_->StatInRepository("a", d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, static_cast<int64_t>(content.size()));
  EXPECT_FALSE(Exists(layout::Upload("a", *id)));
}

TEST_F(UploadStoreTest, ResumeAfterRestart) {
  auto id = uploads_->Start("a/b");
  ASSERT_TRUE(id.ok());
  {
    auto s = uploads_->Acquire("a/b", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("first half, ", 12).ok());
  }
  // A new process: fresh stores over the same directory, no cached hash.
  auto d2 = FilesystemDriver::Open(dir_);
  ASSERT_TRUE(d2.ok());
  BlobStore blobs2(**d2);
  UploadStore uploads2(**d2, blobs2);
  auto size = uploads2.Size("a/b", *id);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 12);
  {
    auto s = uploads2.Acquire("a/b", *id);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)->size(), 12);
    ASSERT_TRUE((*s)->Append("second half", 11).ok());
    Status c = (*s)->Commit(DigestOf("first half, second half"));
    ASSERT_TRUE(c.ok()) << c.message();
  }
  EXPECT_EQ(*blobs2.GetSmall(DigestOf("first half, second half")), "first half, second half");
  EXPECT_TRUE(blobs2.IsLinked("a/b", DigestOf("first half, second half")));
}

// A driver that cannot read an unfinished upload's bytes (like an S3 multipart
// upload): continuing must rely on the saved hash state alone.
class NoUploadReadsDriver final : public StorageDriver {
 public:
  explicit NoUploadReadsDriver(StorageDriver& inner) : inner_(inner) {}
  DriverInfo Info() const override { return DriverInfo{"no-upload-reads", "", false, false}; }
  Result<std::string> GetContent(const std::string& p) override { return inner_.GetContent(p); }
  Status PutContent(const std::string& p, std::string_view c) override { return inner_.PutContent(p, c); }
  Result<std::unique_ptr<FileReader>> Reader(const std::string& p, int64_t off) override {
    if (p.find("/_uploads/") != std::string::npos) return Status::Unsupported("unfinished upload is not readable");
    return inner_.Reader(p, off);
  }
  Result<std::unique_ptr<FileWriter>> Writer(const std::string& p) override { return inner_.Writer(p); }
  Result<FileInfo> Stat(const std::string& p) override { return inner_.Stat(p); }
  Result<std::vector<std::string>> List(const std::string& p) override { return inner_.List(p); }
  Status Move(const std::string& f, const std::string& t) override { return inner_.Move(f, t); }
  Status Delete(const std::string& p) override { return inner_.Delete(p); }
  Status CheckWritable() override { return inner_.CheckWritable(); }

 private:
  StorageDriver& inner_;
};

TEST_F(UploadStoreTest, ResumeInAnotherProcessFromSavedHashState) {
  NoUploadReadsDriver driver(*driver_);
  BlobStore blobs(driver);
  std::string id;
  {
    UploadStore replica_a(driver, blobs);
    auto started = replica_a.Start("a/b");
    ASSERT_TRUE(started.ok());
    id = *started;
    auto s = replica_a.Acquire("a/b", id);
    ASSERT_TRUE(s.ok());
    const std::string first(100000, 'x');  // not a multiple of the block size
    ASSERT_TRUE((*s)->Append(first.data(), first.size()).ok());
  }
  EXPECT_TRUE(Exists(layout::UploadHashState("a/b", id)));
  UploadStore replica_b(driver, blobs);
  auto s = replica_b.Acquire("a/b", id);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->size(), 100000);
  ASSERT_TRUE((*s)->Append("tail", 4).ok());
  const Digest d = DigestOf(std::string(100000, 'x') + "tail");
  Status c = (*s)->Commit(d);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_TRUE(blobs.IsLinked("a/b", d));
  EXPECT_FALSE(Exists(layout::Upload("a/b", id)));
}

TEST_F(UploadStoreTest, LocalUploadsKeepNoHashStateFile) {
  // A filesystem upload is re-read after a restart: no extra file (and fsync) per PATCH.
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("abc", 3).ok());
  }
  EXPECT_FALSE(Exists(layout::UploadHashState("a", *id)));
}

TEST_F(UploadStoreTest, StaleSavedHashStateIsNotUsed) {
  NoUploadReadsDriver saving(*driver_);  // saves the hash state after each request
  BlobStore saving_blobs(saving);
  UploadStore first(saving, saving_blobs);
  auto id = first.Start("a");
  ASSERT_TRUE(id.ok());
  {
    auto s = first.Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("abc", 3).ok());
  }
  ASSERT_TRUE(Exists(layout::UploadHashState("a", *id)));
  {  // bytes appended behind the saved state's back
    auto w = driver_->Writer(layout::UploadData("a", *id));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("def", 3).ok());
  }
  UploadStore fresh(*driver_, *blobs_);  // no cache; the saved state says 3 bytes, the data has 6
  auto s = fresh.Acquire("a", *id);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append("g", 1).ok());
  EXPECT_TRUE((*s)->Commit(DigestOf("abcdefg")).ok());
}

TEST_F(UploadStoreTest, ResumeAfterRestartVerifiesWholeContent) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("AAAA", 4).ok());
  }
  UploadStore uploads2(*driver_, *blobs_);
  auto s = uploads2.Acquire("a", *id);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append("BBBB", 4).ok());
  // The digest of only the second part is wrong: the first part was hashed from disk.
  EXPECT_EQ((*s)->Commit(DigestOf("BBBB")).code(), StatusCode::kInvalidArgument);
}

TEST_F(UploadStoreTest, StaleCachedHashIsRecomputed) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("abc", 3).ok());
  }
  // Someone else (another process sharing the directory) appended meanwhile.
  {
    auto w = driver_->Writer(layout::UploadData("a", *id));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("def", 3).ok());
  }
  auto s = uploads_->Acquire("a", *id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->size(), 6);
  ASSERT_TRUE((*s)->Append("g", 1).ok());
  Status c = (*s)->Commit(DigestOf("abcdefg"));
  EXPECT_TRUE(c.ok()) << c.message();
}

TEST_F(UploadStoreTest, ManySmallAppendsAcrossSessions) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  std::string all;
  for (int i = 0; i < 50; ++i) {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok()) << i << ": " << s.status().message();
    std::string piece = std::to_string(i) + ",";
    ASSERT_TRUE((*s)->Append(piece.data(), piece.size()).ok());
    all += piece;
  }
  auto s = uploads_->Acquire("a", *id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->size(), static_cast<int64_t>(all.size()));
  Status c = (*s)->Commit(DigestOf(all));
  EXPECT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(*blobs_->GetSmall(DigestOf(all)), all);
}

TEST_F(UploadStoreTest, CommitExistingBlobAgain) {
  Digest first = Upload("a", "same bytes");
  Digest second = Upload("b", "same bytes");
  EXPECT_EQ(first, second);
  EXPECT_TRUE(blobs_->IsLinked("a", first));
  EXPECT_TRUE(blobs_->IsLinked("b", first));
  EXPECT_EQ(*blobs_->GetSmall(first), "same bytes");
}

TEST_F(UploadStoreTest, Cancel) {
  auto id = uploads_->Start("a");
  ASSERT_TRUE(id.ok());
  {
    auto s = uploads_->Acquire("a", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("data", 4).ok());
  }
  ASSERT_TRUE(uploads_->Cancel("a", *id).ok());
  EXPECT_FALSE(Exists(layout::Upload("a", *id)));
  EXPECT_EQ(uploads_->Size("a", *id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Acquire("a", *id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_->Cancel("a", *id).code(), StatusCode::kNotFound);
  EXPECT_FALSE(Exists(layout::kRoot + "/blobs"));
}

// ---------------------------------------------------------------------------
// ManifestStore

const std::string kConfigType = "application/vnd.oci.image.config.v1+json";
const std::string kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";

json Desc(const std::string& media_type, const Digest& d, size_t size) {
  return json{{"mediaType", media_type}, {"digest", d.str()}, {"size", size}};
}

class ManifestStoreTest : public StorageTest {
 protected:
  struct Pushed {
    std::string body;
    Digest digest;
    oci::Manifest manifest;
  };

  // An image manifest whose config and layer blobs are stored and linked in `name`.
  Pushed Image(const std::string& name, const std::string& seed) {
    Digest config = PutBlob(name, "{\"seed\":\"" + seed + "\"}");
    Digest layer = PutBlob(name, "layer-" + seed);
    json j{{"schemaVersion", 2},
           {"mediaType", std::string(oci::media::kOciManifest)},
           {"config", Desc(kConfigType, config, 11 + seed.size())},
           {"layers", json::array({Desc(kLayerType, layer, 6 + seed.size())})}};
    return Make(j.dump());
  }

  Pushed Make(const std::string& body, std::string_view content_type = "") {
    auto m = oci::ParseManifest(body, content_type);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return Pushed{body, DigestOf(body), m.ok() ? *m : oci::Manifest{}};
  }

  Status Put(const std::string& name, const Pushed& p, std::string_view tag = "") {
    return manifests_->Put(name, p.body, p.manifest, p.digest, tag);
  }

  // An artifact (signature-like) manifest referring to `subject`.
  Pushed Artifact(const std::string& name, const Pushed& subject, const std::string& artifact_type,
                  const std::string& seed) {
    Digest empty = PutBlob(name, "{}");
    Digest layer = PutBlob(name, "sig-" + seed);
    json j{{"schemaVersion", 2},
           {"mediaType", std::string(oci::media::kOciManifest)},
           {"config", Desc(std::string(oci::media::kOciEmptyConfig), empty, 2)},
           {"layers", json::array({Desc("application/vnd.example.sig", layer, 4 + seed.size())})},
           {"subject", Desc(std::string(oci::media::kOciManifest), subject.digest, subject.body.size())},
           {"annotations", {{"org.example.seed", seed}}}};
    if (!artifact_type.empty()) j["artifactType"] = artifact_type;
    return Make(j.dump());
  }

  static oci::Reference Tag(const std::string& t) { return oci::Reference{t, Digest()}; }
  static oci::Reference ByDigest(const Digest& d) { return oci::Reference{"", d}; }
};

TEST_F(ManifestStoreTest, PutWithTagThenGetByTagAndDigest) {
  Pushed p = Image("library/app", "1");
  ASSERT_TRUE(manifests_->CheckReferences("library/app", p.manifest).ok());
  ASSERT_TRUE(Put("library/app", p, "latest").ok());

  auto by_tag = manifests_->Get("library/app", Tag("latest"));
  ASSERT_TRUE(by_tag.ok()) << by_tag.status().message();
  EXPECT_EQ(by_tag->body, p.body);
  EXPECT_EQ(by_tag->digest, p.digest);
  EXPECT_EQ(by_tag->media_type, oci::media::kOciManifest);

  auto by_digest = manifests_->Get("library/app", ByDigest(p.digest));
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().message();
  EXPECT_EQ(by_digest->body, p.body);
  EXPECT_EQ(by_digest->digest, p.digest);
  EXPECT_EQ(by_digest->media_type, oci::media::kOciManifest);

  auto resolved = manifests_->ResolveTag("library/app", "latest");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, p.digest);
}

// A tag PUT racing a DELETE of the same manifest: afterwards the tag is either
// gone or resolves to a manifest that is still there, never dangling.
TEST_F(ManifestStoreTest, TagPutRacingDeleteLeavesNoDanglingTag) {
  Pushed p = Image("race/app", "1");
  for (int round = 0; round < 200; ++round) {
    std::thread putter([&] { EXPECT_TRUE(Put("race/app", p, "latest").ok()); });
    std::thread deleter([&] {
      Status s = manifests_->DeleteByDigest("race/app", p.digest);
      EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.message();
    });
    putter.join();
    deleter.join();
    auto tag = manifests_->ResolveTag("race/app", "latest");
    if (tag.ok()) {
      ASSERT_TRUE(Exists(layout::RevisionLink("race/app", *tag))) << "dangling tag in round " << round;
      ASSERT_TRUE(manifests_->Get("race/app", Tag("latest")).ok()) << "round " << round;
    }
  }
}

TEST_F(ManifestStoreTest, PutWritesDistributionLayout) {
  Pushed p = Image("a/b", "1");
  ASSERT_TRUE(Put("a/b", p, "v1").ok());
  EXPECT_EQ(ReadDisk(layout::BlobData(p.digest)), p.body);
  EXPECT_EQ(ReadDisk(layout::RevisionLink("a/b", p.digest)), p.digest.str());
  EXPECT_EQ(ReadDisk(layout::TagCurrentLink("a/b", "v1")), p.digest.str());
  EXPECT_EQ(ReadDisk(layout::TagIndexLink("a/b", "v1", p.digest)), p.digest.str());
}

TEST_F(ManifestStoreTest, PutWithoutTag) {
  Pushed p = Image("a", "1");
  ASSERT_TRUE(Put("a", p).ok());
  EXPECT_TRUE(manifests_->Get("a", ByDigest(p.digest)).ok());
  auto tags = manifests_->Tags("a");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_TRUE(tags->empty());
  EXPECT_FALSE(Exists(layout::TagsDir("a")));
}

TEST_F(ManifestStoreTest, RetagMovesTag) {
  Pushed p1 = Image("a", "1");
  Pushed p2 = Image("a", "2");
  ASSERT_TRUE(Put("a", p1, "latest").ok());
  ASSERT_TRUE(Put("a", p2, "latest").ok());
  auto got = manifests_->Get("a", Tag("latest"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->digest, p2.digest);
  EXPECT_TRUE(manifests_->Get("a", ByDigest(p1.digest)).ok());
  // Both index links are kept, as distribution does.
  EXPECT_TRUE(Exists(layout::TagIndexLink("a", "latest", p1.digest)));
  EXPECT_TRUE(Exists(layout::TagIndexLink("a", "latest", p2.digest)));
}

TEST_F(ManifestStoreTest, GetUnknown) {
  Pushed p = Image("a", "1");
  ASSERT_TRUE(Put("a", p, "latest").ok());
  EXPECT_EQ(manifests_->Get("a", Tag("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->Get("a", ByDigest(DigestOf("nope"))).status().code(), StatusCode::kNotFound);
  // Another repository does not see it, by tag or by digest, although the blob exists.
  EXPECT_EQ(manifests_->Get("b", Tag("latest")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->Get("b", ByDigest(p.digest)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->Get("a/b", ByDigest(p.digest)).status().code(), StatusCode::kNotFound);
}

TEST_F(ManifestStoreTest, GetDetectsMediaType) {
  json docker{{"schemaVersion", 2},
              {"mediaType", std::string(oci::media::kDockerManifest)},
              {"config", Desc("application/vnd.docker.container.image.v1+json", PutBlob("a", "cfg"), 3)},
              {"layers", json::array()}};
  Pushed d = Make(docker.dump(), oci::media::kDockerManifest);
  ASSERT_TRUE(Put("a", d, "docker").ok());
  Pushed img = Image("a", "1");
  ASSERT_TRUE(Put("a", img, "img").ok());
  json index{{"schemaVersion", 2},
             {"manifests", json::array({Desc(std::string(oci::media::kOciManifest), img.digest, img.body.size())})}};
  Pushed i = Make(index.dump());
  ASSERT_TRUE(manifests_->CheckReferences("a", i.manifest).ok());
  ASSERT_TRUE(Put("a", i, "index").ok());

  EXPECT_EQ(manifests_->Get("a", Tag("docker"))->media_type, oci::media::kDockerManifest);
  EXPECT_EQ(manifests_->Get("a", Tag("img"))->media_type, oci::media::kOciManifest);
  EXPECT_EQ(manifests_->Get("a", Tag("index"))->media_type, oci::media::kOciIndex);
  // Same answers through a fresh store (no cache).
  ManifestStore fresh(*driver_, *blobs_);
  EXPECT_EQ(fresh.Get("a", ByDigest(d.digest))->media_type, oci::media::kDockerManifest);
  EXPECT_EQ(fresh.Get("a", ByDigest(i.digest))->media_type, oci::media::kOciIndex);
}

TEST_F(ManifestStoreTest, CheckReferencesReportsMissingBlob) {
  Digest config = PutBlob("a", "config");
  Digest missing = DigestOf("never uploaded");
  json j{{"schemaVersion", 2},
         {"config", Desc(kConfigType, config, 6)},
         {"layers", json::array({Desc(kLayerType, missing, 14)})}};
  Pushed p = Make(j.dump());
  Status s = manifests_->CheckReferences("a", p.manifest);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(missing.str()), std::string::npos) << s.message();
}

TEST_F(ManifestStoreTest, CheckReferencesReportsMissingConfig) {
  Digest layer = PutBlob("a", "layer");
  Digest config = DigestOf("no config");
  json j{{"schemaVersion", 2},
         {"config", Desc(kConfigType, config, 9)},
         {"layers", json::array({Desc(kLayerType, layer, 5)})}};
  Status s = manifests_->CheckReferences("a", Make(j.dump()).manifest);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(config.str()), std::string::npos) << s.message();
}

TEST_F(ManifestStoreTest, CheckReferencesNeedsLinkInThisRepository) {
  Pushed p = Image("other", "1");  // blobs exist, linked into "other" only
  Status s = manifests_->CheckReferences("a", p.manifest);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(manifests_->CheckReferences("other", p.manifest).ok());
}

TEST_F(ManifestStoreTest, CheckReferencesNeedsContent) {
  Digest config = PutBlob("a", "config");
  Digest layer = DigestOf("linked but no content");
  ASSERT_TRUE(blobs_->Link("a", layer).ok());
  json j{{"schemaVersion", 2},
         {"config", Desc(kConfigType, config, 6)},
         {"layers", json::array({Desc(kLayerType, layer, 21)})}};
  Status s = manifests_->CheckReferences("a", Make(j.dump()).manifest);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(layer.str()), std::string::npos) << s.message();
}

TEST_F(ManifestStoreTest, CheckReferencesSkipsForeignLayers) {
  Digest config = PutBlob("a", "config");
  json layer = Desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", DigestOf("windows base"), 12);
  layer["urls"] = {"https://example.com/base.tar.gz"};
  json j{{"schemaVersion", 2},
         {"mediaType", std::string(oci::media::kDockerManifest)},
         {"config", Desc("application/vnd.docker.container.image.v1+json", config, 6)},
         {"layers", json::array({layer})}};
  Status s = manifests_->CheckReferences("a", Make(j.dump()).manifest);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(ManifestStoreTest, CheckReferencesOfIndex) {
  Pushed img = Image("a", "1");
  json index{{"schemaVersion", 2},
             {"mediaType", std::string(oci::media::kOciIndex)},
             {"manifests", json::array({Desc(std::string(oci::media::kOciManifest), img.digest, img.body.size())})}};
  Pushed i = Make(index.dump());
  Status before = manifests_->CheckReferences("a", i.manifest);
  EXPECT_EQ(before.code(), StatusCode::kNotFound);
  EXPECT_NE(before.message().find(img.digest.str()), std::string::npos) << before.message();
  ASSERT_TRUE(Put("a", img).ok());
  EXPECT_TRUE(manifests_->CheckReferences("a", i.manifest).ok());
  // A child manifest stored in another repository does not count.
  EXPECT_EQ(manifests_->CheckReferences("b", i.manifest).code(), StatusCode::kNotFound);
}

TEST_F(ManifestStoreTest, TagsSorted) {
  Pushed p = Image("a", "1");
  for (const char* t : {"b", "a", "v1.10", "v1.9", "C", "_x", "1.0"}) ASSERT_TRUE(Put("a", p, t).ok()) << t;
  auto tags = manifests_->Tags("a");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_EQ(*tags, (std::vector<std::string>{"1.0", "C", "_x", "a", "b", "v1.10", "v1.9"}));
}

TEST_F(ManifestStoreTest, TagsOfUnknownRepository) {
  auto tags = manifests_->Tags("nope");
  ASSERT_FALSE(tags.ok());
  EXPECT_EQ(tags.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(manifests_->RepositoryExists("nope"));
}

TEST_F(ManifestStoreTest, TagsOfRepositoryWithOnlyBlobs) {
  PutBlob("blobsonly", "x");
  EXPECT_TRUE(manifests_->RepositoryExists("blobsonly"));
  auto tags = manifests_->Tags("blobsonly");
  ASSERT_TRUE(tags.ok()) << tags.status().message();
  EXPECT_TRUE(tags->empty());
}

TEST_F(ManifestStoreTest, TagsSkipHalfWrittenTags) {
  Pushed p = Image("a", "1");
  ASSERT_TRUE(Put("a", p, "good").ok());
  // A tag directory with only an index link (crash between the two writes).
  ASSERT_TRUE(driver_->PutContent(layout::TagIndexLink("a", "half", p.digest), p.digest.str()).ok());
  auto tags = manifests_->Tags("a");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (std::vector<std::string>{"good"}));
}

TEST_F(ManifestStoreTest, DeleteTag) {
  Pushed p = Image("a", "1");
  ASSERT_TRUE(Put("a", p, "one").ok());
  ASSERT_TRUE(Put("a", p, "two").ok());
  ASSERT_TRUE(manifests_->DeleteTag("a", "one").ok());
  EXPECT_EQ(*manifests_->Tags("a"), (std::vector<std::string>{"two"}));
  EXPECT_EQ(manifests_->Get("a", Tag("one")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(Exists(layout::Tag("a", "one")));
  // The manifest itself stays.
  EXPECT_TRUE(manifests_->Get("a", ByDigest(p.digest)).ok());
  EXPECT_TRUE(manifests_->Get("a", Tag("two")).ok());
  EXPECT_EQ(manifests_->DeleteTag("a", "one").code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->DeleteTag("a", "never").code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->DeleteTag("nope", "two").code(), StatusCode::kNotFound);
}

TEST_F(ManifestStoreTest, DeleteByDigestRemovesItsTags) {
  Pushed p1 = Image("a", "1");
  Pushed p2 = Image("a", "2");
  ASSERT_TRUE(Put("a", p1, "x").ok());
  ASSERT_TRUE(Put("a", p1, "y").ok());
  ASSERT_TRUE(Put("a", p2, "z").ok());
  std::vector<std::string> removed;
  ASSERT_TRUE(manifests_->DeleteByDigest("a", p1.digest, &removed).ok());
  EXPECT_EQ(removed, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(*manifests_->Tags("a"), (std::vector<std::string>{"z"}));
  EXPECT_EQ(manifests_->Get("a", ByDigest(p1.digest)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->Get("a", Tag("x")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->Get("a", Tag("y")).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(manifests_->Get("a", Tag("z")).ok());
  EXPECT_FALSE(Exists(layout::Repository("a") + "/_manifests/revisions/sha256/" + p1.digest.hex()));
  EXPECT_FALSE(Exists(layout::Tag("a", "x")));
  EXPECT_EQ(manifests_->DeleteByDigest("a", p1.digest).code(), StatusCode::kNotFound);
  EXPECT_EQ(manifests_->DeleteByDigest("a", DigestOf("never")).code(), StatusCode::kNotFound);
}

TEST_F(ManifestStoreTest, DeleteByDigestIsPerRepository) {
  Pushed p = Image("a", "1");
  PutBlob("b", "{\"seed\":\"1\"}");
  PutBlob("b", "layer-1");
  ASSERT_TRUE(Put("a", p, "latest").ok());
  ASSERT_TRUE(Put("b", p, "latest").ok());
  ASSERT_TRUE(manifests_->DeleteByDigest("a", p.digest).ok());
  EXPECT_EQ(manifests_->Get("a", ByDigest(p.digest)).status().code(), StatusCode::kNotFound);
  auto b = manifests_->Get("b", Tag("latest"));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->body, p.body);
}

// The referrers index on disk (distribution's _referrers layout; the registry
// lists referrers from the metadata database): written with the referrer,
// removed with it, kept when only its tag goes.
TEST_F(ManifestStoreTest, ReferrerLinksWrittenAndRemoved) {
  Pushed subject = Image("a", "subject");
  ASSERT_TRUE(Put("a", subject, "latest").ok());
  Pushed sig = Artifact("a", subject, "application/vnd.example.signature", "s1");
  ASSERT_TRUE(sig.manifest.subject.has_value());
  ASSERT_TRUE(Put("a", sig, "sig").ok());
  EXPECT_EQ(ReadDisk(layout::ReferrerLink("a", subject.digest, sig.digest)), sig.digest.str());
  ASSERT_TRUE(manifests_->DeleteTag("a", "sig").ok());
  EXPECT_TRUE(Exists(layout::ReferrerLink("a", subject.digest, sig.digest)));

  ASSERT_TRUE(manifests_->DeleteByDigest("a", sig.digest).ok());
  EXPECT_FALSE(
      Exists(layout::Repository("a") + "/_referrers/sha256/" + subject.digest.hex() + "/sha256/" + sig.digest.hex()));
  // The subject is untouched.
  EXPECT_TRUE(manifests_->Get("a", Tag("latest")).ok());
}

TEST_F(ManifestStoreTest, ReferrerOfMissingSubjectIsIndexed) {
  // The subject need not exist (it may be pushed later).
  Pushed ghost{"{}", DigestOf("ghost subject"), {}};
  Pushed ref = Artifact("a", ghost, "application/vnd.example.x", "g");
  ASSERT_TRUE(Put("a", ref).ok());
  EXPECT_EQ(ReadDisk(layout::ReferrerLink("a", ghost.digest, ref.digest)), ref.digest.str());
}

TEST_F(ManifestStoreTest, TagsOfARepositoryWhoseManifestsWereDeleted) {
  // distribution keeps the _manifests directory after the last manifest is deleted.
  Pushed p = Image("gone", "1");
  ASSERT_TRUE(Put("gone", p, "latest").ok());
  ASSERT_TRUE(manifests_->DeleteByDigest("gone", p.digest).ok());
  EXPECT_TRUE(walk::ExamineRepository(*driver_, "gone").InCatalog());
  auto tags = manifests_->Tags("gone");
  ASSERT_TRUE(tags.ok());
  EXPECT_TRUE(tags->empty());
}

// ---------------------------------------------------------------------------
// What a repository is: one rule (walk::RepositoryDir) for the import's
// catalog, the tags list and the store walks (verify, du, upload purging).

using RepositoryRuleTest = ManifestStoreTest;

// The repositories the walk puts in the catalog, sorted.
std::vector<std::string> CatalogOf(StorageDriver& driver) {
  std::vector<std::string> names;
  for (auto& dir : walk::RepositoryDirs(driver)) {
    if (dir.InCatalog()) names.push_back(std::move(dir.name));
  }
  return names;
}

TEST_F(RepositoryRuleTest, CatalogTagsAndWalksReadOneRule) {
  Pushed p = Image("img", "1");
  ASSERT_TRUE(Put("img", p, "1").ok());
  PutBlob("blobsonly", "x");
  ASSERT_TRUE(uploads_->Start("uploading").ok());
  ASSERT_TRUE(driver_->PutContent(layout::Repository("refsonly") + "/_referrers/sha256/x/link", "x").ok());
  ASSERT_TRUE(driver_->PutContent(layout::Repository("plain") + "/file", "x").ok());  // no marker: not a repository
  ASSERT_TRUE(driver_->PutContent(layout::RepositoriesRoot() + "/_hidden/_layers/x", "x").ok());

  const std::vector<std::string> all = {"blobsonly", "img", "refsonly", "uploading"};
  EXPECT_EQ(walk::Repositories(*driver_), all);
  const std::vector<std::string> catalog = CatalogOf(*driver_);
  EXPECT_EQ(catalog, (std::vector<std::string>{"img"}));
  EXPECT_TRUE(manifests_->RepositoryExists("img"));
  EXPECT_TRUE(manifests_->RepositoryExists("blobsonly"));
  EXPECT_FALSE(manifests_->RepositoryExists("uploading"));
  EXPECT_FALSE(manifests_->RepositoryExists("refsonly"));
  EXPECT_FALSE(manifests_->RepositoryExists("plain"));

  // Each answer is the rule's, whether found by the walk or examined by name.
  std::set<std::string> listed(catalog.begin(), catalog.end());
  for (const auto& dir : walk::RepositoryDirs(*driver_)) {
    EXPECT_TRUE(dir.IsRepository()) << dir.name;
    EXPECT_EQ(dir.InCatalog(), listed.count(dir.name) == 1) << dir.name;
    EXPECT_EQ(dir.HasContent(), manifests_->RepositoryExists(dir.name)) << dir.name;
    const walk::RepositoryDir examined = walk::ExamineRepository(*driver_, dir.name);
    EXPECT_EQ(examined.manifests, dir.manifests) << dir.name;
    EXPECT_EQ(examined.layers, dir.layers) << dir.name;
    EXPECT_EQ(examined.uploads, dir.uploads) << dir.name;
    EXPECT_EQ(examined.referrers, dir.referrers) << dir.name;
  }
  EXPECT_FALSE(walk::ExamineRepository(*driver_, "plain").IsRepository());
  EXPECT_FALSE(walk::ExamineRepository(*driver_, "nope").IsRepository());
}

TEST_F(RepositoryRuleTest, NamesLongerThanTheSpecAllowsAreNoRepositories) {
  // 70 components (139 characters): a valid name, deeper than any fixed depth limit.
  std::string deep = "a";
  for (int i = 1; i < 70; ++i) deep += "/a";
  Pushed p = Image(deep, "deep");
  ASSERT_TRUE(Put(deep, p, "1").ok());
  // 302 characters: not a repository name, whatever it holds.
  const std::string too_long = std::string(100, 'x') + "/" + std::string(100, 'y') + "/" + std::string(100, 'z');
  ASSERT_TRUE(driver_->PutContent(layout::Repository(too_long) + "/_manifests/x", "x").ok());
  EXPECT_EQ(walk::Repositories(*driver_), (std::vector<std::string>{deep}));
  EXPECT_EQ(CatalogOf(*driver_), (std::vector<std::string>{deep}));
}

}  // namespace
}  // namespace berth::storage
