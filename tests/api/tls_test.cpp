// TLS without a proxy: handshakes with TLS 1.2 and 1.3 against a throw-away CA
// (the client verifies the chain and the 127.0.0.1 IP SAN), no TLS 1.0/1.1,
// an HTTP 400 for plain HTTP on the TLS port, and reloading the certificate
// (SIGHUP, or a change of the files) for new connections while a bad
// replacement keeps the old one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

namespace fs = std::filesystem;

// A CA and two server certificates (127.0.0.1 and localhost) made with the
// openssl CLI in a temporary directory, once per test run.
class Pki {
 public:
  static Pki& Get() {
    static Pki pki;
    return pki;
  }
  ~Pki() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  Pki() {
    char tmpl[] = "/tmp/berth-pki.XXXXXX";
    if (const char* d = ::mkdtemp(tmpl); d != nullptr) dir_ = d;
    if (dir_.empty()) {
      error_ = "mkdtemp failed";
      return;
    }
    std::ofstream(Path("server.ext")) << "basicConstraints=CA:FALSE\n"
                                         "keyUsage=critical,digitalSignature\n"
                                         "extendedKeyUsage=serverAuth\n"
                                         "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    const std::string script =
        "set -e; cd '" + dir_ +
        "'\n"
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
        "  -days 2 -subj '/CN=Berth Test CA' -addext basicConstraints=critical,CA:TRUE "
        "  -addext keyUsage=critical,keyCertSign,cRLSign\n"
        "for n in 1 2; do\n"
        "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s$n.key -out s$n.csr "
        "    -subj /CN=berth-test-$n\n"
        "  openssl x509 -req -in s$n.csr -CA ca.crt -CAkey ca.key -set_serial 0x${n}00${n} -days 2 "
        "    -extfile server.ext -out s$n.crt\n"
        "done\n";
    std::ofstream(Path("make.sh")) << script;
    const std::string cmd = "bash '" + Path("make.sh") + "' >'" + Path("make.log") + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream in(Path("make.log"));
      std::stringstream ss;
      ss << in.rdbuf();
      error_ = "openssl failed: " + ss.str();
    }
  }

  std::string dir_;
  std::string error_;
};

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

// One TLS client connection (OpenSSL directly) that verifies the server
// against the test CA and the 127.0.0.1 IP SAN.
class TlsConn {
 public:
  TlsConn(uint16_t port, const std::string& ca_file, int min_version, int max_version) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, min_version);
    SSL_CTX_set_max_proto_version(ctx_, max_version);
    if (max_version < TLS1_2_VERSION) {
      // Let this client really offer TLS 1.0/1.1: the refusal must come from the server.
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
      error_ = "cannot load CA: " + OpenSslErrors();
      return;
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = "connect failed";
      return;
    }
    ssl_ = SSL_new(ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      error_ = "handshake failed: " + OpenSslErrors();
      return;
    }
    if (SSL_get_verify_result(ssl_) != X509_V_OK) {
      error_ = "verify failed: " + std::string(X509_verify_cert_error_string(SSL_get_verify_result(ssl_)));
      return;
    }
    version_ = SSL_version(ssl_);
    if (X509* peer = SSL_get1_peer_certificate(ssl_); peer != nullptr) {
      BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(peer), nullptr);
      char* hex = BN_bn2hex(bn);
      serial_ = hex;
      OPENSSL_free(hex);
      BN_free(bn);
      X509_free(peer);
    }
    connected_ = true;
  }
  ~TlsConn() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  int version() const { return version_; }
  // The server certificate's serial number in upper-case hex.
  const std::string& serial() const { return serial_; }

  // Sends a GET and returns the response (head and Content-Length body), "" on failure.
  std::string Get(const std::string& target) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return "";
    std::string in;
    size_t need = std::string::npos;
    while (need == std::string::npos || in.size() < need) {
      char buf[16384];
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return "";
      in.append(buf, static_cast<size_t>(n));
      if (size_t end = in.find("\r\n\r\n"); end != std::string::npos && need == std::string::npos) {
        std::string head = in.substr(0, end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t pos = head.find("\r\ncontent-length:");
        need = end + 4 + (pos == std::string::npos ? 0 : std::stoul(head.substr(pos + 17)));
      }
    }
    return in;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string error_;
  int version_ = 0;
  std::string serial_;
};

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Replaces `to` with a copy of `from` the way an editor or certbot does (write, rename).
void Install(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".tmp", fs::copy_options::overwrite_existing);
  fs::rename(to + ".tmp", to);
}

