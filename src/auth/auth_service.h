// AuthService: Berth's built-in Docker token server and the checks the
// registry makes against its tokens, without any HTTP (token_service.h and
// access_controller.h build on it; registry/ writes their answers as HTTP).
//
// It owns the settings, the reloadable key ring (the signing key plus the keys
// whose tokens are still accepted) and the reloadable policy (users + ACL);
// ring and policy are each swapped whole on SIGHUP or config change. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "auth/credentials.h"
#include "auth/key_ring.h"
#include "auth/login_throttle.h"
#include "auth/scope.h"
#include "auth/signing_key.h"
#include "auth/token_store.h"
#include "auth/verified_token_cache.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::auth {

struct AuthSettings {
  std::string service = "berth";  // audience of the tokens this registry accepts
  std::string issuer = "berth";
  int64_t expiration = 300;                       // access token lifetime, seconds
  int64_t refresh_expiration = 30LL * 24 * 3600;  // refresh token lifetime, seconds
  int64_t leeway = 60;                            // clock skew tolerated on exp/nbf
};

namespace ldap {
class Directory;
}

struct AuthPolicy {
  UserTable users;
  Acl acl;
  // auth.ldap: who is not in `users` logs in against it, and the groups of its
  // users come from it (for a while: ldap/directory.h). Null: none.
  std::shared_ptr<ldap::Directory> directory;
};

struct IssuedToken {
  std::string token;
  int64_t expires_in = 0;
  std::string issued_at;  // RFC 3339
};

class AuthService {
 public:
  AuthService(AuthSettings settings, std::shared_ptr<const KeyRing> keys, std::shared_ptr<const AuthPolicy> policy);
  // A ring of one key (it must be able to sign: std::invalid_argument otherwise).
  AuthService(AuthSettings settings, std::shared_ptr<const SigningKey> key, std::shared_ptr<const AuthPolicy> policy);

  std::shared_ptr<const AuthPolicy> policy() const;
  void SetPolicy(std::shared_ptr<const AuthPolicy> policy);
  const AuthSettings& settings() const { return settings_; }
  // Tokens are signed with keys()->current(); a retired key (off the new ring)
  // fails its tokens, access and refresh, at once.
  std::shared_ptr<const KeyRing> keys() const;
  void SetKeys(std::shared_ptr<const KeyRing> keys);
  CredentialVerifier& credentials() { return credentials_; }
  // Personal access tokens (null: none; set once before serving).
  std::shared_ptr<TokenStore> tokens() const;
  void SetTokenStore(std::shared_ptr<TokenStore> tokens);
  LoginThrottle& throttle() { return throttle_; }

  // What the ACL grants `account` ("" = anonymous) of each requested scope
  // (same order; a scope may come back with no actions), narrowed to what
  // `limit` (the access token the account logged in with) allows.
  std::vector<Scope> Authorize(const AuthPolicy& policy, const std::string& account, const std::string& ip,
                               const std::string& service, const std::vector<Scope>& requested,
                               const TokenLimit* limit = nullptr) const;

  // `not_after` (Unix seconds, 0: none) caps the expiry: the end of the access token it was issued from.
  // `limit` (the access token the account logged in with, if any) travels in
  // the JWT (claim berth_lim: its id and scopes), so that what the bearer may
  // see beyond `grants` (the catalog) stays narrowed by it.
  Result<IssuedToken> IssueAccessToken(const std::string& account, const std::string& service,
                                       const std::vector<Scope>& grants, int64_t now, int64_t not_after = 0,
                                       const TokenLimit* limit = nullptr) const;
  // A refresh token is bound to the user's current password hash: changing the
  // password revokes it. One issued from an access token names it
  // (`access_token_id`), and is refused once that token is revoked or expired.
  Result<std::string> IssueRefreshToken(const AuthPolicy& policy, const std::string& account,
                                        const std::string& service, int64_t now,
                                        const std::string& access_token_id = "") const;
  // The account a refresh token belongs to, if it is still valid (and the id of
  // the access token it was issued from, "" when none: the caller checks it).
  Result<std::string> VerifyRefreshToken(const AuthPolicy& policy, std::string_view token, const std::string& service,
                                         int64_t now, std::string* access_token_id = nullptr) const;

  // The access a bearer token carries, after checking signature, alg, iss, aud (our service), exp and nbf.
  // *limit (when given) gets the access token limit it was issued under (null: none).
  // A token that verified is remembered (verified_token_cache.h): its next
  // uses check only exp/nbf against `now` and that the key ring is the same.
  Result<std::vector<Scope>> VerifyAccessToken(std::string_view token, int64_t now, std::string* subject,
                                               std::shared_ptr<const TokenLimit>* limit = nullptr) const;

 private:
  std::string PasswordBinding(const std::string& hash) const;
  // The ring and its generation (counts SetKeys calls: the token cache's notion of "the same ring").
  std::shared_ptr<const KeyRing> keys(uint64_t* generation) const EXCLUDES(mu_);

  AuthSettings settings_;
  mutable Mutex mu_;
  std::shared_ptr<const KeyRing> keys_ GUARDED_BY(mu_);
  uint64_t keys_generation_ GUARDED_BY(mu_) = 0;
  std::shared_ptr<const AuthPolicy> policy_ GUARDED_BY(mu_);
  std::shared_ptr<TokenStore> tokens_ GUARDED_BY(mu_);
  CredentialVerifier credentials_;
  LoginThrottle throttle_;
  mutable VerifiedTokenCache verified_tokens_;
};

int64_t UnixNow();
std::string Rfc3339(int64_t unix_seconds);

}  // namespace berth::auth
