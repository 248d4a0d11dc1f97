// The metadata database the config names (storage.metadata: embedded SQLite
// in the data directory by default, or PostgreSQL), opened and migrated to the
// binary's schema, and a one-line description of it for the log (never the
// password). Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "metadata/db.h"
#include "util/status.h"

namespace berth::app {

// Opens the pool. SQLite: creates the file when missing (and its directory);
// a locked or corrupt file is an error, nothing overwritten. PostgreSQL: checks
// the settings and reads the password file; connects on first use.
Result<std::shared_ptr<metadata::Pool>> OpenMetadataPool(const config::Config& cfg);

// OpenMetadataPool, then applies pending schema migrations (refusing a
// database newer than this binary).
Result<std::shared_ptr<metadata::Pool>> OpenMigratedMetadataPool(const config::Config& cfg);

// "sqlite /data/metadata.db" or "postgres://berth@db:5432/berth sslmode=verify-full".
std::string DescribeMetadata(const config::Config& cfg);
// SQLite: the file next to the database whose byte locks serialise one
// repository's writes across processes (MetadataStoreOptions::repository_lock_file);
// "" for PostgreSQL (its advisory locks do that).
std::string RepositoryLockFile(const config::Config& cfg);

}  // namespace berth::app
