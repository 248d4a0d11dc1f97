// Token scopes: "repository:team/app:pull,push", "registry:catalog:*",
// "repository(plugin):name:pull". Pure functions; thread-safe.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace berth::auth {

struct Scope {
  std::string type;  // "repository" | "registry" | anything else (granted nothing)
  std::string name;
  std::set<std::string> actions;

  std::string str() const;  // "type:name:a,b"
  bool operator==(const Scope&) const = default;
};

// One scope string. InvalidArgument when malformed.
Result<Scope> ParseScope(std::string_view text);
// Space-separated scopes (OAuth2 form); empty items are skipped.
Result<std::vector<Scope>> ParseScopeList(std::string_view text);

}  // namespace berth::auth
