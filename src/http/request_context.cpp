#include "http/request_context.h"

#include "util/hex.h"
#include "util/random.h"

namespace berth::http {

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > RequestContext::kMaxIdLength) return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
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
  // Unique enough for log correlation, with no lock and no syscall per request.
  const uint64_t v = FastRandom64();
  HexEncodeTo(&v, sizeof v, id_);
  id_len_ = 2 * sizeof v;
}

}  // namespace berth::http
