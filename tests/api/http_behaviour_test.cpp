// HTTP/1.1 behaviour of the server: keep-alive, pipelining, malformed and
// hostile requests, Expect: 100-continue, framing, graceful shutdown.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

// A plain TCP connection for byte-exact HTTP exchanges.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) : fd_(ConnectLoopback(port)) {}
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `pattern` is in the buffer (true), or the peer closes / `timeout_ms` passes (false).
  bool ReadUntil(std::string_view pattern, int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (buffer_.find(pattern) == std::string::npos) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0 || !ReadSome(left)) return false;
    }
    return true;
  }

  // Reads until the peer closes the connection (true) or `timeout_ms` passes (false).
  bool ReadToClose(int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) return false;
      if (!ReadSome(left) && !closed_) return false;
    }
    return true;
  }

  // Removes and returns one complete response (head + Content-Length body) from the
  // buffer, reading as needed; "" when none arrives in time.
  std::string NextResponse(int timeout_ms = 5000) {
    if (!ReadUntil("\r\n\r\n", timeout_ms)) return "";
    const size_t head_end = buffer_.find("\r\n\r\n") + 4;
    std::string head = buffer_.substr(0, head_end);
    size_t length = 0;
    if (size_t pos = Lower(head).find("\r\ncontent-length:"); pos != std::string::npos) {
      length = std::stoul(head.substr(pos + 17));
    }
    const bool no_body = head.rfind("HTTP/1.1 1", 0) == 0 || head.rfind("HTTP/1.1 204", 0) == 0;
    if (no_body) length = 0;
    while (buffer_.size() < head_end + length) {
      if (!ReadSome(timeout_ms)) return "";
    }
    std::string out = buffer_.substr(0, head_end + length);
    buffer_.erase(0, head_end + length);
    return out;
  }

  std::string& buffer() { return buffer_; }
  bool closed() const { return closed_; }

  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

 private:
  bool ReadSome(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The value of header `name` in a raw response head ("" when absent).
std::string RawHeader(const std::string& response, const std::string& name) {
  const std::string lower = RawSocket::Lower(response);
  const size_t head_end = lower.find("\r\n\r\n");
  size_t pos = lower.find("\r\n" + RawSocket::Lower(name) + ":");
  if (pos == std::string::npos || pos > head_end) return "";
  size_t start = pos + 2 + name.size() + 1;
  size_t end = response.find("\r\n", start);
  std::string v = response.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

bool HasHeader(const std::string& response, const std::string& name) {
  const std::string lower = RawSocket::Lower(response);
  size_t pos = lower.find("\r\n" + RawSocket::Lower(name) + ":");
  return pos != std::string::npos && pos < lower.find("\r\n\r\n");
}

class HttpBehaviourTest : public ServerSuite<HttpBehaviourTest> {
 protected:
  std::string Host() const { return "Host: 127.0.0.1:" + std::to_string(server().port()) + "\r\n"; }
  std::string Raw(std::string_view bytes, int timeout_ms = 3000) {
    auto r = client().Raw(bytes, timeout_ms);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : "";
  }
};

TEST_F(HttpBehaviourTest, KeepAliveServesSequentialRequestsOnOneConnection) {
  RawSocket s(server().port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.Send("GET /v2/ HTTP/1.1\r\n" + Host() + "\r\n"));
  std::string r1 = s.NextResponse();
  EXPECT_TRUE(StartsWith(r1, "HTTP/1.1 200")) << r1;
  EXPECT_NE(RawSocket::Lower(RawHeader(r1, "Connection")), "close");
  ASSERT_TRUE(s.Send("GET /v2/_catalog HTTP/1.1\r\n" + Host() + "\r\n"));
  std::string r2 = s.NextResponse();
  EXPECT_TRUE(StartsWith(r2, "HTTP/1.1 200")) << r2;
  // An explicit close ends the connection after the response.
  ASSERT_TRUE(s.Send("GET /v2/ HTTP/1.1\r\n" + Host() + "Connection: close\r\n\r\n"));
  std::string r3 = s.NextResponse();
  EXPECT_TRUE(StartsWith(r3, "HTTP/1.1 200")) << r3;
  EXPECT_EQ(RawSocket::Lower(RawHeader(r3, "Connection")), "close");
  EXPECT_TRUE(s.ReadToClose(3000)) << "server kept the connection open after Connection: close";
}

TEST_F(HttpBehaviourTest, PipelinedRequestsAreAnsweredInOrder) {
  const std::string req = "GET /v2/ HTTP/1.1\r\n" + Host() + "\r\n" + "HEAD /v2/pipe/line/tags/list HTTP/1.1\r\n" +
                          Host() + "\r\n" + "GET /v2/_catalog HTTP/1.1\r\n" + Host() + "Connection: close\r\n\r\n";
  std::string out = Raw(req);
  size_t a = out.find("HTTP/1.1 200");
  size_t b = out.find("HTTP/1.1 404", a + 1);
  size_t c = out.find("HTTP/1.1 200", b == std::string::npos ? a + 1 : b + 1);
  EXPECT_EQ(a, 0u) << out;
  EXPECT_NE(b, std::string::npos) << out;
  EXPECT_NE(c, std::string::npos) << out;
  EXPECT_NE(out.find("\"repositories\""), std::string::npos) << out;
}

TEST_F(HttpBehaviourTest, TlsClientHelloOnPlainPortGetsHttp400) {
  // A TLS 1.2-style ClientHello record (what docker sends to a registry it believes is HTTPS).
  std::string hello;
  std::string body;
  body += "\x03\x03";                                  // client_version
  body += std::string(32, '\x42');                     // random
  body += std::string("\x00", 1);                      // session id length
  body += std::string("\x00\x04\x13\x01\xc0\x2f", 6);  // cipher suites
  body += std::string("\x01\x00", 2);                  // compression methods
  body += std::string("\x00\x00", 2);                  // extensions length
  std::string handshake =
      std::string("\x01\x00", 2) + static_cast<char>(body.size() >> 8) + static_cast<char>(body.size() & 0xff) + body;
  hello = std::string("\x16\x03\x01", 3) + static_cast<char>(handshake.size() >> 8) +
          static_cast<char>(handshake.size() & 0xff) + handshake;
  ASSERT_EQ(static_cast<unsigned char>(hello[0]), 0x16);
  std::string out = Raw(hello);
  EXPECT_TRUE(StartsWith(out, "HTTP/1.1 400")) << out;
}

TEST_F(HttpBehaviourTest, MalformedRequestLineIs400) {
  for (const std::string& req :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /v2/\r\n\r\n"), std::string("GET /v2/ HTTP/1.1 extra\r\n\r\n"),
        "GET /v2/ HTTP/1.1\r\n" + Host() + "Header Without Colon\r\n\r\n", "GET v2/ HTTP/1.1\r\n" + Host() + "\r\n"}) {
    std::string out = Raw(req);
    EXPECT_TRUE(StartsWith(out, "HTTP/1.1 400")) << "request: " << req << "\nresponse: " << out;
  }
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u) << "server survived";
}

