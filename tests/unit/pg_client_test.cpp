// The native PostgreSQL client (src/metadata/postgres/).
// PgWire.*, PgScram.*, PgConfigTest.*, PgPoolOffline.*: no server needed.
// PgClient.*, PgServerRestart.*: against a real PostgreSQL started by the ctest
// fixture "pg" (tests/tools/postgres.sh); they skip without BERTH_TEST_PG_PORT
// (run them with `ctest -R '^pg\.'`).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "metadata/postgres/pool.h"
#include "metadata/postgres/scram.h"
#include "metadata/postgres/wire.h"
#include "temp_dir.h"

namespace berth::metadata::postgres {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- Helpers -------------------------------------------------------------------

std::string Int32Bytes(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  return {static_cast<char>(u >> 24), static_cast<char>(u >> 16), static_cast<char>(u >> 8), static_cast<char>(u)};
}
std::string Int16Bytes(int16_t v) {
  const auto u = static_cast<uint16_t>(v);
  return {static_cast<char>(u >> 8), static_cast<char>(u)};
}
std::string Msg(char type, const std::string& body) {
  return std::string(1, type) + Int32Bytes(static_cast<int32_t>(body.size() + 4)) + body;
}
std::string Column(const std::string& name, uint32_t oid) {
  return name + std::string(1, '\0') + Int32Bytes(0) + Int16Bytes(0) + Int32Bytes(static_cast<int32_t>(oid)) +
         Int16Bytes(8) + Int32Bytes(-1) + Int16Bytes(0);
}
std::string Cell(const std::string& v) { return Int32Bytes(static_cast<int32_t>(v.size())) + v; }

int64_t Ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// ---- Wire format ----------------------------------------------------------------

TEST(PgWire, SplitsFramesAndWaitsForPartialOnes) {
  const std::string two = Msg('Z', "I") + Msg('C', std::string("SELECT 1\0", 9));
  wire::Frame f;
  size_t used = 0;
  ASSERT_EQ(wire::NextFrame(two, &f, &used), wire::FrameStatus::kFrame);
  EXPECT_EQ(f.type, 'Z');
  EXPECT_EQ(f.body, "I");
  EXPECT_EQ(used, 6u);
  ASSERT_EQ(wire::NextFrame(std::string_view(two).substr(used), &f, &used), wire::FrameStatus::kFrame);
  EXPECT_EQ(f.type, 'C');
  for (size_t n = 0; n < 6; ++n) {
    EXPECT_EQ(wire::NextFrame(std::string_view(two).substr(0, n), &f, &used), wire::FrameStatus::kNeedMore) << n;
  }
  // A length word below 4 or over the limit is a broken peer, not "need more".
  EXPECT_EQ(wire::NextFrame(std::string("Z") + Int32Bytes(3), &f, &used), wire::FrameStatus::kMalformed);
  EXPECT_EQ(wire::NextFrame(std::string("D") + Int32Bytes(0x7fffffff), &f, &used), wire::FrameStatus::kMalformed);
  EXPECT_EQ(wire::NextFrame(std::string("D") + Int32Bytes(-1), &f, &used), wire::FrameStatus::kMalformed);
}

TEST(PgWire, DecodesRowsByColumnType) {
  const std::string desc = Int16Bytes(6) + Column("a", wire::kOidInt8) + Column("b", wire::kOidInt4) +
                           Column("c", wire::kOidInt2) + Column("d", 25) + Column("e", 16) + Column("f", 25);
  auto m = wire::DecodeMessage({'T', desc});
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto& columns = std::get<wire::RowDescription>(*m).columns;
  ASSERT_EQ(columns.size(), 6u);
  EXPECT_EQ(columns[3].name, "d");
  const std::string row =
      Int16Bytes(6) + Cell("-9223372036854775808") + Cell("42") + Cell("-7") + Cell("x'y") + Cell("t") + Int32Bytes(-1);
  auto r = wire::DecodeDataRow(row, columns);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Int(0), INT64_MIN);
  EXPECT_EQ(r->Int(1), 42);
  EXPECT_EQ(r->Int(2), -7);
  EXPECT_EQ(r->Text(3), "x'y");
  EXPECT_EQ(r->Text(4), "t");
  EXPECT_TRUE(r->IsNull(5));
}

