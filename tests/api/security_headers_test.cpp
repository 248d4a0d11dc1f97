// The security headers (src/http/security_headers.h) on every class of answer:
// the /v2/ base (200 and 401), a manifest, a streamed blob, an error, the
// token endpoint, the probes, /metrics, a 405, and the server's own early
// answers (a bad request head, 503 over max_connections) that are written
// without an Exchange. Strict-Transport-Security only where Berth terminates
// TLS, with the configured max-age and includeSubDomains; never on plain HTTP.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "api_helpers.h"
#include "auth/password.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kAlwaysHeaders{{
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
}};

void ExpectSecurityHeaders(const ClientResponse& r, std::string_view what) {
  for (const auto& [name, value] : kAlwaysHeaders) EXPECT_EQ(r.header(name), value) << what << ": " << name;
  EXPECT_EQ(r.header("Strict-Transport-Security"), "") << what << ": HSTS on plain HTTP";
}

// The same check on a raw response (head as sent, case-sensitive names as Berth writes them).
void ExpectSecurityHeadersRaw(const std::string& raw, std::string_view what) {
  const std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  for (const auto& [name, value] : kAlwaysHeaders) {
    EXPECT_NE(head.find("\r\n" + std::string(name) + ": " + std::string(value) + "\r\n"), std::string::npos)
        << what << ": no " << name << " in\n"
        << head;
  }
  EXPECT_EQ(head.find("Strict-Transport-Security"), std::string::npos) << what << ": HSTS on plain HTTP\n" << head;
}

// Sends `request` on a new connection and reads until the server closes it (5 s at most).
std::string RawExchange(uint16_t port, std::string_view request) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  if (!request.empty()) (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string in;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return in;
}

std::string UsersAndAcl() {
  auto hash = auth::HashPassword("pw", 4);
  return "users:\n  alice: {password: \"" + *hash + "\"}\n" +
         "acl:\n  - {account: \"alice\", name: \"*\", actions: [\"*\"]}\n";
}

class SecurityHeadersTest : public ServerSuite<SecurityHeadersTest> {};

TEST_F(SecurityHeadersTest, OnEveryRouteClass) {
  const Image img = PushImage(client(), "sec/headers", "v1", "security-headers");
  const std::string blob = PushBlob(client(), "sec/headers", RandomBytes(256 << 10, 23));

  auto base = Do(client(), "GET", "/v2/");
  EXPECT_EQ(base.status, 200u);
  ExpectSecurityHeaders(base, "GET /v2/");

  auto manifest = Do(client(), "GET", "/v2/sec/headers/manifests/v1", {{"Accept", std::string(kOciManifest)}});
  EXPECT_EQ(manifest.status, 200u);
  ExpectSecurityHeaders(manifest, "GET manifest");

  auto head = Do(client(), "HEAD", "/v2/sec/headers/manifests/v1", {{"Accept", std::string(kOciManifest)}});
  EXPECT_EQ(head.status, 200u);
  ExpectSecurityHeaders(head, "HEAD manifest");

  auto streamed = Do(client(), "GET", "/v2/sec/headers/blobs/" + blob);
  EXPECT_EQ(streamed.status, 200u);
  EXPECT_EQ(streamed.body.size(), size_t{256 << 10});
  ExpectSecurityHeaders(streamed, "GET blob (streamed)");

  auto missing = Do(client(), "GET", "/v2/sec/headers/manifests/nope");
  EXPECT_EQ(missing.status, 404u);
  ExpectSecurityHeaders(missing, "404");

  auto not_allowed = Do(client(), "POST", "/v2/sec/headers/tags/list");
  EXPECT_EQ(not_allowed.status, 405u);
  ExpectSecurityHeaders(not_allowed, "405");

  auto health = Do(client(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200u);
  ExpectSecurityHeaders(health, "/healthz");

  auto metrics = Do(client(), "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  ExpectSecurityHeaders(metrics, "/metrics");
}

TEST_F(SecurityHeadersTest, OnTheServersOwnEarlyAnswers) {
  // A request head the parser refuses: answered by the server, without an Exchange.
  const std::string bad = RawExchange(server().port(), "GET /v2/ HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n");
  ASSERT_EQ(bad.rfind("HTTP/1.1 400", 0), 0u) << bad;
  ExpectSecurityHeadersRaw(bad, "400 for a malformed head");
  // A request target that is no origin-form URL.
  const std::string target = RawExchange(server().port(), "GET http://x/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(target.rfind("HTTP/1.1 400", 0), 0u) << target;
  ExpectSecurityHeadersRaw(target, "400 for a malformed target");
}

class TokenAuthHeadersTest : public ServerSuite<TokenAuthHeadersTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = UsersAndAcl() + "auth: {token: {service: \"svc.test\"}}\n";
    return o;
  }
};

TEST_F(TokenAuthHeadersTest, OnTheChallengeAndTheTokenEndpoint) {
  auto challenge = Do(client(), "GET", "/v2/");
  EXPECT_EQ(challenge.status, 401u);
  ExpectSecurityHeaders(challenge, "401 on /v2/");

  auto token = Do(client(), "GET", "/v2/token?service=svc.test&scope=repository:sec/x:pull",
                  {{"Authorization", "Basic YWxpY2U6cHc="}});  // alice:pw
  EXPECT_EQ(token.status, 200u) << token.body;
  ExpectSecurityHeaders(token, "/v2/token");

  auto refused = Do(client(), "GET", "/v2/token?service=svc.test", {{"Authorization", "Basic YWxpY2U6bm8="}});
  EXPECT_EQ(refused.status, 401u);
  ExpectSecurityHeaders(refused, "/v2/token with a wrong password");
}

// max_connections: 1 and short timeouts: the second connection gets the 503.
class ConnectionLimitHeadersTest : public ServerSuite<ConnectionLimitHeadersTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.server_extra =
        "  timeouts: {header: 2, idle: 2, read: 2, write: 10}\n"
        "  max_connections: 1\n";
    return o;
  }
};

