// Config: the YAML configuration model, its embedded defaults and validation.
// Unknown keys and wrong types are errors reported as "<file>:<line>:<col>: <what>".
// Plain values; thread-safe once built.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::config {

struct TlsConfig {
  bool enabled = false;
  std::string certificate;
  std::string key;
};

struct ServerConfig {
  std::string addr = ":5000";
  TlsConfig tls;
};

struct StorageConfig {
  std::string filesystem_root = "./data";
  bool delete_enabled = true;
};

struct LogConfig {
  std::string level = "info";   // debug | info | warn | error
  std::string format = "text";  // text | json
  bool accesslog = true;        // one line per request
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  LogConfig log;
};

// The embedded default: listen on :5000, filesystem storage under ./data.
Config DefaultConfig();

// Parses YAML text; `source` names it in error messages (usually the file path).
Result<Config> ParseConfig(std::string_view yaml, const std::string& source);
Result<Config> LoadConfigFile(const std::string& path);

}  // namespace berth::config
