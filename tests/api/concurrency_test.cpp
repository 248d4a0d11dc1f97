// Concurrent clients: the same blob, the same tag, deletes while others pull.
// Every request must succeed or fail cleanly (never 5xx), and the final state
// must be one of the orders the requests could have run in.
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

class ConcurrencyTest : public ServerSuite<ConcurrencyTest> {};

constexpr int kClients = 8;

TEST_F(ConcurrencyTest, SameBlobPushedByManyClientsAtOnce) {
  const std::string content = RandomBytes(3 << 20, 77);
  const std::string digest = Sha256(content);
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
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(statuses[i], 201u) << "client " << i;
  auto g = Do(client(), "GET", "/v2/conc/blob/blobs/" + digest);
  ASSERT_EQ(g.status, 200u);
  EXPECT_TRUE(g.body == content) << "the stored blob is not the pushed content";
}

TEST_F(ConcurrencyTest, SameTagPushedWithDifferentManifests) {
  std::vector<Image> images;
  for (int i = 0; i < kClients; ++i) images.push_back(MakeImage(client(), "conc/tag", "tag-seed-" + std::to_string(i)));
  std::vector<unsigned> statuses(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = server().Client();
      for (int round = 0; round < 5; ++round) {
        auto r = c->Request("PUT", "/v2/conc/tag/manifests/latest",
                            {{"Content-Type", std::string(kOciManifest)}}, images[i].body);
        statuses[i] = r.ok() ? r->status : 0;
        if (statuses[i] != 201) return;
      }
    });
  }
  for (auto& t : threads) t.join();
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

TEST_F(ConcurrencyTest, DeletesWhileOthersPullNeverTearOrFail) {
  const std::string blob = RandomBytes(2 << 20, 99);
  const std::string digest = PushBlob(client(), "conc/del", blob);
  Image im = PushImage(client(), "conc/del", "v1", "del-seed");
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      auto c = server().Client();
      while (!stop) {
        auto b = c->Request("GET", "/v2/conc/del/blobs/" + digest);
        // Either the whole blob or a clean 404: never a torn body or a 5xx.
        if (!b.ok() || !((b->status == 200 && b->body == blob) || b->status == 404)) ++bad;
        auto m = c->Request("GET", "/v2/conc/del/manifests/v1", {{"Accept", std::string(kOciManifest)}});
        if (!m.ok() || !((m->status == 200 && m->body == im.body) || m->status == 404)) ++bad;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto c = server().Client();
  EXPECT_EQ(c->Request("DELETE", "/v2/conc/del/manifests/" + im.digest)->status, 202u);
  EXPECT_EQ(c->Request("DELETE", "/v2/conc/del/blobs/" + digest)->status, 202u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(Do(client(), "GET", "/v2/conc/del/manifests/v1").status, 404u);
  EXPECT_EQ(Do(client(), "GET", "/v2/conc/del/blobs/" + digest).status, 404u);
}

}  // namespace
}  // namespace berth::apitest
