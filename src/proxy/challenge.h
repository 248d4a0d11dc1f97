// Challenge: what an upstream registry's WWW-Authenticate header asks for
// (RFC 9110 section 11.6.1 challenges; the distribution token spec's Bearer
// parameters realm, service and scope). Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::proxy {

struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower case, values unquoted
  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// The first challenge of a WWW-Authenticate value; nullopt when it is malformed.
// A header listing several challenges gives the Bearer one when there is one.
std::optional<Challenge> ParseChallenge(std::string_view header);

}  // namespace berth::proxy
