// Fuzz target: ACL glob/regex patterns (src/auth/pattern.h).
// First half: the pattern; second half: the value matched with placeholder vars.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256) return 0;  // std::regex compile/match of hostile patterns is super-linear
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view pattern = in.substr(0, size / 2);
  std::string_view value = in.substr(size / 2);
  (void)berth::auth::ValidateGlob(pattern);
  auto p = berth::auth::Pattern::Compile(std::string(pattern));
  if (!p.ok()) return 0;
  // std::regex backtracks exponentially on nested quantifiers ("/(a*)+b/"): a known
  // cost of operator-written regexes, kept to short values so the run explores
  // rather than sits in one match (fuzz/crashes/acl_pattern/timeout-* is the proof).
  if (p->is_regex() && value.size() > 12) value = value.substr(0, 12);
  berth::auth::PatternVars vars{"alice", "team/app"};
  (void)p->Matches(value, vars);
  (void)p->Matches(value);
  return 0;
}
