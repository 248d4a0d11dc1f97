#include "metadata/postgres/connection.h"

#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <utility>

#include "metadata/postgres/scram.h"

namespace berth::metadata::postgres {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// Prepared statements kept per session; statements past this run unnamed
// (parsed every time) instead of growing the server's memory without bound.
constexpr size_t kMaxPreparedStatements = 256;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxParams = 65535;  // the protocol's 16-bit count

bool Contains(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

std::string DescribeError(const error_code& ec) { return http::BlockingSocket::DescribeError(ec); }

}  // namespace

PgConnection::PgConnection(const PgConfig& config)
    : io_(std::make_unique<http::BlockingSocket>("PostgreSQL " + config.host + ":" + std::to_string(config.port))),
      where_("PostgreSQL " + config.host + ":" + std::to_string(config.port)),
      io_timeout_(config.EffectiveIoTimeout()) {}

PgConnection::~PgConnection() {
  if (healthy_ && io_->is_open()) {
    // Best effort and brief: the server ends the session either way.
    (void)io_->WriteAll(wire::Terminate(), Clock::now() + std::chrono::milliseconds(200));
  }
  io_->Close();
}

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const PgConfig& config, const std::string& password,
                                                         asio::ssl::context* tls) {
  const auto deadline = Clock::now() + config.connect_timeout;
  std::unique_ptr<PgConnection> c(new PgConnection(config));
  if (Status s = c->Connect(config, tls, deadline); !s.ok()) return s;
  if (Status s = c->Login(config, password, deadline); !s.ok()) return s;
  return c;
}

Status PgConnection::Break(Status s) {
  healthy_ = false;
  io_->Close();
  return s;
}

Status PgConnection::Connect(const PgConfig& config, asio::ssl::context* tls, Clock::time_point deadline) {
  if (Status s = io_->Connect(config.host, static_cast<uint16_t>(config.port), deadline); !s.ok()) return Break(s);
  if (config.sslmode == SslMode::kDisable) return Status::Ok();
  if (tls == nullptr) return Break(Status::Invalid(where_ + ": TLS requested without a TLS context"));
  if (error_code e = io_->WriteAll(wire::SslRequest(), deadline)) {
    return Break(Status::Unavailable(where_ + ": SSLRequest: " + DescribeError(e)));
  }
  // Exactly one byte: anything after it must come through TLS (CVE-2021-23222).
  char answer = 0;
  if (error_code e = io_->ReadExactly(&answer, 1, deadline)) {
    return Break(Status::Unavailable(where_ + ": SSLRequest: " + DescribeError(e)));
  }
  if (answer == 'N') {
    return Break(Status::Unavailable(where_ + ": the server does not accept TLS (sslmode " +
                                     std::string(SslModeName(config.sslmode)) + ")"));
  }
  if (answer != 'S') return Break(Status::Unavailable(where_ + ": unexpected answer to SSLRequest"));
  const bool verify = config.sslmode == SslMode::kVerifyFull;
  if (Status s = io_->StartTls(*tls, config.host, verify, deadline); !s.ok()) return Break(s);
  return Status::Ok();
}

