// Slow and greedy clients against the configured bounds (server.timeouts,
// server.max_header_bytes, server.max_connections, the manifest size limit):
// each is cut off or refused, and the server goes on serving everyone else.
// The servers here use 2 s timeouts so that the tests do not wait for the defaults.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

using Clock = std::chrono::steady_clock;

// A raw TCP connection to 127.0.0.1 that notices when the server closes it.
class Conn {
 public:
  explicit Conn(uint16_t port) : fd_(ConnectLoopback(port)) {}
  ~Conn() { Close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool ok() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // False once the peer has closed (or reset) the connection.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        closed_ = true;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads what has arrived within `timeout_ms`; true when the peer has closed.
  bool Poll(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_) {
      int left =
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, std::max(left, 0)) <= 0) break;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      in_.append(buf, static_cast<size_t>(n));
    }
    return closed_;
  }

  // Waits up to `timeout_ms` for a complete response head.
  bool WaitForHead(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (in_.find("\r\n\r\n") == std::string::npos && !closed_ && Clock::now() < deadline) Poll(50);
    return in_.find("\r\n\r\n") != std::string::npos;
  }

  bool closed() const { return closed_; }
  std::string& received() { return in_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string in_;
};

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

const std::string kGetV2 = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A GET /v2/ on `c` that must succeed (and leaves the connection kept alive).
::testing::AssertionResult GetV2(Conn& c) {
  c.received().clear();
  if (!c.Send(kGetV2)) return ::testing::AssertionFailure() << "send failed";
  if (!c.WaitForHead(5000)) return ::testing::AssertionFailure() << "no response: '" << c.received() << "'";
  // /v2/ answers "{}"; wait for that body too so the next response starts clean.
  while (c.received().find("{}") == std::string::npos && !c.closed()) c.Poll(100);
  if (!StartsWith(c.received(), "HTTP/1.1 200")) return ::testing::AssertionFailure() << c.received();
  return ::testing::AssertionSuccess();
}

class LimitsTest : public ServerSuite<LimitsTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.server_extra =
        "  timeouts: {header: 2, idle: 2, read: 2, write: 10}\n"
        "  max_header_bytes: 8192\n";
    return o;
  }
};

TEST_F(LimitsTest, SlowlorisRequestHeadIsCutOffByTheHeaderTimeout) {
  // One byte a second: every single read is well within any per-read timeout,
  // so only a deadline for the whole head stops it.
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  size_t sent = 0;
  for (; sent < kGetV2.size(); ++sent) {
    if (c.Poll(0) || !c.Send(kGetV2.substr(sent, 1))) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  c.Poll(3000);
  EXPECT_TRUE(c.closed()) << "the connection is still open after the whole head trickled in";
  EXPECT_LT(sent, kGetV2.size()) << "the server waited for the whole head, one byte a second";
  EXPECT_EQ(c.received().find("HTTP/1.1 200"), std::string::npos) << c.received();
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u);
}

TEST_F(LimitsTest, ConnectionThatSendsNothingIsClosedByTheHeaderTimeout) {
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.Poll(10000)) << "a silent connection was kept for 10 s";
  EXPECT_EQ(c.received(), "");
}

TEST_F(LimitsTest, TricklingBodyIsCutOff) {
  // The head is complete, then the body comes one byte a second: each read is
  // quick enough, the body as a whole is not.
  const std::string loc = StartUpload(client(), "limits/trickle");
  ASSERT_FALSE(loc.empty());
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Send("PATCH " + loc + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 30\r\n\r\n"));
  int sent = 0;
  for (; sent < 30; ++sent) {
    if (c.Poll(0) || !c.Send("x")) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  c.Poll(3000);
  EXPECT_TRUE(c.closed()) << "the trickled body was accepted to its end";
  EXPECT_LT(sent, 30);
  EXPECT_EQ(c.received().find("HTTP/1.1 202"), std::string::npos) << c.received();
}

TEST_F(LimitsTest, StalledBodyIsCutOffByTheReadTimeout) {
  const std::string loc = StartUpload(client(), "limits/stall");
  ASSERT_FALSE(loc.empty());
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      c.Send("PATCH " + loc + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'x')));
  EXPECT_TRUE(c.Poll(10000)) << "a body that stopped was waited for 10 s";
  EXPECT_EQ(c.received().find("HTTP/1.1 202"), std::string::npos) << c.received();
  // The upload itself survives (a client could resume it).
  EXPECT_EQ(Do(client(), "GET", loc).status, 204u);
}

TEST_F(LimitsTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(GetV2(c));
  ASSERT_FALSE(c.closed()) << "the server did not keep the connection alive at all";
  EXPECT_TRUE(c.Poll(10000)) << "an idle keep-alive connection was kept for 10 s";
}

