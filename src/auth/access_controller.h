// AccessController: the registry side of token auth, over HTTP.
//
// Every /v2/ request must carry a valid Bearer token (or Basic credentials,
// checked against the same users and ACL, so `curl -u` works) holding the
// scopes the request needs. Otherwise it answers 401 with the challenge that
// sends Docker clients to /v2/token:
//   WWW-Authenticate: Bearer realm="<public_url>/v2/token",service="...",scope="repository:<name>:pull,push"
// Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "auth/acl.h"
#include "auth/auth_service.h"
#include "auth/scope.h"
#include "http/exchange.h"

namespace berth::auth {

struct AccessOptions {
  std::string public_url;               // e.g. https://registry.example.com; empty: derived per request
  std::vector<IpRange> trusted_proxies;  // X-Forwarded-* are believed only from these
  bool tls = false;                      // we terminate TLS ourselves
};

// What an authorised request may do (for checks beyond its main scope, e.g. the
// source of a cross-repository mount).
class Identity {
 public:
  static Identity FromToken(std::string subject, std::vector<Scope> held);
  static Identity FromPolicy(const AuthService* auth, std::shared_ptr<const AuthPolicy> policy, std::string account,
                             std::string ip);
  bool Can(const std::string& type, const std::string& name, const std::string& action) const;
  const std::string& account() const { return account_; }

 private:
  std::string account_;
  std::vector<Scope> held_;  // token: what it carries
  const AuthService* auth_ = nullptr;  // basic: ask the ACL
  std::shared_ptr<const AuthPolicy> policy_;
  std::string ip_;
};

class AccessController {
 public:
  AccessController(AuthService& auth, AccessOptions options, boost::asio::thread_pool& blocking);

  // Checks the request holds every scope in `needed` (empty: any valid credentials).
  // Sends the 401/429 response itself and returns nullopt when it does not.
  http::Task<std::optional<Identity>> Authorize(http::Exchange& ex, const std::vector<Scope>& needed);

  enum class Login { kOk, kBad, kThrottled };
  // Password check with brute-force throttling; bcrypt runs off the I/O threads.
  // `request` (optional) makes its log lines request-scoped.
  http::Task<Login> CheckLogin(const std::string& ip, const std::string& user, const std::string& password,
                               const http::RequestContext* request = nullptr);

  // The real client address (X-Forwarded-For honoured from trusted proxies only).
  std::string ClientIp(const http::Exchange& ex) const;
  // The token endpoint as clients must reach it.
  std::string Realm(const http::Exchange& ex) const;
  AuthService& auth() { return auth_; }

 private:
  bool FromTrustedProxy(const http::Exchange& ex) const;
  http::Response Challenge(const http::Exchange& ex, const std::vector<Scope>& needed, std::string_view error,
                           std::string_view code, std::string_view message) const;

  AuthService& auth_;
  AccessOptions options_;
  boost::asio::thread_pool& blocking_;
};

// "Basic <base64(user:password)>" -> user, password. False when malformed.
bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password);

}  // namespace berth::auth
