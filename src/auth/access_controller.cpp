#include "auth/access_controller.h"
#include "util/ascii.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <nlohmann/json.hpp>

#include "http/blocking.h"
#include "util/log.h"

namespace berth::auth {
namespace asio = boost::asio;

namespace {

bool IsSafeHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool Holds(const std::vector<Scope>& held, const std::string& type, const std::string& name,
           const std::string& action) {
  for (const auto& s : held) {
    if (s.type == type && s.name == name && (s.actions.count(action) != 0 || s.actions.count("*") != 0)) return true;
  }
  return false;
}

}  // namespace

bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password) {
  if (header.size() < 6 || !AsciiIEquals(header.substr(0, 6), "Basic ")) return false;
  std::string b64(Trim(header.substr(6)));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  for (char& c : b64) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  auto decoded = Base64UrlDecode(b64);
  if (!decoded.ok()) return false;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  *user = decoded->substr(0, colon);
  *password = decoded->substr(colon + 1);
  return !user->empty();
}

Identity Identity::FromToken(std::string subject, std::vector<Scope> held) {
  Identity id;
  id.account_ = std::move(subject);
  id.held_ = std::move(held);
  return id;
}

Identity Identity::FromPolicy(const AuthService* auth, std::shared_ptr<const AuthPolicy> policy, std::string account,
                              std::string ip) {
  Identity id;
  id.auth_ = auth;
  id.policy_ = std::move(policy);
  id.account_ = std::move(account);
  id.ip_ = std::move(ip);
  return id;
}

bool Identity::Can(const std::string& type, const std::string& name, const std::string& action) const {
  if (auth_ == nullptr) return Holds(held_, type, name, action);
  auto granted = auth_->Authorize(*policy_, account_, ip_, auth_->settings().service, {Scope{type, name, {action}}});
  return Holds(granted, type, name, action);
}

AccessController::AccessController(AuthService& auth, AccessOptions options, asio::thread_pool& blocking)
    : auth_(auth), options_(std::move(options)), blocking_(blocking) {}

bool AccessController::FromTrustedProxy(const http::Exchange& ex) const {
  for (const auto& r : options_.trusted_proxies) {
    if (r.Contains(ex.remote_address())) return true;
  }
  return false;
}

std::string AccessController::ClientIp(const http::Exchange& ex) const {
  if (!FromTrustedProxy(ex)) return ex.remote_address();
  // Walk X-Forwarded-For from the right, skipping our own proxies.
  std::string_view xff = ex.header("X-Forwarded-For");
  while (!xff.empty()) {
    size_t comma = xff.rfind(',');
    std::string_view ip = Trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    bool trusted = false;
    for (const auto& r : options_.trusted_proxies) trusted = trusted || r.Contains(ip);
    if (!trusted && IpRange::Parse(ip).ok()) return std::string(ip);
    if (comma == std::string_view::npos) break;
    xff = xff.substr(0, comma);
  }
  return ex.remote_address();
}

std::string AccessController::Realm(const http::Exchange& ex) const {
  if (!options_.public_url.empty()) return options_.public_url + "/v2/token";
  std::string scheme = options_.tls ? "https" : "http";
  std::string host(ex.header("Host"));
  if (FromTrustedProxy(ex)) {
    std::string_view proto = Trim(ex.header("X-Forwarded-Proto"));
    if (proto == "https" || proto == "http") scheme = std::string(proto);
    std::string_view fwd_host = Trim(ex.header("X-Forwarded-Host"));
    if (!fwd_host.empty()) host = std::string(fwd_host);
  }
  if (!IsSafeHost(host)) host = "localhost";
  return scheme + "://" + host + "/v2/token";
}

http::Response AccessController::Challenge(const http::Exchange& ex, const std::vector<Scope>& needed,
                                           std::string_view error, std::string_view code,
                                           std::string_view message) const {
  std::string value = "Bearer realm=\"" + Realm(ex) + "\",service=\"" + auth_.settings().service + "\"";
  std::string scopes;
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& s : needed) {
    Scope asked = s;
    // Pushing needs to see existing blobs too: ask for pull alongside push, as distribution does.
    if (asked.actions.count("push") != 0) asked.actions.insert("pull");
    if (!scopes.empty()) scopes += ' ';
    scopes += asked.str();
    for (const auto& a : s.actions) detail.push_back({{"Type", s.type}, {"Name", s.name}, {"Action", a}});
  }
  if (!scopes.empty()) value += ",scope=\"" + scopes + "\"";
  if (!error.empty()) value += ",error=\"" + std::string(error) + "\"";
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!detail.empty()) err["detail"] = detail;
  http::Response r(401);
  r.Set("Content-Type", "application/json");
  r.Set("WWW-Authenticate", value);
  r.body = nlohmann::json{{"errors", nlohmann::json::array({err})}}.dump();
  return r;
}

