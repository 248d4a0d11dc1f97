// Parsers for the byte-range headers of the registry API. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace berth::http {

struct ByteRange {
  int64_t first = 0;  // inclusive
  int64_t last = 0;   // inclusive
  int64_t length() const { return last - first + 1; }
};

// Upload PATCH "Content-Range: <first>-<last>" (distribution's form; a leading
// "bytes " and a trailing "/<total>" are tolerated). nullopt when malformed.
std::optional<ByteRange> ParseUploadContentRange(std::string_view value);

enum class RangeResult { kNone, kSatisfiable, kUnsatisfiable, kMalformed };

// GET "Range: bytes=<a>-<b>" | "bytes=<a>-" | "bytes=-<suffix>" against an object of `size` bytes.
// Multiple ranges are not supported and reported as kMalformed (served as a full 200 response).
RangeResult ParseRangeHeader(std::string_view value, int64_t size, ByteRange* out);

}  // namespace berth::http