TEST(PgWire, RejectsMalformedMessages) {
  const std::string desc = Int16Bytes(1) + Column("n", wire::kOidInt8);
  auto cols = std::get<wire::RowDescription>(*wire::DecodeMessage({'T', desc})).columns;
  EXPECT_FALSE(wire::DecodeDataRow(Int16Bytes(2) + Cell("1") + Cell("2"), cols).ok());  // count mismatch
  EXPECT_FALSE(wire::DecodeDataRow(Int16Bytes(1) + Int32Bytes(5) + "12", cols).ok());   // truncated
  EXPECT_FALSE(wire::DecodeDataRow(Int16Bytes(1) + Int32Bytes(-2), cols).ok());         // bad length
  EXPECT_FALSE(wire::DecodeDataRow(Int16Bytes(1) + Cell("12x"), cols).ok());            // not an integer
  EXPECT_FALSE(wire::DecodeDataRow(Int16Bytes(1) + Cell("99999999999999999999"), cols).ok());
  EXPECT_FALSE(wire::DecodeDataRow(Int16Bytes(1) + Cell("1") + "junk", cols).ok());  // trailing bytes
  EXPECT_FALSE(wire::DecodeMessage({'T', desc.substr(0, desc.size() - 1)}).ok());
  EXPECT_FALSE(wire::DecodeMessage({'T', Int16Bytes(-1)}).ok());
  EXPECT_FALSE(wire::DecodeMessage({'Z', "X"}).ok());
  EXPECT_FALSE(wire::DecodeMessage({'Z', ""}).ok());
  EXPECT_FALSE(wire::DecodeMessage({'C', "SELECT 1"}).ok());  // no terminator
  EXPECT_FALSE(wire::DecodeMessage({'E', std::string("Mmsg", 4)}).ok());
  EXPECT_FALSE(wire::DecodeMessage({'R', Int32Bytes(5) + "ab"}).ok());  // MD5 salt too short
  EXPECT_FALSE(wire::DecodeMessage({'1', "x"}).ok());
  EXPECT_TRUE(std::holds_alternative<wire::Unsupported>(*wire::DecodeMessage({'G', ""})));
}

TEST(PgWire, DecodesErrorsAndAuthentication) {
  const std::string body = std::string("SERROR\0VERROR\0C23505\0Mduplicate key\0Dkey (a)=(1)\0\0", 50);
  auto m = wire::DecodeMessage({'E', body});
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto& e = std::get<wire::ErrorResponse>(*m).fields;
  EXPECT_EQ(e.severity, "ERROR");
  EXPECT_EQ(e.sqlstate, "23505");
  EXPECT_EQ(e.message, "duplicate key");
  auto sasl = wire::DecodeMessage({'R', Int32Bytes(10) + std::string("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", 34)});
  ASSERT_TRUE(sasl.ok()) << sasl.status().message();
  const auto& a = std::get<wire::Authentication>(*sasl);
  EXPECT_EQ(a.kind, wire::Authentication::kSasl);
  ASSERT_EQ(a.mechanisms.size(), 2u);
  EXPECT_EQ(a.mechanisms[1], "SCRAM-SHA-256");
}

TEST(PgWire, EncodesBindWithTextNullAndIntegers) {
  const std::vector<Value> params{Value{std::monostate{}}, Value{int64_t{-12}}, Value{std::string("a\\'b")}};
  const std::string b = wire::Bind("s1", params);
  const std::string want_body = std::string("\0s1\0", 4) + Int16Bytes(0) + Int16Bytes(3) + Int32Bytes(-1) +
                                Cell("-12") + Cell("a\\'b") + Int16Bytes(0);
  EXPECT_EQ(b, Msg('B', want_body));
  EXPECT_EQ(wire::ParamTypeOf(params[0]), 0u);
  EXPECT_EQ(wire::ParamTypeOf(params[1]), wire::kOidInt8);
  EXPECT_EQ(wire::ParamTypeOf(params[2]), 0u);
  EXPECT_EQ(wire::Sync(), Msg('S', ""));
  EXPECT_EQ(wire::SslRequest(), Int32Bytes(8) + Int32Bytes(80877103));
}

TEST(PgWire, AffectedRowsFromTags) {
  EXPECT_EQ(wire::AffectedRows("INSERT 0 5"), 5);
  EXPECT_EQ(wire::AffectedRows("UPDATE 3"), 3);
  EXPECT_EQ(wire::AffectedRows("DELETE 0"), 0);
  EXPECT_EQ(wire::AffectedRows("SELECT 12"), 12);
  EXPECT_EQ(wire::AffectedRows("MERGE 2"), 2);
  EXPECT_EQ(wire::AffectedRows("CREATE TABLE"), 0);
  EXPECT_EQ(wire::AffectedRows("BEGIN"), 0);
  EXPECT_EQ(wire::AffectedRows("ALTER TABLE 5"), 0);
  EXPECT_EQ(wire::AffectedRows("UPDATE x"), 0);
}

TEST(PgWire, SqlStatesMapOntoStatusCodes) {
  EXPECT_EQ(wire::CodeForSqlState("23505"), StatusCode::kConflict);  // unique_violation
  EXPECT_EQ(wire::CodeForSqlState("23503"), StatusCode::kConflict);  // foreign_key_violation
  EXPECT_EQ(wire::CodeForSqlState("40001"), StatusCode::kConflict);  // serialization_failure
  EXPECT_EQ(wire::CodeForSqlState("40P01"), StatusCode::kConflict);  // deadlock_detected
  EXPECT_EQ(wire::CodeForSqlState("08006"), StatusCode::kUnavailable);
  EXPECT_EQ(wire::CodeForSqlState("57P01"), StatusCode::kUnavailable);      // admin_shutdown
  EXPECT_EQ(wire::CodeForSqlState("57014"), StatusCode::kUnavailable);      // statement timeout
  EXPECT_EQ(wire::CodeForSqlState("53300"), StatusCode::kUnavailable);      // too_many_connections
  EXPECT_EQ(wire::CodeForSqlState("42601"), StatusCode::kInvalidArgument);  // syntax_error
  EXPECT_EQ(wire::CodeForSqlState("42P01"), StatusCode::kInvalidArgument);  // undefined_table
  EXPECT_EQ(wire::CodeForSqlState("22P02"), StatusCode::kIoError);
  EXPECT_EQ(wire::CodeForSqlState("40003"), StatusCode::kIoError);
  EXPECT_EQ(wire::CodeForSqlState(""), StatusCode::kIoError);
  wire::ErrorFields e;
  e.sqlstate = "23505";
  e.message = "duplicate key value violates unique constraint \"t_pkey\"";
  Status s = wire::StatusFromError(e, "insert");
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.message(),
            "insert: PostgreSQL: duplicate key value violates unique constraint \"t_pkey\" (SQLSTATE 23505)");
}

