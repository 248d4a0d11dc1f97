#include "auth/auth_service.h"

#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "auth/jwt.h"
#include "auth/ldap/directory.h"
#include "oci/name.h"
#include "util/base64.h"
#include "util/random.h"

namespace berth::auth {
namespace {

// A string member, or "" when absent or of another type (never throws on hostile input).
std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// An integer member, or 0 when absent or of another type.
int64_t IntField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// The access token limit an access JWT was issued under (private claim).
constexpr const char* kLimitClaim = "berth_lim";

// The limit in a berth_lim claim. The claim is ours (signed), but a malformed
// one must still never widen the grant: it limits to nothing.
std::shared_ptr<const TokenLimit> LimitOfClaim(const nlohmann::json& claim) {
  std::vector<std::string> texts;
  std::string id;
  bool malformed = !claim.is_object();
  if (!malformed) {
    id = StringField(claim, "id");
    auto scopes = claim.find("scopes");
    if (scopes != claim.end() && scopes->is_array()) {
      for (const auto& s : *scopes) texts.push_back(s.is_string() ? s.get<std::string>() : std::string());
    } else if (scopes != claim.end()) {
      malformed = true;
    }
  }
  if (malformed) texts.assign(1, std::string());  // a text that does not parse: allows nothing
  return std::make_shared<const TokenLimit>(TokenLimit::FromTexts(std::move(id), texts, 0));
}

// A ring of one signing key; a key that cannot sign is a programming error.
std::shared_ptr<const KeyRing> RingOf(std::shared_ptr<const SigningKey> key) {
  auto ring = KeyRing::Make(std::move(key));
  if (!ring.ok()) throw std::invalid_argument("AuthService: " + ring.status().message());
  return *ring;
}

}  // namespace

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

AuthService::AuthService(AuthSettings settings, std::shared_ptr<const KeyRing> keys,
                         std::shared_ptr<const AuthPolicy> policy)
    : settings_(std::move(settings)),
      keys_(std::move(keys)),
      policy_(std::move(policy)),
      verified_tokens_(1024, settings_.leeway) {}

AuthService::AuthService(AuthSettings settings, std::shared_ptr<const SigningKey> key,
                         std::shared_ptr<const AuthPolicy> policy)
    : AuthService(std::move(settings), RingOf(std::move(key)), std::move(policy)) {}

std::shared_ptr<const KeyRing> AuthService::keys() const {
  MutexLock lock(mu_);
  return keys_;
}

void AuthService::SetKeys(std::shared_ptr<const KeyRing> keys) {
  MutexLock lock(mu_);
  keys_ = std::move(keys);
  ++keys_generation_;
}

std::shared_ptr<const KeyRing> AuthService::keys(uint64_t* generation) const {
  MutexLock lock(mu_);
  *generation = keys_generation_;
  return keys_;
}

std::shared_ptr<const AuthPolicy> AuthService::policy() const {
  MutexLock lock(mu_);
  return policy_;
}

void AuthService::SetPolicy(std::shared_ptr<const AuthPolicy> policy) {
  MutexLock lock(mu_);
  policy_ = std::move(policy);
}

std::shared_ptr<TokenStore> AuthService::tokens() const {
  MutexLock lock(mu_);
  return tokens_;
}

void AuthService::SetTokenStore(std::shared_ptr<TokenStore> tokens) {
  MutexLock lock(mu_);
  tokens_ = std::move(tokens);
}

std::vector<Scope> AuthService::Authorize(const AuthPolicy& policy, const std::string& account, const std::string& ip,
                                          const std::string& service, const std::vector<Scope>& requested,
                                          const TokenLimit* limit) const {
  std::vector<Scope> out;
  // A directory user's groups from their login (YAML users are never looked up there).
  std::shared_ptr<const ldap::GroupSet> directory_groups;
  if (policy.directory != nullptr && !account.empty() && policy.users.find(account) == policy.users.end()) {
    directory_groups = policy.directory->CachedGroups(account);
  }
  for (const auto& want : requested) {
    Scope grant{want.type, want.name, {}};
    const bool valid = (want.type == "repository" && oci::IsValidRepositoryName(want.name)) ||
                       (want.type == "registry" && (want.name == "catalog" || want.name == "metrics"));
    if (valid) {
      AccessRequest req{account, want.type, want.name, ip, service};
      req.groups = directory_groups.get();
      grant.actions = policy.acl.Authorize(req, want.actions).granted;
      if (limit != nullptr) grant.actions = limit->Narrow(want, grant.actions);
    }
    out.push_back(std::move(grant));
  }
  return out;
}

Result<IssuedToken> AuthService::IssueAccessToken(const std::string& account, const std::string& service,
                                                  const std::vector<Scope>& grants, int64_t now, int64_t not_after,
                                                  const TokenLimit* limit) const {
  int64_t lifetime = settings_.expiration;
  if (not_after > 0 && not_after - now < lifetime) lifetime = std::max<int64_t>(1, not_after - now);
  nlohmann::json access = nlohmann::json::array();
  for (const auto& g : grants) {
    access.push_back({{"type", g.type}, {"name", g.name}, {"actions", g.actions}});
  }
  nlohmann::json claims = {{"iss", settings_.issuer}, {"sub", account},  {"aud", service},
                           {"exp", now + lifetime},   {"nbf", now},      {"iat", now},
                           {"jti", RandomHex(16)},    {"access", access}};
  if (limit != nullptr) claims[kLimitClaim] = {{"id", limit->token_id}, {"scopes", limit->ScopeTexts()}};
  auto jwt = SignJwt(keys()->current(), claims);
  if (!jwt.ok()) return jwt.status();
  return IssuedToken{*jwt, lifetime, Rfc3339(now)};
}

std::string AuthService::PasswordBinding(const std::string& hash) const {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(hash.data()), hash.size(), d);
  return Base64UrlEncode(std::string_view(reinterpret_cast<char*>(d), 16));
}