TEST_F(LimitsTest, RequestHeadOverMaxHeaderBytesGets431AndTheConnectionCloses) {
  // 8 KiB is configured: a 6 KiB head passes, 12 KiB of small headers and one
  // 12 KiB header line do not (the default limit, 64 KiB, would take both).
  {
    Conn c(server().port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.Send("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: " + std::string(6000, 'a') + "\r\n\r\n"));
    ASSERT_TRUE(c.WaitForHead(5000));
    EXPECT_TRUE(StartsWith(c.received(), "HTTP/1.1 200")) << c.received().substr(0, 200);
  }
  std::string many = "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";  // (not const: built below)
  for (int i = 0; i < 300; ++i) many += "X-H" + std::to_string(i) + ": " + std::string(34, 'b') + "\r\n";
  many += "\r\n";
  const std::string one_line =
      "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(12 * 1024, 'c') + "\r\n\r\n";
  for (const std::string* req : {static_cast<const std::string*>(&many), &one_line}) {
    ASSERT_GT(req->size(), 12000u);
    Conn c(server().port());
    ASSERT_TRUE(c.ok());
    c.Send(*req);
    EXPECT_TRUE(c.Poll(5000)) << "the connection stayed open";
    EXPECT_TRUE(StartsWith(c.received(), "HTTP/1.1 431")) << c.received().substr(0, 200);
  }
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u);
}

TEST_F(LimitsTest, OversizedManifestIsRefusedWithoutReadingTheBody) {
  // Announced as 1 GiB: refused from the head alone, before a body byte is sent.
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      c.Send("PUT /v2/limits/huge/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
             "Content-Length: 1073741824\r\n\r\n"));
  ASSERT_TRUE(c.WaitForHead(5000)) << "no answer to the head: '" << c.received() << "'";
  EXPECT_TRUE(StartsWith(c.received(), "HTTP/1.1 413")) << c.received();
  c.Poll(3000);
  ClientResponse parsed;
  const size_t body = c.received().find("\r\n\r\n");
  parsed.body = c.received().substr(body + 4);
  EXPECT_EQ(ErrorCode(parsed), "MANIFEST_INVALID");
}

TEST_F(LimitsTest, EndlessChunkedManifestIsCutOffAfterTheLimit) {
  // No Content-Length to refuse up front: the client streams chunks without end.
  // The server must answer and close after a bounded amount (the 4 MiB limit,
  // plus what it reads while lingering before the close), not swallow it all.
  Conn c(server().port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      c.Send("PUT /v2/limits/endless/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
  constexpr size_t kGiveUp = 512u << 20;
  size_t sent = 0;
  while (sent < kGiveUp) {
    pollfd p{c.fd(), POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    if ((p.revents & POLLIN) != 0 && c.Poll(0)) break;
    if ((p.revents & POLLOUT) != 0) {
      ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
      if (n > 0) sent += static_cast<size_t>(n);
    }
    if ((p.revents & (POLLERR | POLLHUP)) != 0) break;
  }
  c.Poll(3000);
  EXPECT_LT(sent, kGiveUp) << "the server kept reading";
  EXPECT_LT(sent, 200u << 20);
  EXPECT_TRUE(StartsWith(c.received(), "HTTP/1.1 413")) << c.received().substr(0, 300);
  EXPECT_NE(c.received().find("MANIFEST_INVALID"), std::string::npos) << c.received().substr(0, 300);
  EXPECT_EQ(Do(client(), "GET", "/v2/limits/endless/manifests/v1").status, 404u);
}

// max_connections: 3, short timeouts so that nothing lingers between tests.
class ConnectionLimitTest : public ServerSuite<ConnectionLimitTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.server_extra =
        "  timeouts: {header: 2, idle: 2, read: 2, write: 10}\n"
        "  max_connections: 3\n";
    return o;
  }
};

TEST_F(ConnectionLimitTest, ConnectionsOverTheLimitGet503AndOthersKeepWorking) {
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 3; ++i) {
    // (The start-up probe's connection may still be counted for a moment.)
    bool up = false;
    for (int attempt = 0; attempt < 50 && !up; ++attempt) {
      auto c = std::make_unique<Conn>(server().port());
      if (c->ok() && GetV2(*c)) {
        held.push_back(std::move(c));
        up = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    ASSERT_TRUE(up) << "connection " << i << " within the limit was not served";
  }
  // The fourth one gets a 503 with the spec's error body, and is closed.
  {
    Conn extra(server().port());
    ASSERT_TRUE(extra.ok());
    extra.Send(kGetV2);
    EXPECT_TRUE(extra.Poll(3000)) << "the connection over the limit was kept open";
    const std::string& got = extra.received();
    EXPECT_EQ(got.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << got;
    EXPECT_NE(got.find("Retry-After: 1\r\n"), std::string::npos) << got;
    const size_t body = got.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << got;
    const auto json = nlohmann::json::parse(got.substr(body + 4), nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << got;
    EXPECT_EQ(json["errors"][0]["code"], "UNAVAILABLE") << got;
    EXPECT_NE(got.find("Content-Length: " + std::to_string(got.size() - body - 4) + "\r\n"), std::string::npos) << got;
  }
  // One that sends nothing gets the same answer and is closed within a second or so.
  {
    Conn silent(server().port());
    ASSERT_TRUE(silent.ok());
    EXPECT_TRUE(silent.Poll(3000)) << "the silent connection over the limit was kept open";
    EXPECT_EQ(silent.received().rfind("HTTP/1.1 503", 0), 0u) << silent.received();
  }
  // The three are still served.
  for (auto& c : held) EXPECT_TRUE(GetV2(*c));
  // Once they are gone, new connections are served again.
  held.clear();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    Conn c(server().port());
    served = c.ok() && GetV2(c);
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served) << "no connection was served after the others closed";
}

}  // namespace
}  // namespace berth::apitest
