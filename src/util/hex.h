// Hex: the one place where bytes become hexadecimal (digests, ids, signatures,
// percent-escapes, "\xNN" previews) and hex digits become values again.
// Pure inline functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth {

inline constexpr std::string_view kHexDigits = "0123456789abcdef";
inline constexpr std::string_view kHexDigitsUpper = "0123456789ABCDEF";

// Writes 2*n lowercase hex characters for the n bytes at `data` to `out` (no NUL).
inline void HexEncodeTo(const void* data, size_t n, char* out) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[p[i] >> 4];
    out[2 * i + 1] = kHexDigits[p[i] & 15];
  }
}

// The lowercase hex of n bytes (two characters a byte).
inline std::string HexEncode(const void* data, size_t n) {
  std::string out(n * 2, '0');
  HexEncodeTo(data, n, out.data());
  return out;
}
inline std::string HexEncode(std::string_view bytes) { return HexEncode(bytes.data(), bytes.size()); }

// Appends "%XY" for byte `c`, uppercase as RFC 3986 recommends (and SigV4 requires).
inline void AppendPercentEscape(std::string* out, unsigned char c) {
  out->push_back('%');
  out->push_back(kHexDigitsUpper[c >> 4]);
  out->push_back(kHexDigitsUpper[c & 15]);
}

// 0-15 for a hex digit of either case, -1 for any other character.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace berth
