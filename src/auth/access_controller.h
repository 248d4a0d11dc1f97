// AccessController: the registry side of token auth, as decisions.
//
// Every /v2/ request must carry a valid Bearer token (or Basic credentials,
// checked against the same users and ACL, so `curl -u` works) holding the
// scopes the request needs. Authorize() answers with a value: the granted
// Identity, or the Challenge (401) that sends Docker clients to /v2/token
//   WWW-Authenticate: Bearer realm="<public_url>/v2/token",service="...",scope="repository:<name>:pull,push"
// or a Throttle (429) after too many failed logins. It never writes a response:
// the registry layer turns a refusal into one (as distribution's
// registry/auth/auth.go returns a Challenge its caller writes). It reads a
// request through ClientRequest, so it knows nothing of HTTP exchanges.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "auth/acl.h"
#include "auth/auth_service.h"
#include "auth/scope.h"
#include "http/task.h"
#include "util/log.h"

namespace berth::auth {

struct AccessOptions {
  std::string public_url;                // e.g. https://registry.example.com; empty: derived per request
  std::vector<IpRange> trusted_proxies;  // X-Forwarded-* are believed only from these
  bool tls = false;                      // we terminate TLS ourselves
};

// What the access checks read of a request; the registry layer builds it from
// the HTTP exchange. Views: valid while the request is.
struct ClientRequest {
  std::string_view authorization;    // Authorization header
  std::string_view host;             // Host header
  std::string_view forwarded_for;    // X-Forwarded-For (believed from trusted proxies only)
  std::string_view forwarded_proto;  // X-Forwarded-Proto
  std::string_view forwarded_host;   // X-Forwarded-Host
  std::string_view remote_address;   // the peer's IP address
  log::RequestFields log;            // for request-scoped log lines
};

// What an authorised request may do (for checks beyond its main scope, e.g. the
// source of a cross-repository mount).
class Identity {
 public:
  // `limit`: the access token limit the bearer token was issued under (null: none).
  static Identity FromToken(std::string subject, std::vector<Scope> held,
                            std::shared_ptr<const TokenLimit> limit = nullptr);
  // `limit`: the access token the account logged in with (null: a password).
  static Identity FromPolicy(const AuthService* auth, std::shared_ptr<const AuthPolicy> policy, std::string account,
                             std::string ip, std::shared_ptr<const TokenLimit> limit = nullptr);
  bool Can(const std::string& type, const std::string& name, const std::string& action) const;
  // Whether the grant already considered the resource: a token that names it
  // (granted actions or none), or Basic credentials (the ACL answers every
  // question). A token that does not name it was never asked for it.
  bool Considered(const std::string& type, const std::string& name) const;
  const std::string& account() const { return account_; }
  const std::shared_ptr<const TokenLimit>& limit() const { return limit_; }

 private:
  std::string account_;
  std::vector<Scope> held_;            // token: what it carries
  const AuthService* auth_ = nullptr;  // basic: ask the ACL
  std::shared_ptr<const AuthPolicy> policy_;
  std::string ip_;
  std::shared_ptr<const TokenLimit> limit_;
};

// A refusal to answer with 401 and a WWW-Authenticate challenge.
struct Challenge {
  enum class Reason : uint8_t {
    kNoCredentials,   // nothing presented: "authentication required"
    kBadCredentials,  // Basic credentials that do not log in: "authentication failed"
    kInvalidToken,    // a Bearer token that does not verify (or has expired)
    kDenied,          // authenticated, but a needed scope is not granted
  };
  Reason reason = Reason::kNoCredentials;
  std::string realm;  // the token endpoint as the client must reach it
  std::string service;
  std::vector<Scope> scopes;  // what the request needs
  std::string error;          // RFC 6750 error parameter: "", "invalid_token" or "insufficient_scope"
  std::string account;        // kDenied: who was refused (for the logs)

  // The WWW-Authenticate value: Bearer realm="...",service="..."[,scope="..."][,error="..."].
  // A push scope asks for pull too, as distribution does (pushing needs to see existing blobs).
  std::string HeaderValue() const;
};

// A refusal to answer with 429: too many failed logins from this client or for this user.
struct Throttle {
  std::chrono::seconds retry_after{0};
};

// What Authorize decided: granted (who, and what else they may do), or refused.
using AccessDecision = std::variant<Identity, Challenge, Throttle>;

class AccessController {
 public:
  // Logins against the directory (auth.ldap) run on threads of their own, at
  // most this many at once (more wait); beyond kMaxDirectoryLogins in flight a
  // login is refused at once as unavailable. So a directory that hangs never
  // holds the threads that check YAML passwords: a local admin keeps working.
  static constexpr int kDirectoryThreads = 4;
  static constexpr int kMaxDirectoryLogins = 32;

