// berth: a container registry in one binary.
//   berth serve [--config FILE]      run the registry (CONFIG_PATH also names the file)
//   berth check-config FILE          validate a config file
//   berth version                    print the version
#include <cstdlib>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "config/config.h"
#include "http/server.h"
#include "registry/api.h"
#include "storage/filesystem_driver.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif

namespace {

using namespace berth;

log::Level ParseLevel(const std::string& s) {
  if (s == "debug") return log::Level::kDebug;
  if (s == "warn") return log::Level::kWarn;
  if (s == "error") return log::Level::kError;
  return log::Level::kInfo;
}

Result<config::Config> LoadConfig(const std::string& path) {
  if (path.empty()) return config::DefaultConfig();
  return config::LoadConfigFile(path);
}

int Serve(std::string config_path) {
  if (config_path.empty()) {
    if (const char* env = std::getenv("CONFIG_PATH"); env != nullptr) config_path = env;
  }
  auto cfg = LoadConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "berth: " << cfg.status().message() << "\n";
    return 2;
  }
  log::Configure(ParseLevel(cfg->log.level), cfg->log.format == "json" ? log::Format::kJson : log::Format::kText);
  auto driver = storage::FilesystemDriver::Open(cfg->storage.filesystem_root);
  if (!driver.ok()) {
    log::Error("cannot open storage", {{"error", driver.status().message()}});
    return 1;
  }
  registry::RegistryApi api(**driver, registry::RegistryOptions{cfg->storage.delete_enabled});
  http::ServerOptions opts;
  opts.addr = cfg->server.addr;
  opts.tls = cfg->server.tls.enabled;
  opts.tls_certificate = cfg->server.tls.certificate;
  opts.tls_key = cfg->server.tls.key;
  opts.access_log = cfg->log.accesslog;
  opts.extra_headers = "Docker-Distribution-API-Version: registry/2.0\r\n";
  http::Server server(opts, api);
  if (Status s = server.Listen(); !s.ok()) {
    log::Error("cannot start", {{"error", s.message()}});
    return 1;
  }
  // Disk I/O runs on the I/O threads; a few more threads than cores keep an
  // fsync from stalling other connections.
  int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()) * 2);
  log::Info("berth listening", {{"version", BERTH_VERSION},
                                {"addr", opts.addr},
                                {"port", std::to_string(server.port())},
                                {"tls", opts.tls ? "on" : "off"},
                                {"storage", (*driver)->root()},
                                {"config", config_path.empty() ? "(embedded defaults)" : config_path}});
  server.Run(threads);
  log::Info("berth stopped");
  return 0;
}

int CheckConfig(const std::string& path) {
  auto cfg = config::LoadConfigFile(path);
  if (!cfg.ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  std::cout << path << ": OK\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Berth: a container registry with built-in token auth, in one binary"};
  app.require_subcommand(1);

  std::string serve_config;
  auto* serve = app.add_subcommand("serve", "Run the registry");
  serve->add_option("-c,--config", serve_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a config file and exit non-zero if it is wrong");
  check->add_option("file", check_path, "Config file")->required();

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  if (*serve) return Serve(serve_config);
  if (*check) return CheckConfig(check_path);
  if (*version) {
    std::cout << "berth " << BERTH_VERSION << "\n";
    return 0;
  }
  return 1;
}
