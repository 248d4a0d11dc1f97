// TokenService: the Docker token server's work, without HTTP. The registry's
// handler for GET/POST /v2/token (registry/token.cpp) reads the request and
// writes the answer; between, it calls the three steps here, each returning a
// value:
//
//   Parse*        the query (GET) or form (POST) into a TokenRequest
//                 GET  ?service=&scope=&scope=...&account=&offline_token=true&client_id=
//                      with Basic credentials, or none for anonymous (docker, podman, skopeo)
//                 POST grant_type=password|refresh_token, username, password, refresh_token,
//                      service, scope (space-separated), client_id, access_type=offline (containerd, docker)
//   Authenticate  who the token is for (password with throttling, refresh token, or anonymous)
//   Grant + Sign  what the ACL grants of each scope, and the signed tokens
//
// Each scope is granted what the ACL allows of it; a partial grant is a token
// with fewer actions, not an error. A step that refuses says why (TokenRefusal);
// the handler picks the status and counts the outcome. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/url/params_view.hpp>

#include "auth/access_controller.h"
#include "auth/auth_service.h"
#include "auth/scope.h"
#include "http/task.h"
#include "util/log.h"
#include "util/status.h"

namespace berth::auth {

// A token request, parsed.
struct TokenRequest {
  bool is_post = false;
  std::string service;        // defaulted to ours; checked
  std::vector<Scope> scopes;  // every scope asked for
  std::string account;        // ?account=: must match the credentials when given
  std::string client_id;
  bool offline = false;    // a refresh token is wanted too
  std::string grant_type;  // POST only: password | refresh_token
  // credentials
  bool has_password = false;
  std::string user;
  std::string password;
  std::string refresh_token;
};

// Why a step refused the request.
enum class TokenError : uint8_t {
  kMalformedForm,         // POST body that is not a form
  kMalformedCredentials,  // GET Authorization that is not Basic user:password
  kInvalidService,
  kInvalidScope,
  kUnsupportedGrantType,  // POST grant_type other than password or refresh_token
  kInvalidRefreshToken,
  kBadCredentials,   // wrong user or password (the same answer for both)
  kThrottled,        // too many failed logins
  kAccountMismatch,  // ?account= is not the authenticated account
};

struct TokenRefusal {
  TokenError error;
  std::string message;
  std::string attempted_user;  // a failed login: the user name tried

  // The client failed to authenticate (counted as `unauthorized`, audited as a denial).
  bool IsCredentialFailure() const;
};

// Who a token is for, once authenticated.
struct TokenAccount {
  std::string account;  // "" = anonymous
  bool may_refresh = false;
  // One policy snapshot and clock reading for the whole request.
  std::shared_ptr<const AuthPolicy> policy;
  int64_t now = 0;
  // Logged in with an access token (or a refresh token issued from one): what it limits grants to.
  std::shared_ptr<const TokenLimit> limit;
};

// What the ACL grants of a request's scopes (same order as asked).
struct TokenGrant {
  std::vector<Scope> scopes;
  bool all_granted = false;  // every action asked for was granted

  // "repository:a:pull repository:b:pull,push": the scopes with actions.
  std::string str() const;
};

struct SignedTokens {
  IssuedToken access;
  std::string refresh;  // empty unless asked for (offline) and allowed
};

class TokenService {
 public:
  explicit TokenService(AccessController& access) : access_(access) {}

  // GET: the query parameters and the Authorization header (Basic credentials, optional).
  std::optional<TokenRefusal> ParseQuery(boost::urls::params_view query, std::string_view authorization,
                                         TokenRequest* out) const;
  // POST: an application/x-www-form-urlencoded body.
  std::optional<TokenRefusal> ParseForm(std::string form, TokenRequest* out) const;

  // `ip` is the client's address (for throttling and logs); `log` makes log lines request-scoped.
  http::Task<std::optional<TokenRefusal>> Authenticate(const TokenRequest& request, const std::string& ip,
                                                       const log::RequestFields& log, TokenAccount* out);

  TokenGrant Grant(const TokenRequest& request, const TokenAccount& who, const std::string& ip) const;
  Result<SignedTokens> Sign(const TokenRequest& request, const TokenAccount& who, const TokenGrant& grant) const;

 private:
  // Defaults and checks the service, and parses the scopes.
  std::optional<TokenRefusal> Finish(TokenRequest* req) const;

  AccessController& access_;
};

}  // namespace berth::auth