Result<std::string> AuthService::IssueRefreshToken(const AuthPolicy& policy, const std::string& account,
                                                   const std::string& service, int64_t now,
                                                   const std::string& access_token_id) const {
  auto user = policy.users.find(account);
  if (user == policy.users.end()) return Status::NotFound("unknown user");
  nlohmann::json claims = {{"iss", settings_.issuer},
                           {"sub", account},
                           {"aud", service},
                           {"exp", now + settings_.refresh_expiration},
                           {"nbf", now},
                           {"iat", now},
                           {"jti", RandomHex(16)},
                           {"berth_use", "refresh"},
                           {"berth_pwb", PasswordBinding(user->second)}};
  if (!access_token_id.empty()) claims["berth_pat"] = access_token_id;
  return SignJwt(keys()->current(), claims);
}

Result<std::string> AuthService::VerifyRefreshToken(const AuthPolicy& policy, std::string_view token,
                                                    const std::string& service, int64_t now,
                                                    std::string* access_token_id) const {
  auto claims = VerifyJwt(*keys(), token, {settings_.issuer, service, now, settings_.leeway});
  if (!claims.ok()) return claims.status();
  if (StringField(*claims, "berth_use") != "refresh") return Status::Invalid("not a refresh token");
  std::string account = StringField(*claims, "sub");
  auto user = policy.users.find(account);
  if (user == policy.users.end()) return Status::Invalid("refresh token for an unknown user");
  if (StringField(*claims, "berth_pwb") != PasswordBinding(user->second)) {
    return Status::Invalid("refresh token revoked by a password change");
  }
  if (access_token_id != nullptr) *access_token_id = StringField(*claims, "berth_pat");
  return account;
}

Result<std::vector<Scope>> AuthService::VerifyAccessToken(std::string_view token, int64_t now, std::string* subject,
                                                          std::shared_ptr<const TokenLimit>* limit) const {
  uint64_t generation = 0;
  const std::shared_ptr<const KeyRing> ring = keys(&generation);
  if (auto cached = verified_tokens_.Find(token, generation, now)) {
    if (subject != nullptr) *subject = std::move(cached->subject);
    if (limit != nullptr) *limit = std::move(cached->limit);
    return std::move(cached->access);
  }
  auto claims = VerifyJwt(*ring, token, {settings_.issuer, settings_.service, now, settings_.leeway});
  if (!claims.ok()) return claims.status();
  if (claims->contains("berth_use")) return Status::Invalid("a refresh token is not an access token");
  std::vector<Scope> held;
  auto access = claims->find("access");
  if (access != claims->end() && access->is_array()) {
    for (const auto& a : *access) {
      if (!a.is_object()) continue;
      Scope s;
      s.type = StringField(a, "type");
      s.name = StringField(a, "name");
      if (auto acts = a.find("actions"); acts != a.end() && acts->is_array()) {
        for (const auto& x : *acts) {
          if (x.is_string()) s.actions.insert(x.get<std::string>());
        }
      }
      held.push_back(std::move(s));
    }
  }
  VerifiedToken verified;
  verified.subject = StringField(*claims, "sub");
  verified.access = held;
  verified.expires = IntField(*claims, "exp");
  verified.not_before = IntField(*claims, "nbf");
  if (auto claim = claims->find(kLimitClaim); claim != claims->end()) verified.limit = LimitOfClaim(*claim);
  verified_tokens_.Insert(token, generation, verified);
  if (subject != nullptr) *subject = std::move(verified.subject);
  if (limit != nullptr) *limit = std::move(verified.limit);
  return held;
}

}  // namespace berth::auth
