// IpRange: an IPv4 or IPv6 address range ("10.0.0.0/8", "::1", "1.2.3.4"),
// as written in the config (acl ip conditions, server.trusted_proxies) and
// matched against client addresses. A value; thread-safe.
#pragma once

#include <array>
#include <string_view>

#include "util/status.h"

namespace berth {

// v4 addresses are stored v4-mapped in v6 form, so "::ffff:10.1.1.1" is in 10.0.0.0/8.
struct IpRange {
  std::array<unsigned char, 16> addr{};
  int prefix = 128;
  static Result<IpRange> Parse(std::string_view text);  // "10.0.0.0/8", "::1", "1.2.3.4"
  bool Contains(std::string_view address) const;        // false for an unparsable address
};

}  // namespace berth
