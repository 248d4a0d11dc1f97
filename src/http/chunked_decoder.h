// ChunkedDecoder: incremental decoder for HTTP/1.1 "Transfer-Encoding: chunked"
// request bodies. Fed arbitrary slices of the byte stream, it copies the payload
// into a caller buffer; bounded state, no allocation. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/status.h"

namespace berth::http {

class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;  // bytes of input used
    size_t produced = 0;  // payload bytes written to out
  };

  // Decodes from `in` into `out` (capacity `cap`) until one of them runs out or
  // the body ends. InvalidArgument on malformed framing.
  Result<Step> Decode(std::string_view in, char* out, size_t cap);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State {
    kSize,
    kExtension,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailerLine,
    kTrailerLf,
    kDone
  };
  State state_ = State::kSize;
  uint64_t chunk_remaining_ = 0;
  int size_digits_ = 0;
  size_t line_length_ = 0;  // bytes in the current size/extension/trailer line
};

}  // namespace berth::http
