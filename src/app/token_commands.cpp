// berth token create|list|revoke (see commands.h).
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>

#include "app/commands.h"
#include "app/load_config.h"
#include "app/metadata_factory.h"
#include "auth/auth_service.h"
#include "auth/token_store.h"

namespace berth::app {
namespace {

// "90d" / "12h" / "30m" / "45s" -> seconds; "never" -> nullopt; false when malformed.
bool ParseExpiry(const std::string& text, std::optional<int64_t>* seconds) {
  if (text == "never") {
    *seconds = std::nullopt;
    return true;
  }
  if (text.size() < 2 || text.size() > 8) return false;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    n = n * 10 + (text[i] - '0');
  }
  int64_t unit = 0;
  switch (text.back()) {
    case 'd': unit = 86400; break;
    case 'h': unit = 3600; break;
    case 'm': unit = 60; break;
    case 's': unit = 1; break;
    default: return false;
  }
  if (n <= 0 || n > 100LL * 365 * 86400 / unit) return false;
  *seconds = n * unit;
  return true;
}

std::string Date(std::optional<int64_t> t, const char* none) {
  if (!t) return none;
  return auth::Rfc3339(*t);
}

// The token store on the configured metadata database (migrated), or an exit code.
struct Opened {
  LoadedConfig loaded;
  std::unique_ptr<auth::TokenStore> store;
};
std::optional<Opened> Open(TokenCommand& c, int* rc) {
  auto loaded = LoadConfigFor(&c.config_path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().message() << "\n";
    *rc = 2;
    return std::nullopt;
  }
  auto pool = OpenMigratedMetadataPool(loaded->config);
  if (!pool.ok()) {
    std::cerr << "cannot open the metadata database " << DescribeMetadata(loaded->config) << ": "
              << pool.status().message() << "\n";
    *rc = 2;
    return std::nullopt;
  }
  Opened o{std::move(*loaded), std::make_unique<auth::TokenStore>(*pool)};
  return o;
}

}  // namespace

int TokenCreate(TokenCommand c) {
  std::optional<int64_t> lifetime;
  if (!ParseExpiry(c.expires.empty() ? "90d" : c.expires, &lifetime)) {
    std::cerr << "--expires must be like 90d, 12h, 30m, 45s or never\n";
    return 1;
  }
  int rc = 0;
  auto opened = Open(c, &rc);
  if (!opened) return rc;
  // Tokens are for the YAML's users (robots included): a directory user's groups
  // are only known at a directory login, which a token login is not.
  if (opened->loaded.access.users.count(c.user) == 0) {
    std::cerr << "no user '" << c.user << "' under users: in the config (tokens are for configured users and robots)\n";
    return 1;
  }
  const int64_t now = auth::UnixNow();
  std::optional<int64_t> expires_at;
  if (lifetime) expires_at = now + *lifetime;
  auto created = opened->store->Create(c.user, c.name, c.scopes, expires_at, now);
  if (!created.ok()) {
    std::cerr << created.status().message() << "\n";
    return created.status().code() == StatusCode::kInvalidArgument ? 1 : 2;
  }
  std::cerr << "Created access token " << created->record.id << " '" << c.name << "' for " << c.user << ", expires "
            << Date(expires_at, "never") << ". It is shown only this once:\n";
  std::cout << created->token << "\n";
  return 0;
}

int TokenList(TokenCommand c) {
  int rc = 0;
  auto opened = Open(c, &rc);
  if (!opened) return rc;
  auto list = opened->store->List(c.user);
  if (!list.ok()) {
    std::cerr << list.status().message() << "\n";
    return 2;
  }
  const int64_t now = auth::UnixNow();
  std::printf("%-16s  %-16s  %-20s  %-8s  %-20s  %-20s  %-20s  %s\n", "ID", "USER", "NAME", "STATUS", "CREATED",
              "EXPIRES", "LAST USED", "SCOPES");
  for (const auto& t : *list) {
    std::string scopes;
    for (const auto& s : t.scopes) scopes += (scopes.empty() ? "" : " ") + s;
    if (scopes.empty()) scopes = "(the user's ACL)";
    const char* status = t.revoked_at ? "revoked" : t.UsableAt(now) ? "active" : "expired";
    std::printf("%-16s  %-16s  %-20s  %-8s  %-20s  %-20s  %-20s  %s\n", t.id.c_str(), t.user.c_str(), t.label.c_str(),
                status, auth::Rfc3339(t.created_at).c_str(), Date(t.expires_at, "never").c_str(),
                Date(t.last_used_at, "never").c_str(), scopes.c_str());
  }
  return 0;
}

int TokenRevoke(TokenCommand c) {
  int rc = 0;
  auto opened = Open(c, &rc);
  if (!opened) return rc;
  Status s = opened->store->Revoke(c.id, auth::UnixNow());
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return s.IsNotFound() ? 1 : 2;
  }
  std::cerr << "Revoked access token " << c.id << " (refused from now on, with the refresh tokens issued from it)\n";
  return 0;
}

}  // namespace berth::app
