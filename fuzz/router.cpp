// Fuzz target: route matching (src/registry/router.h, with the table's patterns) on the input split at '/'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "route_patterns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> segments;
  size_t start = 0;
  while (true) {
    size_t slash = in.find('/', start);
    segments.emplace_back(in.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  auto match = berth::fuzz::TableRouter().Match(segments);
  (void)match;
  return 0;
}
