// Fuzz target: upload Content-Range and download Range headers (src/http/range.h).
// First 8 bytes: blob size for ParseRangeHeader; the rest: the header value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "http/range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int64_t blob_size = 0;
  if (size >= 8) {
    std::memcpy(&blob_size, data, 8);
    blob_size &= INT64_MAX;  // a stored blob's size is never negative
    data += 8;
    size -= 8;
  }
  std::string_view value(reinterpret_cast<const char*>(data), size);
  if (auto cr = berth::http::ParseUploadContentRange(value)) {
    if (cr->first < 0 || cr->last < cr->first) abort();
  }
  berth::http::ByteRange out;
  auto r = berth::http::ParseRangeHeader(value, blob_size, &out);
  if (r == berth::http::RangeResult::kSatisfiable) {
    // A satisfiable range lies inside the blob.
    if (out.first < 0 || out.last < out.first || out.last >= blob_size) {
      fprintf(stderr, "ParseRangeHeader: range %lld-%lld outside a blob of %lld bytes\n", (long long)out.first,
              (long long)out.last, (long long)blob_size);
      abort();
    }
  }
  return 0;
}
