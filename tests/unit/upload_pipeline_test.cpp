// UploadSession::AppendPiece: large pieces are written on the store's write
// pool while the caller goes on, small ones at once; a failed write rolls its
// piece's hash back, so the running digest always covers exactly the stored
// bytes. Over a FilesystemDriver wrapped so that chosen writes fail or wait.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "storage/blob_store.h"
#include "storage/filesystem_driver.h"
#include "storage/layout.h"
#include "storage/upload_store.h"
#include "temp_dir.h"

namespace berth::storage {
namespace {

using oci::DigestOf;

constexpr size_t kBig = 1 << 20;  // what Exchange::ReadBody hands out at most
static_assert(kBig >= UploadSession::kPipelinedPiece);

// Forwards to a FilesystemDriver; its writers can be told to fail a chosen
// write (counted over the whole driver from 1, nothing of it stored) or to hold
// a chosen write until released. Records on which thread each write ran.
class FaultyWritesDriver final : public StorageDriver {
 public:
  explicit FaultyWritesDriver(StorageDriver& inner) : inner_(inner) {}

  void FailWrite(int n) {
    std::lock_guard lock(mu_);
    fail_.insert(n);
  }
  // Write number n waits (at most 10 s) until Release() is called.
  void HoldWrite(int n) {
    std::lock_guard lock(mu_);
    hold_ = n;
  }
  void Release() { release_.set_value(); }
  void SlowDownWrites(std::chrono::milliseconds by) { delay_ = by; }
  bool held_write_done() const { return held_done_; }
  std::vector<std::thread::id> write_threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

  DriverInfo Info() const override { return inner_.Info(); }
  Result<std::string> GetContent(const std::string& p) override { return inner_.GetContent(p); }
  Status PutContent(const std::string& p, std::string_view c) override { return inner_.PutContent(p, c); }
  Result<std::unique_ptr<FileReader>> Reader(const std::string& p, int64_t off) override {
    return inner_.Reader(p, off);
  }
  Result<std::unique_ptr<FileWriter>> Writer(const std::string& p) override {
    auto w = inner_.Writer(p);
    if (!w.ok()) return w.status();
    return std::unique_ptr<FileWriter>(new FaultyWriter(*this, std::move(*w)));
  }
  Result<FileInfo> Stat(const std::string& p) override { return inner_.Stat(p); }
  Result<std::vector<std::string>> List(const std::string& p) override { return inner_.List(p); }
  Status Move(const std::string& f, const std::string& t) override { return inner_.Move(f, t); }
  Status Delete(const std::string& p) override { return inner_.Delete(p); }
  Status CheckWritable() override { return inner_.CheckWritable(); }

 private:
  class FaultyWriter final : public FileWriter {
   public:
    FaultyWriter(FaultyWritesDriver& d, std::unique_ptr<FileWriter> inner) : d_(d), inner_(std::move(inner)) {}
    Status Write(const char* data, size_t n) override {
      bool fail = false, hold = false;
      {
        std::lock_guard lock(d_.mu_);
        const int number = ++d_.writes_;
        d_.threads_.push_back(std::this_thread::get_id());
        fail = d_.fail_.count(number) != 0;
        hold = number == d_.hold_;
      }
      if (hold) {
        (void)d_.released_.wait_for(std::chrono::seconds(10));
      }
      std::this_thread::sleep_for(d_.delay_);
      Status s = fail ? Status::IoError("injected write failure") : inner_->Write(data, n);
      if (hold) d_.held_done_ = true;
      return s;
    }
    int64_t Size() const override { return inner_->Size(); }
    Status Commit() override { return inner_->Commit(); }

   private:
    FaultyWritesDriver& d_;
    std::unique_ptr<FileWriter> inner_;
  };

