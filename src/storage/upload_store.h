// UploadStore: blob upload sessions (POST/PATCH/PUT of the distribution API).
//
// An upload's bytes are appended to _uploads/<uuid>/data as they arrive and hashed
// on the way. Between requests the running hash is cached in memory; on storage
// that cannot read an unfinished upload (S3) the data is also made durable and
// the hash saved in _uploads/<uuid>/berth_hashstate, so another process (after
// a restart, or another replica sharing the bucket) continues the upload. When
// neither matches the data's size, the hash is recomputed from the data. A session is held by at most
// one request at a time (Acquire returns Busy otherwise).
// Thread-safe.
#pragma once

#include <cstdint>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "storage/blob_store.h"
#include "storage/driver.h"

namespace berth::storage {

class UploadStore;

bool IsValidUploadId(std::string_view id);

// An upload held by one request. Releasing it (destruction) keeps the upload for later requests.
class UploadSession {
 public:
  ~UploadSession();
  UploadSession(const UploadSession&) = delete;
  UploadSession& operator=(const UploadSession&) = delete;

  const std::string& uuid() const { return uuid_; }
  int64_t size() const { return writer_->Size(); }
  // Appends and hashes; on error nothing of this call is acknowledged.
  Status Append(const char* data, size_t n);
  // Append in parts, for a caller that hashes a piece while another thread
  // writes it: WriteUnhashed stores the bytes (nothing of them on error; it
  // may run on another thread), HashAhead hashes them meanwhile and keeps the
  // state from before. Once the write has finished, ConfirmHash (it succeeded)
  // or RollBackHash (it failed) must be called, before the next HashAhead,
  // Append, Commit or release, so the hash covers exactly the stored bytes.
  Status WriteUnhashed(const char* data, size_t n) { return writer_->Write(data, n); }
  void HashAhead(const char* data, size_t n) {
    before_ahead_.emplace(hasher_.Clone());
    hasher_.Update(data, n);
  }
  void ConfirmHash() { before_ahead_.reset(); }
  void RollBackHash() {
    if (before_ahead_) hasher_ = std::move(*before_ahead_);
    before_ahead_.reset();
  }
  // Verifies everything appended against `expected`, makes the blob durable and
  // visible, links it into the repository and removes the upload. On a digest
  // mismatch (InvalidArgument) the upload is removed and nothing is stored.
  Status Commit(const oci::Digest& expected);

 private:
  friend class UploadStore;
  UploadSession(UploadStore& store, std::string name, std::string uuid, std::unique_ptr<FileWriter> writer,
                oci::Hasher hasher);

  UploadStore& store_;
  std::string name_;
  std::string uuid_;
  std::unique_ptr<FileWriter> writer_;
  oci::Hasher hasher_;
  std::optional<oci::Hasher> before_ahead_;  // the hash without the piece HashAhead added
  bool finished_ = false;
};

class UploadStore {
 public:
  UploadStore(StorageDriver& driver, BlobStore& blobs) : driver_(driver), blobs_(blobs) {}

  // Creates a new upload in repository `name` and returns its id.
  Result<std::string> Start(std::string_view name);
  // Bytes received so far. NotFound for an unknown upload.
  Result<int64_t> Size(std::string_view name, std::string_view uuid);
  Result<std::unique_ptr<UploadSession>> Acquire(std::string_view name, std::string_view uuid);
  Status Cancel(std::string_view name, std::string_view uuid);
  // Sessions currently held by a request (the uploads being written right now).
  size_t InProgress();

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
  struct CachedHash {
    int64_t size;
    oci::Hasher hasher;
  };
  // Marks an upload as held by one caller; false when another holds it.
  bool Hold(const std::string& uuid);
  void Unhold(const std::string& uuid);
  void Release(const std::string& uuid, int64_t size, oci::Hasher* hasher);
  std::optional<oci::Hasher> LoadHashState(std::string_view name, std::string_view uuid, int64_t size);
  Result<oci::Hasher> Rehash(const std::string& path, oci::DigestAlgorithm a, int64_t expected_size);
  Status Remove(std::string_view name, std::string_view uuid);

  StorageDriver& driver_;
  BlobStore& blobs_;
  std::mutex mu_;
  std::set<std::string> busy_;
  std::map<std::string, CachedHash> hashes_;  // uuid -> hash of the first `size` bytes
};

}  // namespace berth::storage
