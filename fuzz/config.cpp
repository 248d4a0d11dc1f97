// Fuzz target: the YAML configuration file (src/config/config.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // yaml-cpp recursion on deep nesting is not what we are testing
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto c = berth::config::ParseConfig(yaml, "fuzz.yaml");
  (void)c;
  return 0;
}