  StorageDriver& inner_;
  std::mutex mu_;
  int writes_ = 0;
  std::set<int> fail_;
  int hold_ = 0;
  std::vector<std::thread::id> threads_;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::atomic<bool> held_done_{false};
  std::chrono::milliseconds delay_{0};
};

// Content that differs in every piece, so a piece stored twice or lost shows in the digest.
std::string Piece(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 + i / 4093);
  return s;
}

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

class UploadPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = FilesystemDriver::Open(dir_.path());
    ASSERT_TRUE(d.ok()) << d.status().message();
    fs_ = std::move(*d);
    driver_ = std::make_unique<FaultyWritesDriver>(*fs_);
    blobs_ = std::make_unique<BlobStore>(*driver_);
    uploads_ = std::make_unique<UploadStore>(*driver_, *blobs_);
    auto id = uploads_->Start("team/app");
    ASSERT_TRUE(id.ok());
    id_ = *id;
  }

  std::unique_ptr<UploadSession> Acquire() {
    auto s = uploads_->Acquire("team/app", id_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  testing_util::TempDir dir_{"berth-pipeline"};
  std::unique_ptr<FilesystemDriver> fs_;
  std::unique_ptr<FaultyWritesDriver> driver_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<UploadStore> uploads_;
  std::string id_;
};

TEST_F(UploadPipelineTest, ALargePieceIsWrittenWhileTheCallerGoesOn) {
  const std::string piece = Piece(kBig, 'a');
  driver_->HoldWrite(1);
  auto s = Acquire();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->AppendPiece(Span(piece)).ok());
  EXPECT_FALSE(driver_->held_write_done());  // returned with the write still in flight
  driver_->Release();
  ASSERT_TRUE(s->FinishPieces().ok());
  EXPECT_EQ(s->size(), static_cast<int64_t>(kBig));
  ASSERT_TRUE(s->Commit(DigestOf(piece)).ok());
  auto threads = driver_->write_threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(threads[0], std::this_thread::get_id());  // the pool wrote it
}

TEST_F(UploadPipelineTest, SmallPiecesGoStraightThrough) {
  const std::string small = Piece(UploadSession::kPipelinedPiece - 1, 'b');
  auto s = Acquire();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->AppendPiece(Span(small)).ok());
  EXPECT_EQ(s->size(), static_cast<int64_t>(small.size()));  // stored before the call returned
  ASSERT_TRUE(s->AppendPiece(Span(small)).ok());
  ASSERT_TRUE(s->Commit(DigestOf(small + small)).ok());
  for (const auto& t : driver_->write_threads()) EXPECT_EQ(t, std::this_thread::get_id());
}

TEST_F(UploadPipelineTest, AFailedWriteInTheMiddleRollsBackItsPiecesHash) {
  const std::string p0 = Piece(kBig, 'c'), p1 = Piece(kBig, 'd'), p2 = Piece(kBig, 'e');
  driver_->FailWrite(2);
  {
    auto s = Acquire();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->AppendPiece(Span(p0)).ok());
    ASSERT_TRUE(s->AppendPiece(Span(p1)).ok());  // p1 was hashed; its write fails meanwhile
    Status failed = s->AppendPiece(Span(p2));    // reports p1's failure and does not take p2
    EXPECT_EQ(failed.code(), StatusCode::kIoError) << failed.message();
    ASSERT_TRUE(s->FinishPieces().ok());  // nothing more in flight
    EXPECT_EQ(s->size(), static_cast<int64_t>(kBig));
  }
  // The released session left a hash of exactly p0 behind: the upload continues from there.
  auto s = Acquire();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), static_cast<int64_t>(kBig));
  ASSERT_TRUE(s->AppendPiece(Span(p2)).ok());
  Status c = s->Commit(DigestOf(p0 + p2));
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_TRUE(blobs_->IsLinked("team/app", DigestOf(p0 + p2)));
}