Status PgConnection::Login(const PgConfig& config, const std::string& password, Clock::time_point deadline) {
  const std::pair<std::string, std::string> parameters[] = {
      {"user", config.user},
      {"database", config.dbname},
      {"application_name", "berth"},
      {"client_encoding", "UTF8"},
  };
  if (Status s = Write(wire::StartupMessage(parameters), deadline); !s.ok()) return s;

  const bool encrypted = io_->encrypted();
  std::unique_ptr<ScramSha256> scram;
  bool scram_verified = false;
  auto refuse = [&](const std::string& why) { return Break(Status::Unavailable(where_ + ": " + why)); };
  for (;;) {
    auto m = Next(deadline);
    if (!m.ok()) return m.status();
    if (auto* a = std::get_if<wire::Authentication>(&*m)) {
      switch (a->kind) {
        case wire::Authentication::kOk:
          // A server that skips the end of SCRAM has not proved it knows the password.
          if (scram && !scram_verified) return refuse("login ended before the server proved its identity (SCRAM)");
          break;
        case wire::Authentication::kCleartextPassword: {
          // Only inside TLS: on plain TCP anyone on the path would read it.
          if (!encrypted) return refuse("the server asks for the password in cleartext without TLS; refused");
          if (password.empty()) return refuse("the server asks for a password and none is configured");
          if (Status s = Write(wire::PasswordMessage(password), deadline); !s.ok()) return s;
          break;
        }
        case wire::Authentication::kMd5Password: {
          if (password.empty()) return refuse("the server asks for a password and none is configured");
          if (a->md5_salt.size() != 4) return refuse("malformed MD5 authentication request");
          const std::string hash = Md5PasswordHash(config.user, password, a->md5_salt);
          if (Status s = Write(wire::PasswordMessage(hash), deadline); !s.ok()) return s;
          break;
        }
        case wire::Authentication::kSasl: {
          if (scram) return refuse("the server restarted SASL authentication");
          if (std::find(a->mechanisms.begin(), a->mechanisms.end(), ScramSha256::kMechanism) == a->mechanisms.end()) {
            return refuse("the server offers no SASL mechanism this client speaks (SCRAM-SHA-256)");
          }
          if (password.empty()) return refuse("the server asks for a password and none is configured");
          // PostgreSQL takes the user from the startup packet; the SCRAM user name stays empty.
          scram = std::make_unique<ScramSha256>("", password);
          const std::string first = scram->ClientFirstMessage();
          if (Status s = Write(wire::SaslInitialResponse(ScramSha256::kMechanism, first), deadline); !s.ok()) {
            return s;
          }
          break;
        }
        case wire::Authentication::kSaslContinue: {
          if (!scram) return refuse("unexpected SASL challenge");
          auto final_message = scram->ClientFinalMessage(a->sasl_data);
          if (!final_message.ok()) return refuse(final_message.status().message());
          if (Status s = Write(wire::SaslResponse(*final_message), deadline); !s.ok()) return s;
          break;
        }
        case wire::Authentication::kSaslFinal: {
          if (!scram) return refuse("unexpected SASL outcome");
          if (Status s = scram->VerifyServerFinal(a->sasl_data); !s.ok()) return refuse(s.message());
          scram_verified = true;
          break;
        }
        default:
          return refuse("the server asks for an authentication method this client does not speak (code " +
                        std::to_string(a->kind) + "; use scram-sha-256)");
      }
    } else if (auto* e = std::get_if<wire::ErrorResponse>(&*m)) {
      // Wrong password, unknown database, too many connections, starting up:
      // the pool cannot open a connection, which is kUnavailable to its callers.
      Status s = wire::StatusFromError(e->fields, where_ + ": login refused");
      return Break(Status::Unavailable(s.message()));
    } else if (auto* k = std::get_if<wire::BackendKeyData>(&*m)) {
      backend_pid_ = k->process_id;
    } else if (auto* z = std::get_if<wire::ReadyForQuery>(&*m)) {
      transaction_status_ = z->transaction_status;
      break;
    } else if (std::holds_alternative<wire::ParameterStatus>(*m) || std::holds_alternative<wire::NoticeResponse>(*m) ||
               std::holds_alternative<wire::NegotiateProtocolVersion>(*m)) {
      continue;
    } else {
      return refuse("unexpected message during login");
    }
  }

  if (config.statement_timeout.count() > 0) {
    // A number Berth formats itself: nothing from outside is spliced in.
    const std::string set = "SET statement_timeout = " + std::to_string(config.statement_timeout.count());
    const auto saved = io_timeout_;
    io_timeout_ = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    Status s = SimpleQuery(set, nullptr);
    io_timeout_ = saved;
    if (!s.ok()) return Break(Status::Unavailable(where_ + ": session setup: " + s.message()));
  }
  return Status::Ok();
}

Status PgConnection::Write(std::string_view bytes, Clock::time_point deadline) {
  if (!healthy_) return Status::Unavailable(where_ + ": the connection is broken");
  if (error_code ec = io_->WriteAll(bytes, deadline)) {
    return Break(Status::Unavailable(where_ + ": connection lost while sending: " + DescribeError(ec)));
  }
  return Status::Ok();
}

