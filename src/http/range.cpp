#include "http/range.h"

#include <limits>

#include "util/ascii.h"

namespace berth::http {
namespace {

// Non-empty run of decimal digits, no sign, no overflow.
std::optional<int64_t> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<ByteRange> ParseUploadContentRange(std::string_view value) {
  value = Trim(value);
  if (value.substr(0, 6) == "bytes ") value = Trim(value.substr(6));
  if (auto slash = value.find('/'); slash != std::string_view::npos) value = value.substr(0, slash);
  auto dash = value.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = ParseNumber(value.substr(0, dash));
  auto last = ParseNumber(value.substr(dash + 1));
  if (!first || !last || *last < *first) return std::nullopt;
  return ByteRange{*first, *last};
}

RangeResult ParseRangeHeader(std::string_view value, int64_t size, ByteRange* out) {
  value = Trim(value);
  if (value.empty()) return RangeResult::kNone;
  if (value.size() < 6 || !AsciiIEquals(value.substr(0, 6), "bytes=")) return RangeResult::kMalformed;
  value = Trim(value.substr(6));
  if (value.find(',') != std::string_view::npos) return RangeResult::kMalformed;
  auto dash = value.find('-');
  if (dash == std::string_view::npos) return RangeResult::kMalformed;
  std::string_view a = Trim(value.substr(0, dash));
  std::string_view b = Trim(value.substr(dash + 1));
  if (a.empty()) {  // suffix range: the last b bytes
    auto suffix = ParseNumber(b);
    if (!suffix) return RangeResult::kMalformed;
    if (*suffix == 0 || size == 0) return RangeResult::kUnsatisfiable;
    int64_t n = *suffix > size ? size : *suffix;
    *out = {size - n, size - 1};
    return RangeResult::kSatisfiable;
  }
  auto first = ParseNumber(a);
  if (!first) return RangeResult::kMalformed;
  int64_t last = std::numeric_limits<int64_t>::max();
  if (!b.empty()) {
    auto l = ParseNumber(b);
    if (!l || *l < *first) return RangeResult::kMalformed;
    last = *l;
  }
  if (*first >= size) return RangeResult::kUnsatisfiable;
  if (last >= size) last = size - 1;
  *out = {*first, last};
  return RangeResult::kSatisfiable;
}

}  // namespace berth::http