// A server configuration with TLS on <dir>/<prefix>.crt and .key (installed from s1).
TestServerOptions TlsOptions(const std::string& prefix, int poll_interval) {
  Pki& pki = Pki::Get();
  TestServerOptions o;
  o.tls = true;
  if (!pki.ok()) return o;  // the suite then fails to start, showing why below
  Install(pki.Path("s1.crt"), pki.Path(prefix + ".crt"));
  Install(pki.Path("s1.key"), pki.Path(prefix + ".key"));
  o.server_extra = "  tls: {enabled: true, certificate: \"" + pki.Path(prefix + ".crt") + "\", key: \"" +
                   pki.Path(prefix + ".key") + "\", poll_interval: " + std::to_string(poll_interval) + "}\n";
  return o;
}

// Connects until the server presents the certificate with `serial` (true), for up to `seconds`.
bool WaitForSerial(uint16_t port, const std::string& serial, int seconds, std::string* last) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    TlsConn c(port, Pki::Get().Path("ca.crt"), TLS1_2_VERSION, TLS1_3_VERSION);
    *last = c.connected() ? c.serial() : c.error();
    if (c.connected() && c.serial() == serial) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

class TlsTest : public ServerSuite<TlsTest> {
 public:
  static TestServerOptions ServerOptions() { return TlsOptions("basic", 0); }

 protected:
  void SetUp() override {
    ASSERT_TRUE(Pki::Get().ok()) << Pki::Get().error();
    ServerSuite::SetUp();
  }
  std::string Ca() const { return Pki::Get().Path("ca.crt"); }
};

