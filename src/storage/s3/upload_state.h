// UploadState: how an unfinished S3Writer upload is kept in the bucket so that
// any process can continue it (replicas share the bucket, a chunked upload may
// move between them):
//   <key>.s3state        this JSON: the multipart upload id, its parts (number,
//                        ETag, size), and which tail object holds the rest;
//   <key>.s3tail-<gen>   the bytes after the last part (< chunksize), a plain
//                        object, a new generation on every commit so a crash
//                        between writing the tail and the state never pairs a
//                        state with the wrong tail;
//   multipart upload on <key> for the full-size parts.
// The suffixes contain '.', which no layout.h path component ends in before a
// digest or UUID, so they cannot collide with registry paths. Plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/s3/bucket.h"
#include "util/status.h"

namespace berth::storage::s3 {

inline constexpr std::string_view kStateSuffix = ".s3state";
inline constexpr std::string_view kTailSuffix = ".s3tail-";

struct UploadState {
  std::string upload_id;  // empty until the first full part was sent
  std::vector<CompletedPart> parts;
  int64_t tail_size = 0;
  int64_t generation = 0;  // tail object generation; 0: no tail object

  int64_t PartsSize() const;
  int64_t Size() const { return PartsSize() + tail_size; }
  std::string ToJson() const;
  static Result<UploadState> FromJson(std::string_view json);
};

std::string StateKey(const std::string& key);
std::string TailKey(const std::string& key, int64_t generation);
// True for a key that is one of the helper objects above (hidden from List).
bool IsTailKey(std::string_view key);

}  // namespace berth::storage::s3
