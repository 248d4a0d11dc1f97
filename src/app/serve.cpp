// berth serve (see commands.h): the wiring of the layers and the run.
//   config -> storage driver -> metadata database (migrated; the store imported
//          on first start; MetadataStore + pull flusher) -> auth (AuthService,
//          AccessController, reload) -> RegistryApi (+ upload purger)
//          -> http::Server (+ debug listener)
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include <boost/asio/thread_pool.hpp>

#include "app/commands.h"
#include "app/metadata_factory.h"
#include "app/load_config.h"
#include "app/metadata_factory.h"
#include "app/reload.h"
#include "app/storage_factory.h"
#include "auth/access_controller.h"
#include "auth/bootstrap.h"
#include "auth/signing_key.h"
#include "events/dispatcher.h"
#include "http/security_headers.h"
#include "http/server.h"
#include "http/tls_profile.h"
#include "metadata/gc.h"
#include "metadata/import.h"
#include "metadata/metadata_store.h"
#include "observability/berth_metrics.h"
#include "policy/retention_pass.h"
#include "registry/api.h"
#include "storage/blob_store.h"
#include "storage/manifest_store.h"
#include "storage/upload_purger.h"
#include "util/file_watcher.h"
#include "util/log.h"
#include "util/random.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif

namespace berth::app {
namespace {

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

// The token server and the request checks, unless auth.mode is none.
struct AuthWiring {
  std::unique_ptr<auth::AuthService> service;
  std::unique_ptr<auth::AccessController> access;
};

// False (the reason logged) when the token key or the users cannot be set up.
bool SetUpAuth(const LoadedConfig& loaded, boost::asio::thread_pool& blocking, boost::asio::thread_pool& db_threads,
               AuthWiring* out) {
  const config::Config& cfg = loaded.config;
  if (cfg.auth.mode == "none") {
    log::Warn("authentication is DISABLED (auth.mode: none): anyone who can reach this port can push and delete");
    return true;
  }
  auto ring = LoadKeyRing(cfg, /*create_current=*/true);
  if (!ring.ok()) {
    log::Error("cannot load the token keys", {{"error", ring.status().message()}});
    return false;
  }
  if (Status s = PublishKeyRing(**ring, cfg); !s.ok()) {
    // Files asked for by name must be written; the default ones next to the
    // key may sit in a read-only directory (a mounted secret) that worked before them.
    if (!cfg.auth.token.bundle.empty() || !cfg.auth.token.jwks_file.empty()) {
      log::Error("cannot publish the token keys", {{"error", s.message()}});
      return false;
    }
    log::Warn("cannot publish the token keys (set auth.token.bundle and jwks_file to a writable place)",
              {{"error", s.message()}});
  }
  const auth::SigningKey& key = (*ring)->current();
  std::shared_ptr<auth::ldap::Directory> directory;  // auth.ldap (src/auth/ldap/directory.h)
  if (cfg.auth.ldap.enabled) {
    auto opened = auth::ldap::Directory::FromConfig(cfg.auth.ldap);
    if (!opened.ok()) {
      log::Error("cannot set up LDAP", {{"error", opened.status().message()}});
      return false;
    }
    directory = *opened;
  }
  auto policy = auth::MakePolicy(loaded.access.users, loaded.access.acl, cfg.storage.filesystem_root,
                                 AnnounceAdminPassword, directory);
  if (!policy.ok()) {
    log::Error("cannot set up users", {{"error", policy.status().message()}});
    return false;
  }
  if (!cfg.users.empty() && cfg.acl.empty()) {
    log::Warn("users are configured but the acl is empty: every request will be denied");
  }
  auth::AuthSettings settings;
  settings.service = cfg.auth.token.service;
  settings.issuer = cfg.auth.token.issuer;
  settings.expiration = cfg.auth.token.expiration;
  settings.refresh_expiration = cfg.auth.token.refresh_expiration;
  out->service = std::make_unique<auth::AuthService>(settings, *ring, *policy);
  // Access tokens live in the metadata database, opened at their first use (auth/token_store.h).
  out->service->SetTokenStore(std::make_shared<auth::TokenStore>(
      auth::TokenStore::PoolOpener([cfg] { return OpenMigratedMetadataPool(cfg); })));
  auth::AccessOptions aopts{cfg.server.public_url, cfg.server.trusted_proxy_ranges, cfg.server.tls.enabled};
  out->access = std::make_unique<auth::AccessController>(*out->service, aopts, blocking, &db_threads);
  log::Info("token auth enabled", {{"service", settings.service},
                                   {"issuer", settings.issuer},
                                   {"alg", std::string(key.alg())},
                                   {"kid", key.kid()},
                                   {"kids", KeyIds(**ring)},
                                   {"certificate", auth::CertificatePathFor(config::TokenKeyPath(cfg))},
                                   {"bundle", config::TokenBundlePath(cfg)},
                                   {"jwks", config::TokenJwksPath(cfg)},
                                   {"users", std::to_string((*policy)->users.size())},
                                   {"acl_entries", std::to_string((*policy)->acl.entries().size())}});
  return true;
}

http::ServerOptions MainServerOptions(const config::Config& cfg) {
  http::ServerOptions opts;
  opts.addr = cfg.server.addr;
  opts.tls = cfg.server.tls.enabled;
  opts.tls_certificate = cfg.server.tls.certificate;
  opts.tls_key = cfg.server.tls.key;
  opts.tls_watch_seconds = static_cast<int>(cfg.server.tls.poll_interval);
  // (The config accepts only the profile names; an unknown one cannot get here.)
  if (auto profile = http::ParseTlsProfile(cfg.server.tls.profile); profile.ok()) opts.tls_profile = *profile;
  opts.timeouts.header = std::chrono::seconds(cfg.server.timeouts.header);
  opts.timeouts.idle = std::chrono::seconds(cfg.server.timeouts.idle);
  opts.timeouts.body = std::chrono::seconds(cfg.server.timeouts.read);
  opts.timeouts.write = std::chrono::seconds(cfg.server.timeouts.write);
  opts.max_connections = static_cast<size_t>(cfg.server.max_connections);
  opts.max_header_bytes = static_cast<size_t>(cfg.server.max_header_bytes);
  opts.access_log = cfg.log.accesslog;
  opts.extra_headers = "Docker-Distribution-API-Version: registry/2.0\r\n" +
                       http::SecurityHeaderLines({.tls = cfg.server.tls.enabled,
                                                  .hsts_max_age = cfg.server.tls.hsts_max_age,
                                                  .hsts_include_subdomains = cfg.server.tls.hsts_include_subdomains});
  opts.observer = &obs::Metrics();
  return opts;
}

// Filesystem: one I/O thread per core (at least two, so a long fsync on one
// does not stall every connection); more only add cross-thread wake-ups.
// S3: every storage call blocks its thread for a network round trip, so many more.
int IoThreads(const config::Config& cfg) {
  int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  if (cfg.storage.s3_enabled) threads = 32;
  if (cfg.server.threads > 0) threads = static_cast<int>(cfg.server.threads);
  return threads;
}

// server.debug_addr: /metrics, /healthz and /readyz without credentials, on its own thread.
class DebugListener {
 public:
  explicit DebugListener(registry::RegistryApi& api) : api_(api) {}
  ~DebugListener() { Stop(); }

