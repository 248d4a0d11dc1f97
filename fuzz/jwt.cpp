// Fuzz target: bearer token verification (src/auth/jwt.h) and base64url decoding.
// The key is generated once; no fuzzer input can carry its signature, so VerifyJwt
// must never accept.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "auth/jwt.h"
#include "auth/signing_key.h"
#include "util/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto key = [] {
    auto k = berth::auth::SigningKey::Generate(berth::auth::KeyType::kEc);
    if (!k.ok()) {
      fprintf(stderr, "key generation failed: %s\n", k.status().message().c_str());
      abort();
    }
    return *k;
  }();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto decoded = berth::Base64UrlDecode(in);
  if (decoded.ok()) {
    // Canonical encoding only: re-encoding gives back the input.
    if (berth::Base64UrlEncode(*decoded) != in) abort();
  }
  berth::auth::JwtExpectations expect{"berth", "berth", 1700000000, 60};
  auto claims = berth::auth::VerifyJwt(*key, in, expect);
  if (claims.ok()) {
    fprintf(stderr, "VerifyJwt accepted a token not signed by the key\n");
    abort();
  }
  return 0;
}
