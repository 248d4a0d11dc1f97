#include "auth/access_controller.h"
#include "util/ascii.h"
#include "util/base64.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "auth/ldap/directory.h"
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
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  auto decoded = Base64UrlDecode(b64);
  if (!decoded.ok()) return false;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  *user = decoded->substr(0, colon);
  *password = decoded->substr(colon + 1);
  return !user->empty();
}

Identity Identity::FromToken(std::string subject, std::vector<Scope> held, std::shared_ptr<const TokenLimit> limit) {
  Identity id;
  id.account_ = std::move(subject);
  id.held_ = std::move(held);
  id.limit_ = std::move(limit);
  return id;
}

Identity Identity::FromPolicy(const AuthService* auth, std::shared_ptr<const AuthPolicy> policy, std::string account,
                              std::string ip, std::shared_ptr<const TokenLimit> limit) {
  Identity id;
  id.auth_ = auth;
  id.policy_ = std::move(policy);
  id.account_ = std::move(account);
  id.ip_ = std::move(ip);
  id.limit_ = std::move(limit);
  return id;
}

bool Identity::Can(const std::string& type, const std::string& name, const std::string& action) const {
  if (auth_ == nullptr) return Holds(held_, type, name, action);
  auto granted =
      auth_->Authorize(*policy_, account_, ip_, auth_->settings().service, {Scope{type, name, {action}}}, limit_.get());
  return Holds(granted, type, name, action);
}

bool Identity::Considered(const std::string& type, const std::string& name) const {
  if (auth_ != nullptr) return true;
  for (const auto& s : held_) {
    if (s.type == type && s.name == name) return true;
  }
  return false;
}

bool AccessController::CatalogView::Shows(const std::string& repository) const {
  if (all_) return true;
  if (auth_ == nullptr) return false;
  auto granted = auth_->Authorize(*policy_, account_, ip_, auth_->settings().service,
                                  {Scope{"repository", repository, {"pull"}}}, limit_.get());
  return Holds(granted, "repository", repository, "pull");
}

AccessController::CatalogView AccessController::CatalogViewOf(const Identity& identity,
                                                              const ClientRequest& request) const {
  CatalogView view;
  view.all_ = identity.Can("registry", "catalog", "*");
  if (view.all_) return view;
  // The ACL, not the token: a token carries the scopes of one request, the
  // catalog asks about every repository. Narrowed by the access token the
  // identity logged in with (Basic) or its bearer token was issued under.
  view.auth_ = &auth_;
  view.policy_ = auth_.policy();
  view.account_ = identity.account();
  view.ip_ = ClientIp(request);
  view.limit_ = identity.limit();
  return view;
}

AccessController::AccessController(AuthService& auth, AccessOptions options, asio::thread_pool& blocking,
                                   asio::thread_pool* db_threads)
    : auth_(auth),
      options_(std::move(options)),
      blocking_(blocking),
      db_threads_(db_threads != nullptr ? *db_threads : blocking) {}

bool AccessController::FromTrustedProxy(const ClientRequest& request) const {
  for (const auto& r : options_.trusted_proxies) {
    if (r.Contains(request.remote_address)) return true;
  }
  return false;
}

std::string AccessController::ClientIp(const ClientRequest& request) const {
  if (!FromTrustedProxy(request)) return std::string(request.remote_address);
  // Walk X-Forwarded-For from the right, skipping our own proxies.
  std::string_view xff = request.forwarded_for;
  while (!xff.empty()) {
    size_t comma = xff.rfind(',');
    std::string_view ip = Trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    bool trusted = false;
    for (const auto& r : options_.trusted_proxies) trusted = trusted || r.Contains(ip);
    if (!trusted && IpRange::Parse(ip).ok()) return std::string(ip);
    if (comma == std::string_view::npos) break;
    xff = xff.substr(0, comma);
  }
  return std::string(request.remote_address);
}

std::string AccessController::Realm(const ClientRequest& request) const {
  if (!options_.public_url.empty()) return options_.public_url + "/v2/token";
  std::string scheme = options_.tls ? "https" : "http";
  std::string host(request.host);
  if (FromTrustedProxy(request)) {
    std::string_view proto = Trim(request.forwarded_proto);
    if (proto == "https" || proto == "http") scheme = std::string(proto);
    std::string_view fwd_host = Trim(request.forwarded_host);
    if (!fwd_host.empty()) host = std::string(fwd_host);
  }
  if (!IsSafeHost(host)) host = "localhost";
  return scheme + "://" + host + "/v2/token";
}

std::string Challenge::HeaderValue() const {
  std::string value = "Bearer realm=\"" + realm + "\",service=\"" + service + "\"";
  std::string asked_scopes;
  for (const auto& s : scopes) {
    Scope asked = s;
    // Pushing needs to see existing blobs too: ask for pull alongside push, as distribution does.
    if (asked.actions.count("push") != 0) asked.actions.insert("pull");
    if (!asked_scopes.empty()) asked_scopes += ' ';
    asked_scopes += asked.str();
  }
  if (!asked_scopes.empty()) value += ",scope=\"" + asked_scopes + "\"";
  if (!error.empty()) value += ",error=\"" + error + "\"";
  return value;
}

