#include "metadata/sqlite_db.h"

#include <sqlite3.h>

#include <charconv>
#include <unordered_map>
#include <utility>

#include "util/mutex.h"

namespace berth::metadata {
namespace {

// Prepared statements kept per connection. The store's statements are a fixed
// set of constants, so this is a safety bound, not a tuning knob.
constexpr size_t kMaxCachedStatements = 256;
// A WAL bigger than this is truncated back after a checkpoint (a large import
// would otherwise leave a WAL file as big as everything it wrote).
constexpr int64_t kJournalSizeLimit = 64 << 20;

bool IsBlank(const char* p) {
  for (; *p != '\0'; ++p) {
    if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != ';') return false;
  }
  return true;
}

// $N -> N (1-based); 0 when the name is not of that form.
size_t PlaceholderNumber(const char* name) {
  if (name == nullptr || name[0] != '$') return 0;
  std::string_view digits(name + 1);
  size_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size()) return 0;
  return n;
}

}  // namespace

// One sqlite3 handle with its statement cache. Used by one thread at a time.
class SqlitePool::Conn : public Connection {
 public:
  Conn(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~Conn() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Result<QueryResult> Execute(std::string_view sql, std::span<const Value> params) override {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = *stmt;
    if (Status b = Bind(s, sql, params); !b.ok()) {
      sqlite3_clear_bindings(s);
      return b;
    }
    QueryResult result;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const int n = sqlite3_column_count(s);
      Row row;
      row.columns.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) row.columns.push_back(Column(s, i));
      result.rows.push_back(std::move(row));
    }
    if (rc == SQLITE_DONE && !sqlite3_stmt_readonly(s)) result.affected = sqlite3_changes64(db_);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) return Error(rc, "statement failed");
    return result;
  }

  Status ExecuteScript(std::string_view sql) override {
    std::string text(sql);  // sqlite3_exec needs a terminated string
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) return Error(rc, "script failed: " + message);
    return Status::Ok();
  }

  // IMMEDIATE: the write lock is taken at BEGIN, so two writers queue on the
  // busy timeout instead of one failing at its first write (SQLITE_BUSY_SNAPSHOT).
  Status Begin() override { return Simple("BEGIN IMMEDIATE"); }
  Status Commit() override { return Simple("COMMIT"); }
  Status Rollback() override {
    if (sqlite3_get_autocommit(db_) != 0) return Status::Ok();  // nothing open (SQLite rolled back already)
    return Simple("ROLLBACK");
  }
  bool Healthy() const override { return !broken_; }
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // Maps an SQLite result code onto the Db interface's codes. Called right after
  // the failing call, so sqlite3_errmsg still describes it.
  Status Error(int rc, const std::string& what) {
    const std::string message = "metadata database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_);
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED: return Status::Unavailable(message + " (locked by another connection or process)");
      case SQLITE_CONSTRAINT: return Status::Conflict(message);
      case SQLITE_FULL: return Status::NoSpace(message);
      case SQLITE_ERROR:
      case SQLITE_RANGE:
      case SQLITE_MISUSE: return Status::Invalid(message);
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
      case SQLITE_IOERR:
      case SQLITE_CANTOPEN: broken_ = true; return Status::IoError(message);
      default: return Status::IoError(message);
    }
  }

 private:
  Status Simple(const char* sql) {
    auto r = Execute(sql, {});
    return r.status();
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc =
        sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size() + 1), SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return Error(rc, "cannot prepare \"" + key + "\"");
    if (stmt == nullptr) return Status::Invalid("empty statement");
    if (tail != nullptr && !IsBlank(tail)) {
      sqlite3_finalize(stmt);
      return Status::Invalid("Execute takes one statement; use ExecuteScript for several");
    }
    if (cache_.size() >= kMaxCachedStatements) {
      for (auto& [text, old] : cache_) sqlite3_finalize(old);
      cache_.clear();
    }
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  // Binds params[N-1] to every $N. Like PostgreSQL, the statement must use
  // exactly the parameters given: $1..$k with k == params.size().
  Status Bind(sqlite3_stmt* s, std::string_view sql, std::span<const Value> params) {
    const int count = sqlite3_bind_parameter_count(s);
    size_t highest = 0;
    for (int i = 1; i <= count; ++i) {
      const size_t n = PlaceholderNumber(sqlite3_bind_parameter_name(s, i));
      if (n == 0) return Status::Invalid("placeholders must be $1, $2, ...: " + std::string(sql));
      if (n > params.size()) {
        return Status::Invalid("statement uses $" + std::to_string(n) + " but " + std::to_string(params.size()) +
                               " parameters were given: " + std::string(sql));
      }
      highest = std::max(highest, n);
      const Value& v = params[n - 1];
      int rc = SQLITE_OK;
      if (const auto* i64 = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(s, i, *i64);
      } else if (const auto* text = std::get_if<std::string>(&v)) {
        // STATIC: the caller's strings outlive the step; bindings are cleared after it.
        rc = sqlite3_bind_text64(s, i, text->data(), text->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(s, i);
      }
      if (rc != SQLITE_OK) return Error(rc, "cannot bind $" + std::to_string(n));
    }
    if (highest != params.size()) {
      return Status::Invalid(std::to_string(params.size()) + " parameters given but the statement uses " +
                             std::to_string(highest) + ": " + std::string(sql));
    }
    return Status::Ok();
  }

  static Value Column(sqlite3_stmt* s, int i) {
    switch (sqlite3_column_type(s, i)) {
      case SQLITE_NULL: return std::monostate{};
      case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(s, i));
      case SQLITE_FLOAT: return static_cast<int64_t>(sqlite3_column_double(s, i));
      default: {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
        const int n = sqlite3_column_bytes(s, i);
        return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n));
      }
    }
  }

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  bool broken_ = false;
};

