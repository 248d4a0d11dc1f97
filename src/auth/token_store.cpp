#include "auth/token_store.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth/acl.h"
#include "util/base64.h"
#include "util/hex.h"
#include "util/random.h"

namespace berth::auth {
namespace {

constexpr size_t kPublicIdHexChars = 16;
constexpr size_t kSecretBytes = 32;
constexpr int64_t kLastUsedGranularityMs = 60 * 1000;

std::string Sha256Hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return HexEncode(d, sizeof d);
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// "berth_pat_<id>_<secret>" -> id, secret. False when it has not that shape.
bool SplitToken(std::string_view token, std::string* id, std::string* secret) {
  if (!IsAccessToken(token)) return false;
  token.remove_prefix(kAccessTokenPrefix.size());
  if (token.size() < kPublicIdHexChars + 2 || token[kPublicIdHexChars] != '_') return false;
  const std::string_view i = token.substr(0, kPublicIdHexChars);
  const std::string_view s = token.substr(kPublicIdHexChars + 1);
  if (!IsLowerHex(i) || s.size() > 128) return false;
  *id = std::string(i);
  *secret = std::string(s);
  return true;
}

std::optional<int64_t> OptionalSeconds(const metadata::Row& row, size_t i) {
  if (row.IsNull(i)) return std::nullopt;
  return row.Int(i) / 1000;
}

std::vector<std::string> SplitSpaces(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(' ', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

constexpr std::string_view kColumns =
    "public_id, user_name, label, scopes, created_at, expires_at, revoked_at, last_used_at, secret_sha256";

TokenRecord RecordOf(const metadata::Row& row) {
  TokenRecord r;
  r.id = row.Text(0);
  r.user = row.Text(1);
  r.label = row.Text(2);
  r.scopes = SplitSpaces(row.Text(3));
  r.created_at = row.Int(4) / 1000;
  r.expires_at = OptionalSeconds(row, 5);
  r.revoked_at = OptionalSeconds(row, 6);
  r.last_used_at = OptionalSeconds(row, 7);
  return r;
}

// A database failure while checking a token: whatever SQLite or PostgreSQL
// said (an I/O error, a locked or damaged file, a missing table), the caller
// must not take it for a wrong token (a 401 counted as a guess): kUnavailable.
Status DatabaseFailure(const Status& s) {
  if (s.code() == StatusCode::kUnavailable) return s;
  return Status::Unavailable("the access token database failed: " + s.message());
}

}  // namespace

bool IsAccessToken(std::string_view password) { return password.rfind(kAccessTokenPrefix, 0) == 0; }

Result<TokenScope> TokenScope::Parse(std::string_view text) {
  // type:name:actions; a repository name has no ':', a pattern may (a regex), so split at the first and last.
  const size_t first = text.find(':');
  const size_t last = text.rfind(':');
  if (first == std::string_view::npos || first == last) {
    return Status::Invalid("scope '" + std::string(text) + "' must be type:name:actions");
  }
  TokenScope s{std::string(text.substr(0, first)), *Pattern::Compile("*"), {}};
  if (s.type != "repository" && s.type != "registry") {
    return Status::Invalid("scope '" + std::string(text) + "': the type must be repository or registry");
  }
  auto name = Pattern::Compile(std::string(text.substr(first + 1, last - first - 1)));
  if (!name.ok()) return Status::Invalid("scope '" + std::string(text) + "': " + name.status().message());
  if (name->text().empty()) return Status::Invalid("scope '" + std::string(text) + "': an empty name");
  s.name = std::move(*name);
  std::string_view actions = text.substr(last + 1);
  while (!actions.empty()) {
    const size_t comma = actions.find(',');
    const std::string a(actions.substr(0, comma));
    if (a != "pull" && a != "push" && a != "delete" && a != "*") {
      return Status::Invalid("scope '" + std::string(text) + "': '" + a + "' is not one of pull, push, delete, *");
    }
    s.actions.insert(a);
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
  }
  if (s.actions.empty()) return Status::Invalid("scope '" + std::string(text) + "' has no actions");
  return s;
}

std::string TokenScope::str() const {
  std::string out = type + ":" + name.text() + ":";
  bool first = true;
  for (const auto& a : actions) {
    out += (first ? "" : ",") + a;
    first = false;
  }
  return out;
}

std::set<std::string> TokenLimit::Narrow(const Scope& want, const std::set<std::string>& granted) const {
  if (scopes.empty()) return granted;
  std::set<std::string> allowed;
  for (const auto& s : scopes) {
    if (s.type == want.type && s.name.Matches(want.name)) allowed.insert(s.actions.begin(), s.actions.end());
  }
  return IntersectActions(granted, allowed);
}

std::vector<std::string> TokenLimit::ScopeTexts() const {
  std::vector<std::string> out;
  out.reserve(scopes.size());
  for (const auto& s : scopes) out.push_back(s.str());
  return out;
}

TokenLimit TokenLimit::FromTexts(std::string id, const std::vector<std::string>& texts, int64_t expires_at) {
  TokenLimit limit;
  limit.token_id = std::move(id);
  limit.expires_at = expires_at;
  for (const auto& text : texts) {
    auto s = TokenScope::Parse(text);
    if (s.ok()) {
      limit.scopes.push_back(std::move(*s));
    } else {
      // Checked at creation; a text that no longer parses must not widen the token: allow nothing.
      limit.scopes.push_back(TokenScope{"none", *Pattern::Compile("*"), {}});
    }
  }
  return limit;
}

TokenLimit TokenRecord::Limit() const { return TokenLimit::FromTexts(id, scopes, expires_at.value_or(0)); }

TokenStore::TokenStore(std::shared_ptr<metadata::Pool> pool) : pool_(std::move(pool)) {}
TokenStore::TokenStore(PoolOpener open) : open_(std::move(open)) {}

Result<std::shared_ptr<metadata::Pool>> TokenStore::Pool() {
  MutexLock lock(mu_);
  if (pool_ != nullptr) return pool_;
  if (!open_) return Status::Unavailable("no metadata database for access tokens");
  auto opened = open_();  // a failure is retried at the next use
  if (!opened.ok()) return opened.status();
  pool_ = *opened;
  return pool_;
}

Result<TokenStore::Created> TokenStore::Create(const std::string& user, const std::string& label,
                                               const std::vector<std::string>& scopes,
                                               std::optional<int64_t> expires_at, int64_t now) {
  if (user.empty()) return Status::Invalid("a token needs a user");
  if (label.empty() || label.size() > 200) return Status::Invalid("a token needs a name of 1-200 characters");
  std::string scope_text;
  for (const auto& s : scopes) {
    auto parsed = TokenScope::Parse(s);
    if (!parsed.ok()) return parsed.status();
    if (s.find(' ') != std::string::npos) return Status::Invalid("scope '" + s + "' must not contain spaces");
    scope_text += (scope_text.empty() ? "" : " ") + s;
  }
  if (expires_at && *expires_at <= now) return Status::Invalid("the expiry is in the past");
  unsigned char secret_bytes[kSecretBytes];
  if (!RandomBytes(secret_bytes, sizeof secret_bytes)) return Status::IoError("no randomness for a token");
  const std::string secret = Base64UrlEncode(std::string_view(reinterpret_cast<char*>(secret_bytes), kSecretBytes));
  OPENSSL_cleanse(secret_bytes, sizeof secret_bytes);
  const std::string id = RandomHex(kPublicIdHexChars / 2);
  auto pool = Pool();
  if (!pool.ok()) return pool.status();
  auto conn = (*pool)->Acquire();
  if (!conn.ok()) return conn.status();
  const metadata::Value expires = expires_at ? metadata::Value(*expires_at * 1000) : metadata::Value(std::monostate{});
  const metadata::Value params[] = {id, user, label, Sha256Hex(secret), scope_text, now * 1000, expires};
  auto r = (*conn)->Execute(
      "INSERT INTO access_tokens (public_id, user_name, label, secret_sha256, scopes, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      params);
  if (!r.ok()) return r.status();
  Created out;
  out.record.id = id;
  out.record.user = user;
  out.record.label = label;
  out.record.scopes = scopes;
  out.record.created_at = now;
  out.record.expires_at = expires_at;
  out.token = std::string(kAccessTokenPrefix) + id + "_" + secret;
  return out;
}

Result<std::vector<TokenRecord>> TokenStore::List(const std::string& user) {
  auto pool = Pool();
  if (!pool.ok()) return pool.status();
  auto conn = (*pool)->Acquire();
  if (!conn.ok()) return conn.status();
  const std::string base = "SELECT " + std::string(kColumns) + " FROM access_tokens";
  const metadata::Value params[] = {user};
  auto r = user.empty() ? (*conn)->Execute(base + " ORDER BY created_at DESC, id DESC", {})
                        : (*conn)->Execute(base + " WHERE user_name = $1 ORDER BY created_at DESC, id DESC", params);
  if (!r.ok()) return r.status();
  std::vector<TokenRecord> out;
  for (const auto& row : r->rows) out.push_back(RecordOf(row));
  return out;
}

Status TokenStore::Revoke(const std::string& id, int64_t now) {
  auto pool = Pool();
  if (!pool.ok()) return pool.status();
  auto conn = (*pool)->Acquire();
  if (!conn.ok()) return conn.status();
  const metadata::Value params[] = {id, now * 1000};
  auto r =
      (*conn)->Execute("UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE public_id = $1", params);
  if (!r.ok()) return r.status();
  if (r->affected == 0) return Status::NotFound("no access token with id " + id);
  return Status::Ok();
}

Result<std::optional<TokenRecord>> TokenStore::Find(metadata::Connection& conn, const std::string& id,
                                                    std::string* hash) {
  const metadata::Value params[] = {id};
  auto r = conn.Execute("SELECT " + std::string(kColumns) + " FROM access_tokens WHERE public_id = $1", params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return std::optional<TokenRecord>();
  if (hash != nullptr) *hash = r->rows[0].Text(8);
  return std::optional<TokenRecord>(RecordOf(r->rows[0]));
}

Result<TokenRecord> TokenStore::Verify(std::string_view token, int64_t now) {
  const Status refused = Status::Invalid("invalid access token");
  std::string id, secret;
  if (!SplitToken(token, &id, &secret)) return refused;
  auto pool = Pool();
  if (!pool.ok()) return DatabaseFailure(pool.status());
  auto conn = (*pool)->Acquire();
  if (!conn.ok()) return DatabaseFailure(conn.status());
  std::string stored;
  auto found = Find(**conn, id, &stored);
  if (!found.ok()) return DatabaseFailure(found.status());
  const std::string given = Sha256Hex(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!*found || stored.size() != given.size() || CRYPTO_memcmp(stored.data(), given.data(), given.size()) != 0) {
    return refused;
  }
  TokenRecord record = std::move(**found);
  if (!record.UsableAt(now)) return refused;
  // At most one write a minute per token: a CI job pulling 50 layers does not write 50 times.
  if (!record.last_used_at || *record.last_used_at * 1000 + kLastUsedGranularityMs <= now * 1000) {
    const metadata::Value params[] = {id, now * 1000, now * 1000 - kLastUsedGranularityMs};
    (void)(*conn)->Execute(
        "UPDATE access_tokens SET last_used_at = $2 WHERE public_id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
        params);
    record.last_used_at = now;
  }
  return record;
}

Result<TokenRecord> TokenStore::Lookup(const std::string& id, int64_t now) {
  auto pool = Pool();
  if (!pool.ok()) return DatabaseFailure(pool.status());
  auto conn = (*pool)->Acquire();
  if (!conn.ok()) return DatabaseFailure(conn.status());
  auto found = Find(**conn, id, nullptr);
  if (!found.ok()) return DatabaseFailure(found.status());
  if (!*found || !(*found)->UsableAt(now)) return Status::Invalid("the access token is revoked or expired");
  return std::move(**found);
}

}  // namespace berth::auth
