// UploadStore: blob upload sessions (POST/PATCH/PUT of the distribution API).
//
// An upload's bytes are appended to _uploads/<uuid>/data as they arrive and hashed
// on the way. Between requests the running hash is cached in memory; on storage
// that cannot read an unfinished upload (S3) the data is also made durable and
// the hash saved in _uploads/<uuid>/berth_hashstate, so another process (after
// a restart, or another replica sharing the bucket) continues the upload. When
// neither matches the data's size, the hash is recomputed from the data. A session is held by at most
// one request at a time (Acquire returns Busy otherwise). Large pieces of a
// request body are written on the store's write pool while the request's thread
// hashes them (UploadSession::AppendPiece).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>  // std::once_flag
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "storage/blob_store.h"
#include "storage/driver.h"
#include "util/mutex.h"

namespace berth::storage {

class UploadStore;

bool IsValidUploadId(std::string_view id);

// An upload held by one request. Releasing it (destruction) keeps the upload for later requests.
// Used by one thread at a time (the request's); AppendPiece borrows a thread of
// the store's write pool for each large piece.
class UploadSession {
 public:
  // Pieces at least this large are written on the store's write pool (an
  // O_DIRECT write of 1 MiB waits ~1 ms for the disk, time in which the
  // caller hashes the piece and receives the next); smaller ones go straight through Append.
  static constexpr size_t kPipelinedPiece = 256 << 10;

  ~UploadSession();  // waits for a piece still being written
  UploadSession(const UploadSession&) = delete;
  UploadSession& operator=(const UploadSession&) = delete;

  const std::string& uuid() const { return uuid_; }
  // Bytes stored so far. Not while an AppendPiece write may be in flight: call FinishPieces first.
  int64_t size() const { return writer_->Size(); }
  // Appends and hashes; on error nothing of this call is acknowledged.
  Status Append(const char* data, size_t n);
  // Appends the next piece of a request body, pipelined: a piece of
  // kPipelinedPiece bytes or more is handed to the store's write pool and
  // hashed here meanwhile, and the call returns with its write still in
  // flight, so the caller can receive the next piece; a smaller piece is
  // appended at once. Every call first waits for the write in flight: when
  // that write failed, its piece's hash is rolled back (the hash always covers
  // exactly the stored bytes), its error is returned and `piece` is not
  // appended. An empty piece only waits.
  //
  // The bytes of `piece` must stay unchanged until the next call on this
  // session (AppendPiece, FinishPieces, Append, Commit, or its destruction).
  // Exchange::ReadBody gives exactly that when the caller reads piece k+1
  // only after AppendPiece(k) has returned: its two buffers take turns, so
  // piece k stays intact while k+1 arrives, and ReadBody reuses k's buffer
  // only after AppendPiece(k+1) has waited for k's write.
  Status AppendPiece(std::span<const char> piece);
  // Waits for the write in flight (as AppendPiece does). Afterwards size()
  // and the hash cover exactly the stored bytes.
  Status FinishPieces();
  // Who writes the repository's link of a committed blob.
  enum class Linking : uint8_t {
    kHere,      // Commit links it
    kByCaller,  // the caller links it (BlobStore::Link), e.g. under the repository's write lock (docs/gc.md)
  };
  // Verifies everything appended against `expected`, makes the blob durable and
  // visible, links it into the repository (unless `linking` leaves that to the
  // caller) and removes the upload. On a digest mismatch (InvalidArgument) the
  // upload is removed and nothing is stored.
  Status Commit(const oci::Digest& expected, Linking linking = Linking::kHere);

 private:
  friend class UploadStore;
  UploadSession(UploadStore& store, std::string name, std::string uuid, std::unique_ptr<FileWriter> writer,
                oci::Hasher hasher);

  UploadStore& store_;
  std::string name_;
  std::string uuid_;
  std::unique_ptr<FileWriter> writer_;
  oci::Hasher hasher_;                       // covers the stored bytes, plus the piece in flight
  std::future<Status> in_flight_;            // the pool's write of the last AppendPiece, until waited for
  std::optional<oci::Hasher> before_piece_;  // the hash without the piece in flight
  bool finished_ = false;
};

class UploadStore {
 public:
  UploadStore(StorageDriver& driver, BlobStore& blobs);
  ~UploadStore();  // after every session is released

  // Creates a new upload in repository `name` and returns its id.
  Result<std::string> Start(std::string_view name);
  // Bytes received so far. NotFound for an unknown upload.
  Result<int64_t> Size(std::string_view name, std::string_view uuid);
  Result<std::unique_ptr<UploadSession>> Acquire(std::string_view name, std::string_view uuid);
  Status Cancel(std::string_view name, std::string_view uuid) EXCLUDES(mu_);
  // Sessions currently held by a request (the uploads being written right now).
  size_t InProgress() EXCLUDES(mu_);

  struct PurgeResult {
    int removed = 0;  // (would be, with dry_run) removed: started before the cutoff
    int kept = 0;     // younger, in use, or without a readable start time
    int failed = 0;   // removal failed (logged by the caller from `errors`)
    std::vector<std::string> errors;
  };
  // Removes every upload of every repository that was started before `cutoff`
  // and is not held by a request (distribution's upload purging). An upload
  // whose start time cannot be read is kept. With dry_run nothing is removed.
  PurgeResult PurgeStarted(std::chrono::system_clock::time_point cutoff, bool dry_run);

 private:
  friend class UploadSession;
  struct WritePool;
  struct CachedHash {
    int64_t size;
    oci::Hasher hasher;
  };
  // Marks an upload as held by one caller; false when another holds it.
  bool Hold(const std::string& uuid) EXCLUDES(mu_);
  void Unhold(const std::string& uuid) EXCLUDES(mu_);
  void Release(const std::string& uuid, int64_t size, oci::Hasher* hasher) EXCLUDES(mu_);
  std::optional<oci::Hasher> LoadHashState(std::string_view name, std::string_view uuid, int64_t size);
  Result<oci::Hasher> Rehash(const std::string& path, oci::DigestAlgorithm a, int64_t expected_size);
  Status Remove(std::string_view name, std::string_view uuid) EXCLUDES(mu_);
  // Writes `piece` to `writer` on the write pool (started at the first call).
  std::future<Status> WriteInPool(FileWriter& writer, std::span<const char> piece);

  StorageDriver& driver_;
  BlobStore& blobs_;
  Mutex mu_;
  std::set<std::string> busy_ GUARDED_BY(mu_);
  std::map<std::string, CachedHash> hashes_ GUARDED_BY(mu_);  // uuid -> hash of the first `size` bytes
  std::once_flag pool_started_;
  std::unique_ptr<WritePool> pool_;  // one thread per core, shared by all sessions
};

}  // namespace berth::storage
