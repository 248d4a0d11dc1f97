// ASCII helpers for protocol tokens (header names, auth schemes, range units).
// (Boost 1.81's beast::iequals reads one byte past the end of its inputs when
// they differ in case, so it is not used on untrusted data.)
#pragma once

#include <string_view>

namespace berth {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool AsciiIEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// True when `s` starts with `prefix`, ignoring ASCII case.
inline bool AsciiIStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiIEquals(s.substr(0, prefix.size()), prefix);
}

}  // namespace berth