// ---- Authentication -------------------------------------------------------------

// RFC 7677 section 3, the SCRAM-SHA-256 example exchange.
TEST(PgScram, Rfc7677Example) {
  ScramSha256 scram("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(scram.ClientFirstMessage(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto final_message = scram.ClientFinalMessage(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(final_message.ok()) << final_message.status().message();
  EXPECT_EQ(*final_message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_TRUE(scram.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
  EXPECT_FALSE(scram.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=").ok());
  EXPECT_FALSE(scram.VerifyServerFinal("v=AAAA").ok());
  EXPECT_FALSE(scram.VerifyServerFinal("e=invalid-proof").ok());
  EXPECT_FALSE(scram.VerifyServerFinal("").ok());
}

TEST(PgScram, RefusesBadServerFirstMessages) {
  auto try_first = [](const std::string& server_first) {
    ScramSha256 scram("", "pencil", "abc");
    (void)scram.ClientFirstMessage();
    return scram.ClientFinalMessage(server_first).ok();
  };
  EXPECT_TRUE(try_first("r=abcdef,s=QUJD,i=4096"));
  EXPECT_FALSE(try_first("r=xyzdef,s=QUJD,i=4096"));  // not our nonce
  EXPECT_FALSE(try_first("r=abc,s=QUJD,i=4096"));     // nothing added by the server
  EXPECT_FALSE(try_first("r=abcdef,s=QUJD,i=0"));
  EXPECT_FALSE(try_first("r=abcdef,s=QUJD,i=999999999"));  // a hostile iteration count
  EXPECT_FALSE(try_first("r=abcdef,s=QUJ,i=4096"));        // bad base64
  EXPECT_FALSE(try_first("r=abcdef,s=,i=4096"));
  EXPECT_FALSE(try_first("m=ext,r=abcdef,s=QUJD,i=4096"));
  EXPECT_FALSE(try_first("s=QUJD,r=abcdef,i=4096"));
  EXPECT_FALSE(try_first(""));
  // A server signature before any proof was computed is refused.
  ScramSha256 fresh("", "pencil", "abc");
  EXPECT_FALSE(fresh.VerifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").ok());
}

TEST(PgScram, Md5Response) {
  EXPECT_EQ(Md5PasswordHash("berth", "berth", std::string("\x01\x02\x03\x04", 4)),
            "md50b0b34123e8f014aa393cc3e14547dcd");
}

// ---- Configuration and offline pool behaviour --------------------------------------

TEST(PgConfigTest, SslModesAndValidation) {
  EXPECT_EQ(*ParseSslMode("disable"), SslMode::kDisable);
  EXPECT_EQ(*ParseSslMode("require"), SslMode::kRequire);
  EXPECT_EQ(*ParseSslMode("verify-full"), SslMode::kVerifyFull);
  EXPECT_FALSE(ParseSslMode("prefer").ok());
  PgConfig c;
  c.password = "s3cret-never-logged";
  EXPECT_EQ(c.Describe().find("s3cret"), std::string::npos);
  c.sslmode = SslMode::kRequire;
  c.ca_file = "/nonexistent";
  EXPECT_EQ(PgPool::Create(c).status().code(), StatusCode::kInvalidArgument);
  c = PgConfig{};
  c.sslmode = SslMode::kVerifyFull;
  c.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(PgPool::Create(c).status().code(), StatusCode::kInvalidArgument);
  c = PgConfig{};
  c.pool_size = 0;
  EXPECT_FALSE(PgPool::Create(c).ok());
  c = PgConfig{};
  c.password = "a";
  c.password_file = "/etc/hostname";
  EXPECT_FALSE(PgPool::Create(c).ok());  // both
  c = PgConfig{};
  c.sslmode = SslMode::kDisable;
  c.password_file = "/nonexistent/pw";
  EXPECT_FALSE(PgPool::Create(c).ok());
  EXPECT_EQ(PgConfig{}.EffectiveIoTimeout(), 35s);
  PgConfig no_timeout;
  no_timeout.statement_timeout = 0ms;
  EXPECT_EQ(no_timeout.EffectiveIoTimeout(), 60s);
}

// A TCP port on 127.0.0.1 that accepts connections (the kernel completes the
// handshake from the backlog) but never says anything: a hung server.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) return;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PgPoolOffline, HungServerIsUnavailableWithinTheConnectDeadline) {
  SilentListener hung;
  ASSERT_NE(hung.port(), 0);
  PgConfig c;
  c.port = hung.port();
  c.sslmode = SslMode::kDisable;
  c.connect_timeout = 300ms;
  c.reconnect_backoff = 2s;
  auto pool = PgPool::Create(c);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  auto start = Clock::now();
  auto conn = (*pool)->Acquire();
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(conn.status().message().find("timed out"), std::string::npos) << conn.status().message();
  EXPECT_GE(Ms(Clock::now() - start), 250);
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  // Within the backoff the next caller fails at once instead of waiting again.
  start = Clock::now();
  conn = (*pool)->Acquire();
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(Ms(Clock::now() - start), 100);
  EXPECT_EQ((*pool)->GetStats().open, 0u);
}

TEST(PgPoolOffline, RefusedConnectionIsUnavailableAtOnce) {
  int port = 0;
  {
    SilentListener closed_soon;  // a port that was free a moment ago
    port = closed_soon.port();
  }
  PgConfig c;
  c.port = port;
  c.sslmode = SslMode::kDisable;
  auto pool = PgPool::Create(c);
  ASSERT_TRUE(pool.ok());
  const auto start = Clock::now();
  auto conn = (*pool)->Acquire();
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(conn.status().message().find("cannot connect"), std::string::npos) << conn.status().message();
  EXPECT_LT(Ms(Clock::now() - start), 1000);
  EXPECT_EQ((*pool)->Dialect(), "postgres");
}

// ---- Against a real PostgreSQL ---------------------------------------------------

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool ServerConfigured() { return !Env("BERTH_TEST_PG_PORT").empty(); }

// The fixture's server: roles berth/berth_md5/berth_clear (password "berth"),
// berth_trust; TLS certificate for "localhost" signed by BERTH_TEST_PG_CA_FILE.
PgConfig ServerConfig(const std::string& user = "berth", const std::string& password = "berth") {
  PgConfig c;
  c.host = Env("BERTH_TEST_PG_HOST").empty() ? "127.0.0.1" : Env("BERTH_TEST_PG_HOST");
  c.port = std::atoi(Env("BERTH_TEST_PG_PORT").c_str());
  c.dbname = "berth";
  c.user = user;
  c.password = password;
  c.sslmode = SslMode::kDisable;
  c.pool_size = 4;
  c.connect_timeout = 5s;
  c.statement_timeout = 10s;
  return c;
}

std::unique_ptr<PgPool> MakePool(const PgConfig& c) {
  auto pool = PgPool::Create(c);
  EXPECT_TRUE(pool.ok()) << pool.status().message();
  return pool.ok() ? std::move(pool).value() : nullptr;
}

Result<QueryResult> Query(Connection& c, std::string_view sql, std::vector<Value> params = {}) {
  return c.Execute(sql, params);
}

class PgClient : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ServerConfigured()) GTEST_SKIP() << "BERTH_TEST_PG_PORT not set (ctest -R '^pg\\.' starts PostgreSQL)";
    pool_ = MakePool(ServerConfig());
    ASSERT_NE(pool_, nullptr);
    auto c = pool_->Acquire();
    ASSERT_TRUE(c.ok()) << c.status().message();
    conn_ = *c;
    // Each test gets its own tables, named after it.
    table_ = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& ch : table_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_TRUE(conn_->ExecuteScript("DROP TABLE IF EXISTS " + table_).ok());
  }
  void TearDown() override {
    if (conn_ && conn_->Healthy()) (void)conn_->ExecuteScript("DROP TABLE IF EXISTS " + table_);
  }

  std::unique_ptr<PgPool> pool_;
  std::shared_ptr<Connection> conn_;
  std::string table_;
};

// The fixture's pg_hba.conf lets "berth" in by scram-sha-256 only.
TEST_F(PgClient, ScramLoginAndSessionSettings) {
  auto r = Query(*conn_,
                 "SELECT current_user, current_setting('application_name'), "
                 "current_setting('client_encoding'), current_setting('statement_timeout')");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].Text(0), "berth");
  EXPECT_EQ(r->rows[0].Text(1), "berth");
  EXPECT_EQ(r->rows[0].Text(2), "UTF8");
  EXPECT_EQ(r->rows[0].Text(3), "10s");
}

