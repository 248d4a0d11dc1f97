#include "app/reload.h"

#include <sys/stat.h>

#include "app/load_config.h"
#include "auth/bootstrap.h"
#include "util/log.h"

namespace berth::app {

Result<std::shared_ptr<const auth::KeyRing>> LoadKeyRing(const config::Config& cfg, bool create_current) {
  const std::string key_path = config::TokenKeyPath(cfg);
  struct stat st {};
  if (!create_current && ::stat(key_path.c_str(), &st) != 0) {
    return Status::NotFound("token key " + key_path + " does not exist (a reload never creates one)");
  }
  auto current = auth::SigningKey::LoadOrCreate(
      key_path, cfg.auth.token.key_type == "ec" ? auth::KeyType::kEc : auth::KeyType::kRsa);
  if (!current.ok()) return Status::Invalid("token key " + key_path + ": " + current.status().message());
  std::vector<std::shared_ptr<const auth::SigningKey>> accepted;
  for (const std::string& path : cfg.auth.token.previous_keys) {
    auto key = auth::SigningKey::LoadVerifier(path);
    if (!key.ok()) {
      return Status::Invalid("auth.token.previous_keys: " + path + ": " + key.status().message());
    }
    accepted.push_back(*key);
  }
  return auth::KeyRing::Make(*current, std::move(accepted));
}

Status PublishKeyRing(const auth::KeyRing& ring, const config::Config& cfg) {
  if (Status s = auth::WriteFileAtomic(config::TokenBundlePath(cfg), ring.CertificateBundlePem(), 0644); !s.ok()) {
    return s;
  }
  return auth::WriteFileAtomic(config::TokenJwksPath(cfg), ring.Jwks().dump(2) + "\n", 0644);
}

std::string KeyIds(const auth::KeyRing& ring) {
  std::string out;
  const nlohmann::json jwks = ring.Jwks();
  for (const auto& jwk : jwks["keys"]) {
    if (!out.empty()) out += ",";
    out += jwk.value("kid", "");
  }
  return out;
}

AuthReloader::AuthReloader(std::string config_path, std::string data_root, auth::AuthService& auth,
                           bool running_has_rules, std::function<void(const std::string&)> announce,
                           policy::PolicyHolder* policies)
    : config_path_(std::move(config_path)),
      data_root_(std::move(data_root)),
      auth_(auth),
      announce_(std::move(announce)),
      policies_(policies),
      running_has_rules_(running_has_rules) {}

void AuthReloader::Reload() {
  MutexLock lock(mu_);
  auto fresh = LoadConfig(config_path_);
  if (fresh.ok() && fresh->config.users.empty() && fresh->config.acl.empty() && running_has_rules_) {
    fresh = Status::Invalid(config_path_ + ": has no users and no acl; refusing to drop the running ones");
  }
  if (!fresh.ok()) {
    log::Error("config reload rejected, the running configuration stays", {{"error", fresh.status().message()}});
    return;
  }
  std::shared_ptr<auth::ldap::Directory> directory;
  if (fresh->config.auth.ldap.enabled) {
    auto opened = auth::ldap::Directory::FromConfig(fresh->config.auth.ldap);
    if (!opened.ok()) {
      log::Error("config reload rejected, the running configuration stays", {{"error", opened.status().message()}});
      return;
    }
    directory = *opened;
  }
  auto policy = auth::MakePolicy(fresh->access.users, fresh->access.acl, data_root_, announce_, directory);
  if (!policy.ok()) {
    log::Error("config reload rejected, the running configuration stays", {{"error", policy.status().message()}});
    return;
  }
  auth_.SetPolicy(*policy);
  if (policies_ != nullptr) {
    policies_->Set(fresh->policies);
    log::Info("policies reloaded", {{"policies", std::to_string(fresh->policies->policies().size())}});
  }
  running_has_rules_ = !fresh->config.users.empty() || !fresh->config.acl.empty();
  log::Info("users and acl reloaded (other settings change at restart)",
            {{"users", std::to_string((*policy)->users.size())},
             {"acl_entries", std::to_string((*policy)->acl.entries().size())}});
  ReloadKeys(fresh->config);
}

void AuthReloader::ReloadKeys(const config::Config& cfg) {
  auto ring = LoadKeyRing(cfg, /*create_current=*/false);
  if (!ring.ok()) {
    log::Error("token keys not reloaded, the running ones stay", {{"error", ring.status().message()}});
    return;
  }
  auth_.SetKeys(*ring);
  log::Info("token keys reloaded", {{"kid", (*ring)->current().kid()}, {"kids", KeyIds(**ring)}});
  // Others (distribution instances) read these files; a failure leaves the
  // previous files, which the operator must fix, but the ring here is right.
  if (Status s = PublishKeyRing(**ring, cfg); !s.ok()) {
    log::Error("cannot publish the token keys", {{"error", s.message()}});
  }
}

}  // namespace berth::app