TEST_F(UploadPipelineTest, AFailedLastWriteIsReportedByFinishPieces) {
  const std::string p0 = Piece(kBig, 'f'), p1 = Piece(kBig, 'g');
  driver_->FailWrite(2);
  auto s = Acquire();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->AppendPiece(Span(p0)).ok());
  ASSERT_TRUE(s->AppendPiece(Span(p1)).ok());
  EXPECT_EQ(s->FinishPieces().code(), StatusCode::kIoError);
  EXPECT_EQ(s->size(), static_cast<int64_t>(kBig));
  Status c = s->Commit(DigestOf(p0));  // the hash covers p0 only
  EXPECT_TRUE(c.ok()) << c.message();
}

TEST_F(UploadPipelineTest, CommitWaitsForTheWriteInFlight) {
  const std::string p0 = Piece(kBig, 'h'), p1 = Piece(kBig + 5, 'i');
  auto s = Acquire();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->AppendPiece(Span(p0)).ok());
  ASSERT_TRUE(s->AppendPiece(Span(p1)).ok());
  Status c = s->Commit(DigestOf(p0 + p1));
  ASSERT_TRUE(c.ok()) << c.message();
}

TEST_F(UploadPipelineTest, CommitAfterAFailedWriteInFlightStoresNothing) {
  const std::string p0 = Piece(kBig, 'j');
  driver_->FailWrite(1);
  {
    auto s = Acquire();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->AppendPiece(Span(p0)).ok());
    EXPECT_EQ(s->Commit(DigestOf(p0)).code(), StatusCode::kIoError);
  }
  EXPECT_FALSE(blobs_->Stat(DigestOf(p0)).ok());
  auto size = uploads_->Size("team/app", id_);  // the upload stays, empty, for a retry
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0);
}

TEST_F(UploadPipelineTest, ReleasingTheSessionWaitsForTheWriteInFlight) {
  const std::string piece = Piece(kBig, 'k');
  driver_->HoldWrite(1);
  std::thread releaser;
  {
    auto s = Acquire();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->AppendPiece(Span(piece)).ok());
    releaser = std::thread([this] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      driver_->Release();
    });
  }  // the session (and its writer) may only go once the write is done
  EXPECT_TRUE(driver_->held_write_done());
  releaser.join();
  auto s = Acquire();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), static_cast<int64_t>(kBig));
  ASSERT_TRUE(s->Commit(DigestOf(piece)).ok());
}

// The caller's side of the contract, as the PATCH handler keeps it with
// Exchange::ReadBody: two buffers take turns, and a buffer is refilled only
// after the AppendPiece of the piece after it has returned. The writes are
// slowed down so that a write still reading a refilled buffer would store the
// wrong bytes.
TEST_F(UploadPipelineTest, TwoBuffersTakingTurnsAreEnough) {
  driver_->SlowDownWrites(std::chrono::milliseconds(20));  // longer than filling a buffer
  std::mt19937 rng(7);
  std::string expected;
  std::vector<char> buffers[2] = {std::vector<char>(kBig), std::vector<char>(kBig)};
  auto s = Acquire();
  ASSERT_TRUE(s);
  for (int k = 0; k < 16; ++k) {
    std::vector<char>& buf = buffers[k % 2];
    // Mostly large pieces, some small ones (the tail of a chunk), in any order.
    const size_t n = k % 5 == 3 ? rng() % UploadSession::kPipelinedPiece : kBig - rng() % 4096;
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(rng());
    expected.append(buf.data(), n);
    ASSERT_TRUE(s->AppendPiece({buf.data(), n}).ok());
  }
  ASSERT_TRUE(s->FinishPieces().ok());
  ASSERT_TRUE(s->Commit(DigestOf(expected)).ok());
  auto reader = blobs_->Open(DigestOf(expected), 0);
  ASSERT_TRUE(reader.ok());
  std::string stored(expected.size(), '\0');
  size_t got = 0;
  while (got < stored.size()) {
    auto n = (*reader)->Read(stored.data() + got, stored.size() - got);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got += *n;
  }
  EXPECT_EQ(got, expected.size());
  EXPECT_TRUE(stored == expected);
}

}  // namespace
}  // namespace berth::storage