TEST_F(PgClient, WrongPasswordIsAClearError) {
  auto pool = MakePool(ServerConfig("berth", "not-the-password"));
  ASSERT_NE(pool, nullptr);
  auto c = pool->Acquire();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("password authentication failed"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("28P01"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("not-the-password"), std::string::npos);
  auto nopw = MakePool(ServerConfig("berth", ""));
  auto c2 = nopw->Acquire();
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.status().message().find("none is configured"), std::string::npos) << c2.status().message();
}

TEST_F(PgClient, PasswordFile) {
  testing_util::TempDir dir;
  const std::string path = dir.path() + "/pw";
  std::ofstream(path) << "berth\n";
  PgConfig c = ServerConfig("berth", "");
  c.password_file = path;
  auto pool = MakePool(c);
  auto conn = pool->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status().message();
}

TEST_F(PgClient, Md5TrustAndCleartextLogins) {
  auto md5 = MakePool(ServerConfig("berth_md5", "berth"))->Acquire();
  ASSERT_TRUE(md5.ok()) << md5.status().message();
  auto trust = MakePool(ServerConfig("berth_trust", ""))->Acquire();
  ASSERT_TRUE(trust.ok()) << trust.status().message();
  // Cleartext on plain TCP is refused by the client; inside TLS it is fine.
  auto clear = MakePool(ServerConfig("berth_clear", "berth"))->Acquire();
  ASSERT_FALSE(clear.ok());
  EXPECT_NE(clear.status().message().find("cleartext"), std::string::npos) << clear.status().message();
  PgConfig tls = ServerConfig("berth_clear", "berth");
  tls.host = "localhost";
  tls.sslmode = SslMode::kVerifyFull;
  tls.ca_file = Env("BERTH_TEST_PG_CA_FILE");
  auto clear_tls = MakePool(tls)->Acquire();
  ASSERT_TRUE(clear_tls.ok()) << clear_tls.status().message();
}