  // `blocking`: where bcrypt runs. `db_threads`: where access tokens are
  // looked up in the metadata database (null: on `blocking`).
  AccessController(AuthService& auth, AccessOptions options, boost::asio::thread_pool& blocking,
                   boost::asio::thread_pool* db_threads = nullptr);

  // Whether the request holds every scope in `needed` (empty: any valid credentials).
  // `wanted` are scopes the request reads when granted but can do without (the
  // source of a cross-repository mount, the whole catalog): a Bearer token that
  // does not name one is challenged for it, with `needed`, so challenge-driven
  // clients come back with a token the token server has decided it for; a
  // token that names it (even without the action) and Basic credentials pass,
  // and the handler asks the Identity -- never a loop.
  http::Task<AccessDecision> Authorize(const ClientRequest& request, const std::vector<Scope>& needed,
                                       const std::vector<Scope>& wanted = {});

  // Which repositories `identity` sees in the catalog: all of them with
  // registry:catalog:*, otherwise those the ACL lets its account pull from the
  // request's client address. A snapshot of the current policy.
  class CatalogView {
   public:
    bool all() const { return all_; }
    bool Shows(const std::string& repository) const;

   private:
    friend class AccessController;
    bool all_ = false;
    const AuthService* auth_ = nullptr;
    std::shared_ptr<const AuthPolicy> policy_;
    std::string account_;
    std::string ip_;
    std::shared_ptr<const TokenLimit> limit_;
  };
  CatalogView CatalogViewOf(const Identity& identity, const ClientRequest& request) const;

  // kUnavailable: the directory (auth.ldap) or the access token database
  // cannot be asked (or the directory has too many logins in flight):
  // refused, like kBad, but not counted as a failed guess.
  enum class Login { kOk, kBad, kThrottled, kUnavailable };
  // Password check with brute-force throttling (a slot is reserved before
  // anything blocks: login_throttle.h); bcrypt runs off the I/O threads.
  // `request` (optional) makes its log lines request-scoped. A password that is
  // an access token (token_store.h) is checked as one, for its own user only;
  // *limit (when given) then gets what the token limits grants to. Robot users
  // (no password) only log in with tokens.
  http::Task<Login> CheckLogin(const std::string& ip, const std::string& user, const std::string& password,
                               const log::RequestFields* request = nullptr,
                               std::shared_ptr<const TokenLimit>* limit = nullptr);
  // How long a client refused with Login::kThrottled should wait.
  static std::chrono::seconds ThrottleRetryAfter();

  // The real client address (X-Forwarded-For honoured from trusted proxies only).
  std::string ClientIp(const ClientRequest& request) const;
  // The token endpoint as clients must reach it.
  std::string Realm(const ClientRequest& request) const;
  AuthService& auth() { return auth_; }
  boost::asio::thread_pool& blocking() { return blocking_; }
  // Where access tokens are looked up (the metadata database's threads when given).
  boost::asio::thread_pool& db_threads() { return db_threads_; }

 private:
  bool FromTrustedProxy(const ClientRequest& request) const;
  Challenge MakeChallenge(const ClientRequest& request, const std::vector<Scope>& needed, Challenge::Reason reason,
                          std::string_view error) const;

  // The directory's verdict on a user not in the YAML (kOk, kBad or
  // kUnavailable, logged), asked on its own threads.
  http::Task<Login> DirectoryLogin(std::shared_ptr<const AuthPolicy> policy, const std::string& ip,
                                   const std::string& user, const std::string& password,
                                   const log::RequestFields* request);

  AuthService& auth_;
  AccessOptions options_;
  boost::asio::thread_pool& blocking_;
  boost::asio::thread_pool& db_threads_;
  boost::asio::thread_pool directory_threads_{kDirectoryThreads};
  std::atomic<int> directory_logins_{0};  // in flight (queued or running)
};

// "Basic <base64(user:password)>" -> user, password. False when malformed.
bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password);

}  // namespace berth::auth
