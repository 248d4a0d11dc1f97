// LoadConfig: the configuration as every command reads it. The file is parsed
// (config/) and its users, ACL and policies compiled (auth/access_rules.h) in one step,
// so check-config, serve, the live reload, acl explain, verify and du accept
// and refuse the same files with the same messages. Thread-safe.
#pragma once

#include <string>

#include "auth/access_rules.h"
#include "config/config.h"
#include "policy/policy_set.h"
#include "util/status.h"

namespace berth::app {

struct LoadedConfig {
  config::Config config;
  auth::AccessRules access;  // config.users and config.acl, compiled
  std::shared_ptr<const policy::PolicySet> policies;  // config.policies, compiled
};

// The file at `path`; errors name file:line:column.
Result<LoadedConfig> LoadConfig(const std::string& path);

// The configuration of serve, verify and du: `*config_path` (--config), else
// $CONFIG_PATH (then filled into *config_path), else the embedded defaults.
Result<LoadedConfig> LoadConfigFor(std::string* config_path);

}  // namespace berth::app