TEST_F(PgClient, TlsVerifyFull) {
  const std::string ca = Env("BERTH_TEST_PG_CA_FILE");
  const std::string other_ca = Env("BERTH_TEST_PG_OTHER_CA_FILE");
  ASSERT_FALSE(ca.empty());
  ASSERT_FALSE(other_ca.empty());
  PgConfig c = ServerConfig();
  c.host = "localhost";  // the name in the server's certificate
  c.sslmode = SslMode::kVerifyFull;
  c.ca_file = ca;
  auto pool = MakePool(c);
  auto conn = pool->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  auto r = Query(**conn, "SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].Text(0), "true");
  EXPECT_TRUE(r->rows[0].Text(1) == "TLSv1.3" || r->rows[0].Text(1) == "TLSv1.2") << r->rows[0].Text(1);

  // Another CA: refused.
  c.ca_file = other_ca;
  auto wrong = MakePool(c)->Acquire();
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(wrong.status().message().find("TLS handshake failed"), std::string::npos) << wrong.status().message();
  EXPECT_NE(wrong.status().message().find("certificate verify failed"), std::string::npos) << wrong.status().message();
  // The right CA, but a host name the certificate does not name: refused.
  c.ca_file = ca;
  c.host = "127.0.0.1";
  auto mismatch = MakePool(c)->Acquire();
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("mismatch"), std::string::npos) << mismatch.status().message();
  // require: encrypted without checking the certificate.
  c.sslmode = SslMode::kRequire;
  c.ca_file.clear();
  auto require = MakePool(c)->Acquire();
  ASSERT_TRUE(require.ok()) << require.status().message();
}

TEST_F(PgClient, EveryValueTypeAndNull) {
  auto r = Query(*conn_,
                 "SELECT $1::bigint, $2::int4, $3::int2, $4::text, $5::text, NULL::bigint, true, 1.5::numeric, "
                 "$6, $7",
                 {Value{INT64_MAX}, Value{int64_t{-2147483648}}, Value{int64_t{32767}}, Value{std::string("txt")},
                  Value{std::monostate{}}, Value{INT64_MIN}, Value{std::string("inferred")}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows.size(), 1u);
  const Row& row = r->rows[0];
  ASSERT_EQ(row.columns.size(), 10u);
  EXPECT_EQ(row.Int(0), INT64_MAX);
  EXPECT_EQ(row.Int(1), -2147483648);
  EXPECT_EQ(row.Int(2), 32767);
  EXPECT_EQ(row.Text(3), "txt");
  EXPECT_TRUE(row.IsNull(4));
  EXPECT_TRUE(row.IsNull(5));
  EXPECT_EQ(row.Text(6), "t");
  EXPECT_EQ(row.Text(7), "1.5");
  EXPECT_EQ(row.Int(8), INT64_MIN);  // an untyped integer parameter comes back as an integer
  EXPECT_EQ(row.Text(9), "inferred");

  ASSERT_TRUE(conn_->ExecuteScript("CREATE TABLE " + table_ + " (id BIGINT PRIMARY KEY, name TEXT, n INTEGER)").ok());
  auto ins = Query(*conn_, "INSERT INTO " + table_ + " (id, name, n) VALUES ($1, $2, $3), ($4, $5, $6)",
                   {Value{int64_t{1}}, Value{std::string("one")}, Value{int64_t{10}}, Value{int64_t{2}},
                    Value{std::monostate{}}, Value{std::monostate{}}});
  ASSERT_TRUE(ins.ok()) << ins.status().message();
  EXPECT_EQ(ins->affected, 2);
  auto sel = Query(*conn_, "SELECT id, name, n FROM " + table_ + " WHERE id >= $1 ORDER BY id", {Value{int64_t{0}}});
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  ASSERT_EQ(sel->rows.size(), 2u);
  EXPECT_EQ(sel->rows[0].Int(0), 1);
  EXPECT_EQ(sel->rows[0].Text(1), "one");
  EXPECT_EQ(sel->rows[0].Int(2), 10);
  EXPECT_TRUE(sel->rows[1].IsNull(1));
  EXPECT_TRUE(sel->rows[1].IsNull(2));
  auto upd = Query(*conn_, "UPDATE " + table_ + " SET n = n + 1 WHERE id = $1", {Value{int64_t{1}}});
  ASSERT_TRUE(upd.ok());
  EXPECT_EQ(upd->affected, 1);
  auto del = Query(*conn_, "DELETE FROM " + table_);
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->affected, 2);
  auto none = Query(*conn_, "SELECT id FROM " + table_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rows.empty());
  auto empty = Query(*conn_, "");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
}

