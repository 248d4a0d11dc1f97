// Dialect: the only place where the metadata SQL differs between SQLite and
// PostgreSQL. Everything else (the schema, every statement of the store) is one
// text for both engines.
//
// Schema scripts use these tokens, replaced per Pool::Dialect():
//   {{id}}             an auto-assigned, never reused 64-bit primary key
//                      (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: identity column)
//   {{key}}            a text column that is compared, sorted or paginated: byte order in both
//                      (SQLite's default BINARY; PostgreSQL: COLLATE "C", not the locale's order)
//   {{without_rowid}}  after a table whose primary key is its only lookup path
//                      (SQLite: WITHOUT ROWID, the table is stored as its key's b-tree; PostgreSQL: nothing)
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::metadata::dialect {

// `script` with the tokens above replaced for `dialect` ("sqlite" or "postgres").
Result<std::string> Render(std::string_view dialect, std::string_view script);

// A statement run first inside each migration's transaction so that two processes
// starting at once apply a migration once (empty when BEGIN already serialises writers, as in SQLite).
std::string_view MigrationLock(std::string_view dialect);

// A repository's write lock across processes, held by the session until the
// unlock statement or the session's end; $1 is the repository's name. Empty
// when the engine is served by one process (SQLite: the caller locks in-process).
std::string_view RepositoryLock(std::string_view dialect);
std::string_view RepositoryUnlock(std::string_view dialect);

// Row locks appended to a SELECT (" FOR UPDATE" / " FOR SHARE" on PostgreSQL;
// empty on SQLite, whose BEGIN IMMEDIATE already serialises writers). GC claims
// a blob's row FOR UPDATE; a manifest PUT reads the blobs it references FOR
// SHARE, so the two conflict and the later one sees the earlier one's commit.
std::string_view ForUpdate(std::string_view dialect);
std::string_view ForShare(std::string_view dialect);

}  // namespace berth::metadata::dialect
