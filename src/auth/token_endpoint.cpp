#include "auth/token_endpoint.h"

#include <boost/url/parse_query.hpp>
#include <boost/url/params_view.hpp>

#include <nlohmann/json.hpp>

#include "observability/berth_metrics.h"
#include "util/log.h"

namespace berth::auth {
namespace {

constexpr size_t kMaxFormBytes = 64 * 1024;

struct TokenRequest {
  std::string service;
  std::vector<std::string> scope_texts;  // each may hold several space-separated scopes
  std::string account;
  std::string client_id;
  bool offline = false;
  // credentials
  bool has_password = false;
  std::string user;
  std::string password;
  std::string refresh_token;
  std::string grant_type;  // POST only
};

http::Response JsonError(unsigned status, std::string_view code, std::string_view message) {
  http::Response r(status);
  r.Set("Content-Type", "application/json");
  r.body = nlohmann::json{{"errors", nlohmann::json::array({{{"code", code}, {"message", message}}})}}.dump();
  return r;
}

http::Response OAuthError(unsigned status, std::string_view error, std::string_view description) {
  http::Response r(status);
  r.Set("Content-Type", "application/json");
  r.body = nlohmann::json{{"error", error}, {"error_description", description}}.dump();
  return r;
}

template <class Params>
void ReadParams(const Params& params, TokenRequest* req) {
  for (auto p : params) {
    std::string key = p.key;
    std::string value = p.has_value ? std::string(p.value) : std::string();
    if (key == "service") req->service = value;
    else if (key == "scope") req->scope_texts.push_back(value);
    else if (key == "account") req->account = value;
    else if (key == "client_id") req->client_id = value;
    else if (key == "offline_token") req->offline = value == "true";
    else if (key == "access_type") req->offline = req->offline || value == "offline";
    else if (key == "grant_type") req->grant_type = value;
    else if (key == "username") req->user = value;
    else if (key == "password") {
      req->password = value;
      req->has_password = true;
    } else if (key == "refresh_token") req->refresh_token = value;
  }
}

// A token request refused for its credentials: counted, and audited as a denial.
void Unauthorized(http::Exchange& ex, const std::string& ip, const std::string& attempted_user) {
  obs::Metrics().CountTokenRequest(obs::TokenResult::kUnauthorized);
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", "denied"},
              {"method", std::string(ex.method_string())},
              {"route", "token"},
              {"attempted_user", attempted_user},
              {"client_ip", ip},
              {"outcome", "unauthorized"}});
}

// True when every action asked for was granted (grants line up with `asked`).
bool GrantedAll(const std::vector<Scope>& asked, const std::vector<Scope>& grants) {
  for (size_t i = 0; i < asked.size(); ++i) {
    for (const auto& a : asked[i].actions) {
      if (i >= grants.size() || (grants[i].actions.count(a) == 0 && grants[i].actions.count("*") == 0)) return false;
    }
  }
  return true;
}

}  // namespace

