// KeyRing: the token signing key in use plus the keys whose tokens are still
// accepted (the previous key after a rotation, until its tokens expire; the
// next key before a rotation across several replicas). Tokens are signed with
// the current key only; a token is verified with the one key its `kid` names —
// never tried against every key — and a kid that is not on the ring is refused.
// Retiring a key is taking it off the ring (config reload): its tokens fail at once.
//
// The ring is published two ways for other registries that trust Berth's
// tokens: a PEM certificate bundle (distribution 2.8's auth.token.rootcertbundle)
// and a JWKS (RFC 7517; distribution v3's auth.token.jwks).
// Immutable once made; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/signing_key.h"
#include "util/status.h"

namespace berth::auth {

class KeyRing {
 public:
  // `current` must be able to sign (InvalidArgument otherwise). A key listed
  // twice is kept once.
  static Result<std::shared_ptr<const KeyRing>> Make(std::shared_ptr<const SigningKey> current,
                                                     std::vector<std::shared_ptr<const SigningKey>> accepted = {});

  const SigningKey& current() const { return *current_; }
  // The key with this kid (current or accepted); nullptr when none.
  const SigningKey* Find(std::string_view kid) const;
  size_t size() const { return 1 + accepted_.size(); }

  // Every certificate, the current key's first (PEM, concatenated).
  std::string CertificateBundlePem() const;
  // {"keys":[<jwk>...]}, the current key's first.
  nlohmann::json Jwks() const;

 private:
  KeyRing() = default;
  std::shared_ptr<const SigningKey> current_;
  std::vector<std::shared_ptr<const SigningKey>> accepted_;  // without the current one
};

}  // namespace berth::auth