TEST_F(PgClient, HostileStringsRoundTripExactly) {
  ASSERT_TRUE(conn_->ExecuteScript("CREATE TABLE " + table_ + " (k BIGINT PRIMARY KEY, v TEXT COLLATE \"C\")").ok());
  std::vector<std::string> hostile = {
      "'",
      "''; DROP TABLE " + table_ + "; --",
      "\\",
      "\\x00\\\\'\\'",
      "E'\\n'",
      "$1 $2 $$ $tag$",
      "\"quoted\" identifier",
      "line\nbreak\r\ttab\x01\x1f\x7f",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3 \xe4\xb8\xad\xe6\x96\x87",  // é € 🐳 中文
      "%_*?[]{}()<>|&;`",
      "",
      std::string(1 << 20, 'x') + "\xf0\x9f\x90\xb3'\\",
  };
  for (size_t i = 0; i < hostile.size(); ++i) {
    auto ins = Query(*conn_, "INSERT INTO " + table_ + " (k, v) VALUES ($1, $2)",
                     {Value{static_cast<int64_t>(i)}, Value{hostile[i]}});
    ASSERT_TRUE(ins.ok()) << i << ": " << ins.status().message();
    auto echo = Query(*conn_, "SELECT $1::text", {Value{hostile[i]}});
    ASSERT_TRUE(echo.ok()) << i << ": " << echo.status().message();
    EXPECT_EQ(echo->rows[0].Text(0), hostile[i]) << i;
  }
  auto sel = Query(*conn_, "SELECT k, v, length(v) FROM " + table_ + " ORDER BY k");
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  ASSERT_EQ(sel->rows.size(), hostile.size());
  for (size_t i = 0; i < hostile.size(); ++i) EXPECT_EQ(sel->rows[i].Text(1), hostile[i]) << i;
  // The table is still there (nothing was spliced into SQL).
  auto where = Query(*conn_, "SELECT k FROM " + table_ + " WHERE v = $1", {Value{hostile[1]}});
  ASSERT_TRUE(where.ok());
  ASSERT_EQ(where->rows.size(), 1u);
  EXPECT_EQ(where->rows[0].Int(0), 1);
  // Invalid UTF-8 is the server's error, not a crash; the connection stays usable.
  auto bad = Query(*conn_, "SELECT $1::text", {Value{std::string("\xff\xfe")}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SQLSTATE 22021"), std::string::npos) << bad.status().message();
  EXPECT_TRUE(conn_->Healthy());
  // SQL text with NUL is refused before it is sent.
  auto nul = Query(*conn_, std::string_view("SELECT 1\0", 9));
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Query(*conn_, "SELECT 1").ok());
}

TEST_F(PgClient, SqlStatesMapToStatusCodes) {
  ASSERT_TRUE(conn_->ExecuteScript("CREATE TABLE " + table_ + " (name TEXT PRIMARY KEY)").ok());
  const std::string ins = "INSERT INTO " + table_ + " (name) VALUES ($1)";
  ASSERT_TRUE(Query(*conn_, ins, {Value{std::string("a")}}).ok());
  auto dup = Query(*conn_, ins, {Value{std::string("a")}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kConflict);
  EXPECT_NE(dup.status().message().find("SQLSTATE 23505"), std::string::npos) << dup.status().message();
  EXPECT_NE(dup.status().message().find("duplicate key"), std::string::npos) << dup.status().message();
  auto syntax = Query(*conn_, "SELEC 1");
  EXPECT_EQ(syntax.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(syntax.status().message().find("SQLSTATE 42601"), std::string::npos) << syntax.status().message();
  auto missing = Query(*conn_, "SELECT * FROM no_such_table_here");
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  auto bad_int = Query(*conn_, "SELECT $1::bigint", {Value{std::string("12x")}});
  EXPECT_EQ(bad_int.status().code(), StatusCode::kIoError);
  EXPECT_EQ(conn_->ExecuteScript("CREATE TABLE " + table_ + " (x INT)").code(), StatusCode::kInvalidArgument);
  // After every error the session is still in order.
  EXPECT_TRUE(conn_->Healthy());
  auto ok = Query(*conn_, "SELECT count(*) FROM " + table_);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->rows[0].Int(0), 1);
}

TEST_F(PgClient, TransactionsCommitAndRollback) {
  ASSERT_TRUE(conn_->ExecuteScript("CREATE TABLE " + table_ + " (name TEXT PRIMARY KEY)").ok());
  const std::string ins = "INSERT INTO " + table_ + " (name) VALUES ($1)";
  const std::string count = "SELECT count(*) FROM " + table_;
  ASSERT_TRUE(conn_->Begin().ok());
  ASSERT_TRUE(Query(*conn_, ins, {Value{std::string("gone")}}).ok());
  EXPECT_EQ(conn_->Begin().code(), StatusCode::kInvalidArgument);  // no nesting
  ASSERT_TRUE(conn_->Rollback().ok());
  EXPECT_EQ(Query(*conn_, count)->rows[0].Int(0), 0);

  ASSERT_TRUE(conn_->Begin().ok());
  ASSERT_TRUE(Query(*conn_, ins, {Value{std::string("kept")}}).ok());
  ASSERT_TRUE(conn_->Commit().ok());
  EXPECT_EQ(Query(*conn_, count)->rows[0].Int(0), 1);

  // A failed statement aborts the transaction; COMMIT then reports the failure.
  ASSERT_TRUE(conn_->Begin().ok());
  ASSERT_TRUE(Query(*conn_, ins, {Value{std::string("also gone")}}).ok());
  EXPECT_EQ(Query(*conn_, ins, {Value{std::string("kept")}}).status().code(), StatusCode::kConflict);
  auto after = Query(*conn_, count);
  EXPECT_NE(after.status().message().find("25P02"), std::string::npos) << after.status().message();
  Status commit = conn_->Commit();
  EXPECT_EQ(commit.code(), StatusCode::kConflict);
  EXPECT_NE(commit.message().find("rolled back"), std::string::npos) << commit.message();
  EXPECT_EQ(Query(*conn_, count)->rows[0].Int(0), 1);

  // A handle dropped inside a transaction goes back rolled back.
  conn_.reset();
  {
    auto c = pool_->Acquire();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Begin().ok());
    ASSERT_TRUE(Query(**c, ins, {Value{std::string("abandoned")}}).ok());
  }
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Query(**c, count)->rows[0].Int(0), 1);
  conn_ = *c;
}