TEST_F(HttpBehaviourTest, OversizedHeaderIs431) {
  const std::string req = "GET /v2/ HTTP/1.1\r\n" + Host() + Repeat("X-Big: ", 100 * 1024, 'a') + "\r\n\r\n";
  for (int i = 0; i < 5; ++i) {  // repeated: the response must not be lost to a connection reset
    std::string out = Raw(req);
    EXPECT_TRUE(StartsWith(out, "HTTP/1.1 431")) << "attempt " << i << ": " << out.substr(0, 200);
  }
  // Many small headers adding up past the limit, too.
  std::string many = "GET /v2/ HTTP/1.1\r\n" + Host();
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + Repeat(": ", 40, 'b') + "\r\n";
  many += "\r\n";
  std::string out = Raw(many);
  EXPECT_TRUE(StartsWith(out, "HTTP/1.1 431")) << out.substr(0, 200);
}

TEST_F(HttpBehaviourTest, ExpectContinueOnPatch) {
  const std::string loc = StartUpload(client(), "http/expect");
  ASSERT_FALSE(loc.empty());
  const std::string req = "PATCH " + loc + " HTTP/1.1\r\n" + Host() +
                          "Content-Type: application/octet-stream\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\nConnection: close\r\n\r\nhello";
  std::string out = Raw(req);
  EXPECT_TRUE(StartsWith(out, "HTTP/1.1 100 Continue\r\n\r\n")) << out;
  size_t final_pos = out.find("HTTP/1.1 202");
  EXPECT_NE(final_pos, std::string::npos) << out;
  EXPECT_EQ(RawHeader(out.substr(final_pos == std::string::npos ? 0 : final_pos), "Range"), "0-4") << out;
}

