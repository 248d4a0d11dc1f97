// berth: a container registry with a built-in token server, in one binary.
//   berth serve [--config FILE]          run the registry (CONFIG_PATH also names the file)
//   berth check-config FILE              validate a config file
//   berth hash-password [--cost N]       bcrypt a password (prompt without echo, or stdin)
//   berth acl explain --config FILE --user U --repo R [--action A]
//   berth verify [--config FILE]         check the store's consistency (read-only)
//   berth du [--config FILE] [--json]    storage used per repository (read-only)
//   berth version
#include <malloc.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include <boost/asio/thread_pool.hpp>
#include <CLI/CLI.hpp>

#include "auth/access_controller.h"
#include "auth/bootstrap.h"
#include "auth/password.h"
#include "auth/signing_key.h"
#include "config/config.h"
#include "http/server.h"
#include "observability/berth_metrics.h"
#include "registry/api.h"
#include "storage/filesystem_driver.h"
#include "storage/upload_purger.h"
#include "storage/usage.h"
#include "storage/verify.h"
#include "storage/s3/s3_driver.h"
#include "util/log.h"
#include "util/test_hooks.h"

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

void AnnounceAdminPassword(const std::string& password) {
  // Printed once, straight to stderr (not through the logger): the only copy of the password.
  std::cerr << "\n"
               "  No users or ACL are configured, so Berth created the user 'admin'.\n"
               "  Its password (shown only this once; its bcrypt hash is kept in the data directory):\n\n"
               "      "
            << password
            << "\n\n"
               "  Log in with: docker login -u admin <this registry>\n\n";
}

// Polls the config file and calls `on_change` when it changes (editors replace files, so inode counts).
class ConfigWatcher {
 public:
  ConfigWatcher(std::string path, std::function<void()> on_change)
      : path_(std::move(path)), on_change_(std::move(on_change)) {
    Snapshot(&last_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~ConfigWatcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  struct State {
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const State& o) const {
      return ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  void Snapshot(State* s) {
    struct stat st;
    if (::stat(path_.c_str(), &st) == 0) *s = State{st.st_ino, st.st_size, st.st_mtim};
  }
  void Loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stop_; })) {
      State now;
      Snapshot(&now);
      if (!(now == last_)) {
        last_ = now;
        on_change_();
      }
      test_hooks::Reach("config.watch.polled");  // tests/e2e/auth_test.sh
    }
  }
  std::string path_;
  std::function<void()> on_change_;
  State last_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The configured storage backend. S3 credentials fall back to the usual AWS