  Status Start(const std::string& addr) {
    http::ServerOptions opts;
    opts.addr = addr;
    opts.access_log = false;  // scrapes every few seconds would drown the log; not counted either
    opts.max_connections = 64;
    opts.extra_headers = http::SecurityHeaderLines({});
    auto server = std::make_unique<http::Server>(opts, api_);
    if (Status s = server->Listen(); !s.ok()) return s;
    log::Info("debug listener (metrics, probes; no authentication)",
              {{"addr", opts.addr}, {"port", std::to_string(server->port())}});
    server_ = std::move(server);
    thread_ = std::thread([this] { server_->Run(1); });
    return Status::Ok();
  }

  void Stop() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
  }

 private:
  registry::DebugApi api_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// The metadata database, migrated, with the store imported into it when this
// is its first start. Null (the reason logged) when it cannot be used: a
// locked or corrupt SQLite file, or a PostgreSQL that cannot be reached, stops
// the start -- the schema must be known to match this binary before anything is
// served, and an orchestrator restarts the process until the database is up.
std::shared_ptr<metadata::Pool> OpenMetadata(const config::Config& cfg, storage::StorageDriver& driver) {
  const std::string where = DescribeMetadata(cfg);
  auto pool = OpenMigratedMetadataPool(cfg);
  if (!pool.ok()) {
    log::Error("cannot open the metadata database", {{"database", where}, {"error", pool.status().message()}});
    return nullptr;
  }
  log::Info("metadata database", {{"database", where}});
  if (cfg.storage.s3_enabled && cfg.storage.metadata.driver != "postgres") {
    log::Warn(
        "storage.s3 with the embedded SQLite metadata database: listings show only what this replica "
        "recorded; several replicas need storage.metadata.driver: postgres (docs/scale-out.md)");
  }
  auto imported = metadata::ImportCompleted(**pool);
  if (!imported.ok()) {
    log::Error("cannot read the metadata database", {{"database", where}, {"error", imported.status().message()}});
    return nullptr;
  }
  if (*imported) return *pool;
  log::Info("importing the store into the metadata database (first start)", {{"storage", driver.Info().Where()}});
  metadata::ImportOptions options;
  auto last_report = std::chrono::steady_clock::now();
  options.progress = [&last_report](const metadata::ImportProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (!p.finished && now - last_report < std::chrono::seconds(2)) return;
    last_report = now;
    log::Info(p.finished ? "import finished" : "import progress", {{"blobs", std::to_string(p.blobs)},
                                                                   {"repositories", std::to_string(p.repositories)},
                                                                   {"links", std::to_string(p.links)},
                                                                   {"manifests", std::to_string(p.manifests)},
                                                                   {"tags", std::to_string(p.tags)},
                                                                   {"skipped", std::to_string(p.skipped)}});
  };
  auto done = metadata::ImportStore(driver, **pool, options);
  if (!done.ok()) {
    // Nothing is lost: every import write is an upsert, the next start imports again.
    log::Error("cannot import the store into the metadata database",
               {{"database", where}, {"error", done.status().message()}});
    return nullptr;
  }
  if (done->skipped > 0) {
    log::Warn("the import skipped what the store holds but cannot be recorded (berth verify lists it)",
              {{"skipped", std::to_string(done->skipped)}});
  }
  return *pool;
}

// Threads for the metadata database's calls (a manifest write holds one while
// it waits for its repository's lock): 8 for SQLite, which has one writer at a
// time anyway; for PostgreSQL as many as the connection pool, up to 16.
int DatabaseThreads(const config::Config& cfg) {
  if (cfg.storage.metadata.driver == "postgres") {
    return static_cast<int>(std::clamp<int64_t>(cfg.storage.metadata.pool_size, 2, 16));
  }
  return 8;
}

// The event dispatcher when an endpoint is enabled (null otherwise).
Status StartEvents(const config::Config& cfg, std::unique_ptr<events::Dispatcher>* out) {
  bool any = false;
  for (const auto& e : cfg.notifications.endpoints) any = any || !e.disabled;
  if (!any) return Status::Ok();
  char host[256] = {};
  (void)gethostname(host, sizeof host - 1);
  // source.addr as distribution: this host and the port it listens on.
  const std::string& addr = cfg.server.addr;
  const size_t colon = addr.rfind(':');
  const std::string source = std::string(host) + (colon == std::string::npos ? "" : addr.substr(colon));
  auto d = events::Dispatcher::Start(cfg.notifications, config::EventQueueDir(cfg), source);
  if (!d.ok()) return d.status();
  *out = std::move(*d);
  for (const auto& e : cfg.notifications.endpoints) {
    if (e.disabled) continue;
    log::Info("notifications endpoint", {{"name", e.name}, {"format", e.format}});
  }
  log::Info("event queue", {{"dir", config::EventQueueDir(cfg)}});
  return Status::Ok();
}

}  // namespace

namespace {

// The retention pass inside online GC: one log line per tag removed, one with the totals.
Status RunRetentionInGc(metadata::MetadataStore& meta, storage::ManifestStore& manifests,
                        const policy::PolicySet& set, bool dry_run) {
  if (set.empty()) return Status::Ok();
  policy::RetentionPassOptions options;
  options.dry_run = dry_run;
  options.now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  options.on_tag = [dry_run](std::string_view repo, const policy::Policy& p, const policy::TagDecision& d) {
    if (d.keep) return;
    log::Info(dry_run ? "retention (dry run): would remove tag" : "retention: removed tag",
              {{"repository", std::string(repo)},
               {"tag", d.tag},
               {"digest", d.digest},
               {"rule", policy::RuleName(d.rule)},
               {"detail", d.detail},
               {"policy", p.Label()}});
  };
  auto report = policy::RunRetention(meta, manifests, set, options);
  if (!report.ok()) return report.status();
  log::Info(dry_run ? "retention (dry run): finished" : "retention: finished",
            {{"repositories", std::to_string(report->repositories)},
             {"tags_kept", std::to_string(report->tags_kept)},
             {"tags_removed", std::to_string(report->tags_removed)},
             {"manifests_removed", std::to_string(report->manifests_removed)}});
  return Status::Ok();
}

}  // namespace

int Serve(std::string config_path) {
  // Few malloc arenas: per-thread arenas keep freed buffers and RSS never comes down.
  mallopt(M_ARENA_MAX, 2);
  // A peer that went away must fail the write (EPIPE), not end the process:
  // sendfile() cannot be told MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  auto loaded = LoadConfigFor(&config_path);
  if (!loaded.ok()) {
    std::cerr << "berth: " << loaded.status().message() << "\n";
    return 2;
  }
  const config::Config& cfg = loaded->config;
  log::Configure(ParseLevel(cfg.log.level), cfg.log.format == "json" ? log::Format::kJson : log::Format::kText);
  auto driver = OpenStorage(cfg);
  if (!driver.ok()) {
    log::Error("cannot open storage", {{"error", driver.status().message()}});
    return 1;
  }

  std::shared_ptr<metadata::Pool> db = OpenMetadata(cfg, **driver);
  if (!db) return 1;
  metadata::MetadataStoreOptions meta_options;
  meta_options.repository_lock_file = RepositoryLockFile(cfg);  // shared with berth gc on SQLite
  metadata::MetadataStore meta(db, meta_options);
  meta.StartPullFlusher();
  // The database's calls run here, never on the I/O threads.
  boost::asio::thread_pool db_threads(DatabaseThreads(cfg));

  boost::asio::thread_pool blocking(2);  // bcrypt runs here, never on the I/O threads
  AuthWiring auth;
  if (!SetUpAuth(*loaded, blocking, db_threads, &auth)) return 1;
  // Users and ACL reload on SIGHUP and when the config file changes.
  // Policies (docs/policies.md) reload with them.
  policy::PolicyHolder policies(loaded->policies);
  std::unique_ptr<AuthReloader> reloader;
  if (!config_path.empty() && auth.service) {
    reloader = std::make_unique<AuthReloader>(config_path, cfg.storage.filesystem_root, *auth.service,
                                              !cfg.users.empty() || !cfg.acl.empty(), AnnounceAdminPassword,
                                              &policies);
  }

  registry::RegistryOptions ropts{cfg.storage.delete_enabled, cfg.server.metrics.enabled, cfg.server.metrics.is_public};
  ropts.redirect_enabled = cfg.storage.redirect_enabled;
  ropts.ui_enabled = cfg.ui.enabled;
  ropts.ui_session_ttl_s = cfg.ui.session_ttl_s;
  ropts.public_url = cfg.server.public_url;
  registry::RegistryApi api(**driver, meta, db_threads, ropts, auth.access.get());
  api.SetPolicies(&policies);
  if (Status s = api.EnableProxy(cfg.proxy); !s.ok()) {
    log::Error("cannot set up the pull-through cache", {{"error", s.message()}});
    return 1;
  }
  for (const auto& u : cfg.proxy) {
    log::Info("pull-through cache", {{"prefix", u.prefix}, {"upstream", u.url}, {"mirror", u.mirror ? "yes" : "no"}});
  }
  // Webhook events (notifications:, docs/events.md): the durable queue and one
  // delivery thread per endpoint; destroyed after the server (requests record into it).
  std::unique_ptr<events::Dispatcher> events;
  if (Status s = StartEvents(cfg, &events); !s.ok()) {
    log::Error("cannot set up notifications", {{"error", s.message()}});
    return 1;
  }
  if (events) api.SetEvents(events.get(), cfg.server.public_url, cfg.server.tls.enabled);
  std::unique_ptr<storage::UploadPurger> purger;
  if (cfg.storage.upload_purging) {
    purger = std::make_unique<storage::UploadPurger>(
        api.uploads(), std::chrono::seconds(cfg.storage.upload_purge_age_s),
        std::chrono::seconds(cfg.storage.upload_purge_interval_s), cfg.storage.upload_purge_dry_run);
  }
  // Online garbage collection (storage.gc, docs/gc.md), next to upload purging.
  storage::BlobStore gc_blobs(**driver);
  storage::ManifestStore gc_manifests(**driver, gc_blobs);
  std::unique_ptr<metadata::GcScheduler> collector;
  if (cfg.storage.gc_enabled) {
    metadata::GcOptions gc_options;
    gc_options.delay_ms = cfg.storage.gc_delay_s * 1000;
    gc_options.delete_untagged = cfg.storage.gc_delete_untagged;
    char host[256] = {};
    (void)gethostname(host, sizeof host - 1);
    gc_options.owner = "berth serve " + std::string(host) + " pid " + std::to_string(getpid()) + " " + RandomHex(4);
    metadata::GcScheduler::RunObserver count = [](const Result<metadata::GcReport>& outcome, double seconds) {
      const double now_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      if (!outcome.ok()) {
        const obs::GcResult r =
            outcome.status().code() == StatusCode::kBusy ? obs::GcResult::kSkipped : obs::GcResult::kFailure;
        obs::Metrics().CountGcRun(r, 0, 0, 0, seconds, now_s);
        return;
      }
      obs::Metrics().CountGcRun(obs::GcResult::kSuccess, outcome->blobs_deleted, outcome->manifests_deleted,
                                outcome->bytes_freed, seconds, now_s);
    };
    // Retention (policies:) runs first in every collection, so the same run frees what it removed.
    gc_options.before_mark = [&policies, &meta, &gc_manifests](bool dry_run) -> Status {
      return RunRetentionInGc(meta, gc_manifests, *policies.Get(), dry_run);
    };
    collector = std::make_unique<metadata::GcScheduler>(meta, **driver, gc_manifests, gc_options,
                                                        std::chrono::seconds(cfg.storage.gc_interval_s), count);
  }

  http::ServerOptions opts = MainServerOptions(cfg);
  // Without authentication there is no AuthReloader: the policies reload on their own.
  std::function<void()> reload;
  if (reloader) {
    reload = [&reloader] { reloader->Reload(); };
  } else if (!config_path.empty()) {
    reload = [&policies, config_path] {
      auto fresh = LoadConfig(config_path);
      if (!fresh.ok()) {
        log::Error("config reload rejected, the running configuration stays", {{"error", fresh.status().message()}});
        return;
      }
      policies.Set(fresh->policies);
      log::Info("policies reloaded", {{"policies", std::to_string(fresh->policies->policies().size())}});
    };
  }
  if (reload) opts.on_reload = reload;
  http::Server server(opts, api);
  if (Status s = server.Listen(); !s.ok()) {
    log::Error("cannot start", {{"error", s.message()}});
    return 1;
  }
  DebugListener debug(api);
  if (!cfg.server.debug_addr.empty()) {
    if (Status s = debug.Start(cfg.server.debug_addr); !s.ok()) {
      log::Error("cannot start the debug listener", {{"error", s.message()}});
      return 1;
    }
  }
  // The config file is polled every 2 s (editors replace files, so the inode counts).
  std::unique_ptr<FileWatcher> watcher;
  if (reload) {
    watcher = std::make_unique<FileWatcher>(
        std::vector<std::string>{config_path}, std::chrono::seconds(2), reload,
        "config.watch.polled");
  }
  const int threads = IoThreads(cfg);
  log::Info("berth listening", {{"version", BERTH_VERSION},
                                {"addr", opts.addr},
                                {"port", std::to_string(server.port())},
                                {"tls", opts.tls ? "on" : "off"},
                                {"auth", cfg.auth.mode},
                                {"storage", (*driver)->Info().Where()},
                                {"metadata", DescribeMetadata(cfg)},
                                {"threads", std::to_string(threads)},
                                {"config", config_path.empty() ? "(embedded defaults)" : config_path}});
  server.Run(threads);
  api.CloseUpstreamConnections();  // while the server's io_context, which they were made on, still exists
  debug.Stop();
  watcher.reset();
  blocking.join();
  db_threads.join();
  // Delivery stops; what is still pending is delivered after the next start.
  if (events) events->Stop();
  meta.StopPullFlusher();  // writes the last pull times
  log::Info("berth stopped");
  return 0;
}

}  // namespace berth::app
