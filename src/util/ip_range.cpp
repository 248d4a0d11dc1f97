#include "util/ip_range.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>

namespace berth {
namespace {

bool ParseAddress(std::string_view text, std::array<unsigned char, 16>* out, bool* is_v4) {
  std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &v4, 4);
    *is_v4 = true;
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out->data(), &v6, 16);
    *is_v4 = false;
    return true;
  }
  return false;
}

}  // namespace

Result<IpRange> IpRange::Parse(std::string_view text) {
  IpRange r;
  std::string_view addr = text;
  std::optional<int> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int v = -1;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size()) {
      return Status::Invalid("invalid CIDR prefix in '" + std::string(text) + "'");
    }
    prefix = v;
  }
  bool v4 = false;
  if (!ParseAddress(addr, &r.addr, &v4)) return Status::Invalid("invalid IP address '" + std::string(text) + "'");
  int max = v4 ? 32 : 128;
  if (prefix && (*prefix < 0 || *prefix > max))
    return Status::Invalid("invalid CIDR prefix in '" + std::string(text) + "'");
  r.prefix = (v4 ? 96 : 0) + prefix.value_or(max);
  return r;
}

bool IpRange::Contains(std::string_view address) const {
  std::array<unsigned char, 16> a;
  bool v4;
  if (!ParseAddress(address, &a, &v4)) return false;
  int full = prefix / 8;
  if (std::memcmp(a.data(), addr.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[static_cast<size_t>(full)] & mask) == (addr[static_cast<size_t>(full)] & mask);
}

}  // namespace berth
