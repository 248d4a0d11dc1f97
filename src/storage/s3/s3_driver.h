// S3Driver: StorageDriver on an S3 bucket (AWS S3, Ceph RGW, MinIO, ...), under
// an optional root prefix.
//
// Paths map to keys "<rootdirectory>/<path>". Directories are implied by key
// prefixes (a "directory" exists while any key lies under it). Writers append
// through multipart uploads and persist their progress in the bucket on every
// Commit (upload_state.h), so an upload can continue in another process; Move
// of such a path completes the multipart upload and copies it into place.
// Reading an unfinished upload is refused (its parts are not readable).
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "storage/driver.h"
#include "storage/s3/bucket.h"
#include "storage/s3/upload_state.h"

namespace berth::storage::s3 {

inline constexpr int64_t kMinChunkSize = 5LL << 20;  // S3's minimum part size
inline constexpr int64_t kDefaultChunkSize = 16LL << 20;

struct S3DriverOptions {
  ClientOptions client;
  std::string root_directory;  // "/berth" or ""
  int64_t chunk_size = kDefaultChunkSize;
  int64_t redirect_seconds = 1200;
  // Server-side copies of objects above this size go through multipart copy
  // (S3's CopyObject limit; lowered only by tests).
  int64_t copy_limit = 5LL << 30;
  int64_t copy_part = 512LL << 20;
};

class S3Driver final : public StorageDriver {
 public:
  // Checks that the bucket is reachable with these credentials.
  static Result<std::unique_ptr<S3Driver>> Open(S3DriverOptions options);

  // Redirects to presigned URLs; cannot read an unfinished upload (multipart parts are not readable).
  DriverInfo Info() const override { return DriverInfo{"s3", Describe(), true, false}; }
  Result<std::string> GetContent(const std::string& path) override;
  Status PutContent(const std::string& path, std::string_view content) override;
  Result<std::unique_ptr<FileReader>> Reader(const std::string& path, int64_t offset) override;
  Result<std::unique_ptr<FileWriter>> Writer(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<std::vector<std::string>> List(const std::string& path) override;
  Status Move(const std::string& from, const std::string& to) override;
  Status Delete(const std::string& path) override;
  Status CheckWritable() override;
  Result<std::string> RedirectUrl(const std::string& path) override;

  // For logs: endpoint, bucket and root (no credentials); Info().location.
  std::string Describe() const;

 private:
  S3Driver(S3DriverOptions options, std::unique_ptr<S3Client> client);
  Result<std::string> Key(const std::string& path) const;
  // The unfinished upload at `key`, if any.
  Result<std::optional<UploadState>> LoadState(const std::string& key);
  // Completes the unfinished upload at `key` into a plain object at `key`.
  Status FinishUpload(const std::string& key, UploadState state);
  // Deletes the state, tails and multipart upload kept for `key`.
  Status DropUploadHelpers(const std::string& key, const std::optional<UploadState>& state);
  // Every key under `prefix` (no delimiter), all pages.
  Result<std::vector<std::string>> AllKeys(const std::string& prefix);

  S3DriverOptions options_;
  std::string root_;  // "berth/" or ""
  Bucket bucket_;
};

}  // namespace berth::storage::s3