TEST_F(ConnectionLimitHeadersTest, OnThe503OverMaxConnections) {
  std::string got;
  // (The start-up probe's connection may still be counted for a moment, and
  // the held one must be accepted before the extra one.)
  for (int attempt = 0; attempt < 50; ++attempt) {
    int held = ConnectLoopback(server().port());
    ASSERT_GE(held, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = RawExchange(server().port(), "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ::close(held);
    if (got.rfind("HTTP/1.1 503", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
  ExpectSecurityHeadersRaw(got, "503 over max_connections");
  // Served again once the held connection is gone (the suite's own checks need it).
  std::string again;
  for (int attempt = 0; attempt < 50 && again.rfind("HTTP/1.1 200", 0) != 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    again = RawExchange(server().port(), "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  }
  EXPECT_EQ(again.rfind("HTTP/1.1 200", 0), 0u) << again;
}

// A TLS listener: HSTS with the configured max-age and includeSubDomains.
// The certificate is a throw-away self-signed one; curl -k is enough here
// because only the headers are checked (tls_test.cpp verifies the chain).
class TlsHeadersTest : public ::testing::Test {
 protected:
  static std::string Sh(const std::string& cmd, int* rc) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
      *rc = -1;
      return out;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    *rc = ::pclose(p);
    return out;
  }
};

TEST_F(TlsHeadersTest, HstsOnlyWhereBerthTerminatesTls) {
  char tmpl[] = "/tmp/berth-sechdr.XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  ASSERT_NE(d, nullptr);
  const std::string dir = d;
  int rc = 0;
  const std::string pki = Sh("cd '" + dir +
                                 "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                                 "-keyout s.key -out s.crt -days 2 -subj /CN=127.0.0.1 "
                                 "-addext subjectAltName=IP:127.0.0.1 2>&1",
                             &rc);
  ASSERT_EQ(rc, 0) << pki;

  TestServerOptions o;
  o.tls = true;
  o.server_extra = "  tls: {enabled: true, certificate: \"" + dir + "/s.crt\", key: \"" + dir +
                   "/s.key\", poll_interval: 0, hsts: {max_age: 600, include_subdomains: true}}\n";
  {
    TestServer tls(o);
    const std::string err = tls.Start();
    ASSERT_EQ(err, "");
    const std::string base = "https://127.0.0.1:" + std::to_string(tls.port());
    for (const std::string path : {"/v2/", "/v2/nope/manifests/x", "/healthz"}) {
      const std::string head = Sh("curl -sS -k -o /dev/null -D - '" + base + path + "' 2>&1", &rc);
      ASSERT_EQ(rc, 0) << head;
      EXPECT_NE(head.find("Strict-Transport-Security: max-age=600; includeSubDomains\r\n"), std::string::npos)
          << path << ":\n"
          << head;
      for (const auto& [name, value] : kAlwaysHeaders) {
        EXPECT_NE(head.find(std::string(name) + ": " + std::string(value) + "\r\n"), std::string::npos)
            << path << ": no " << name << " in\n"
            << head;
      }
    }
    EXPECT_EQ(tls.Stop(), 0);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace berth::apitest
