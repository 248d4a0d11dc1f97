#include "app/reload.h"

#include "app/load_config.h"
#include "auth/bootstrap.h"
#include "util/log.h"

namespace berth::app {

AuthReloader::AuthReloader(std::string config_path, std::string data_root, auth::AuthService& auth,
                           bool running_has_rules, std::function<void(const std::string&)> announce)
    : config_path_(std::move(config_path)),
      data_root_(std::move(data_root)),
      auth_(auth),
      announce_(std::move(announce)),
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
  auto policy = auth::MakePolicy(fresh->access.users, fresh->access.acl, data_root_, announce_);
  if (!policy.ok()) {
    log::Error("config reload rejected, the running configuration stays", {{"error", policy.status().message()}});
    return;
  }
  auth_.SetPolicy(*policy);
  running_has_rules_ = !fresh->config.users.empty() || !fresh->config.acl.empty();
  log::Info("users and acl reloaded (other settings change at restart)",
            {{"users", std::to_string((*policy)->users.size())},
             {"acl_entries", std::to_string((*policy)->acl.entries().size())}});
}

}  // namespace berth::app