Result<wire::BackendMessage> PgConnection::Next(Clock::time_point deadline) {
  for (;;) {
    if (!healthy_) return Status::Unavailable(where_ + ": the connection is broken");
    wire::Frame frame;
    size_t consumed = 0;
    const std::string_view pending = std::string_view(in_).substr(in_pos_);
    const wire::FrameStatus fs = wire::NextFrame(pending, &frame, &consumed);
    if (fs == wire::FrameStatus::kMalformed) {
      return Break(Status::Unavailable(where_ + ": protocol error: bad message length"));
    }
    if (fs == wire::FrameStatus::kFrame) {
      in_pos_ += consumed;
      auto m = wire::DecodeMessage(frame);
      if (!m.ok()) return Break(Status::Unavailable(where_ + ": protocol error: " + m.status().message()));
      return m;
    }
    // Need more: drop what was consumed, then read at least the rest of the
    // message in progress (its length is known once 5 bytes are here).
    in_.erase(0, in_pos_);
    in_pos_ = 0;
    size_t want = kReadChunk;
    if (in_.size() >= 5) {
      const auto* p = reinterpret_cast<const unsigned char*>(in_.data());
      const size_t total = 1 + ((size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | size_t{p[4]});
      if (total > in_.size()) want = std::max(want, total - in_.size());
    }
    const size_t old = in_.size();
    in_.resize(old + want);
    size_t n = 0;
    error_code ec = io_->ReadSome(in_.data() + old, want, &n, deadline);
    in_.resize(old + n);
    if (ec) return Break(Status::Unavailable(where_ + ": connection lost: " + DescribeError(ec)));
  }
}

bool PgConnection::ReadyForReuse() {
  if (!healthy_ || transaction_status_ != 'I') return false;
  const bool readable = in_pos_ != in_.size() || io_->Readable();
  if (readable) {
    (void)Break(Status::Unavailable(where_ + ": the server closed the idle connection"));
    return false;
  }
  return true;
}

Status PgConnection::NoteError(Status s) {
  if (transaction_status_ == 'E' && transaction_error_.ok()) transaction_error_ = s;
  return s;
}

Result<QueryResult> PgConnection::Execute(std::string_view sql, std::span<const Value> params) {
  bool stale = false;
  auto r = ExecuteOnce(sql, params, &stale);
  // A prepared statement whose plan went stale (a migration changed a table it
  // reads) failed without effect; outside a transaction it can simply run
  // again, prepared afresh.
  if (!r.ok() && stale && healthy_ && transaction_status_ == 'I') r = ExecuteOnce(sql, params, &stale);
  return r;
}

Result<QueryResult> PgConnection::ExecuteOnce(std::string_view sql, std::span<const Value> params, bool* stale) {
  *stale = false;
  if (!healthy_) return Status::Unavailable(where_ + ": the connection is broken");
  if (Contains(sql, '\0')) return Status::Invalid("SQL text contains a NUL byte");
  if (params.size() > kMaxParams) return Status::Invalid("more than 65535 parameters");
  const auto deadline = Clock::now() + io_timeout_;

  std::vector<uint32_t> types;
  types.reserve(params.size());
  std::string key(sql);
  key.push_back('\0');
  for (const Value& v : params) {
    if (const auto* s = std::get_if<std::string>(&v); s != nullptr && s->size() > (1u << 30)) {
      return Status::Invalid("a parameter is larger than 1 GiB");
    }
    types.push_back(wire::ParamTypeOf(v));
    key.push_back(types.back() == 0 ? 'u' : 'i');
  }

  std::string out;
  for (const std::string& name : statements_to_close_) out += wire::CloseStatement(name);
  statements_to_close_.clear();
  std::string name;
  bool parsing = false;
  if (auto it = statements_.find(key); it != statements_.end()) {
    name = it->second;
  } else {
    parsing = true;
    if (statements_.size() < kMaxPreparedStatements) name = "berth_" + std::to_string(++next_statement_);
    out += wire::Parse(name, sql, types);
  }
  out += wire::Bind(name, params);
  out += wire::DescribePortal();
  out += wire::Execute();
  out += wire::Sync();
  if (Status s = Write(out, deadline); !s.ok()) return s;

  QueryResult result;
  std::vector<wire::ColumnDescription> columns;
  Status error;
  for (;;) {
    auto m = Next(deadline);
    if (!m.ok()) return m.status();
    if (std::holds_alternative<wire::ParseComplete>(*m)) {
      if (parsing && !name.empty()) statements_.emplace(key, name);
    } else if (auto* d = std::get_if<wire::RowDescription>(&*m)) {
      columns = std::move(d->columns);
    } else if (auto* row = std::get_if<wire::DataRow>(&*m)) {
      auto decoded = wire::DecodeDataRow(row->body, columns);
      if (!decoded.ok()) return Break(Status::Unavailable(where_ + ": protocol error: " + decoded.status().message()));
      result.rows.push_back(std::move(decoded).value());
    } else if (auto* c = std::get_if<wire::CommandComplete>(&*m)) {
      result.affected = wire::AffectedRows(c->tag);
    } else if (auto* e = std::get_if<wire::ErrorResponse>(&*m)) {
      // "cached plan must not change result type" (0A000) or a statement the
      // session lost (26000): prepare it afresh next time.
      if (!parsing && (e->fields.sqlstate == "0A000" || e->fields.sqlstate == "26000")) {
        statements_.erase(key);
        statements_to_close_.push_back(name);
        *stale = true;
      }
    }
    // BindComplete, CloseComplete, NoData, EmptyQueryResponse, PortalSuspended,
    // ParameterStatus, NoticeResponse, NotificationResponse: nothing to do.
    auto end = EndOfReply(*m, &error);
    if (!end.ok()) return end.status();
    if (*end) break;
  }
  if (!error.ok()) {
    // Inside a transaction a stale statement aborted it: the caller's retry of
    // the transaction (kConflict) succeeds, with the statement prepared afresh.
    if (*stale && transaction_status_ != 'I') error = Status::Conflict(error.message());
    return NoteError(error);
  }
  return result;
}

Result<bool> PgConnection::EndOfReply(const wire::BackendMessage& m, Status* error) {
  if (auto* e = std::get_if<wire::ErrorResponse>(&m)) {
    if (error->ok()) *error = wire::StatusFromError(e->fields);
    if (e->fields.severity == "FATAL" || e->fields.severity == "PANIC") {
      return Break(Status::Unavailable(where_ + ": " + error->message()));
    }
  } else if (auto* z = std::get_if<wire::ReadyForQuery>(&m)) {
    transaction_status_ = z->transaction_status;
    return true;
  } else if (std::holds_alternative<wire::Unsupported>(m) || std::holds_alternative<wire::Authentication>(m)) {
    // COPY and the like: the session would wait for data that never comes.
    return Break(Status::Unavailable(where_ + ": unexpected message from the server"));
  }
  return false;
}

Status PgConnection::SimpleQuery(std::string_view sql, std::string* tag) {
  if (!healthy_) return Status::Unavailable(where_ + ": the connection is broken");
  if (Contains(sql, '\0')) return Status::Invalid("SQL text contains a NUL byte");
  const auto deadline = Clock::now() + io_timeout_;
  if (Status s = Write(wire::Query(sql), deadline); !s.ok()) return s;
  Status error;
  for (;;) {
    auto m = Next(deadline);
    if (!m.ok()) return m.status();
    if (auto* c = std::get_if<wire::CommandComplete>(&*m)) {
      if (tag != nullptr) *tag = c->tag;
    }
    // Rows of a script are not returned; the rest needs nothing.
    auto end = EndOfReply(*m, &error);
    if (!end.ok()) return end.status();
    if (*end) break;
  }
  if (!error.ok()) return NoteError(error);
  return Status::Ok();
}

Status PgConnection::ExecuteScript(std::string_view sql) { return SimpleQuery(sql, nullptr); }

Status PgConnection::Begin() {
  if (transaction_status_ != 'I') return Status::Invalid("BEGIN inside a transaction");
  transaction_error_ = Status::Ok();
  return SimpleQuery("BEGIN", nullptr);
}

Status PgConnection::Commit() {
  const Status earlier = transaction_error_;
  std::string tag;
  Status s = SimpleQuery("COMMIT", &tag);
  transaction_error_ = Status::Ok();
  if (!s.ok()) return s;
  // COMMIT of a failed transaction "succeeds" as a ROLLBACK: report why.
  if (tag == "ROLLBACK") {
    if (!earlier.ok()) return Status(earlier.code(), "transaction rolled back: " + earlier.message());
    return Status::Conflict(where_ + ": COMMIT rolled the transaction back");
  }
  return Status::Ok();
}

Status PgConnection::Rollback() {
  transaction_error_ = Status::Ok();
  return SimpleQuery("ROLLBACK", nullptr);
}

}  // namespace berth::metadata::postgres