TEST_F(PgClient, StatementTimeoutLeavesTheConnectionUsable) {
  PgConfig c = ServerConfig();
  c.statement_timeout = 200ms;
  auto pool = MakePool(c);
  auto conn = pool->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  const auto start = Clock::now();
  auto r = Query(**conn, "SELECT pg_sleep(5)");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("57014"), std::string::npos) << r.status().message();
  EXPECT_TRUE((*conn)->Healthy());
  auto again = Query(**conn, "SELECT 7");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->rows[0].Int(0), 7);
}

TEST_F(PgClient, ClientDeadlineBreaksTheConnection) {
  PgConfig c = ServerConfig();
  c.statement_timeout = 0ms;
  c.io_timeout = 300ms;
  auto pool = MakePool(c);
  {
    auto conn = pool->Acquire();
    ASSERT_TRUE(conn.ok()) << conn.status().message();
    const auto start = Clock::now();
    auto r = Query(**conn, "SELECT pg_sleep(3)");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
    EXPECT_LT(Ms(Clock::now() - start), 1500);
    EXPECT_FALSE((*conn)->Healthy());
    EXPECT_EQ(Query(**conn, "SELECT 1").status().code(), StatusCode::kUnavailable);
  }
  EXPECT_EQ(pool->GetStats().open, 0u);  // dropped, not pooled
  auto fresh = pool->Acquire();
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_TRUE(Query(**fresh, "SELECT 1").ok());
}

TEST_F(PgClient, PreparedStatementsAreReusedAndRefreshed) {
  ASSERT_TRUE(conn_->ExecuteScript("CREATE TABLE " + table_ + " (a BIGINT)").ok());
  const std::string sel = "SELECT * FROM " + table_ + " WHERE a <> $1";
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Query(*conn_, sel, {Value{int64_t{i}}}).ok());
  auto prepared = Query(*conn_, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", {Value{sel}});
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  EXPECT_EQ(prepared->rows[0].Int(0), 1);
  // A migration changes the result type of the prepared statement: it is
  // prepared again, transparently.
  ASSERT_TRUE(
      conn_->ExecuteScript("ALTER TABLE " + table_ + " ADD COLUMN b TEXT; INSERT INTO " + table_ + " VALUES (1, 'x')")
          .ok());
  auto r = Query(*conn_, sel, {Value{int64_t{0}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].Text(1), "x");
  // Inside a transaction the stale statement aborts it: kConflict, retry the transaction.
  ASSERT_TRUE(conn_->Begin().ok());
  ASSERT_TRUE(conn_->ExecuteScript("ALTER TABLE " + table_ + " ADD COLUMN c TEXT").ok());
  auto in_tx = Query(*conn_, sel, {Value{int64_t{0}}});
  EXPECT_EQ(in_tx.status().code(), StatusCode::kConflict) << in_tx.status().message();
  EXPECT_EQ(conn_->Commit().code(), StatusCode::kConflict);
  auto retried = Query(*conn_, sel, {Value{int64_t{0}}});
  ASSERT_TRUE(retried.ok()) << retried.status().message();
  EXPECT_EQ(retried->rows[0].columns.size(), 2u);
}

TEST_F(PgClient, PoolConcurrencyStaysWithinItsSize) {
  PgConfig c = ServerConfig();
  c.pool_size = 3;
  c.acquire_timeout = 20s;
  auto pool = MakePool(c);
  std::atomic<int> held{0}, max_held{0}, failures{0};
  std::mutex mu;
  std::set<int64_t> pids;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto conn = pool->Acquire();
        if (!conn.ok()) {
          ++failures;
          continue;
        }
        const int now = ++held;
        int prev = max_held.load();
        while (now > prev && !max_held.compare_exchange_weak(prev, now)) {
        }
        auto r = Query(**conn, "SELECT pg_backend_pid(), $1::bigint", {Value{int64_t{t * 100 + i}}});
        if (!r.ok() || r->rows[0].Int(1) != t * 100 + i) {
          ++failures;
        } else {
          std::lock_guard lock(mu);
          pids.insert(r->rows[0].Int(0));
        }
        std::this_thread::sleep_for(1ms);
        --held;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_held.load(), 3);
  EXPECT_GE(max_held.load(), 2);
  EXPECT_LE(pids.size(), 3u);
  EXPECT_LE(pool->GetStats().open, 3u);
  EXPECT_EQ(pool->GetStats().idle, pool->GetStats().open);
}

