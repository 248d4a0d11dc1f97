// TokenStore: personal access tokens ("berth_pat_..."), kept in the metadata
// database (metadata/db.h; table access_tokens, migration 2) so that every
// replica sees the same tokens, and used as the password in docker login,
// Basic credentials and the token endpoint.
//
// A token is "berth_pat_" + public id (16 hex) + "_" + secret (43 base64url
// characters, 256 random bits). The prefix lets secret scanners find leaked
// ones; the public id finds the row (and is what `token list` shows and
// `token revoke` takes); only SHA-256(secret) is stored. A plain fast hash is
// right here: a slow hash (bcrypt) protects low-entropy passwords against
// guessing after a leak of the hashes, but nobody enumerates 2^256 secrets,
// and a fast hash keeps a login at one indexed lookup. No server-side key
// either (HMAC), so replicas verify with nothing shared but the database.
//
// What a token may do is the intersection of its scopes (TokenScope: a type,
// a repository-name pattern as in the ACL, actions; none at all = whatever the
// user's ACL grants) and its user's ACL, decided at every grant. Expiry and
// revocation count at once: every use looks the token up. `last_used_at` is
// written at most once a minute per token.
//
// The pool is opened lazily, at the first use (a server whose clients never
// present a token never touches the database here). Blocking (database):
// call it off the I/O threads. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/pattern.h"
#include "auth/scope.h"
#include "metadata/db.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::auth {

inline constexpr std::string_view kAccessTokenPrefix = "berth_pat_";

// One scope a token is limited to: "repository:myorg/*:pull,push", "registry:catalog:*".
struct TokenScope {
  std::string type;
  Pattern name;
  std::set<std::string> actions;  // of pull, push, delete, *

  static Result<TokenScope> Parse(std::string_view text);
  std::string str() const;
};

// What a token limits a grant to; no scopes: no limit beyond the ACL.
struct TokenLimit {
  std::string token_id;
  std::vector<TokenScope> scopes;
  int64_t expires_at = 0;  // Unix seconds; 0: never

  // `granted` (what the ACL gave for `want`) narrowed to what the token allows.
  std::set<std::string> Narrow(const Scope& want, const std::set<std::string>& granted) const;
  // The scopes as TokenScope texts (what FromTexts reads back).
  std::vector<std::string> ScopeTexts() const;
  // The limit of token `id` with scopes `texts`. A text that does not parse
  // must never widen the token: it becomes a scope that allows nothing.
  static TokenLimit FromTexts(std::string id, const std::vector<std::string>& texts, int64_t expires_at);
};

struct TokenRecord {
  std::string id;  // the public id
  std::string user;
  std::string label;
  std::vector<std::string> scopes;  // as given ("" none: the user's ACL)
  int64_t created_at = 0;           // Unix seconds
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
  std::optional<int64_t> last_used_at;

  bool UsableAt(int64_t now) const { return !revoked_at && (!expires_at || *expires_at > now); }
  // The limit this token puts on a grant (scopes compiled; they were checked when created).
  TokenLimit Limit() const;
};

// Whether `password` looks like an access token (the prefix); such a password
// is never tried as a password.
bool IsAccessToken(std::string_view password);

class TokenStore {
 public:
  using PoolOpener = std::function<Result<std::shared_ptr<metadata::Pool>>()>;
  explicit TokenStore(std::shared_ptr<metadata::Pool> pool);
  explicit TokenStore(PoolOpener open);

  struct Created {
    TokenRecord record;
    std::string token;  // shown once, never stored
  };
  // `scopes`: TokenScope texts (checked); `expires_at` Unix seconds or none.
  Result<Created> Create(const std::string& user, const std::string& label, const std::vector<std::string>& scopes,
                         std::optional<int64_t> expires_at, int64_t now);
  // Newest first; every user's when `user` is empty.
  Result<std::vector<TokenRecord>> List(const std::string& user);
  // NotFound when there is no such id; revoking twice keeps the first time.
  Status Revoke(const std::string& id, int64_t now);
  // The token's record when it is valid at `now` (right prefix and shape, a
  // row, the secret's hash equal in constant time, not expired, not revoked);
  // InvalidArgument otherwise (the same for every reason, to the caller's
  // client), kUnavailable for every database failure (cannot be reached, or
  // any error it answers: never mistaken for a wrong token). Notes the use.
  Result<TokenRecord> Verify(std::string_view token, int64_t now);
  // The record of a token id if still valid at `now` (refresh tokens issued
  // from it); InvalidArgument or kUnavailable as Verify.
  Result<TokenRecord> Lookup(const std::string& id, int64_t now);

 private:
  Result<std::shared_ptr<metadata::Pool>> Pool() EXCLUDES(mu_);
  Result<std::optional<TokenRecord>> Find(metadata::Connection& conn, const std::string& id, std::string* hash);

  PoolOpener open_;
  Mutex mu_;
  std::shared_ptr<metadata::Pool> pool_ GUARDED_BY(mu_);
};

}  // namespace berth::auth
