// Fuzz target: the YAML configuration file (src/config/config.h), and its users
// and acl compiled as every command does (src/auth/access_rules.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/access_rules.h"
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // yaml-cpp recursion on deep nesting is not what we are testing
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto c = berth::config::ParseConfig(yaml, "fuzz.yaml");
  if (c.ok()) (void)berth::auth::CompileAccessRules(*c);
  return 0;
}
