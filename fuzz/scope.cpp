// Fuzz target: token scope strings (src/auth/scope.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/scope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = berth::auth::ParseScope(in);
  if (s.ok()) (void)s->str();
  auto list = berth::auth::ParseScopeList(in);
  if (list.ok()) {
    for (const auto& sc : *list) (void)sc.str();
  }
  return 0;
}