Challenge AccessController::MakeChallenge(const ClientRequest& request, const std::vector<Scope>& needed,
                                          Challenge::Reason reason, std::string_view error) const {
  Challenge c;
  c.reason = reason;
  c.realm = Realm(request);
  c.service = auth_.settings().service;
  c.scopes = needed;
  c.error = std::string(error);
  return c;
}

std::chrono::seconds AccessController::ThrottleRetryAfter() { return LoginThrottle::kWindow; }

namespace {

// A login waiting for a throttle slot polls this often, this long at most.
constexpr auto kSlotPoll = std::chrono::milliseconds(50);
constexpr auto kMaxSlotWait = std::chrono::seconds(30);

// Counts a directory login in flight for as long as it lives.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(count), value_(++count) {}
  ~InFlight() { --count_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  int value() const { return value_; }  // this one included

 private:
  std::atomic<int>& count_;
  int value_;
};

// A login's log line: request-scoped when there is a request (the user as attempted_user).
void LogLogin(log::Level level, const char* message, const log::RequestFields* request, const std::string& user,
              const std::string& ip, const std::string& error = "") {
  if (request != nullptr && error.empty()) {
    log::Write(level, message, *request, {{"attempted_user", user}, {"ip", ip}});
  } else if (request != nullptr) {
    log::Write(level, message, *request, {{"attempted_user", user}, {"ip", ip}, {"error", error}});
  } else if (error.empty()) {
    log::Write(level, message, {{"user", user}, {"ip", ip}});
  } else {
    log::Write(level, message, {{"user", user}, {"ip", ip}, {"error", error}});
  }
}

}  // namespace

http::Task<AccessController::Login> AccessController::DirectoryLogin(std::shared_ptr<const AuthPolicy> policy,
                                                                     const std::string& ip, const std::string& user,
                                                                     const std::string& password,
                                                                     const log::RequestFields* request) {
  InFlight in_flight(directory_logins_);
  if (in_flight.value() > kMaxDirectoryLogins) {
    LogLogin(log::Level::kError, "login refused: the LDAP directory is unavailable", request, user, ip,
             "too many directory logins in flight");
    co_return Login::kUnavailable;
  }
  ldap::Directory* directory = policy->directory.get();
  auto ask = [directory, policy, user, password] { return directory->Authenticate(user, password); };
  ldap::Directory::Login answer = co_await http::RunBlocking(directory_threads_, std::move(ask));
  if (answer.outcome == ldap::Directory::Outcome::kUnavailable) {
    LogLogin(log::Level::kError, "login refused: the LDAP directory is unavailable", request, user, ip, answer.reason);
    co_return Login::kUnavailable;
  }
  if (answer.outcome != ldap::Directory::Outcome::kOk) {
    log::Write(log::Level::kDebug, "LDAP login refused", {{"user", user}, {"reason", answer.reason}});
    co_return Login::kBad;
  }
  co_return Login::kOk;
}