TEST_F(HttpBehaviourTest, ExpectContinueWaitsForTheInterimResponse) {
  // A careful client sends the body only after "100 Continue".
  const std::string loc = StartUpload(client(), "http/expect-wait");
  ASSERT_FALSE(loc.empty());
  RawSocket s(server().port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.Send("PATCH " + loc + " HTTP/1.1\r\n" + Host() + "Content-Length: 11\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(s.ReadUntil("\r\n\r\n", 3000)) << "no interim response: " << s.buffer();
  EXPECT_TRUE(StartsWith(s.buffer(), "HTTP/1.1 100 Continue\r\n\r\n")) << s.buffer();
  s.buffer().clear();
  ASSERT_TRUE(s.Send("hello world"));
  std::string r = s.NextResponse();
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 202")) << r;
  EXPECT_EQ(RawHeader(r, "Range"), "0-10");
}

TEST_F(HttpBehaviourTest, NoContinueWhenTheRequestIsRejectedUpFront) {
  // The upload is unknown: the server answers 404 without inviting the body.
  RawSocket s(server().port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.Send("PATCH /v2/http/none/blobs/uploads/0f0f0f0f-1111-4222-8333-444444444444 HTTP/1.1\r\n" + Host() +
                     "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"));
  std::string r = s.NextResponse(3000);
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 404")) << r;
}

TEST_F(HttpBehaviourTest, MalformedChunkedBodyGets400) {
  // Broken chunk framing is the client's fault: it deserves a 400, not a
  // silently dropped connection (and certainly not a crash).
  const std::string loc = StartUpload(client(), "http/badchunk");
  ASSERT_FALSE(loc.empty());
  RawSocket s(server().port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(
      s.Send("PATCH " + loc + " HTTP/1.1\r\n" + Host() + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"));
  std::string r = s.NextResponse(3000);
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 400")) << "response: '" << r << "'";
  ClientResponse parsed;
  parsed.body = r.empty() ? "" : r.substr(r.find("\r\n\r\n") + 4);
  EXPECT_EQ(ErrorCode(parsed), "BLOB_UPLOAD_INVALID");
}

TEST_F(HttpBehaviourTest, MalformedChunkedManifestGets400) {
  RawSocket s(server().port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.Send("PUT /v2/http/badchunk-manifest/manifests/v1 HTTP/1.1\r\n" + Host() +
                     "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n5\r\n{}{}{}{}\r\n0\r\n\r\n"));
  std::string r = s.NextResponse(3000);
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 400")) << "response: '" << r << "'";
}

TEST_F(HttpBehaviourTest, InterruptedUploadCanBeResumedFromTheReportedOffset) {
  // The client announces 3 MiB, sends 1.5 MiB and goes away. The server keeps
  // what it stored (how much is its choice) and reports it; the client resumes
  // from exactly that offset and the blob comes out intact.
  const std::string content = RandomBytes(3 << 20, 21);
  const size_t sent = content.size() / 2;
  const std::string loc = StartUpload(client(), "http/interrupted");
  ASSERT_FALSE(loc.empty());
  {
    RawSocket s(server().port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.Send("PATCH " + loc + " HTTP/1.1\r\n" + Host() + "Content-Length: " + std::to_string(content.size()) +
                       "\r\n\r\n"));
    ASSERT_TRUE(s.Send(std::string_view(content).substr(0, sent)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // the client goes away mid-body
  // Wait until the server has noticed (the session is released), then read the offset.
  std::string range;
  for (int i = 0; i < 100; ++i) {
    auto probe = client().Request("PATCH", loc, {{"Content-Range", "999999999-999999999"}}, "z");
    ASSERT_TRUE(probe.ok()) << "server gone after a client dropped mid-upload: " << probe.status().message();
    if (probe->status == 416u) {
      range = probe->header("Range");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(range.rfind("0-", 0), 0u) << "no usable Range after the interruption: '" << range << "'";
  auto status = Do(client(), "GET", loc);
  EXPECT_EQ(status.status, 204u);
  EXPECT_EQ(status.header("Range"), range);
  const size_t kept = range == "0-0" ? 0 : std::stoul(range.substr(2)) + 1;
  EXPECT_LE(kept, sent) << "the server claims bytes it never received";
  auto p =
      Do(client(), "PATCH", loc, {{"Content-Range", std::to_string(kept) + "-" + std::to_string(content.size() - 1)}},
         std::string_view(content).substr(kept));
  ASSERT_EQ(p.status, 202u) << p.body;
  EXPECT_EQ(p.header("Range"), "0-" + std::to_string(content.size() - 1));
  auto put = Do(client(), "PUT", WithDigest(loc, Sha256(content)));
  EXPECT_EQ(put.status, 201u) << put.body;
}

TEST_F(HttpBehaviourTest, NoContentResponsesCarryNoContentLength) {
  // RFC 9110 8.6: "A server MUST NOT send a Content-Length header field in any
  // response with a status code of 1xx (Informational) or 204 (No Content)."
  const std::string loc = StartUpload(client(), "http/nocontent");
  ASSERT_FALSE(loc.empty());
  std::string status = Raw("GET " + loc + " HTTP/1.1\r\n" + Host() + "Connection: close\r\n\r\n");
  ASSERT_TRUE(StartsWith(status, "HTTP/1.1 204")) << status;
  EXPECT_FALSE(HasHeader(status, "Content-Length")) << status;
  std::string del = Raw("DELETE " + loc + " HTTP/1.1\r\n" + Host() + "Connection: close\r\n\r\n");
  ASSERT_TRUE(StartsWith(del, "HTTP/1.1 204")) << del;
  EXPECT_FALSE(HasHeader(del, "Content-Length")) << del;
}

TEST_F(HttpBehaviourTest, NotModifiedDoesNotAnnounceAnEmptyBody) {
  // RFC 9110 8.6: a 304 may only carry the Content-Length the 200 response would have had.
  const std::string content = "conditional content";
  const std::string digest = PushBlob(client(), "http/etag", content);
  auto r = Do(client(), "GET", "/v2/http/etag/blobs/" + digest, {{"If-None-Match", "\"" + digest + "\""}});
  EXPECT_EQ(r.status, 304u);
  EXPECT_TRUE(r.body.empty());
  const std::string len = r.header("Content-Length");
  EXPECT_TRUE(len.empty() || len == std::to_string(content.size())) << "Content-Length: " << len;
}

TEST_F(HttpBehaviourTest, MethodNotAllowedListsAllowedMethods) {
  // RFC 9110 15.5.6: "The origin server MUST generate an Allow header field in a 405 response".
  auto r = Do(client(), "POST", "/v2/http/allow/tags/list");
  EXPECT_EQ(r.status, 405u);
  EXPECT_NE(r.header("Allow"), "") << "405 without Allow";
}

TEST_F(HttpBehaviourTest, RequestBodyOnGetDoesNotDesynchronizeTheConnection) {
  RawSocket s(server().port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.Send("GET /v2/ HTTP/1.1\r\n" + Host() + "Content-Length: 25\r\n\r\nGET /v2/smuggled HTTP/1.1" +
                     "GET /v2/_catalog HTTP/1.1\r\n" + Host() + "Connection: close\r\n\r\n"));
  std::string first = s.NextResponse();
  EXPECT_TRUE(StartsWith(first, "HTTP/1.1 200")) << first;
  // Either the connection is closed after the unread body, or the body is
  // skipped and the next request is parsed correctly.
  if (RawSocket::Lower(RawHeader(first, "Connection")) == "close") return;
  std::string second = s.NextResponse();
  EXPECT_TRUE(StartsWith(second, "HTTP/1.1 200")) << second;
  EXPECT_NE(second.find("repositories"), std::string::npos) << second;
}

// Own server: the test shuts it down.
class ShutdownTest : public ServerSuite<ShutdownTest> {};

TEST_F(ShutdownTest, SigtermLetsAnInFlightUploadFinish) {
  const std::string loc = StartUpload(client(), "shutdown/slow");
  ASSERT_FALSE(loc.empty());
  constexpr size_t kPieces = 10;
  constexpr size_t kPiece = 64 * 1024;
  const std::string content = RandomBytes(kPieces * kPiece, 99);
  std::atomic<size_t> pieces_sent{0};
  Result<ClientResponse> result = Status::IoError("not run");
  std::thread uploader([&] {
    HttpClient c("127.0.0.1", server().port());
    size_t off = 0;
    result = c.RequestStream("PATCH", loc, {{"Content-Type", "application/octet-stream"}},
                             static_cast<int64_t>(content.size()), [&](char* buf, size_t n) -> size_t {
                               if (off >= content.size()) return 0;
                               std::this_thread::sleep_for(std::chrono::milliseconds(60));
                               size_t k = std::min(n, kPiece);
                               std::copy_n(content.data() + off, k, buf);
                               off += k;
                               ++pieces_sent;
                               return k;
                             });
  });
  while (pieces_sent < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server().Signal(SIGTERM);
  uploader.join();
  ASSERT_TRUE(result.ok()) << "in-flight upload was cut off: " << result.status().message();
  EXPECT_EQ(result->status, 202u) << result->body;
  EXPECT_EQ(result->header("Range"), "0-" + std::to_string(content.size() - 1));

  const int code = server().WaitForExit(10000);
  EXPECT_EQ(code, 0) << "berth did not exit cleanly after SIGTERM; log:\n" << server().LogSinceStart();
  if (code == -2) server().Stop();

  // Nothing was lost: a new server on the same data finishes the upload.
  ASSERT_EQ(server().Start(), "");
  auto c = server().Client();
  auto put = Do(*c, "PUT", WithDigest(loc, Sha256(content)));
  EXPECT_EQ(put.status, 201u) << put.body;
}

TEST_F(ShutdownTest, SigtermWithIdleKeepAliveConnectionsExitsPromptly) {
  // Idle keep-alive connections must not hold the shutdown for the idle timeout.
  ASSERT_EQ(Do(client(), "GET", "/v2/").status, 200u);  // leaves an idle kept-alive connection
  RawSocket idle(server().port());                      // and a connection that never sent anything
  ASSERT_TRUE(idle.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  server().Signal(SIGTERM);
  const int code = server().WaitForExit(10000);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(code, 0) << server().LogSinceStart();
  EXPECT_LT(ms, 3000) << "shutdown waited for idle connections";
  if (code == -2) server().Stop();
}

}  // namespace
}  // namespace berth::apitest
