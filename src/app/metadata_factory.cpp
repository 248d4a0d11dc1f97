#include "app/metadata_factory.h"

#include <chrono>
#include <filesystem>

#include "metadata/postgres/pool.h"
#include "metadata/schema.h"
#include "metadata/sqlite_db.h"

namespace berth::app {
namespace {

metadata::postgres::PgConfig PgConfigOf(const config::MetadataConfig& m) {
  metadata::postgres::PgConfig pg;
  pg.host = m.host;
  pg.port = static_cast<int>(m.port);
  pg.dbname = m.dbname;
  pg.user = m.user;
  pg.password = m.password;
  pg.password_file = m.password_file;
  // (config.cpp accepts only the names ParseSslMode knows)
  if (auto mode = metadata::postgres::ParseSslMode(m.sslmode); mode.ok()) pg.sslmode = *mode;
  pg.ca_file = m.ca_file;
  pg.pool_size = static_cast<size_t>(m.pool_size);
  pg.connect_timeout = std::chrono::seconds(m.connect_timeout_s);
  pg.statement_timeout = std::chrono::seconds(m.statement_timeout_s);
  return pg;
}

}  // namespace

Result<std::shared_ptr<metadata::Pool>> OpenMetadataPool(const config::Config& cfg) {
  if (cfg.storage.metadata.driver == "postgres") {
    auto pg = metadata::postgres::PgPool::Create(PgConfigOf(cfg.storage.metadata));
    if (!pg.ok()) return pg.status();
    return std::shared_ptr<metadata::Pool>(std::move(*pg));
  }
  metadata::SqliteOptions o;
  o.path = config::MetadataDbPath(cfg);
  const std::filesystem::path dir = std::filesystem::path(o.path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IoError("cannot create " + dir.string() + " for the metadata database: " + ec.message());
  }
  auto sqlite = metadata::SqlitePool::Open(o);
  if (!sqlite.ok()) return sqlite.status();
  return std::shared_ptr<metadata::Pool>(std::move(*sqlite));
}

Result<std::shared_ptr<metadata::Pool>> OpenMigratedMetadataPool(const config::Config& cfg) {
  auto pool = OpenMetadataPool(cfg);
  if (!pool.ok()) return pool.status();
  auto migrated = metadata::Migrate(**pool);
  if (!migrated.ok()) {
    return Status(migrated.status().code(),
                  "metadata database " + DescribeMetadata(cfg) + ": " + migrated.status().message());
  }
  return *pool;
}

std::string DescribeMetadata(const config::Config& cfg) {
  if (cfg.storage.metadata.driver == "postgres") return PgConfigOf(cfg.storage.metadata).Describe();
  return "sqlite " + config::MetadataDbPath(cfg);
}

std::string RepositoryLockFile(const config::Config& cfg) {
  if (cfg.storage.metadata.driver == "postgres") return "";
  return config::MetadataDbPath(cfg) + ".locks";
}

}  // namespace berth::app
