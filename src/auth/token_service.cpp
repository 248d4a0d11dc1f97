#include "auth/token_service.h"

#include <boost/url/parse_query.hpp>

#include "http/blocking.h"

namespace berth::auth {
namespace {

// What the parameters say, before the scope texts are parsed.
struct RawParams {
  std::vector<std::string> scope_texts;  // each may hold several space-separated scopes
};

template <class Params>
void ReadParams(const Params& params, TokenRequest* req, RawParams* raw) {
  for (auto p : params) {
    std::string key = p.key;
    std::string value = p.has_value ? std::string(p.value) : std::string();
    if (key == "service")
      req->service = value;
    else if (key == "scope")
      raw->scope_texts.push_back(value);
    else if (key == "account")
      req->account = value;
    else if (key == "client_id")
      req->client_id = value;
    else if (key == "offline_token")
      req->offline = value == "true";
    else if (key == "access_type")
      req->offline = req->offline || value == "offline";
    else if (key == "grant_type")
      req->grant_type = value;
    else if (key == "username")
      req->user = value;
    else if (key == "password") {
      req->password = value;
      req->has_password = true;
    } else if (key == "refresh_token")
      req->refresh_token = value;
  }
}

TokenRefusal Refuse(TokenError error, std::string message, std::string attempted_user = "") {
  return TokenRefusal{error, std::move(message), std::move(attempted_user)};
}

std::optional<TokenRefusal> ParseScopes(const RawParams& raw, TokenRequest* req) {
  for (const auto& text : raw.scope_texts) {
    auto parsed = ParseScopeList(text);
    if (!parsed.ok()) return Refuse(TokenError::kInvalidScope, "malformed scope: " + parsed.status().message());
    req->scopes.insert(req->scopes.end(), parsed->begin(), parsed->end());
  }
  return std::nullopt;
}

}  // namespace

bool TokenRefusal::IsCredentialFailure() const {
  switch (error) {
    case TokenError::kMalformedCredentials:
    case TokenError::kInvalidRefreshToken:
    case TokenError::kBadCredentials:
    case TokenError::kThrottled: return true;
    default: return false;
  }
}

std::string TokenGrant::str() const {
  std::string granted;
  for (const auto& g : scopes) {
    if (g.actions.empty()) continue;
    if (!granted.empty()) granted += ' ';
    granted += g.str();
  }
  return granted;
}

std::optional<TokenRefusal> TokenService::ParseQuery(boost::urls::params_view query, std::string_view authorization,
                                                     TokenRequest* out) const {
  RawParams raw;
  ReadParams(query, out, &raw);
  out->is_post = false;
  if (!authorization.empty()) {
    std::string user, password;
    if (!ParseBasicAuth(authorization, &user, &password)) {
      return Refuse(TokenError::kMalformedCredentials, "malformed Basic credentials");
    }
    out->user = user;
    out->password = password;
    out->has_password = true;
  }
  if (auto refused = Finish(out)) return refused;
  return ParseScopes(raw, out);
}

std::optional<TokenRefusal> TokenService::ParseForm(std::string form, TokenRequest* out) const {
  // Form bodies encode spaces as '+' (containerd's scope lists, passwords with spaces).
  for (size_t i = form.find('+'); i != std::string::npos; i = form.find('+', i + 3)) form.replace(i, 1, "%20");
  auto params = boost::urls::parse_query(form);
  if (!params) return Refuse(TokenError::kMalformedForm, "malformed form body");
  RawParams raw;
  ReadParams(boost::urls::params_view(*params), out, &raw);
  out->is_post = true;
  if (auto refused = Finish(out)) return refused;
  return ParseScopes(raw, out);
}

std::optional<TokenRefusal> TokenService::Finish(TokenRequest* req) const {
  if (req->service.empty()) req->service = access_.auth().settings().service;
  if (req->service.size() > 255 || req->service.find_first_of("\"\\\r\n") != std::string::npos) {
    return Refuse(TokenError::kInvalidService, "invalid service");
  }
  return std::nullopt;
}

http::Task<std::optional<TokenRefusal>> TokenService::Authenticate(const TokenRequest& req, const std::string& ip,
                                                                   const log::RequestFields& log, TokenAccount* out) {
  AuthService& auth = access_.auth();
  out->now = UnixNow();
  out->policy = auth.policy();
  if (req.is_post && req.grant_type == "refresh_token") {
    std::string token_id;
    auto who = auth.VerifyRefreshToken(*out->policy, req.refresh_token, req.service, out->now, &token_id);
    if (!who.ok()) {
      log::Write(log::Level::kInfo, "refresh token refused", log, {{"reason", who.status().message()}, {"ip", ip}});
      co_return Refuse(TokenError::kInvalidRefreshToken, "invalid refresh token");
    }
    if (!token_id.empty()) {
      // Issued from an access token: only while that token is valid, and within its scopes.
      std::shared_ptr<TokenStore> store = auth.tokens();
      Result<TokenRecord> record = Status::Invalid("no access token store");
      if (store != nullptr) {
        TokenStore* s = store.get();
        const int64_t now = out->now;
        auto lookup = [store, s, token_id, now] { return s->Lookup(token_id, now); };
        record = co_await http::RunBlocking(access_.db_threads(), std::move(lookup));
      }
      if (!record.ok() || record->user != *who) {
        log::Write(log::Level::kInfo, "refresh token refused", log,
                   {{"reason", record.ok() ? std::string("another user's access token") : record.status().message()},
                    {"ip", ip}});
        co_return Refuse(TokenError::kInvalidRefreshToken, "invalid refresh token");
      }
      out->limit = std::make_shared<const TokenLimit>(record->Limit());
    }
    out->account = *who;
    out->may_refresh = true;
  } else if (req.is_post && req.grant_type != "password") {
    co_return Refuse(TokenError::kUnsupportedGrantType, "grant_type must be password or refresh_token");
  } else if (req.has_password || req.is_post) {
    const log::RequestFields* fields = &log;
    std::shared_ptr<const TokenLimit>* limit_out = &out->limit;
    auto login = co_await access_.CheckLogin(ip, req.user, req.password, fields, limit_out);
    if (login == AccessController::Login::kThrottled) {
      co_return Refuse(TokenError::kThrottled, "too many failed logins, try again later", req.user);
    }
    if (login == AccessController::Login::kUnavailable) {
      co_return Refuse(TokenError::kBadCredentials,
                       "authentication failed: the user directory or the access token database is unavailable",
                       req.user);
    }
    // Same answer whether the user exists or not.
    if (login != AccessController::Login::kOk) {
      co_return Refuse(TokenError::kBadCredentials, "authentication failed", req.user);
    }
    out->account = req.user;
    out->may_refresh = true;
  }
  if (!req.account.empty() && req.account != out->account) {
    co_return Refuse(TokenError::kAccountMismatch, "the account parameter does not match the credentials");
  }
  co_return std::nullopt;
}

TokenGrant TokenService::Grant(const TokenRequest& req, const TokenAccount& who, const std::string& ip) const {
  TokenGrant grant;
  grant.scopes = access_.auth().Authorize(*who.policy, who.account, ip, req.service, req.scopes, who.limit.get());
  // Grants line up with what was asked.
  grant.all_granted = true;
  for (size_t i = 0; i < req.scopes.size(); ++i) {
    for (const auto& a : req.scopes[i].actions) {
      if (i >= grant.scopes.size() ||
          (grant.scopes[i].actions.count(a) == 0 && grant.scopes[i].actions.count("*") == 0)) {
        grant.all_granted = false;
      }
    }
  }
  return grant;
}

Result<SignedTokens> TokenService::Sign(const TokenRequest& req, const TokenAccount& who,
                                        const TokenGrant& grant) const {
  AuthService& auth = access_.auth();
  const int64_t not_after = who.limit != nullptr ? who.limit->expires_at : 0;
  auto token = auth.IssueAccessToken(who.account, req.service, grant.scopes, who.now, not_after, who.limit.get());
  if (!token.ok()) return token.status();
  SignedTokens out;
  out.access = std::move(*token);
  if (req.offline && who.may_refresh) {
    const std::string token_id = who.limit != nullptr ? who.limit->token_id : std::string();
    auto refresh = auth.IssueRefreshToken(*who.policy, who.account, req.service, who.now, token_id);
    if (refresh.ok()) out.refresh = std::move(*refresh);
  }
  return out;
}

}  // namespace berth::auth
