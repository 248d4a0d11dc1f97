// PgConnection: one session with a PostgreSQL server over protocol 3.0, spoken
// natively on Asio and OpenSSL (libpq cannot be linked into the static binary:
// docs/postgres-client.md). Synchronous: every call blocks its thread until the
// server answered or a deadline passed; each connection drives its own
// io_context, as the S3 client's connections do.
//
// Statements run through the extended query protocol with every parameter bound
// (Parse/Bind/Describe/Execute/Sync in one write); each distinct statement is
// prepared once per connection under a name and reused. Scripts run through the
// simple query protocol. Server errors map onto StatusCodes (wire.h); a lost
// connection, a protocol error or a missed deadline marks the connection broken
// (Healthy() false) and returns kUnavailable.
//
// Not thread-safe: used by one thread at a time (the pool hands it out exclusively).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/blocking_socket.h"
#include "metadata/db.h"
#include "metadata/postgres/config.h"
#include "metadata/postgres/wire.h"

namespace boost::asio::ssl {
class context;
}

namespace berth::metadata::postgres {

class PgConnection final : public Connection {
 public:
  // Connects to config.host:port, negotiates TLS per config.sslmode with `tls`
  // (required unless kDisable), logs in as config.user with `password` and sets
  // the session's statement_timeout: all within config.connect_timeout.
  // kUnavailable on any failure, with the reason (refused, timed out, TLS,
  // "password authentication failed ... (SQLSTATE 28P01)").
  static Result<std::unique_ptr<PgConnection>> Open(const PgConfig& config, const std::string& password,
                                                    boost::asio::ssl::context* tls);
  ~PgConnection() override;  // says goodbye (Terminate) when still healthy
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Result<QueryResult> Execute(std::string_view sql, std::span<const Value> params) override;
  Status ExecuteScript(std::string_view sql) override;
  Status Begin() override;
  Status Commit() override;
  Status Rollback() override;
  bool Healthy() const override { return healthy_; }

  // 'I' idle, 'T' in a transaction, 'E' in a failed transaction.
  char TransactionStatus() const { return transaction_status_; }
  // For the pool, before handing an idle connection out again: false (and the
  // connection marked broken) when the server wrote something since the last
  // exchange. An idle session only hears from the server when it is being
  // closed (shutdown, idle timeout, terminated backend), so this catches a
  // restarted server without a round trip.
  bool ReadyForReuse();
  int32_t BackendPid() const { return backend_pid_; }

 private:
  using Clock = std::chrono::steady_clock;

  explicit PgConnection(const PgConfig& config);
  Status Connect(const PgConfig& config, boost::asio::ssl::context* tls, Clock::time_point deadline);
  Status Login(const PgConfig& config, const std::string& password, Clock::time_point deadline);

  // Socket steps; any failure breaks the connection and returns kUnavailable.
  Status Write(std::string_view bytes, Clock::time_point deadline);
  // The next message from the server. Views in it (DataRow) stay valid until
  // the next call. Malformed input breaks the connection.
  Result<wire::BackendMessage> Next(Clock::time_point deadline);
  // Marks the connection broken, closes the socket and returns `s`.
  Status Break(Status s);

  // One Parse/Bind/Execute round trip; *stale: it failed on a stale prepared statement.
  Result<QueryResult> ExecuteOnce(std::string_view sql, std::span<const Value> params, bool* stale);
  // Runs `sql` with the simple query protocol; rows are discarded. *tag: the
  // last CommandComplete tag.
  Status SimpleQuery(std::string_view sql, std::string* tag);
  // Remembers the first failure inside a transaction for Commit to report.
  Status NoteError(Status s);
  // What every reply loop does alike with message `m`: keeps the first error in
  // *error (a FATAL one breaks the connection), notes the transaction status at
  // ReadyForQuery (true: the reply is over), and breaks the connection on a
  // message that would leave the session waiting (COPY and the like).
  Result<bool> EndOfReply(const wire::BackendMessage& m, Status* error);

  std::unique_ptr<http::BlockingSocket> io_;
  std::string where_;  // "PostgreSQL host:port" for messages
  std::chrono::milliseconds io_timeout_;
  std::string in_;  // bytes read but not yet consumed, from in_pos_
  size_t in_pos_ = 0;
  bool healthy_ = true;
  char transaction_status_ = 'I';
  Status transaction_error_;  // the first error since BEGIN
  int32_t backend_pid_ = 0;

  // Prepared statements of this session: statement text + parameter types -> name.
  std::unordered_map<std::string, std::string> statements_;
  std::vector<std::string> statements_to_close_;  // invalidated ones, closed with the next statement
  uint64_t next_statement_ = 0;
};

}  // namespace berth::metadata::postgres
