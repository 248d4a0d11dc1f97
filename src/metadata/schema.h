// Schema: the metadata database's versioned migrations and the runner that
// applies them (at start, and by `berth db migrate`).
//
// Each migration is a numbered SQL script (dialect tokens: metadata/dialect.h)
// applied in one transaction together with its schema_migrations row, so a
// crash or a failure leaves the database at the previous version. Running the
// migrations again is a no-op (no write lock is taken when nothing is pending);
// a database whose version is newer than this binary knows is refused, never
// touched. Two processes starting at once apply each migration once.
// The tables and their invariants are described in docs/metadata.md.
// Free functions; thread-safe (they only use the Pool).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "metadata/db.h"

namespace berth::metadata {

struct Migration {
  int64_t version;        // 1, 2, 3, ... in order, never renumbered
  std::string_view name;  // a few words, recorded in schema_migrations
  std::string_view sql;   // one or more statements, with dialect tokens
};

// Berth's migrations, oldest first.
std::span<const Migration> Migrations();
// The schema version this binary writes (the last migration's number).
int64_t LatestSchemaVersion();

struct MigrateResult {
  int64_t from = 0;              // version found (0: an empty database)
  int64_t to = 0;                // version now
  std::vector<int64_t> applied;  // migrations this call applied
};

// Brings the database to the newest version. kUnsupported when the database is
// newer than `migrations` know; the failing migration's error otherwise.
Result<MigrateResult> Migrate(Pool& pool, std::span<const Migration> migrations, int64_t now_ms);
Result<MigrateResult> Migrate(Pool& pool);

// The database's schema version (0 when it has none yet).
Result<int64_t> SchemaVersion(Pool& pool);

}  // namespace berth::metadata
