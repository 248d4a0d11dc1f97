// GET/POST /v2/token (and /token): the HTTP side of the Docker token server.
// auth/token_service.h parses, authenticates and issues; this reads the
// request, answers each outcome in the format its clients expect, and counts
// and audits it.
#include <nlohmann/json.hpp>

#include "observability/berth_metrics.h"
#include "registry/api.h"
#include "registry/errors.h"
#include "util/log.h"

namespace berth::registry {
using boost::beast::http::verb;

namespace {

constexpr size_t kMaxFormBytes = 64 * 1024;

// An OAuth 2 error (RFC 6749 5.2): what POST clients (containerd, docker login)
// read from a token endpoint. Not the distribution error format, by nature.
http::Response OAuthError(unsigned status, std::string_view error, std::string_view description) {
  http::Response r(status);
  r.Set("Content-Type", "application/json");
  r.body = nlohmann::json{{"error", error}, {"error_description", description}}.dump();
  return r;
}

http::Response TokenRefusalResponse(const auth::TokenRefusal& refusal, bool is_post) {
  using auth::TokenError;
  switch (refusal.error) {
    case TokenError::kMalformedForm: return OAuthError(400, "invalid_request", refusal.message);
    case TokenError::kMalformedCredentials: return Error(code::kUnauthorized, refusal.message);
    case TokenError::kInvalidService:
    case TokenError::kInvalidScope: return Error(code::kInvalidParameter, refusal.message);
    case TokenError::kUnsupportedGrantType: return OAuthError(400, "unsupported_grant_type", refusal.message);
    case TokenError::kInvalidRefreshToken: return OAuthError(401, "invalid_grant", refusal.message);
    case TokenError::kBadCredentials:
      if (is_post) return OAuthError(401, "invalid_grant", refusal.message);
      return Error(code::kUnauthorized, refusal.message);
    case TokenError::kThrottled: {
      auth::Throttle throttle;
      throttle.retry_after = auth::AccessController::ThrottleRetryAfter();
      return ThrottleResponse(throttle);
    }
    case TokenError::kAccountMismatch: return Error(code::kAccountMismatch, refusal.message);
  }
  return Error(code::kUnknown, refusal.message);
}

}  // namespace

Task<void> RegistryApi::ServeToken(Exchange& ex, const RouteMatch&) {
  const bool is_post = ex.method() == verb::post;
  const auth::ClientRequest client = ClientRequestOf(ex);
  auth::TokenRequest req;
  std::optional<auth::TokenRefusal> refused;
  if (is_post) {
    auto body = co_await ex.ReadBodyToString(kMaxFormBytes);
    if (!body.ok()) {
      if (!ex.broken()) co_await ex.Send(OAuthError(400, "invalid_request", "unreadable form body"));
      co_return;
    }
    refused = tokens_->ParseForm(std::move(*body), &req);
  } else {
    refused = tokens_->ParseQuery(ex.url().params(), ex.header("Authorization"), &req);
  }
  const std::string ip = access_->ClientIp(client);
  auth::TokenAccount who;
  if (!refused) refused = co_await tokens_->Authenticate(req, ip, client.log, &who);
  if (refused) {
    if (refused->IsCredentialFailure()) AuditTokenRefused(ex, ip, refused->attempted_user);
    http::Response r = TokenRefusalResponse(*refused, is_post);
    co_await ex.Send(std::move(r));
    co_return;
  }

  ex.context().user = who.account;
  const auth::TokenGrant grant = tokens_->Grant(req, who, ip);
  obs::Metrics().CountTokenRequest(grant.all_granted ? obs::TokenResult::kGranted : obs::TokenResult::kDenied);
  auto tokens = tokens_->Sign(req, who, grant);
  if (!tokens.ok()) {
    log::Write(log::Level::kError, "token signing failed", ex.context().LogFields(),
               {{"error", tokens.status().message()}});
    co_await ex.Send(Error(code::kUnknown, "token signing failed"));
    co_return;
  }
  nlohmann::json out = {{"token", tokens->access.token},
                        {"access_token", tokens->access.token},
                        {"expires_in", tokens->access.expires_in},
                        {"issued_at", tokens->access.issued_at}};
  if (!tokens->refresh.empty()) out["refresh_token"] = tokens->refresh;
  const std::string granted = grant.str();
  if (is_post) out["scope"] = granted;
  log::Write(log::Level::kInfo, "token issued", ex.context().LogFields(), {{"granted", granted}, {"ip", ip}});
  http::Response r(200);
  r.Set("Content-Type", "application/json");
  r.Set("Cache-Control", "no-store");
  r.body = out.dump();
  co_await ex.Send(std::move(r));
}

Task<void> RegistryApi::ServeJwks(Exchange& ex, const RouteMatch&) {
  // Read per request: a reload that rotates or retires a key shows here at once.
  const std::shared_ptr<const auth::KeyRing> keys = access_->auth().keys();
  http::Response r(200);
  r.Set("Content-Type", "application/json");
  r.Set("Cache-Control", "max-age=300");
  r.body = keys->Jwks().dump();
  co_await ex.Send(std::move(r));
}

}  // namespace berth::registry
