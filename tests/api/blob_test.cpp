// Blobs: GET/HEAD/DELETE /v2/<name>/blobs/<digest>, range requests, large blobs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "http/file_sender.h"
#include "oci/digest.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

class BlobTest : public ServerSuite<BlobTest> {};

// A raw loopback connection with a small receive buffer (so the server's
// socket fills up and it must wait for room) and a 10 s receive timeout.
int ConnectSmallBuffer(uint16_t port) {
  int fd = ConnectLoopback(port, 4096);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// Reads until the peer closes (or 10 s pass without data); returns everything read.
std::string ReadToEnd(int fd, bool slow) {
  std::string in;
  char buf[8192];
  size_t reads = 0;
  while (true) {
    ssize_t n = ::recv(fd, buf, slow ? 1000 : sizeof buf, 0);
    if (n <= 0) return in;
    in.append(buf, static_cast<size_t>(n));
    if (slow && ++reads % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST_F(BlobTest, MonolithicPostWithDigestCreatesBlob) {
  const std::string content = RandomBytes(1000, 1);
  const std::string digest = Sha256(content);
  auto r = Do(client(), "POST", "/v2/blob/mono/blobs/uploads/?digest=" + digest,
              {{"Content-Type", "application/octet-stream"}}, content);
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.header("Location"), "/v2/blob/mono/blobs/" + digest);
  EXPECT_EQ(r.header("Docker-Content-Digest"), digest);

  auto g = Do(client(), "GET", r.header("Location"));
  EXPECT_EQ(g.status, 200u);
  EXPECT_TRUE(g.body == content);
}

TEST_F(BlobTest, GetReturnsContentAndHeaders) {
  const std::string content = RandomBytes(4096, 2);
  const std::string digest = PushBlob(client(), "blob/get", content);
  auto r = Do(client(), "GET", "/v2/blob/get/blobs/" + digest);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Length"), "4096");
  EXPECT_EQ(r.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(r.header("ETag"), "\"" + digest + "\"");
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.body.size(), content.size());
  EXPECT_TRUE(r.body == content);
  EXPECT_EQ(Sha256(r.body), digest);
}

TEST_F(BlobTest, HeadReturnsHeadersWithoutBody) {
  const std::string content = RandomBytes(777, 3);
  const std::string digest = PushBlob(client(), "blob/head", content);
  auto r = Do(client(), "HEAD", "/v2/blob/head/blobs/" + digest);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Length"), "777");
  EXPECT_EQ(r.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(r.header("ETag"), "\"" + digest + "\"");
  EXPECT_TRUE(r.body.empty());
  // The connection is still usable after a HEAD (no stray body bytes).
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u);
}

// Over plain HTTP, blob bodies go out from a mapping of the file (see
// http/file_sender.h): a range from the middle of a multi-MiB blob, at an
// offset that is no multiple of the page size and across 1 MiB write chunks,
// to a client with a tiny receive buffer that reads slowly (the server's socket
// fills up again and again, so it must wait for room and carry on from the
// right offset), then a second request on the same connection.
TEST_F(BlobTest, LargeRangeToSlowReaderThenKeepAlive) {
  const std::string content = RandomBytes(3 << 20, 21);
  const std::string digest = PushBlob(client(), "blob/slow", content);
  int fd = ConnectSmallBuffer(server().port());
  ASSERT_GE(fd, 0);
  auto send_all = [fd](const std::string& req) { return SendAll(fd, req); };
  std::string in;
  // Reads one response with a Content-Length body; `slow` sleeps between small reads.
  auto read_response = [&](bool slow, std::string* head, std::string* body) {
    size_t reads = 0;
    while (true) {
      size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        *head = in.substr(0, end + 4);
        size_t pos = head->find("Content-Length: ");
        if (pos == std::string::npos) return false;
        size_t len = std::stoul(head->substr(pos + 16));
        if (in.size() >= end + 4 + len) {
          *body = in.substr(end + 4, len);
          in.erase(0, end + 4 + len);
          return true;
        }
      }
      char buf[8192];
      ssize_t n = ::recv(fd, buf, slow ? 1000 : sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
      if (slow && ++reads % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  const int64_t first = 1000001, last = 3000000;
  ASSERT_TRUE(send_all("GET /v2/blob/slow/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\nRange: bytes=" +
                       std::to_string(first) + "-" + std::to_string(last) + "\r\n\r\n"));
  std::string head, body;
  ASSERT_TRUE(read_response(true, &head, &body)) << head;
  EXPECT_EQ(head.rfind("HTTP/1.1 206", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Range: bytes 1000001-3000000/3145728"), std::string::npos) << head;
  ASSERT_EQ(body.size(), static_cast<size_t>(last - first + 1));
  EXPECT_TRUE(body == content.substr(first, last - first + 1));
  // The connection is still in step: the whole blob on the same connection.
  ASSERT_TRUE(send_all("GET /v2/blob/slow/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(read_response(false, &head, &body)) << head;
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_TRUE(body == content);
  ::close(fd);
}

// More slow readers at once than http::kMaxMappedStreams: the first streams
// are sent from mappings, the rest with sendfile; every body must be exact.
// All of them are made to overlap: each connection has received the start of
// its body before any reads on, and a body is larger than both socket buffers
// together, so no stream can finish early. Then exactly kMaxMappedStreams
// mappings of the blob are in the server's address space (/proc/PID/maps).
TEST_F(BlobTest, ManyConcurrentSlowReadersGetExactBodies) {
  const std::string content = RandomBytes((5 << 20) + 12345, 22);  // > the 4 MiB tcp_wmem maximum
  const std::string digest = PushBlob(client(), "blob/many", content);
  constexpr int kReaders = 12;
  static_assert(kReaders > http::kMaxMappedStreams);
  std::vector<int> fds(kReaders, -1);
  std::vector<std::string> got(kReaders);
  for (int i = 0; i < kReaders; ++i) {
    fds[i] = ConnectSmallBuffer(server().port());
    ASSERT_GE(fds[i], 0);
    ASSERT_TRUE(
        SendAll(fds[i], "GET /v2/blob/many/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    char buf[1000];
    while (got[i].find("\r\n\r\n") == std::string::npos || got[i].size() <= got[i].find("\r\n\r\n") + 4) {
      const ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "reader " << i << " got no body";
      got[i].append(buf, static_cast<size_t>(n));
    }
  }
  // Every stream is running now; count the server's mappings of the blob.
  std::ifstream maps("/proc/" + std::to_string(server().pid()) + "/maps");
  int mapped = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(digest.substr(7) + "/data") != std::string::npos) ++mapped;
  }
  EXPECT_EQ(mapped, http::kMaxMappedStreams) << "streams sent from a mapping while all " << kReaders << " run";
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i] {
      got[i] += ReadToEnd(fds[i], true);
      ::close(fds[i]);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kReaders; ++i) {
    const size_t end = got[i].find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << "reader " << i;
    EXPECT_EQ(got[i].rfind("HTTP/1.1 200", 0), 0u) << got[i].substr(0, end);
    EXPECT_TRUE(got[i].substr(end + 4) == content) << "reader " << i << ": " << got[i].size() - end - 4 << " bytes";
  }
}

// The blob file shrinks on disk while it is being sent (an operator's mistake,
// a broken disk): the response is cut short and the server lives on. The
// mapping is only read by the kernel, so this is an EFAULT, never a SIGBUS.
// The cut is certain: the truncation follows the first bytes received, and the
// socket buffers hold far less than the 8 MiB body.
TEST_F(BlobTest, FileTruncatedWhileSendingCutsTheConnection) {
  const std::string content = RandomBytes(8 << 20, 23);
  const std::string digest = PushBlob(client(), "blob/shrink", content);
  const std::string path = server().dir() + "/data/docker/registry/v2/blobs/sha256/" + digest.substr(7, 2) + "/" +
                           digest.substr(7) + "/data";
  ASSERT_EQ(::access(path.c_str(), F_OK), 0) << path;
  int fd = ConnectSmallBuffer(server().port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /v2/blob/shrink/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  char buf[4096];
  const ssize_t first = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(first, 0);  // the server is sending
  ASSERT_EQ(::truncate(path.c_str(), 4096), 0);
  const std::string all = std::string(buf, static_cast<size_t>(first)) + ReadToEnd(fd, false);
  ::close(fd);
  const size_t head_end = all.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << all.substr(0, 200);
  EXPECT_EQ(all.rfind("HTTP/1.1 200", 0), 0u) << all.substr(0, head_end);
  EXPECT_LT(all.size() - head_end - 4, content.size()) << "the whole body arrived although the file shrank";
  EXPECT_EQ(server().CheckAlive(), -2) << "the server died";
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u);
}

TEST_F(BlobTest, EmptyBlob) {
  const std::string digest = PushBlob(client(), "blob/empty", "");
  EXPECT_EQ(digest, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto r = Do(client(), "GET", "/v2/blob/empty/blobs/" + digest);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Length"), "0");
  EXPECT_TRUE(r.body.empty());
}

TEST_F(BlobTest, RangeFirstTenBytes) {
  const std::string content = RandomBytes(100, 4);
  const std::string digest = PushBlob(client(), "blob/range", content);
  auto r = Do(client(), "GET", "/v2/blob/range/blobs/" + digest, {{"Range", "bytes=0-9"}});
  EXPECT_EQ(r.status, 206u);
  EXPECT_EQ(r.header("Content-Range"), "bytes 0-9/100");
  EXPECT_EQ(r.header("Content-Length"), "10");
  EXPECT_TRUE(r.body == content.substr(0, 10));

  auto mid = Do(client(), "GET", "/v2/blob/range/blobs/" + digest, {{"Range", "bytes=50-"}});
  EXPECT_EQ(mid.status, 206u);
  EXPECT_EQ(mid.header("Content-Range"), "bytes 50-99/100");
  EXPECT_TRUE(mid.body == content.substr(50));
}

TEST_F(BlobTest, SuffixRange) {
  const std::string content = RandomBytes(100, 5);
  const std::string digest = PushBlob(client(), "blob/suffix", content);
  auto r = Do(client(), "GET", "/v2/blob/suffix/blobs/" + digest, {{"Range", "bytes=-5"}});
  EXPECT_EQ(r.status, 206u);
  EXPECT_EQ(r.header("Content-Range"), "bytes 95-99/100");
  EXPECT_EQ(r.header("Content-Length"), "5");
  EXPECT_TRUE(r.body == content.substr(95));
}

TEST_F(BlobTest, UnsatisfiableRangeIs416) {
  const std::string content = RandomBytes(100, 6);
  const std::string digest = PushBlob(client(), "blob/unsat", content);
  auto r = Do(client(), "GET", "/v2/blob/unsat/blobs/" + digest, {{"Range", "bytes=100-200"}});
  EXPECT_EQ(r.status, 416u);
  EXPECT_EQ(r.header("Content-Range"), "bytes */100");
  // The connection stays usable.
  EXPECT_EQ(Do(client(), "GET", "/v2/blob/unsat/blobs/" + digest).status, 200u);
}

TEST_F(BlobTest, UnknownBlobIs404BlobUnknown) {
  const std::string digest = Sha256("never pushed");
  auto r = Do(client(), "GET", "/v2/blob/unknown/blobs/" + digest);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(ErrorCode(r), "BLOB_UNKNOWN");
  auto h = Do(client(), "HEAD", "/v2/blob/unknown/blobs/" + digest);
  EXPECT_EQ(h.status, 404u);
  EXPECT_TRUE(h.body.empty());
}

TEST_F(BlobTest, BlobOfAnotherRepositoryIsNotVisible) {
  const std::string content = "owned by repository one";
  const std::string digest = PushBlob(client(), "blob/owner", content);
  auto r = Do(client(), "GET", "/v2/blob/other/blobs/" + digest);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(ErrorCode(r), "BLOB_UNKNOWN");
  EXPECT_EQ(Do(client(), "HEAD", "/v2/blob/other/blobs/" + digest).status, 404u);
  EXPECT_EQ(Do(client(), "GET", "/v2/blob/owner/blobs/" + digest).status, 200u);
}

TEST_F(BlobTest, DeleteBlob) {
  const std::string digest = PushBlob(client(), "blob/delete", "delete me");
  auto d = Do(client(), "DELETE", "/v2/blob/delete/blobs/" + digest);
  EXPECT_EQ(d.status, 202u) << d.body;
  auto g = Do(client(), "GET", "/v2/blob/delete/blobs/" + digest);
  EXPECT_EQ(g.status, 404u);
  EXPECT_EQ(ErrorCode(g), "BLOB_UNKNOWN");
  auto again = Do(client(), "DELETE", "/v2/blob/delete/blobs/" + digest);
  EXPECT_EQ(again.status, 404u);
  EXPECT_EQ(ErrorCode(again), "BLOB_UNKNOWN");
}

TEST_F(BlobTest, DeleteInOneRepositoryKeepsItInAnother) {
  const std::string content = "shared by two repositories";
  const std::string digest = PushBlob(client(), "blob/shared-a", content);
  PushBlob(client(), "blob/shared-b", content);
  EXPECT_EQ(Do(client(), "DELETE", "/v2/blob/shared-a/blobs/" + digest).status, 202u);
  EXPECT_EQ(Do(client(), "GET", "/v2/blob/shared-a/blobs/" + digest).status, 404u);
  auto b = Do(client(), "GET", "/v2/blob/shared-b/blobs/" + digest);
  EXPECT_EQ(b.status, 200u);
  EXPECT_EQ(b.body, content);
}

// A deterministic byte stream, generated on the fly (never held whole in memory).
class StreamGenerator {
 public:
  explicit StreamGenerator(uint64_t seed) : x_(seed * 0x9E3779B97F4A7C15ULL + 7) {}
  void Fill(char* buf, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t v = Next();
      std::memcpy(buf + i, &v, 8);
    }
    if (i < n) {
      uint64_t v = Next();
      std::memcpy(buf + i, &v, n - i);
    }
  }

 private:
  uint64_t Next() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return x_;
  }
  uint64_t x_;
};

TEST_F(BlobTest, LargeBlobStreamedUpAndDown) {
  constexpr int64_t kSize = 64LL << 20;
  constexpr size_t kPiece = 1 << 20;  // multiple of 8: the generator stays aligned
  const std::string repo = "blob/large";
  const std::string location = StartUpload(client(), repo);
  ASSERT_FALSE(location.empty());

  StreamGenerator gen(42);
  oci::Hasher up_hash;
  int64_t sent = 0;
  auto patch = client().RequestStream(
      "PATCH", location, {{"Content-Type", "application/octet-stream"}}, kSize, [&](char* buf, size_t n) -> size_t {
        size_t k = static_cast<size_t>(
            std::min<int64_t>({static_cast<int64_t>(n), kSize - sent, static_cast<int64_t>(kPiece)}));
        gen.Fill(buf, k);
        up_hash.Update(buf, k);
        sent += static_cast<int64_t>(k);
        return k;
      });
  ASSERT_TRUE(patch.ok()) << patch.status().message();
  ASSERT_EQ(patch->status, 202u) << patch->body;
  EXPECT_EQ(patch->header("Range"), "0-" + std::to_string(kSize - 1));
  const std::string digest = up_hash.Current().str();

  auto put = Do(client(), "PUT", WithDigest(patch->header("Location"), digest));
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);

  auto head = Do(client(), "HEAD", "/v2/" + repo + "/blobs/" + digest);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(kSize));

  oci::Hasher down_hash;
  int64_t received = 0;
  auto get = client().Download("GET", "/v2/" + repo + "/blobs/" + digest, {}, [&](const char* data, size_t n) {
    down_hash.Update(data, n);
    received += static_cast<int64_t>(n);
  });
  ASSERT_TRUE(get.ok()) << get.status().message();
  EXPECT_EQ(get->status, 200u);
  EXPECT_TRUE(get->body.empty());
  EXPECT_EQ(received, kSize);
  EXPECT_EQ(down_hash.Current().str(), digest);

  // A range near the end of the large blob.
  oci::Hasher tail_hash;
  int64_t tail = 0;
  auto ranged = client().Download("GET", "/v2/" + repo + "/blobs/" + digest,
                                  {{"Range", "bytes=" + std::to_string(kSize - 1000) + "-"}},
                                  [&](const char* data, size_t n) { tail += static_cast<int64_t>(n); });
  ASSERT_TRUE(ranged.ok());
  EXPECT_EQ(ranged->status, 206u);
  EXPECT_EQ(tail, 1000);
  EXPECT_EQ(ranged->header("Content-Range"),
            "bytes " + std::to_string(kSize - 1000) + "-" + std::to_string(kSize - 1) + "/" + std::to_string(kSize));
}

// A second server with deletes disabled.
class BlobDeleteDisabledTest : public ServerSuite<BlobDeleteDisabledTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.delete_enabled = false;
    return o;
  }
};

TEST_F(BlobDeleteDisabledTest, DeleteBlobIs405Unsupported) {
  const std::string digest = PushBlob(client(), "nodelete/blob", "keep me");
  auto d = Do(client(), "DELETE", "/v2/nodelete/blob/blobs/" + digest);
  EXPECT_EQ(d.status, 405u);
  EXPECT_EQ(ErrorCode(d), "UNSUPPORTED");
  EXPECT_EQ(Do(client(), "GET", "/v2/nodelete/blob/blobs/" + digest).status, 200u);
}

TEST_F(BlobDeleteDisabledTest, DeleteManifestIs405Unsupported) {
  Image img = PushImage(client(), "nodelete/manifest", "v1", "nodelete");
  auto by_tag = Do(client(), "DELETE", "/v2/nodelete/manifest/manifests/v1");
  EXPECT_EQ(by_tag.status, 405u);
  EXPECT_EQ(ErrorCode(by_tag), "UNSUPPORTED");
  auto by_digest = Do(client(), "DELETE", "/v2/nodelete/manifest/manifests/" + img.digest);
  EXPECT_EQ(by_digest.status, 405u);
  EXPECT_EQ(ErrorCode(by_digest), "UNSUPPORTED");
  EXPECT_EQ(Do(client(), "GET", "/v2/nodelete/manifest/manifests/v1").status, 200u);
}

}  // namespace
}  // namespace berth::apitest
