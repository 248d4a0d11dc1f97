// Bucket: the S3 operations the storage driver needs, on object keys, with S3
// errors turned into Status (404 -> NotFound). A thin typed layer over S3Client;
// thread-safe like it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/s3/s3_client.h"

namespace berth::storage::s3 {

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  int64_t modified_unix = 0;
};

struct ListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> prefixes;  // common prefixes (with the delimiter)
  std::string next_token;             // empty when this was the last page
};

struct CompletedPart {
  int number = 0;
  std::string etag;
  int64_t size = 0;
};

class Bucket {
 public:
  explicit Bucket(std::unique_ptr<S3Client> client) : client_(std::move(client)) {}

  // Objects larger than `max_single` are copied in parts of `part` bytes
  // (defaults: S3's 5 GiB CopyObject limit, 512 MiB parts; tests lower them).
  void SetCopyLimits(int64_t max_single, int64_t part) {
    copy_max_single_ = max_single;
    copy_part_ = part;
  }

  S3Client& client() { return *client_; }

  // HeadBucket: reachable, credentials accepted, bucket present.
  Status Check();
  Status Put(const std::string& key, std::string_view body);
  Result<std::string> GetSmall(const std::string& key);
  // NotFound when absent.
  Result<ObjectInfo> Head(const std::string& key);
  // Deleting a missing key succeeds (S3 semantics).
  Status Delete(const std::string& key);
  // Up to 1000 keys per call (DeleteObjects).
  Status DeleteMany(const std::vector<std::string>& keys);
  Result<ListResult> List(const std::string& prefix, const std::string& delimiter, const std::string& token,
                          int max_keys = 1000);
  // Server-side copy; objects over 5 GiB go through a multipart copy.
  Status Copy(const std::string& from, const std::string& to, int64_t size);

  Result<std::string> InitiateMultipart(const std::string& key);
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                 std::string_view data);
  // Copies bytes [first, last] of `source_key` as part `number`.
  Result<std::string> UploadPartCopy(const std::string& key, const std::string& upload_id, int number,
                                     const std::string& source_key, int64_t first, int64_t last);
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<CompletedPart>& parts);
  // Aborting an unknown upload succeeds.
  Status AbortMultipart(const std::string& key, const std::string& upload_id);

 private:
  std::string CopySource(const std::string& key) const;
  std::unique_ptr<S3Client> client_;
  int64_t copy_max_single_ = 5LL << 30;
  int64_t copy_part_ = 512LL << 20;
};

}  // namespace berth::storage::s3
