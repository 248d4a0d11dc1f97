#include "http/request_context.h"

#include <random>

namespace berth::http {
namespace {

// splitmix64 over a per-thread random seed: unique enough for log correlation,
// no lock and no syscall per request.
uint64_t NextRandom() {
  thread_local uint64_t state = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > RequestContext::kMaxIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void RequestContext::AssignRequestId(std::string_view incoming) {
  if (IsSaneRequestId(incoming)) {
    incoming.copy(id_, incoming.size());
    id_len_ = static_cast<uint8_t>(incoming.size());
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = NextRandom();
  for (int i = 15; i >= 0; --i) {
    id_[i] = kHex[v & 0xF];
    v >>= 4;
  }
  id_len_ = 16;
}

}  // namespace berth::http