TEST_F(PgClient, ExhaustedPoolFailsAfterTheAcquireTimeout) {
  PgConfig c = ServerConfig();
  c.pool_size = 2;
  c.acquire_timeout = 400ms;
  auto pool = MakePool(c);
  auto a = pool->Acquire();
  auto b = pool->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  auto start = Clock::now();
  auto third = pool->Acquire();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(third.status().message().find("busy"), std::string::npos) << third.status().message();
  EXPECT_GE(Ms(Clock::now() - start), 350);
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  // A handle given back from another thread wakes a waiter.
  std::thread giver([&] {
    std::this_thread::sleep_for(50ms);
    a = Status::Unavailable("released");
  });
  start = Clock::now();
  auto waited = pool->Acquire();
  giver.join();
  ASSERT_TRUE(waited.ok()) << waited.status().message();
  EXPECT_LT(Ms(Clock::now() - start), 350);  // woken, not timed out
  EXPECT_EQ(pool->GetStats().open, 2u);
}

// A private server (not the fixture's, which other tests share) that the test
// stops and starts again through tests/tools/postgres.sh.
class PgServerRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    tool_ = Env("BERTH_TEST_PG_TOOL");
    const std::string port = Env("BERTH_TEST_PG_SPARE_PORT");
    if (tool_.empty() || port.empty()) {
      GTEST_SKIP() << "BERTH_TEST_PG_TOOL/BERTH_TEST_PG_SPARE_PORT not set (ctest -R '^pg\\.' sets them)";
    }
    port_ = std::atoi(port.c_str());
    // Under /tmp: the postgres user must reach it, and the data is tens of MB.
    char tmpl[] = "/tmp/berth-pg-restart-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(Tool("start " + dir_ + " " + port), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) (void)Tool("stop " + dir_);
  }
  int Tool(const std::string& args) {
    const std::string cmd = "bash " + tool_ + " " + args + " >/dev/null";
    return std::system(cmd.c_str());
  }

  std::string tool_, dir_;
  int port_ = 0;
};

TEST_F(PgServerRestart, UnavailableWhileStoppedAndRecoversAfterwards) {
  PgConfig c = ServerConfig();
  c.port = port_;
  c.pool_size = 2;
  c.connect_timeout = 2s;
  c.reconnect_backoff = 200ms;
  auto pool = MakePool(c);
  std::shared_ptr<Connection> held;
  {
    auto a = pool->Acquire();
    auto b = pool->Acquire();
    ASSERT_TRUE(a.ok() && b.ok()) << (a.ok() ? b.status().message() : a.status().message());
    ASSERT_TRUE(Query(**a, "SELECT 1").ok());
    held = *a;  // b goes back to the pool, idle
  }
  ASSERT_EQ(Tool("halt " + dir_), 0);

  // A connection in use: the next statement fails fast, and it is marked broken.
  auto start = Clock::now();
  auto r = Query(*held, "SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().message();
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  EXPECT_FALSE(held->Healthy());
  held.reset();
  // The idle one is found dead without a round trip; a new connect is refused.
  start = Clock::now();
  for (int i = 0; i < 5; ++i) {
    auto conn = pool->Acquire();
    ASSERT_FALSE(conn.ok());
    EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable) << conn.status().message();
  }
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  EXPECT_EQ(pool->GetStats().open, 0u);

  ASSERT_EQ(Tool("resume " + dir_), 0);
  Status last;
  bool recovered = false;
  const auto give_up = Clock::now() + 15s;
  while (!recovered && Clock::now() < give_up) {
    auto conn = pool->Acquire();
    if (conn.ok()) {
      auto q = Query(**conn, "SELECT 42");
      recovered = q.ok() && q->rows[0].Int(0) == 42;
      if (!q.ok()) last = q.status();
    } else {
      last = conn.status();
    }
    if (!recovered) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(recovered) << last.message();
}

}  // namespace
}  // namespace berth::metadata::postgres
