// Pattern: one match condition of an ACL entry (account, name or service).
//
//   glob:   '*' and '?' stay within one '/'-separated segment, '**' crosses '/',
//           [abc] [a-z] [!x] classes and '\' escapes; a pattern that is '*'
//           alone matches every value, nested names included.
//   regex:  "/.../" is an ECMAScript regular expression that must match the
//           WHOLE value (docker_auth matches unanchored; Berth anchors).
// "${account}" and "${name}" expand to the request's values, escaped so they
// only ever match themselves. Immutable once compiled; thread-safe.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::auth {

struct PatternVars {
  std::string_view account;
  std::string_view name;
};

class Pattern {
 public:
  // InvalidArgument for an unterminated class, a trailing '\', a bad regex or
  // an unknown ${...} placeholder.
  static Result<Pattern> Compile(std::string text);

  bool Matches(std::string_view value, const PatternVars& vars = {}) const;
  const std::string& text() const { return text_; }
  bool is_regex() const { return is_regex_; }

 private:
  Pattern() = default;
  std::string text_;
  bool is_regex_ = false;
  bool has_placeholders_ = false;
  std::shared_ptr<const std::regex> regex_;  // compiled once when there are no placeholders
};

// The glob matcher itself (exposed for tests and fuzzing).
bool GlobMatch(std::string_view pattern, std::string_view value);
// Checks glob syntax.
Status ValidateGlob(std::string_view pattern);

}  // namespace berth::auth
