#include "http/chunked_decoder.h"

#include <algorithm>
#include <cstring>

#include "util/hex.h"

namespace berth::http {
namespace {

constexpr size_t kMaxLineLength = 4096;  // chunk extensions and trailers are tiny in practice
constexpr int kMaxSizeDigits = 15;       // < 2^60 bytes: no overflow

}  // namespace

Result<ChunkedDecoder::Step> ChunkedDecoder::Decode(std::string_view in, char* out, size_t cap) {
  Step step;
  size_t i = 0;
  auto bad = [](const char* why) { return Status::Invalid(std::string("bad chunked encoding: ") + why); };
  while (i < in.size() && state_ != State::kDone) {
    const char c = in[i];
    switch (state_) {
      case State::kSize: {
        int v = HexDigitValue(c);
        if (v >= 0) {
          if (++size_digits_ > kMaxSizeDigits) return bad("chunk size too large");
          chunk_remaining_ = chunk_remaining_ * 16 + static_cast<uint64_t>(v);
          ++i;
        } else if (size_digits_ == 0) {
          return bad("missing chunk size");
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExtension;
          line_length_ = 0;
          ++i;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else {
          return bad("invalid chunk size");
        }
        break;
      }
      case State::kExtension:
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (++line_length_ > kMaxLineLength) {
          return bad("chunk extension too long");
        }
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return bad("expected LF after chunk size");
        ++i;
        size_digits_ = 0;
        if (chunk_remaining_ == 0) {
          state_ = State::kTrailerStart;
        } else {
          state_ = State::kData;
        }
        break;
      case State::kData: {
        if (step.produced == cap) {
          step.consumed = i;
          return step;
        }
        size_t n = std::min<uint64_t>({chunk_remaining_, in.size() - i, cap - step.produced});
        std::memcpy(out + step.produced, in.data() + i, n);
        step.produced += n;
        i += n;
        chunk_remaining_ -= n;
        if (chunk_remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return bad("expected CRLF after chunk data");
        state_ = State::kDataLf;
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return bad("expected CRLF after chunk data");
        state_ = State::kSize;
        ++i;
        break;
      case State::kTrailerStart:
        // Either the final CRLF or a trailer field line.
        if (c == '\n') return bad("bare LF at end of body");
        if (c == '\r') {
          state_ = State::kTrailerLf;
          line_length_ = 0;
        } else {
          state_ = State::kTrailerLine;
          line_length_ = 1;
        }
        ++i;
        break;
      case State::kTrailerLine:
        if (c == '\n') {
          state_ = State::kTrailerStart;
        } else if (++line_length_ > kMaxLineLength) {
          return bad("trailer too long");
        }
        ++i;
        break;
      case State::kTrailerLf:
        if (c != '\n') return bad("expected LF at end of body");
        state_ = State::kDone;
        ++i;
        break;
      case State::kDone: break;
    }
  }
  step.consumed = i;
  return step;
}

}  // namespace berth::http
