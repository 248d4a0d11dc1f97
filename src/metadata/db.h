// Db: the narrow SQL interface the metadata store is written against, so that
// its statements are written once and run on SQLite (embedded, the default) and
// on PostgreSQL (several replicas). Statements use $1, $2, ... placeholders and
// every value is bound, never spliced into SQL text.
// A Connection is used by one thread at a time; a Pool hands connections out and
// is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/status.h"

namespace berth::metadata {

// A bound parameter or a column value: NULL, a 64-bit integer, or text/bytes.
using Value = std::variant<std::monostate, int64_t, std::string>;

struct Row {
  std::vector<Value> columns;
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(columns.at(i)); }
  int64_t Int(size_t i) const { return std::get<int64_t>(columns.at(i)); }
  const std::string& Text(size_t i) const { return std::get<std::string>(columns.at(i)); }
};

// Result of a statement: the rows it returned and, for INSERT/UPDATE/DELETE, how many it changed.
struct QueryResult {
  std::vector<Row> rows;
  int64_t affected = 0;
};

// Status codes a driver maps its errors onto:
//   kUnavailable  the server cannot be reached / connection lost (the caller may retry later: 503)
//   kConflict     a unique or foreign-key constraint failed, or a serialization failure (retry the transaction)
//   kInvalidArgument  the statement is wrong (a bug)
//   kInternal     anything else
class Connection {
 public:
  virtual ~Connection() = default;
  // Runs one statement with bound parameters. Text columns come back as std::string,
  // integer columns as int64_t, NULL as monostate.
  virtual Result<QueryResult> Execute(std::string_view sql, std::span<const Value> params) = 0;
  // Several statements without parameters (schema migrations).
  virtual Status ExecuteScript(std::string_view sql) = 0;
  virtual Status Begin() = 0;  // BEGIN (SQLite: BEGIN IMMEDIATE)
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  // False once the connection is known to be broken (the pool drops it).
  virtual bool Healthy() const = 0;
};

class Pool {
 public:
  virtual ~Pool() = default;
  // A connection for the caller's exclusive use until the returned handle is destroyed.
  // kUnavailable when none can be opened.
  virtual Result<std::shared_ptr<Connection>> Acquire() = 0;
  // "sqlite" or "postgres": the few places where the SQL dialects differ ask this.
  virtual std::string_view Dialect() const = 0;
};

}  // namespace berth::metadata
