// berth db migrate | import | check (see commands.h), and the database check
// `berth verify` runs after its walk of the store.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/commands.h"
#include "app/load_config.h"
#include "app/metadata_factory.h"
#include "app/storage_factory.h"
#include "metadata/import.h"
#include "metadata/schema.h"

namespace berth::app {
namespace {

// The embedded database's file when the config uses SQLite, "" for PostgreSQL.
std::string SqlitePathOf(const config::Config& cfg) {
  if (cfg.storage.metadata.driver == "postgres") return "";
  return config::MetadataDbPath(cfg);
}

// The configured database, opened without creating it and checked to be at
// this binary's schema: what `db check` (and verify) compare the store with.
// An empty pointer with *absent set when there is no SQLite file yet.
Result<std::shared_ptr<metadata::Pool>> OpenExistingDatabase(const config::Config& cfg, bool* absent) {
  *absent = false;
  const std::string file = SqlitePathOf(cfg);
  if (!file.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      *absent = true;
      return std::shared_ptr<metadata::Pool>();
    }
  }
  auto pool = OpenMetadataPool(cfg);
  if (!pool.ok()) return pool.status();
  auto version = metadata::SchemaVersion(**pool);
  if (!version.ok()) {
    return Status(version.status().code(),
                  "metadata database " + DescribeMetadata(cfg) + ": " + version.status().message());
  }
  if (*version != metadata::LatestSchemaVersion()) {
    return Status::Unsupported("metadata database " + DescribeMetadata(cfg) + " is at schema version " +
                               std::to_string(*version) + ", this berth uses version " +
                               std::to_string(metadata::LatestSchemaVersion()) +
                               (*version < metadata::LatestSchemaVersion() ? " (run `berth db migrate`)" : ""));
  }
  return *pool;
}

std::string Counts(const metadata::ImportProgress& p) {
  return std::to_string(p.blobs) + " blobs, " + std::to_string(p.repositories) + " repositories, " +
         std::to_string(p.links) + " layer links, " + std::to_string(p.manifests) + " manifests, " +
         std::to_string(p.tags) + " tags, " + std::to_string(p.skipped) + " skipped";
}

// The config and the read-only store; nullopt (the error written) when either cannot be opened.
struct ConfigAndStore {
  config::Config config;
  std::unique_ptr<storage::StorageDriver> store;
};
std::optional<ConfigAndStore> LoadWithStore(std::string config_path) {
  auto loaded = LoadConfigFor(&config_path);
  if (!loaded.ok()) {
    std::cerr << "berth: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  auto driver = OpenStorageReadOnly(loaded->config);
  if (!driver.ok()) {
    std::cerr << "berth: cannot open storage: " << driver.status().message() << "\n";
    return std::nullopt;
  }
  return ConfigAndStore{std::move(loaded->config), std::move(*driver)};
}

}  // namespace

int CheckMetadataDatabase(const config::Config& cfg, storage::StorageDriver& store, bool optional) {
  bool absent = false;
  auto pool = OpenExistingDatabase(cfg, &absent);
  if (absent) {
    if (optional) {
      std::cout << "metadata database: none at " << SqlitePathOf(cfg) << " (not checked)\n";
      return 0;
    }
    std::cerr << "berth: no metadata database at " << SqlitePathOf(cfg)
              << " (`berth db import` creates it from the store)\n";
    return 2;
  }
  if (!pool.ok()) {
    std::cerr << "berth: " << pool.status().message() << "\n";
    return 2;
  }
  std::cout << "checking metadata database " << DescribeMetadata(cfg) << " against the store\n";
  auto imported = metadata::ImportCompleted(**pool);
  if (imported.ok() && !*imported) {
    std::cout << "note: no import has completed on this database (`berth db import` fills it)\n";
  }
  auto report = metadata::CheckStore(store, **pool);
  if (!report.ok()) {
    std::cerr << "berth: the metadata check could not run: " << report.status().message() << "\n";
    return 2;
  }
  for (const auto& f : report->findings) std::cout << metadata::FormatFinding(f) << "\n";
  for (const auto& n : report->notes) std::cout << "note: " << metadata::FormatFinding(n) << "\n";
  std::cout << metadata::FormatCheckSummary(*report) << "\n";
  return report->clean() ? 0 : 1;
}

int DbMigrate(std::string config_path) {
  auto loaded = LoadConfigFor(&config_path);
  if (!loaded.ok()) {
    std::cerr << "berth: " << loaded.status().message() << "\n";
    return 2;
  }
  const config::Config& cfg = loaded->config;
  auto pool = OpenMetadataPool(cfg);
  if (!pool.ok()) {
    std::cerr << "berth: " << pool.status().message() << "\n";
    return 1;
  }
  auto result = metadata::Migrate(**pool);
  if (!result.ok()) {
    std::cerr << "berth: metadata database " << DescribeMetadata(cfg) << ": " << result.status().message() << "\n";
    return 1;
  }
  std::cout << "metadata database " << DescribeMetadata(cfg) << ": schema version " << result->from << " -> "
            << result->to;
  if (result->applied.empty()) {
    std::cout << " (up to date, nothing applied)\n";
  } else {
    std::cout << " (applied " << result->applied.size() << " migration" << (result->applied.size() == 1 ? "" : "s")
              << ")\n";
  }
  return 0;
}

int DbImport(std::string config_path) {
  auto loaded = LoadWithStore(std::move(config_path));
  if (!loaded) return 2;
  const config::Config& cfg = loaded->config;
  auto pool = OpenMigratedMetadataPool(cfg);
  if (!pool.ok()) {
    std::cerr << "berth: " << pool.status().message() << "\n";
    return 1;
  }
  std::cerr << "importing " << loaded->store->Info().Where() << " into " << DescribeMetadata(cfg) << "\n";
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  // One progress line a second at most: a large store commits hundreds of batches.
  Clock::time_point last_line = start - std::chrono::seconds(1);
  metadata::ImportOptions options;
  options.progress = [&last_line](const metadata::ImportProgress& p) {
    const Clock::time_point now = Clock::now();
    if (p.finished) {
      std::cerr << "import: " << Counts(p) << ", done\n";
      return;
    }
    if (now - last_line < std::chrono::seconds(1)) return;
    last_line = now;
    std::cerr << "import: " << Counts(p) << "\n";
  };
  auto result = metadata::ImportStore(*loaded->store, **pool, options);
  if (!result.ok()) {
    std::cerr << "berth: import failed (run it again: it resumes): " << result.status().message() << "\n";
    return 1;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "imported " << Counts(*result) << " in " << static_cast<int64_t>(seconds * 1000) << " ms\n";
  if (result->skipped > 0) std::cout << "skipped entries are store problems: `berth verify` reports them\n";
  return 0;
}

int DbCheck(std::string config_path) {
  auto loaded = LoadWithStore(std::move(config_path));
  if (!loaded) return 2;
  return CheckMetadataDatabase(loaded->config, *loaded->store, /*optional=*/false);
}

}  // namespace berth::app