http::Task<void> TokenEndpoint::Serve(http::Exchange& ex) {
  using boost::beast::http::verb;
  AuthService& auth = access_.auth();
  const bool is_post = ex.method() == verb::post;
  if (!is_post && ex.method() != verb::get) {
    co_await ex.Send(JsonError(405, "UNSUPPORTED", "use GET or POST"));
    co_return;
  }
  TokenRequest req;
  if (is_post) {
    auto body = co_await ex.ReadBodyToString(kMaxFormBytes);
    if (!body.ok()) {
      if (!ex.broken()) co_await ex.Send(OAuthError(400, "invalid_request", "unreadable form body"));
      co_return;
    }
    // Form bodies encode spaces as '+' (containerd's scope lists, passwords with spaces).
    std::string& text = *body;
    for (size_t i = text.find('+'); i != std::string::npos; i = text.find('+', i + 3)) text.replace(i, 1, "%20");
    auto form = boost::urls::parse_query(text);
    if (!form) {
      co_await ex.Send(OAuthError(400, "invalid_request", "malformed form body"));
      co_return;
    }
    ReadParams(boost::urls::params_view(*form), &req);
  } else {
    ReadParams(ex.url().params(), &req);
    std::string user, password;
    if (!ex.header("Authorization").empty()) {
      if (!ParseBasicAuth(ex.header("Authorization"), &user, &password)) {
        Unauthorized(ex, access_.ClientIp(ex), "");
        co_await ex.Send(JsonError(401, "UNAUTHORIZED", "malformed Basic credentials"));
        co_return;
      }
      req.user = user;
      req.password = password;
      req.has_password = true;
    }
  }
  if (req.service.empty()) req.service = auth.settings().service;
  if (req.service.size() > 255 || req.service.find_first_of("\"\\\r\n") != std::string::npos) {
    co_await ex.Send(JsonError(400, "UNSUPPORTED", "invalid service"));
    co_return;
  }

  std::vector<Scope> scopes;
  for (const auto& text : req.scope_texts) {
    auto parsed = ParseScopeList(text);
    if (!parsed.ok()) {
      co_await ex.Send(JsonError(400, "UNSUPPORTED", "malformed scope: " + parsed.status().message()));
      co_return;
    }
    scopes.insert(scopes.end(), parsed->begin(), parsed->end());
  }

  const std::string ip = access_.ClientIp(ex);
  const int64_t now = UnixNow();
  auto policy = auth.policy();
  std::string account;  // "" = anonymous
  bool may_refresh = false;
  if (is_post && req.grant_type == "refresh_token") {
    auto who = auth.VerifyRefreshToken(*policy, req.refresh_token, req.service, now);
    if (!who.ok()) {
      log::Write(log::Level::kInfo, "refresh token refused", ex.context().LogFields(),
                 {{"reason", who.status().message()}, {"ip", ip}});
      Unauthorized(ex, ip, "");
      co_await ex.Send(OAuthError(401, "invalid_grant", "invalid refresh token"));
      co_return;
    }
    account = *who;
    may_refresh = true;
  } else if (is_post && req.grant_type != "password") {
    co_await ex.Send(OAuthError(400, "unsupported_grant_type", "grant_type must be password or refresh_token"));
    co_return;
  } else if (req.has_password || is_post) {
    const http::RequestContext* context = &ex.context();
    auto login = co_await access_.CheckLogin(ip, req.user, req.password, context);
    if (login != AccessController::Login::kOk) Unauthorized(ex, ip, req.user);
    if (login == AccessController::Login::kThrottled) {
      http::Response r = JsonError(429, "TOOMANYREQUESTS", "too many failed logins, try again later");
      r.Set("Retry-After", "300");
      co_await ex.Send(std::move(r));
      co_return;
    }
    if (login != AccessController::Login::kOk) {
      // Same answer whether the user exists or not.
      http::Response r = is_post ? OAuthError(401, "invalid_grant", "authentication failed")
                                 : JsonError(401, "UNAUTHORIZED", "authentication failed");
      co_await ex.Send(std::move(r));
      co_return;
    }
    account = req.user;
    may_refresh = true;
  }
  if (!req.account.empty() && req.account != account) {
    co_await ex.Send(JsonError(400, "DENIED", "the account parameter does not match the credentials"));
    co_return;
  }

  ex.context().user = account;
  std::vector<Scope> grants = auth.Authorize(*policy, account, ip, req.service, scopes);
  obs::Metrics().CountTokenRequest(GrantedAll(scopes, grants) ? obs::TokenResult::kGranted
                                                              : obs::TokenResult::kDenied);
  auto token = auth.IssueAccessToken(account, req.service, grants, now);
  if (!token.ok()) {
    log::Write(log::Level::kError, "token signing failed", ex.context().LogFields(),
               {{"error", token.status().message()}});
    co_await ex.Send(JsonError(500, "UNKNOWN", "token signing failed"));
    co_return;
  }
  nlohmann::json out = {{"token", token->token},
                        {"access_token", token->token},
                        {"expires_in", token->expires_in},
                        {"issued_at", token->issued_at}};
  if (req.offline && may_refresh) {
    auto refresh = auth.IssueRefreshToken(*policy, account, req.service, now);
    if (refresh.ok()) out["refresh_token"] = *refresh;
  }
  std::string granted;
  for (const auto& g : grants) {
    if (g.actions.empty()) continue;
    if (!granted.empty()) granted += ' ';
    granted += g.str();
  }
  if (is_post) out["scope"] = granted;
  log::Write(log::Level::kInfo, "token issued", ex.context().LogFields(), {{"granted", granted}, {"ip", ip}});
  http::Response r(200);
  r.Set("Content-Type", "application/json");
  r.Set("Cache-Control", "no-store");
  r.body = out.dump();
  co_await ex.Send(std::move(r));
}

}  // namespace berth::auth
