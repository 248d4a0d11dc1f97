// Concurrent clients: the same blob, the same tag, deletes while others pull.
// Every request must succeed or fail cleanly (never 5xx), and the final state
// must be one of the orders the requests could have run in.
//
// The interleaving each test is about is made to happen, not hoped for: the
// server runs with test hooks (src/util/test_hooks.h) that hold every request
// at a named point while a hold file exists; a test creates the file, waits
// until the server's log says all its requests reached the point, then lets
// them go. The last test hammers instead and says what that proves.
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

constexpr int kClients = 8;
constexpr int kHoldTimeoutMs = 30000;

class ConcurrencyTest : public ServerSuite<ConcurrencyTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    // A held request blocks its I/O thread: room for all of them plus the rest.
    o.server_extra = "  threads: " + std::to_string(kClients + 4) + "\n";
    o.test_hooks =
        "upload.commit.moved:hold={dir}/hold-commit,metadata.repository.locking:hold={dir}/hold-links,"
        "manifest.get.resolved:hold={dir}/hold-get";
    return o;
  }
};

// Holds the server's requests at one hook point from construction until Release().
class Hold {
 public:
  Hold(const TestServer& server, const std::string& file) : path_(server.dir() + "/" + file) { std::ofstream{path_}; }
  ~Hold() { Release(); }
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;
  void Release() { std::remove(path_.c_str()); }

 private:
  std::string path_;
};

std::string Reached(const char* point) { return std::string("berth test hook: ") + point + " reached"; }

// Every upload has moved its data into the blob's place before any of them
// links it: the later moves replace identical bytes that are already there.
TEST_F(ConcurrencyTest, SameBlobPushedByManyClientsAtOnce) {
  const std::string content = RandomBytes(3 << 20, 77);
  const std::string digest = Sha256(content);
  const std::string reached = Reached("upload.commit.moved");
  const size_t before = server().CountInLog(reached);
  Hold hold(server(), "hold-commit");
  std::vector<unsigned> statuses(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = server().Client();
      // Half monolithic, half POST + PATCH + PUT.
      if (i % 2 == 0) {
        auto r = c->Request("POST", "/v2/conc/blob/blobs/uploads/?digest=" + digest, {}, content);
        statuses[i] = r.ok() ? r->status : 0;
      } else {
        auto start = c->Request("POST", "/v2/conc/blob/blobs/uploads/");
        if (!start.ok() || start->status != 202) return;
        const std::string loc = start->header("Location");
        auto patch = c->Request("PATCH", loc, {{"Content-Type", "application/octet-stream"}}, content);
        if (!patch.ok() || patch->status != 202) return;
        auto put = c->Request("PUT", WithDigest(loc, digest));
        statuses[i] = put.ok() ? put->status : 0;
      }
    });
  }
  const bool lined_up = server().WaitForLog(reached, before + kClients, kHoldTimeoutMs);
  hold.Release();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(lined_up) << "not every upload reached the point between move and link; log:\n"
                        << server().LogSinceStart();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(statuses[i], 201u) << "client " << i;
  auto g = Do(client(), "GET", "/v2/conc/blob/blobs/" + digest);
  ASSERT_EQ(g.status, 200u);
  EXPECT_TRUE(g.body == content) << "the stored blob is not the pushed content";
}

// All first PUTs wait for the repository's write lock together (it covers
// the storage links and the database rows, docs/metadata.md) before any
// writes its links; four more rounds run freely. (On the database threads: one
// per client, as the server runs with SQLite.)
TEST_F(ConcurrencyTest, SameTagPushedWithDifferentManifests) {
  std::vector<Image> images;
  for (int i = 0; i < kClients; ++i) images.push_back(MakeImage(client(), "conc/tag", "tag-seed-" + std::to_string(i)));
  const std::string reached = Reached("metadata.repository.locking");
  const size_t before = server().CountInLog(reached);
  Hold hold(server(), "hold-links");
  std::vector<unsigned> statuses(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = server().Client();
      for (int round = 0; round < 5; ++round) {
        auto r = c->Request("PUT", "/v2/conc/tag/manifests/latest", {{"Content-Type", std::string(kOciManifest)}},
                            images[i].body);
        statuses[i] = r.ok() ? r->status : 0;
        if (statuses[i] != 201) return;
      }
    });
  }
  const bool lined_up = server().WaitForLog(reached, before + kClients, kHoldTimeoutMs);
  hold.Release();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(lined_up) << "not every PUT reached the repository lock; log:\n" << server().LogSinceStart();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(statuses[i], 201u) << "client " << i;
  auto g = Do(client(), "GET", "/v2/conc/tag/manifests/latest", {{"Accept", std::string(kOciManifest)}});
  ASSERT_EQ(g.status, 200u);
  std::set<std::string> bodies;
  for (const auto& im : images) bodies.insert(im.body);
  EXPECT_EQ(bodies.count(g.body), 1u) << "the tag points at something nobody pushed";
  EXPECT_EQ(g.header("Docker-Content-Digest"), Sha256(g.body));
  // Every pushed manifest is still reachable by digest.
  for (const auto& im : images) {
    EXPECT_EQ(Do(client(), "HEAD", "/v2/conc/tag/manifests/" + im.digest).status, 200u);
  }
}