http::Task<AccessController::Login> AccessController::CheckLogin(const std::string& ip, const std::string& user,
                                                                 const std::string& password,
                                                                 const log::RequestFields* request,
                                                                 std::shared_ptr<const TokenLimit>* limit) {
  LoginThrottle& throttle = auth_.throttle();
  // A slot before anything blocks: concurrent guesses count before their outcome is known.
  LoginThrottle::Verdict verdict = throttle.Reserve(ip, user);
  const auto give_up = std::chrono::steady_clock::now() + kMaxSlotWait;
  while (verdict.busy && std::chrono::steady_clock::now() < give_up) {
    asio::steady_timer wait(co_await asio::this_coro::executor, kSlotPoll);
    co_await wait.async_wait(asio::use_awaitable);
    verdict = throttle.Reserve(ip, user);
  }
  if (verdict.refuse || verdict.busy) {
    LogLogin(log::Level::kWarn, "login refused: too many failures", request, user, ip);
    co_return Login::kThrottled;
  }
  LoginThrottle::Reservation slot(throttle, ip, user);  // released on every way out, after the outcome is recorded
  if (verdict.delay.count() > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor, verdict.delay);
    co_await t.async_wait(asio::use_awaitable);
  }
  auto policy = auth_.policy();
  bool ok = false;
  const auto yaml_user = policy->users.find(user);
  if (IsAccessToken(password)) {
    // An access token: only ever checked as one, and only for the user it
    // belongs to (a YAML user). Looked up whoever the user is, so that a
    // name outside the YAML takes as long to refuse as one in it.
    std::shared_ptr<TokenStore> store = auth_.tokens();
    if (store != nullptr) {
      TokenStore* s = store.get();
      const int64_t now = UnixNow();
      auto verify = [store, s, password, now] { return s->Verify(password, now); };
      Result<TokenRecord> record = co_await http::RunBlocking(db_threads_, std::move(verify));
      if (!record.ok() && record.status().code() == StatusCode::kUnavailable) {
        LogLogin(log::Level::kError, "login refused: the access token database is unavailable", request, user, ip,
                 record.status().message());
        co_return Login::kUnavailable;
      }
      ok = record.ok() && yaml_user != policy->users.end() && record->user == user;
      if (ok && limit != nullptr) *limit = std::make_shared<const TokenLimit>(record->Limit());
    }
  } else if (yaml_user != policy->users.end() && IsRobot(yaml_user->second)) {
    ok = false;  // robots have no password
  } else if (policy->directory != nullptr && yaml_user == policy->users.end()) {
    // Not a YAML user: the directory decides (network, on its own threads).
    Login answer = co_await DirectoryLogin(policy, ip, user, password, request);
    if (answer == Login::kUnavailable) co_return Login::kUnavailable;
    ok = answer == Login::kOk;
  } else if (auth_.credentials().IsCached(policy->users, user, password)) {
    ok = true;
  } else {
    CredentialVerifier* v = &auth_.credentials();
    // A named closure: GCC 12 mis-destroys closures created inside a co_await expression.
    auto check = [v, policy, user, password] { return v->Verify(policy->users, user, password); };
    ok = co_await http::RunBlocking(blocking_, std::move(check));
  }
  if (!ok) {
    throttle.RecordFailure(ip, user);
    LogLogin(log::Level::kWarn, "login failed", request, user, ip);
    co_return Login::kBad;
  }
  throttle.RecordSuccess(ip, user);
  co_return Login::kOk;
}

http::Task<AccessDecision> AccessController::Authorize(const ClientRequest& request, const std::vector<Scope>& needed,
                                                       const std::vector<Scope>& wanted) {
  // A challenge names everything the request reads, so one token covers it.
  std::vector<Scope> asked = needed;
  asked.insert(asked.end(), wanted.begin(), wanted.end());
  std::string_view header = request.authorization;
  std::optional<Identity> identity;
  bool had_token = false;
  if (header.size() > 7 && AsciiIEquals(header.substr(0, 7), "Bearer ")) {
    had_token = true;
    std::string subject;
    std::shared_ptr<const TokenLimit> limit;
    auto held = auth_.VerifyAccessToken(Trim(header.substr(7)), UnixNow(), &subject, &limit);
    if (!held.ok()) {
      log::Write(log::Level::kInfo, "token refused", request.log,
                 {{"reason", held.status().message()}, {"ip", ClientIp(request)}});
      co_return MakeChallenge(request, asked, Challenge::Reason::kInvalidToken, "invalid_token");
    }
    identity = Identity::FromToken(std::move(subject), std::move(*held), std::move(limit));
  } else if (!header.empty()) {
    std::string user, password;
    const std::string ip = ClientIp(request);
    if (ParseBasicAuth(header, &user, &password)) {
      const log::RequestFields* fields = &request.log;
      std::shared_ptr<const TokenLimit> limit;
      std::shared_ptr<const TokenLimit>* limit_out = &limit;
      Login login = co_await CheckLogin(ip, user, password, fields, limit_out);
      if (login == Login::kThrottled) {
        Throttle throttle;
        throttle.retry_after = ThrottleRetryAfter();
        co_return throttle;
      }
      if (login == Login::kOk) identity = Identity::FromPolicy(&auth_, auth_.policy(), user, ip, limit);
    }
    if (!identity) co_return MakeChallenge(request, asked, Challenge::Reason::kBadCredentials, "");
  } else {
    co_return MakeChallenge(request, asked, Challenge::Reason::kNoCredentials, "");
  }
  for (const auto& s : needed) {
    for (const auto& a : s.actions) {
      if (!identity->Can(s.type, s.name, a)) {
        log::RequestFields fields = request.log;
        fields.user = identity->account();  // the log line names who was denied
        log::Write(log::Level::kInfo, "access denied", fields, {{"scope", s.str()}, {"ip", ClientIp(request)}});
        Challenge denied =
            MakeChallenge(request, asked, Challenge::Reason::kDenied, had_token ? "insufficient_scope" : "");
        denied.account = identity->account();
        co_return denied;
      }
    }
  }
  for (const auto& s : wanted) {
    if (identity->Considered(s.type, s.name)) continue;
    log::RequestFields fields = request.log;
    fields.user = identity->account();
    log::Write(log::Level::kDebug, "token does not name a scope the request reads: challenged", fields,
               {{"scope", s.str()}});
    Challenge more = MakeChallenge(request, asked, Challenge::Reason::kDenied, "insufficient_scope");
    more.account = identity->account();
    co_return more;
  }
  co_return std::move(*identity);
}

}  // namespace berth::auth
