// SqlitePool: the embedded metadata database (the default), a Db Pool over one
// SQLite 3 file.
//
// Settings, applied to every connection (docs/metadata.md says why):
//   journal_mode=WAL      readers never wait for the writer; a crash mid-write leaves the
//                         last committed state
//   synchronous=FULL      every COMMIT fsyncs the WAL before it returns, so a transaction the
//                         registry acknowledged survives a power loss, not only a process crash
//                         (NORMAL would defer the fsync to the next checkpoint)
//   foreign_keys=ON       the schema's references are enforced (GC's safety net)
//   busy_timeout          a writer waits for another writer instead of failing at once
// Statements use $1, $2, ... placeholders: SQLite reads `$1` as a parameter *named* "$1"
// and numbers named parameters by first appearance, so values are bound by name
// ($N gets params[N-1]) whatever order the placeholders appear in.
// Each connection caches its prepared statements by SQL text.
//
// Opening fails with a clear Status and never writes to a file it cannot use:
//   kUnavailable  the file is locked by another process (busy past the timeout)
//   kIoError      the file is not a SQLite database or is corrupt, or cannot be opened
//
// Thread-safety: the pool is thread-safe; a connection is used by one thread at a time.
// Several processes (berth serve and berth gc) may open the same file at once.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metadata/db.h"

namespace berth::metadata {

struct SqliteOptions {
  std::string path;                 // the database file; created when missing
  int busy_timeout_ms = 5000;       // how long a statement waits for another writer
  size_t max_idle_connections = 8;  // connections kept open between uses
};

class SqlitePool : public Pool {
 public:
  // Opens (creating when missing) the file and checks it is a usable database.
  static Result<std::shared_ptr<SqlitePool>> Open(const SqliteOptions& options);
  ~SqlitePool() override;

  Result<std::shared_ptr<Connection>> Acquire() override;
  std::string_view Dialect() const override { return "sqlite"; }
  const std::string& path() const { return options_.path; }

 private:
  class Conn;
  struct Idle;
  explicit SqlitePool(SqliteOptions options);
  Result<std::unique_ptr<Conn>> OpenConnection();

  SqliteOptions options_;
  // Shared with the handles Acquire returns, so a handle may outlive the pool.
  std::shared_ptr<Idle> idle_;
};

}  // namespace berth::metadata
