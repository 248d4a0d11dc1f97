// JWT (JWS compact form) signing and verification for registry tokens.
// Verification picks the one key the token's kid names (a token without kid:
// the current key) and pins the algorithm to that key's own (RS256 or ES256):
// "none", HS256 and every other alg are refused, as is a kid that is not ours.
// Pure functions over an immutable key; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth/key_ring.h"
#include "auth/signing_key.h"
#include "util/status.h"

namespace berth::auth {

inline constexpr size_t kMaxTokenBytes = 16 * 1024;

// Header: {"typ":"JWT","alg":<key alg>,"kid":<libtrust id>,"x5c":[<certificate>]}.
Result<std::string> SignJwt(const SigningKey& key, const nlohmann::json& claims);

struct JwtExpectations {
  std::string issuer;
  std::string audience;
  int64_t now = 0;      // unix seconds
  int64_t leeway = 60;  // clock skew tolerated on exp/nbf
};

// The verified claims. InvalidArgument (with a reason) for anything else.
Result<nlohmann::json> VerifyJwt(const KeyRing& keys, std::string_view token, const JwtExpectations& expect);
// The same with a ring of one key.
Result<nlohmann::json> VerifyJwt(const SigningKey& key, std::string_view token, const JwtExpectations& expect);

}  // namespace berth::auth
