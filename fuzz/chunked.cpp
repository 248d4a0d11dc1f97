// Fuzz target: HTTP/1.1 chunked transfer decoding (src/http/chunked_decoder.h).
// The input is fed in pieces split at data-derived positions, with a tiny output
// buffer, so every state of the resumable decoder gets interrupted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/chunked_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  berth::http::ChunkedDecoder dec;
  char out[7];
  size_t produced_total = 0;
  size_t pos = 0;
  size_t piece_no = 0;
  while (pos < all.size() && !dec.done()) {
    // Piece length derived from the data: 1..16 bytes.
    size_t piece = 1 + (static_cast<uint8_t>(all[(pos * 31 + piece_no++) % all.size()]) & 15);
    std::string_view in = all.substr(pos, piece);
    while (!in.empty() && !dec.done()) {
      auto step = dec.Decode(in, out, sizeof(out));
      if (!step.ok()) return 0;  // malformed framing: the server answers 400
      if (step->consumed > in.size() || step->produced > sizeof(out)) abort();
      if (step->consumed == 0 && step->produced == 0) abort();  // no progress: would spin forever
      produced_total += step->produced;
      in.remove_prefix(step->consumed);
      pos += step->consumed;
    }
  }
  if (produced_total > size) abort();
  return 0;
}
