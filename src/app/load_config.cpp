#include "app/load_config.h"

#include <cstdlib>

namespace berth::app {
namespace {

Result<LoadedConfig> Compile(Result<config::Config> cfg) {
  if (!cfg.ok()) return cfg.status();
  auto access = auth::CompileAccessRules(*cfg);
  if (!access.ok()) return access.status();
  auto policies = policy::PolicySet::Compile(*cfg);
  if (!policies.ok()) return policies.status();
  return LoadedConfig{std::move(*cfg), std::move(*access), std::move(*policies)};
}

}  // namespace

Result<LoadedConfig> LoadConfig(const std::string& path) { return Compile(config::LoadConfigFile(path)); }

Result<LoadedConfig> LoadConfigFor(std::string* config_path) {
  if (config_path->empty()) {
    if (const char* env = std::getenv("CONFIG_PATH"); env != nullptr) *config_path = env;
  }
  if (config_path->empty()) return Compile(config::DefaultConfig());
  return LoadConfig(*config_path);
}

}  // namespace berth::app