http::Task<AccessController::Login> AccessController::CheckLogin(const std::string& ip, const std::string& user,
                                                                 const std::string& password,
                                                                 const http::RequestContext* request) {
  auto verdict = auth_.throttle().Check(ip, user);
  if (verdict.refuse) {
    if (request != nullptr) {
      log::Write(log::Level::kWarn, "login refused: too many failures", request->LogFields(),
                 {{"attempted_user", user}, {"ip", ip}});
    } else {
      log::Warn("login refused: too many failures", {{"user", user}, {"ip", ip}});
    }
    co_return Login::kThrottled;
  }
  if (verdict.delay.count() > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor, verdict.delay);
    co_await t.async_wait(asio::use_awaitable);
  }
  auto policy = auth_.policy();
  bool ok = auth_.credentials().IsCached(policy->users, user, password);
  if (!ok) {
    CredentialVerifier* v = &auth_.credentials();
    // A named closure: GCC 12 mis-destroys closures created inside a co_await expression.
    auto check = [v, policy, user, password] { return v->Verify(policy->users, user, password); };
    ok = co_await http::RunBlocking(blocking_, std::move(check));
  }
  if (!ok) {
    auth_.throttle().RecordFailure(ip, user);
    if (request != nullptr) {
      log::Write(log::Level::kWarn, "login failed", request->LogFields(), {{"attempted_user", user}, {"ip", ip}});
    } else {
      log::Warn("login failed", {{"user", user}, {"ip", ip}});
    }
    co_return Login::kBad;
  }
  auth_.throttle().RecordSuccess(ip, user);
  co_return Login::kOk;
}

http::Task<std::optional<Identity>> AccessController::Authorize(http::Exchange& ex, const std::vector<Scope>& needed) {
  std::string_view header = ex.header("Authorization");
  std::optional<Identity> identity;
  bool had_token = false;
  if (header.size() > 7 && AsciiIEquals(header.substr(0, 7), "Bearer ")) {
    had_token = true;
    std::string subject;
    auto held = auth_.VerifyAccessToken(Trim(header.substr(7)), UnixNow(), &subject);
    if (!held.ok()) {
      log::Write(log::Level::kInfo, "token refused", ex.context().LogFields(),
                 {{"reason", held.status().message()}, {"ip", ClientIp(ex)}});
      auto r = Challenge(ex, needed, "invalid_token", "UNAUTHORIZED", "invalid or expired token");
      co_await ex.Send(std::move(r));
      co_return std::nullopt;
    }
    identity = Identity::FromToken(std::move(subject), std::move(*held));
  } else if (!header.empty()) {
    std::string user, password;
    const std::string ip = ClientIp(ex);
    if (ParseBasicAuth(header, &user, &password)) {
      const http::RequestContext* context = &ex.context();
      Login login = co_await CheckLogin(ip, user, password, context);
      if (login == Login::kThrottled) {
        http::Response r(429);
        r.Set("Content-Type", "application/json");
        r.Set("Retry-After", "300");
        r.body = R"({"errors":[{"code":"TOOMANYREQUESTS","message":"too many failed logins, try again later"}]})";
        co_await ex.Send(std::move(r));
        co_return std::nullopt;
      }
      if (login == Login::kOk) identity = Identity::FromPolicy(&auth_, auth_.policy(), user, ip);
    }
    if (!identity) {
      auto r = Challenge(ex, needed, "", "UNAUTHORIZED", "authentication failed");
      co_await ex.Send(std::move(r));
      co_return std::nullopt;
    }
  } else {
    auto r = Challenge(ex, needed, "", "UNAUTHORIZED", "authentication required");
    co_await ex.Send(std::move(r));
    co_return std::nullopt;
  }
  ex.context().user = identity->account();  // for the access log and audit lines, denied or not
  for (const auto& s : needed) {
    for (const auto& a : s.actions) {
      if (!identity->Can(s.type, s.name, a)) {
        log::Write(log::Level::kInfo, "access denied", ex.context().LogFields(),
                   {{"scope", s.str()}, {"ip", ClientIp(ex)}});
        auto r = Challenge(ex, needed, had_token ? "insufficient_scope" : "", "DENIED",
                           "requested access to the resource is denied");
        co_await ex.Send(std::move(r));
        co_return std::nullopt;
      }
    }
  }
  co_return identity;
}

}  // namespace berth::auth