// A GET has resolved the tag to a digest when the manifest is deleted: it
// answers a clean 404, not a 5xx and not the deleted manifest.
TEST_F(ConcurrencyTest, ManifestDeletedBetweenTagLookupAndReadIs404) {
  Image im = PushImage(client(), "conc/get", "v1", "get-seed");
  const std::string reached = Reached("manifest.get.resolved");
  const size_t before = server().CountInLog(reached);
  Hold hold(server(), "hold-get");
  ClientResponse got;
  std::thread reader([&] {
    auto c = server().Client();
    got = Do(*c, "GET", "/v2/conc/get/manifests/v1", {{"Accept", std::string(kOciManifest)}});
  });
  const bool held = server().WaitForLog(reached, before + 1, kHoldTimeoutMs);
  EXPECT_EQ(Do(client(), "DELETE", "/v2/conc/get/manifests/" + im.digest).status, 202u);
  hold.Release();
  reader.join();
  ASSERT_TRUE(held) << "the GET never reached the point after its tag lookup; log:\n" << server().LogSinceStart();
  EXPECT_EQ(got.status, 404u) << got.body;
  EXPECT_EQ(ErrorCode(got), "MANIFEST_UNKNOWN");
}

// A blob deleted while a client is in the middle of pulling it: the pull that
// already started gets every byte (the response head arrived before the
// DELETE was sent, and the body is larger than both socket buffers together,
// so the server is still sending); the next pull is a clean 404.
TEST_F(ConcurrencyTest, BlobDeletedDuringAPullStillSendsTheWholeBody) {
  const std::string blob = RandomBytes(8 << 20, 98);
  const std::string digest = PushBlob(client(), "conc/pull", blob);
  int fd = ConnectLoopback(server().port(), 4096);
  ASSERT_GE(fd, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req = "GET /v2/conc/pull/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string in;
  char buf[4096];
  size_t head_end = std::string::npos;
  while (head_end == std::string::npos || in.size() <= head_end + 4) {  // the head and some body bytes
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "the pull ended before its body began";
    in.append(buf, static_cast<size_t>(n));
    head_end = in.find("\r\n\r\n");
  }
  ASSERT_EQ(in.rfind("HTTP/1.1 200", 0), 0u) << in.substr(0, head_end);
  EXPECT_EQ(Do(client(), "DELETE", "/v2/conc/pull/blobs/" + digest).status, 202u);
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(in.size() - head_end - 4, blob.size());
  EXPECT_TRUE(in.substr(head_end + 4) == blob) << "the pull that had started got a different body";
  EXPECT_EQ(Do(client(), "GET", "/v2/conc/pull/blobs/" + digest).status, 404u);
}

// Readers loop over a blob and a manifest while both are deleted. Which
// interleavings occur is up to the scheduler (the two tests above force the
// ones that matter); what this proves is that none of those that do occur
// gives a 5xx or a torn body, and, under TSan, that no data race is reported.
TEST_F(ConcurrencyTest, DeletesWhileOthersPullNeverTearOrFail) {
  const std::string blob = RandomBytes(2 << 20, 99);
  const std::string digest = PushBlob(client(), "conc/del", blob);
  Image im = PushImage(client(), "conc/del", "v1", "del-seed");
  constexpr int kReaders = 4;
  std::atomic<bool> deleted{false};
  std::atomic<int> bad{0}, rounds{0}, saw_both_gone{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      auto c = server().Client();
      // Each reader goes on until, after the deletes, it has seen both gone.
      while (true) {
        const bool after_delete = deleted;
        auto b = c->Request("GET", "/v2/conc/del/blobs/" + digest);
        // Either the whole blob or a clean 404: never a torn body or a 5xx.
        if (!b.ok() || !((b->status == 200 && b->body == blob) || b->status == 404)) ++bad;
        auto m = c->Request("GET", "/v2/conc/del/manifests/v1", {{"Accept", std::string(kOciManifest)}});
        if (!m.ok() || !((m->status == 200 && m->body == im.body) || m->status == 404)) ++bad;
        ++rounds;
        if (!b.ok() || !m.ok()) return;
        if (after_delete && b->status == 404 && m->status == 404) {
          ++saw_both_gone;
          return;
        }
      }
    });
  }
  // Delete once the readers are pulling (a few rounds in), not after a guessed delay.
  for (int i = 0; i < 30000 && rounds < 2 * kReaders; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_GE(rounds.load(), 2 * kReaders) << "the readers did not get going";
  auto c = server().Client();
  EXPECT_EQ(c->Request("DELETE", "/v2/conc/del/manifests/" + im.digest)->status, 202u);
  EXPECT_EQ(c->Request("DELETE", "/v2/conc/del/blobs/" + digest)->status, 202u);
  deleted = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(saw_both_gone.load(), kReaders);
  EXPECT_EQ(Do(client(), "GET", "/v2/conc/del/manifests/v1").status, 404u);
  EXPECT_EQ(Do(client(), "GET", "/v2/conc/del/blobs/" + digest).status, 404u);
}

}  // namespace
}  // namespace berth::apitest