struct SqlitePool::Idle {
  Mutex mu;
  std::vector<std::unique_ptr<Conn>> conns GUARDED_BY(mu);
  size_t max = 0;  // set before the pool is shared, then read-only
};

SqlitePool::SqlitePool(SqliteOptions options) : options_(std::move(options)), idle_(std::make_shared<Idle>()) {
  idle_->max = options_.max_idle_connections;
}

SqlitePool::~SqlitePool() = default;

Result<std::shared_ptr<SqlitePool>> SqlitePool::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::Invalid("metadata database: no file path");
  std::shared_ptr<SqlitePool> pool(new SqlitePool(options));
  // The first connection proves the file usable now, at start, rather than at
  // the first request; it then stays in the pool.
  auto conn = pool->OpenConnection();
  if (!conn.ok()) return conn.status();
  MutexLock lock(pool->idle_->mu);
  pool->idle_->conns.push_back(std::move(*conn));
  return pool;
}

Result<std::unique_ptr<SqlitePool::Conn>> SqlitePool::OpenConnection() {
  const std::string& path = options_.path;
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is used by one thread at a time (the Connection contract).
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("metadata database " + path + " cannot be opened: " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options_.busy_timeout_ms);
  auto conn = std::make_unique<Conn>(db, path);

  // Each step reads the file before anything could write to it: a file that is
  // not a database fails at journal_mode (its header), a damaged schema at the
  // sqlite_master read, and nothing has been written by then.
  auto fail = [&](const Status& s) -> Status {
    if (s.code() == StatusCode::kUnavailable) {
      return Status::Unavailable("metadata database " + path + " is locked by another process (still busy after " +
                                 std::to_string(options_.busy_timeout_ms) + " ms): " + s.message());
    }
    if (s.code() == StatusCode::kIoError) {
      return Status::IoError("metadata database " + path +
                             " is corrupt or not a SQLite database; it was left untouched (move it aside to start "
                             "over, then `berth db import` rebuilds it from the store): " +
                             s.message());
    }
    return s;
  };
  if (Status s = conn->ExecuteScript("PRAGMA foreign_keys=ON"); !s.ok()) return fail(s);
  auto mode = conn->Execute("PRAGMA journal_mode=WAL", {});
  if (!mode.ok()) return fail(mode.status());
  if (mode->rows.empty() || mode->rows[0].columns.empty() ||
      !std::holds_alternative<std::string>(mode->rows[0].columns[0]) || mode->rows[0].Text(0) != "wal") {
    return Status::IoError("metadata database " + path + " cannot use WAL mode (a filesystem without shared memory?)");
  }
  const std::string pragmas =
      "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimit) + ";";
  if (Status s = conn->ExecuteScript(pragmas); !s.ok()) return fail(s);
  auto probe = conn->Execute("SELECT count(*) FROM sqlite_master", {});
  if (!probe.ok()) return fail(probe.status());
  return conn;
}

Result<std::shared_ptr<Connection>> SqlitePool::Acquire() {
  std::unique_ptr<Conn> conn;
  {
    MutexLock lock(idle_->mu);
    if (!idle_->conns.empty()) {
      conn = std::move(idle_->conns.back());
      idle_->conns.pop_back();
    }
  }
  if (!conn) {
    auto opened = OpenConnection();
    if (!opened.ok()) {
      // A file that opened at start and fails now is unreachable for the caller: 503.
      if (opened.status().code() == StatusCode::kUnavailable) return opened.status();
      return Status::Unavailable(opened.status().message());
    }
    conn = std::move(*opened);
  }
  std::weak_ptr<Idle> idle = idle_;
  // The handle returns the connection to the pool, unless it broke or the pool is gone.
  auto release = [idle](Connection* c) {
    std::unique_ptr<Conn> owned(static_cast<Conn*>(c));
    if (owned->InTransaction()) (void)owned->Rollback();  // a caller that returned early
    auto pool = idle.lock();
    if (!pool || !owned->Healthy() || owned->InTransaction()) return;
    MutexLock lock(pool->mu);
    if (pool->conns.size() < pool->max) pool->conns.push_back(std::move(owned));
  };
  return std::shared_ptr<Connection>(conn.release(), release);
}

}  // namespace berth::metadata