TEST_F(TlsTest, Tls12HandshakeVerifiesAndServesTheApi) {
  TlsConn c(server().port(), Ca(), TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(c.connected()) << c.error();
  EXPECT_EQ(c.version(), TLS1_2_VERSION);
  EXPECT_EQ(c.serial(), "1001");
  const std::string r = c.Get("/v2/");
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 200")) << r;
  // Keep-alive over TLS: a second request on the same connection.
  const std::string r2 = c.Get("/v2/_catalog");
  EXPECT_TRUE(StartsWith(r2, "HTTP/1.1 200")) << r2;
  EXPECT_NE(r2.find("repositories"), std::string::npos) << r2;
}

TEST_F(TlsTest, Tls13HandshakeVerifiesAndServesTheApi) {
  TlsConn c(server().port(), Ca(), TLS1_3_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(c.connected()) << c.error();
  EXPECT_EQ(c.version(), TLS1_3_VERSION);
  const std::string r = c.Get("/v2/");
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 200")) << r;
  EXPECT_NE(r.find("Docker-Distribution-API-Version: registry/2.0"), std::string::npos) << r;
}

TEST_F(TlsTest, Tls10And11AreRefused) {
  for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsConn c(server().port(), Ca(), v, v);
    EXPECT_FALSE(c.connected()) << "the server accepted protocol version 0x" << std::hex << v;
  }
  TlsConn after(server().port(), Ca(), TLS1_2_VERSION, TLS1_3_VERSION);
  EXPECT_TRUE(after.connected()) << after.error();
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortGets400) {
  auto r = client().Request("GET", "/v2/");
  ASSERT_TRUE(r.ok()) << "no HTTP answer: " << r.status().message();
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(r->body, "Client sent an HTTP request to an HTTPS server.\n");
  EXPECT_EQ(r->header("Connection"), "close");
  // With a request body too (the server must not lose its answer to a reset).
  auto raw = client().Raw("PUT /v2/x/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n" +
                          std::string(100000, 'x'));
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  EXPECT_TRUE(StartsWith(*raw, "HTTP/1.1 400")) << raw->substr(0, 200);
  // Neither disturbed the TLS side.
  TlsConn c(server().port(), Ca(), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(c.connected()) << c.error();
  EXPECT_TRUE(StartsWith(c.Get("/v2/"), "HTTP/1.1 200"));
}

TEST_F(TlsTest, ClientThatDoesNotTrustTheCaFails) {
  // The check above is real: a client with another CA (the server's own leaf as
  // its only trust anchor is not a CA) does not get through verification.
  TlsConn c(server().port(), Pki::Get().Path("s2.crt"), TLS1_2_VERSION, TLS1_3_VERSION);
  EXPECT_FALSE(c.connected());
}

// SIGHUP only (poll_interval 0), so the signal is what reloads.
class TlsReloadTest : public ServerSuite<TlsReloadTest> {
 public:
  static TestServerOptions ServerOptions() { return TlsOptions("hup", 0); }

 protected:
  void SetUp() override {
    ASSERT_TRUE(Pki::Get().ok()) << Pki::Get().error();
    ServerSuite::SetUp();
  }
};

TEST_F(TlsReloadTest, SighupLoadsANewCertificateAndABrokenOneKeepsTheOld) {
  Pki& pki = Pki::Get();
  TlsConn before(server().port(), pki.Path("ca.crt"), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(before.connected()) << before.error();
  ASSERT_EQ(before.serial(), "1001");
  ASSERT_TRUE(StartsWith(before.Get("/v2/"), "HTTP/1.1 200"));

  // Replacing the files alone changes nothing (poll_interval 0: nothing polls,
  // so there is no event to wait for; this shows the files are not re-read
  // per connection) ...
  Install(pki.Path("s2.crt"), pki.Path("hup.crt"));
  Install(pki.Path("s2.key"), pki.Path("hup.key"));
  {
    TlsConn c(server().port(), pki.Path("ca.crt"), TLS1_2_VERSION, TLS1_3_VERSION);
    ASSERT_TRUE(c.connected()) << c.error();
    EXPECT_EQ(c.serial(), "1001");
  }
  // ... SIGHUP does.
  server().Signal(SIGHUP);
  std::string last;
  EXPECT_TRUE(WaitForSerial(server().port(), "2002", 10, &last)) << "still " << last << "; log:\n"
                                                                 << server().LogSinceStart();
  // The connection made before the reload carries on with its certificate.
  EXPECT_TRUE(StartsWith(before.Get("/v2/"), "HTTP/1.1 200"));

  // A key that does not match the certificate is refused; the running pair stays.
  Install(pki.Path("s1.crt"), pki.Path("hup.crt"));  // hup.key is still s2's key
  server().Signal(SIGHUP);
  for (int i = 0; i < 100 && server().LogSinceStart().find("TLS reload failed") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(server().LogSinceStart().find("TLS reload failed"), std::string::npos) << server().LogSinceStart();
  {
    TlsConn c(server().port(), pki.Path("ca.crt"), TLS1_2_VERSION, TLS1_3_VERSION);
    ASSERT_TRUE(c.connected()) << c.error();
    EXPECT_EQ(c.serial(), "2002");
    EXPECT_TRUE(StartsWith(c.Get("/v2/"), "HTTP/1.1 200"));
  }
  // So is an unreadable certificate (once the server has logged that reload's failure).
  fs::remove(pki.Path("hup.crt"));
  server().Signal(SIGHUP);
  EXPECT_TRUE(server().WaitForLog("TLS reload failed", 2, 5000)) << server().LogSinceStart();
  {
    TlsConn c(server().port(), pki.Path("ca.crt"), TLS1_2_VERSION, TLS1_3_VERSION);
    ASSERT_TRUE(c.connected()) << c.error();
    EXPECT_EQ(c.serial(), "2002");
  }
  EXPECT_EQ(server().CheckAlive(), -2) << "the server died after a bad reload";
  Install(pki.Path("s1.crt"), pki.Path("hup.crt"));  // leave a valid pair behind
  Install(pki.Path("s1.key"), pki.Path("hup.key"));
}

// File polling (poll_interval 1): a renewal needs no signal.
class TlsPollTest : public ServerSuite<TlsPollTest> {
 public:
  static TestServerOptions ServerOptions() { return TlsOptions("poll", 1); }

 protected:
  void SetUp() override {
    ASSERT_TRUE(Pki::Get().ok()) << Pki::Get().error();
    ServerSuite::SetUp();
  }
};

TEST_F(TlsPollTest, ChangedFilesAreLoadedWithoutASignal) {
  Pki& pki = Pki::Get();
  std::string last;
  ASSERT_TRUE(WaitForSerial(server().port(), "1001", 5, &last)) << last;
  Install(pki.Path("s2.key"), pki.Path("poll.key"));
  Install(pki.Path("s2.crt"), pki.Path("poll.crt"));
  EXPECT_TRUE(WaitForSerial(server().port(), "2002", 15, &last)) << "still " << last << "; log:\n"
                                                                 << server().LogSinceStart();
}

}  // namespace
}  // namespace berth::apitest