// environment variables; the secret key is never logged.
Result<std::unique_ptr<storage::StorageDriver>> OpenStorage(const config::Config& cfg) {
  if (!cfg.storage.s3_enabled) {
    auto fs = storage::FilesystemDriver::Open(cfg.storage.filesystem_root);
    if (!fs.ok()) return fs.status();
    return std::unique_ptr<storage::StorageDriver>(std::move(*fs));
  }
  const config::S3StorageConfig& c = cfg.storage.s3;
  storage::s3::S3DriverOptions o;
  o.client.endpoint = c.endpoint;
  o.client.region = c.region;
  o.client.bucket = c.bucket;
  o.client.force_path_style = c.forcepathstyle;
  o.client.credentials.access_key = c.accesskey;
  o.client.credentials.secret_key = c.secretkey;
  if (const char* e = std::getenv("AWS_ACCESS_KEY_ID"); o.client.credentials.access_key.empty() && e) {
    o.client.credentials.access_key = e;
  }
  if (const char* e = std::getenv("AWS_SECRET_ACCESS_KEY"); o.client.credentials.secret_key.empty() && e) {
    o.client.credentials.secret_key = e;
  }
  if (o.client.credentials.access_key.empty() || o.client.credentials.secret_key.empty()) {
    return Status::Invalid("storage.s3 needs accesskey and secretkey (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  }
  o.root_directory = c.rootdirectory;
  o.chunk_size = c.chunksize;
  auto s3 = storage::s3::S3Driver::Open(std::move(o));
  if (!s3.ok()) return s3.status();
  return std::unique_ptr<storage::StorageDriver>(std::move(*s3));
}

// The configuration of serve, verify and du: --config, else $CONFIG_PATH (the
// path is filled in), else the embedded defaults.
Result<config::Config> LoadConfigFor(std::string* config_path) {
  if (config_path->empty()) {
    if (const char* env = std::getenv("CONFIG_PATH"); env != nullptr) *config_path = env;
  }
  if (config_path->empty()) return config::DefaultConfig();
  return config::LoadConfigFile(*config_path);
}

int Serve(std::string config_path) {
  // Few malloc arenas: per-thread arenas keep freed buffers and RSS never comes down.
  mallopt(M_ARENA_MAX, 2);
  // A peer that went away must fail the write (EPIPE), not end the process:
  // sendfile() cannot be told MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  auto cfg = LoadConfigFor(&config_path);
  if (!cfg.ok()) {
    std::cerr << "berth: " << cfg.status().message() << "\n";
    return 2;
  }
  log::Configure(ParseLevel(cfg->log.level), cfg->log.format == "json" ? log::Format::kJson : log::Format::kText);
  auto driver = OpenStorage(*cfg);
  if (!driver.ok()) {
    log::Error("cannot open storage", {{"error", driver.status().message()}});
    return 1;
  }
  const std::string storage_desc =
      cfg->storage.s3_enabled ? "s3 " + static_cast<storage::s3::S3Driver&>(**driver).Describe()
                              : static_cast<storage::FilesystemDriver&>(**driver).root();

  // --- auth ---
  std::unique_ptr<auth::AuthService> auth_service;
  std::unique_ptr<auth::AccessController> access;
  boost::asio::thread_pool blocking(2);  // bcrypt runs here, never on the I/O threads
  if (cfg->auth.mode == "none") {
    log::Warn("authentication is DISABLED (auth.mode: none): anyone who can reach this port can push and delete");
  } else {
    const std::string key_path = config::TokenKeyPath(*cfg);
    auto key = auth::SigningKey::LoadOrCreate(
        key_path, cfg->auth.token.key_type == "ec" ? auth::KeyType::kEc : auth::KeyType::kRsa);
    if (!key.ok()) {
      log::Error("cannot load the token key", {{"error", key.status().message()}});
      return 1;
    }
    auto policy = auth::MakePolicy(cfg->users, cfg->acl, cfg->storage.filesystem_root, AnnounceAdminPassword);
    if (!policy.ok()) {
      log::Error("cannot set up users", {{"error", policy.status().message()}});
      return 1;
    }
    if (!cfg->users.empty() && cfg->acl.empty()) {
      log::Warn("users are configured but the acl is empty: every request will be denied");
    }
    auth::AuthSettings settings;
    settings.service = cfg->auth.token.service;
    settings.issuer = cfg->auth.token.issuer;
    settings.expiration = cfg->auth.token.expiration;
    settings.refresh_expiration = cfg->auth.token.refresh_expiration;
    auth_service = std::make_unique<auth::AuthService>(settings, *key, *policy);
    auth::AccessOptions aopts{cfg->server.public_url, cfg->server.trusted_proxy_ranges, cfg->server.tls.enabled};
    access = std::make_unique<auth::AccessController>(*auth_service, aopts, blocking);
    log::Info("token auth enabled", {{"service", settings.service},
                                     {"issuer", settings.issuer},
                                     {"alg", std::string((*key)->alg())},
                                     {"kid", (*key)->kid()},
                                     {"certificate", auth::CertificatePathFor(key_path)},
                                     {"users", std::to_string((*policy)->users.size())},
                                     {"acl_entries", std::to_string((*policy)->acl.entries().size())}});
  }
  // Users and ACL reload on SIGHUP and when the file changes; a bad file is rejected.
  std::mutex reload_mu;
  bool running_has_rules = !cfg->users.empty() || !cfg->acl.empty();  // guarded by reload_mu
  auto reload = [&] {
    std::lock_guard lock(reload_mu);
    if (config_path.empty() || !auth_service) return;
    auto fresh = config::LoadConfigFile(config_path);
    if (fresh.ok() && fresh->users.empty() && fresh->acl.empty() && running_has_rules) {
      // Most likely a file caught half-written by an editor: dropping every user
      // and rule would lock everyone out, so keep the running ones.
      fresh = Status::Invalid(config_path + ": has no users and no acl; refusing to drop the running ones");
    }
    if (!fresh.ok()) {
      log::Error("config reload rejected, the running configuration stays", {{"error", fresh.status().message()}});
      return;
    }
    auto policy = auth::MakePolicy(fresh->users, fresh->acl, cfg->storage.filesystem_root, AnnounceAdminPassword);
    if (!policy.ok()) {
      log::Error("config reload rejected, the running configuration stays", {{"error", policy.status().message()}});
      return;
    }
    auth_service->SetPolicy(*policy);
    running_has_rules = !fresh->users.empty() || !fresh->acl.empty();
    log::Info("users and acl reloaded (other settings change at restart)",
              {{"users", std::to_string((*policy)->users.size())},
               {"acl_entries", std::to_string((*policy)->acl.entries().size())}});
  };

  registry::RegistryOptions ropts{cfg->storage.delete_enabled, cfg->server.metrics.enabled,
                                  cfg->server.metrics.is_public};
  ropts.redirect_enabled = cfg->storage.redirect_enabled;
  registry::RegistryApi api(**driver, ropts, access.get());
  std::unique_ptr<storage::UploadPurger> purger;
  if (cfg->storage.upload_purging) {
    purger = std::make_unique<storage::UploadPurger>(api.uploads(), std::chrono::seconds(cfg->storage.upload_purge_age_s),
                                                     std::chrono::seconds(cfg->storage.upload_purge_interval_s),
                                                     cfg->storage.upload_purge_dry_run);
  }
  http::ServerOptions opts;
  opts.addr = cfg->server.addr;
  opts.tls = cfg->server.tls.enabled;
  opts.tls_certificate = cfg->server.tls.certificate;
  opts.tls_key = cfg->server.tls.key;
  opts.tls_watch_seconds = static_cast<int>(cfg->server.tls.poll_interval);
  opts.timeouts.header = std::chrono::seconds(cfg->server.timeouts.header);
  opts.timeouts.idle = std::chrono::seconds(cfg->server.timeouts.idle);
  opts.timeouts.body = std::chrono::seconds(cfg->server.timeouts.read);
  opts.timeouts.write = std::chrono::seconds(cfg->server.timeouts.write);
  opts.max_connections = static_cast<size_t>(cfg->server.max_connections);
  opts.max_header_bytes = static_cast<size_t>(cfg->server.max_header_bytes);
  opts.access_log = cfg->log.accesslog;
  opts.extra_headers = "Docker-Distribution-API-Version: registry/2.0\r\n";
  opts.on_reload = reload;
  opts.observer = &obs::Metrics();
  http::Server server(opts, api);
  if (Status s = server.Listen(); !s.ok()) {
    log::Error("cannot start", {{"error", s.message()}});
    return 1;
  }
  // server.debug_addr: /metrics, /healthz and /readyz without credentials, on its own thread.
  registry::DebugApi debug_api(api);
  std::unique_ptr<http::Server> debug_server;
  std::thread debug_thread;
  if (!cfg->server.debug_addr.empty()) {
    http::ServerOptions dopts;
    dopts.addr = cfg->server.debug_addr;
    dopts.access_log = false;  // scrapes every few seconds would drown the log; not counted either
    dopts.max_connections = 64;
    debug_server = std::make_unique<http::Server>(dopts, debug_api);
    if (Status s = debug_server->Listen(); !s.ok()) {
      log::Error("cannot start the debug listener", {{"error", s.message()}});
      return 1;
    }
    log::Info("debug listener (metrics, probes; no authentication)",
              {{"addr", dopts.addr}, {"port", std::to_string(debug_server->port())}});
    debug_thread = std::thread([&debug_server] { debug_server->Run(1); });
  }
  std::unique_ptr<ConfigWatcher> watcher;
  if (!config_path.empty() && auth_service) watcher = std::make_unique<ConfigWatcher>(config_path, reload);
  // Filesystem: one I/O thread per core (at least two, so a long fsync on one
  // does not stall every connection); more only add cross-thread wake-ups.
  // S3: every storage call blocks its thread for a network round trip, so many more.
  int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  if (cfg->storage.s3_enabled) threads = 32;
  if (cfg->server.threads > 0) threads = static_cast<int>(cfg->server.threads);
  log::Info("berth listening", {{"version", BERTH_VERSION},
                                {"addr", opts.addr},
                                {"port", std::to_string(server.port())},
                                {"tls", opts.tls ? "on" : "off"},
                                {"auth", cfg->auth.mode},
                                {"storage", storage_desc},
                                {"threads", std::to_string(threads)},
                                {"config", config_path.empty() ? "(embedded defaults)" : config_path}});
  server.Run(threads);
  if (debug_server) {
    debug_server->Stop();
    debug_thread.join();
  }
  watcher.reset();
  blocking.join();
  log::Info("berth stopped");
  return 0;
}

int CheckConfig(const std::string& path) {
  auto cfg = config::LoadConfigFile(path);
  if (!cfg.ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  std::cout << path << ": OK (" << cfg->users.size() << " users, " << cfg->acl.size() << " acl entries)\n";
  return 0;
}

std::string ReadPassword(bool confirm) {
  if (!::isatty(STDIN_FILENO)) {
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string a, b;
  std::cerr << "Password: " << std::flush;
  std::getline(std::cin, a);
  std::cerr << "\n";
  if (confirm) {
    std::cerr << "Again: " << std::flush;
    std::getline(std::cin, b);
    std::cerr << "\n";
  }
  ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  if (confirm && a != b) return std::string("\n");  // sentinel: mismatch
  return a;
}

int HashPasswordCommand(int cost) {
  std::string password = ReadPassword(true);
  if (password == "\n") {
    std::cerr << "berth: the passwords do not match\n";
    return 1;
  }
  if (password.empty()) {
    std::cerr << "berth: empty password\n";
    return 1;
  }
  auto hash = auth::HashPassword(password, cost);
  if (!hash.ok()) {
    std::cerr << "berth: " << hash.status().message() << "\n";
    return 1;
  }
  std::cout << *hash << "\n";
  return 0;
}

std::string DescribeEntry(const auth::AclEntry& e) {
  std::string s = "account=";
  s += e.anonymous_only ? "\"\" (anonymous)" : e.account ? e.account->text() : "(any signed-in user)";
  s += " name=" + (e.name ? e.name->text() : std::string("(any)"));
  if (e.type) s += " type=" + *e.type;
  if (e.service) s += " service=" + e.service->text();
  if (!e.ips.empty()) s += " ip=(" + std::to_string(e.ips.size()) + " ranges)";
  s += " actions=[";
  bool first = true;
  for (const auto& a : e.actions) {
    s += (first ? "" : ",") + a;
    first = false;
  }
  s += "]";
  if (!e.comment.empty()) s += " # " + e.comment;
  return s;
}

int AclExplain(const std::string& path, const std::string& user, const std::string& repo, const std::string& action,
               const std::string& ip, std::string service) {
  auto cfg = config::LoadConfigFile(path);
  if (!cfg.ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  auth::Acl acl(cfg->acl);
  if (cfg->users.empty() && cfg->acl.empty()) {
    std::cout << "no users and no acl: the bootstrap default applies (admin may do everything, nobody else anything)\n";
    return 0;
  }
  if (service.empty()) service = cfg->auth.token.service;
  const bool catalog = repo == "catalog" || repo == "_catalog";
  std::vector<std::string> actions = action.empty() ? std::vector<std::string>{"pull", "push", "delete"}
                                                     : std::vector<std::string>{action};
  if (catalog && action.empty()) actions = {"*"};
  int status = 1;
  for (const auto& a : actions) {
    auth::AccessRequest req{user, catalog ? "registry" : "repository", catalog ? "catalog" : repo, ip, service};
    auto d = acl.Authorize(req, {a});
    std::cout << (user.empty() ? "(anonymous)" : user) << " " << a << " " << (catalog ? "registry:catalog" : repo)
              << ": " << (d.granted.empty() ? "DENIED" : "ALLOWED");
    if (d.entry < 0) {
      std::cout << " (no entry matches: deny by default)\n";
    } else {
      const auto& e = acl.entries()[static_cast<size_t>(d.entry)];
      std::cout << " by acl[" << d.entry << "] (" << path << ":" << e.line << "): " << DescribeEntry(e) << "\n";
    }
    if (!d.granted.empty()) status = 0;
  }
  return status;
}

// verify and du: read-only, so they may run next to `serve`. Exit 2 on a config error.
int StoreTool(std::string config_path, bool verify, bool json) {
  auto cfg = LoadConfigFor(&config_path);
  if (!cfg.ok()) {
    std::cerr << "berth: " << cfg.status().message() << "\n";
    return 2;
  }
  // Read-only: a filesystem store is opened without creating or sweeping anything.
  Result<std::unique_ptr<storage::StorageDriver>> driver = Status::Invalid("unopened");
  std::string where;
  if (cfg->storage.s3_enabled) {
    driver = OpenStorage(*cfg);
    if (driver.ok()) where = "s3 " + static_cast<storage::s3::S3Driver&>(**driver).Describe();
  } else {
    auto fs = storage::FilesystemDriver::OpenExisting(cfg->storage.filesystem_root);
    if (fs.ok()) {
      where = (*fs)->root();
      driver = std::unique_ptr<storage::StorageDriver>(std::move(*fs));
    } else {
      driver = fs.status();
    }
  }
  if (!driver.ok()) {
    std::cerr << "berth: cannot open storage: " << driver.status().message() << "\n";
    return 2;
  }
  if (!verify) {
    auto usage = storage::ComputeUsage(**driver);
    std::cout << (json ? storage::FormatUsageJson(usage) : storage::FormatUsageTable(usage));
    return 0;
  }
  std::cout << "verifying " << where << "\n";
  auto report = storage::VerifyStore(**driver);
  for (const auto& p : report.problems) std::cout << storage::FormatProblem(p) << "\n";
  std::cout << storage::FormatSummary(report);
  return report.clean() ? 0 : 1;
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

  int cost = 10;
  auto* hash = app.add_subcommand("hash-password", "Read a password (no echo, or one line from stdin), print its bcrypt hash");
  hash->add_option("--cost", cost, "bcrypt cost (4-31)")->check(CLI::Range(4, 31));

  auto* acl = app.add_subcommand("acl", "ACL tools");
  acl->require_subcommand(1);
  std::string acl_config, acl_user, acl_repo, acl_action, acl_ip, acl_service;
  auto* explain = acl->add_subcommand("explain", "Show which ACL entry decides a request and what it grants");
  explain->add_option("--config", acl_config, "Config file")->required();
  explain->add_option("--user", acl_user, "Account (\"\" for anonymous)")->required();
  explain->add_option("--repo", acl_repo, "Repository name, or 'catalog'")->required();
  explain->add_option("--action", acl_action, "pull, push, delete or * (default: each of pull, push, delete)");
  explain->add_option("--ip", acl_ip, "Client address, for ip conditions");
  explain->add_option("--service", acl_service, "Service (default: auth.token.service)");

  std::string store_config;
  bool du_json = false;
  auto* verify = app.add_subcommand("verify", "Check the store: re-hash every blob, check links, tags and manifests");
  verify->add_option("-c,--config", store_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");
  auto* du = app.add_subcommand("du", "Storage used per repository");
  du->add_option("-c,--config", store_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");
  du->add_flag("--json", du_json, "Print JSON");

  auto* version = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc != 0 && (verify->parsed() || du->parsed()) ? 2 : rc;  // verify/du: usage errors exit 2
  }
  if (*verify || *du) return StoreTool(store_config, verify->parsed(), du_json);
  if (*serve) return Serve(serve_config);
  if (*check) return CheckConfig(check_path);
  if (*hash) return HashPasswordCommand(cost);
  if (*explain) return AclExplain(acl_config, acl_user, acl_repo, acl_action, acl_ip, acl_service);
  if (*version) {
    std::cout << "berth " << BERTH_VERSION << "\n";
    return 0;
  }
  return 1;
}
