// S3Writer: the appending FileWriter of the S3 driver.
//
// Bytes collect in a buffer of at most `chunk_size`; every full buffer goes out
// as one multipart UploadPart (started lazily, so small uploads never create a
// multipart upload). Commit() makes everything written so far durable in the
// bucket: the partial buffer as a tail object and the UploadState next to it
// (see upload_state.h), so another S3Writer, in this or another process, can
// continue. Memory is bounded by chunk_size per writer, whatever the blob size.
// Destroying a writer with uncommitted bytes commits them (best effort), as
// the FileWriter contract keeps what was written.
// Not thread-safe.
#pragma once

#include <string>

#include "storage/driver.h"
#include "storage/s3/bucket.h"
#include "storage/s3/upload_state.h"

namespace berth::storage::s3 {

class S3Writer final : public FileWriter {
 public:
  // `tail` holds the bytes after the last part (state.tail_size of them).
  // `persisted`: whether `state` is already in the bucket.
  S3Writer(Bucket& bucket, std::string key, int64_t chunk_size, UploadState state, std::string tail, bool persisted);
  ~S3Writer() override;

  Status Write(const char* data, size_t n) override;
  int64_t Size() const override;
  Status Commit() override;

 private:
  Status FlushPart();

  Bucket& bucket_;
  std::string key_;
  int64_t chunk_size_;
  UploadState state_;  // parts uploaded so far; tail fields as last committed
  std::string buffer_;
  bool persisted_;
  bool dirty_ = false;
  Status failed_;  // sticky: after a failed part upload the writer refuses more work
};

}  // namespace berth::storage::s3
