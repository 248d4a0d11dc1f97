// Events (src/events/): the wire formats, the durable queue (framing, torn
// tail, cursors, size limit, group commit), retry delays, ignore rules,
// signatures, and the `notifications:` config section.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "events/dispatcher.h"
#include "events/event.h"
#include "events/queue.h"
#include "temp_dir.h"

namespace berth::events {
namespace {

using testing_util::TempDir;

Event SampleEvent() {
  Event e;
  e.id = "3f6c7a1e-0000-4000-8000-000000000001";
  e.timestamp = "2026-12-07T21:00:00.000000001Z";
  e.action = "push";
  e.target.media_type = "application/vnd.oci.image.manifest.v1+json";
  e.target.size = 708;
  e.target.digest = "sha256:" + std::string(64, 'a');
  e.target.repository = "team/app";
  e.target.url = "http://registry.example/v2/team/app/manifests/sha256:" + std::string(64, 'a');
  e.target.tag = "latest";
  e.request = {"req-1", "10.0.0.1", "registry.example", "PUT", "skopeo/1.0"};
  e.actor = "alice";
  e.source_addr = "host:5000";
  e.source_instance_id = "instance-1";
  return e;
}

TEST(EventJson, DistributionFields) {
  auto j = nlohmann::json::parse(ToJson(SampleEvent()));
  EXPECT_EQ(j["id"], "3f6c7a1e-0000-4000-8000-000000000001");
  EXPECT_EQ(j["action"], "push");
  EXPECT_EQ(j["target"]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(j["target"]["size"], 708);
  EXPECT_EQ(j["target"]["length"], 708);
  EXPECT_EQ(j["target"]["repository"], "team/app");
  EXPECT_EQ(j["target"]["tag"], "latest");
  EXPECT_EQ(j["request"]["method"], "PUT");
  EXPECT_EQ(j["request"]["useragent"], "skopeo/1.0");
  EXPECT_EQ(j["actor"]["name"], "alice");
  EXPECT_EQ(j["source"]["instanceID"], "instance-1");
  EXPECT_EQ(j["source"]["addr"], "host:5000");
}

TEST(EventJson, EscapesAndReplacesInvalidUtf8) {
  Event e = SampleEvent();
  e.request.useragent = std::string("a\"b\\c\n\x01 \xff caf\xc3\xa9 \xe2\x82");
  auto j = nlohmann::json::parse(ToJson(e));  // throws on invalid JSON or UTF-8
  EXPECT_EQ(j["request"]["useragent"], "a\"b\\c\n\x01 \xef\xbf\xbd caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
}

TEST(EventJson, EmptyFieldsOmitted) {
  Event e = SampleEvent();
  e.target.tag.clear();
  e.actor.clear();
  auto j = nlohmann::json::parse(ToJson(e));
  EXPECT_FALSE(j["target"].contains("tag"));
  EXPECT_FALSE(j["actor"].contains("name"));
}

TEST(EventJson, EnvelopeWrapsEvents) {
  const std::string a = ToJson(SampleEvent());
  auto j = nlohmann::json::parse(Envelope({a, a}));
  ASSERT_EQ(j["events"].size(), 2u);
  EXPECT_EQ(j["events"][1]["target"]["digest"], "sha256:" + std::string(64, 'a'));
}

TEST(EventJson, CloudEvent) {
  auto ce = ToCloudEvent(ToJson(SampleEvent()));
  ASSERT_TRUE(ce);
  auto j = nlohmann::json::parse(*ce);
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["id"], "3f6c7a1e-0000-4000-8000-000000000001");
  EXPECT_EQ(j["type"], "dev.berth.registry.push");
  EXPECT_EQ(j["source"], "/berth/instance-1");
  EXPECT_EQ(j["time"], "2026-12-07T21:00:00.000000001Z");
  EXPECT_EQ(j["subject"], "team/app:latest");
  EXPECT_EQ(j["datacontenttype"], "application/json");
  EXPECT_EQ(j["data"]["target"]["repository"], "team/app");
  EXPECT_FALSE(ToCloudEvent("not json"));
}

TEST(EventJson, StampMakesUniqueIdsAndUtcTime) {
  Event a, b;
  Stamp(&a);
  Stamp(&b);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(a.timestamp.size(), 30u);
  EXPECT_EQ(a.timestamp.back(), 'Z');
}

TEST(EventJson, RecordHeaderReadsWithoutJson) {
  const std::string record = ToRecord(SampleEvent());
  auto s = Summarize(record);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->action, "push");
  EXPECT_EQ(s->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(s->timestamp, "2026-12-07T21:00:00.000000001Z");
  EXPECT_EQ(s->json, ToJson(SampleEvent()));
  EXPECT_FALSE(Summarize("no header"));
}

TEST(EventFilter, IgnoreRules) {
  config::NotificationEndpointConfig ep;
  ep.ignored_media_types = {"application/octet-stream"};
  ep.ignored_actions = {"pull"};
  EXPECT_TRUE(Ignored(ep, Summary{"pull", "application/vnd.oci.image.manifest.v1+json", "", ""}));
  EXPECT_TRUE(Ignored(ep, Summary{"push", "application/octet-stream", "", ""}));
  EXPECT_FALSE(Ignored(ep, Summary{"push", "application/vnd.oci.image.manifest.v1+json", "", ""}));
  EXPECT_FALSE(Ignored(ep, Summary{"delete", "", "", ""}));
}

TEST(EventDispatcher, ActionsEveryEndpointIgnoresAreNotRecorded) {
  TempDir dir;
  config::NotificationsConfig c;
  config::NotificationEndpointConfig a, b;
  a.name = "a";
  a.url = "http://127.0.0.1:1/";
  a.ignored_actions = {"pull", "mount"};
  b = a;
  b.name = "b";
  b.ignored_actions = {"pull"};
  c.endpoints = {a, b};
  auto d = Dispatcher::Start(c, dir.path(), "host:5000");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_FALSE((*d)->Wants("pull"));
  EXPECT_TRUE((*d)->Wants("mount"));
  EXPECT_TRUE((*d)->Wants("push"));
  (*d)->Stop();
}

TEST(EventRetry, BackoffAfterThresholdDoublesUpToCap) {
  using std::chrono::milliseconds;
  const milliseconds backoff(1000);
  EXPECT_LE(RetryDelay(1, 3, backoff), milliseconds(50));
  EXPECT_LE(RetryDelay(2, 3, backoff), milliseconds(50));
  EXPECT_EQ(RetryDelay(3, 3, backoff), milliseconds(1000));
  EXPECT_EQ(RetryDelay(4, 3, backoff), milliseconds(2000));
  EXPECT_EQ(RetryDelay(5, 3, backoff), milliseconds(4000));
  EXPECT_EQ(RetryDelay(100, 3, backoff), milliseconds(64000));
}

TEST(EventSignature, HmacSha256) {
  // RFC 4231 test case 2.
  EXPECT_EQ(Signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(EventSignature, SecretFileMustBePrivate) {
  TempDir dir;
  const std::string path = dir.path() + "/secret";
  std::ofstream(path) << "s3cret\n";
  ::chmod(path.c_str(), 0644);
  EXPECT_FALSE(ReadSecretFile(path).ok());
  ::chmod(path.c_str(), 0600);
  auto s = ReadSecretFile(path);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, "s3cret");
  EXPECT_FALSE(ReadSecretFile(dir.path() + "/missing").ok());
}

TEST(EventUrl, Parse) {
  auto u = ParseEndpointUrl("http://127.0.0.1:8080/hook?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/hook?x=1");
  u = ParseEndpointUrl("https://[::1]");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_FALSE(ParseEndpointUrl("ftp://x").ok());
  EXPECT_FALSE(ParseEndpointUrl("http://x:99999/").ok());
}

TEST(EventQueue, Crc32) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

QueueOptions Options(const std::string& dir, std::vector<std::string> endpoints = {"a"}) {
  QueueOptions o;
  o.dir = dir;
  o.endpoints = std::move(endpoints);
  return o;
}

std::vector<std::string> Payloads(const std::vector<QueuedRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.payload);
  return out;
}

TEST(EventQueue, AppendReadAckSurvivesReopen) {
  TempDir dir;
  {
    auto q = EventQueue::Open(Options(dir.path()));
    ASSERT_TRUE(q.ok()) << q.status().message();
    ASSERT_TRUE((*q)->Append("one", Durability::kDurable).ok());
    ASSERT_TRUE((*q)->Append("two", Durability::kLazy).ok());
    ASSERT_TRUE((*q)->Append("three", Durability::kDurable).ok());
    EXPECT_EQ((*q)->Pending(0), 3u);
    auto r = (*q)->Read(0, 2);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Payloads(*r), (std::vector<std::string>{"one", "two"}));
    ASSERT_TRUE((*q)->Ack(0, r->back().next, r->size()).ok());
    EXPECT_EQ((*q)->Pending(0), 1u);
  }
  auto q = EventQueue::Open(Options(dir.path()));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Pending(0), 1u);
  auto r = (*q)->Read(0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Payloads(*r), (std::vector<std::string>{"three"}));
}

TEST(EventQueue, LazyRecordsAreWrittenInTheBackgroundInOrder) {
  TempDir dir;
  QueueOptions o = Options(dir.path());
  o.lazy_sync = std::chrono::milliseconds(50);
  auto q = EventQueue::Open(std::move(o));
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->Append("pull-1", Durability::kLazy).ok());
  ASSERT_TRUE((*q)->Append("pull-2", Durability::kLazy).ok());
  // Not written yet; the background thread writes it within its tick.
  ASSERT_TRUE((*q)->WaitForRecords(0, std::chrono::seconds(5)));
  ASSERT_TRUE((*q)->Append("push", Durability::kDurable).ok());
  auto r = (*q)->Read(0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Payloads(*r), (std::vector<std::string>{"pull-1", "pull-2", "push"}));
}

TEST(EventQueue, NewEndpointStartsAtTheEnd) {
  TempDir dir;
  {
    auto q = EventQueue::Open(Options(dir.path()));
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE((*q)->Append("old", Durability::kDurable).ok());
  }
  auto q = EventQueue::Open(Options(dir.path(), {"a", "b"}));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Pending(0), 1u);
  EXPECT_EQ((*q)->Pending(1), 0u);
  ASSERT_TRUE((*q)->Append("new", Durability::kDurable).ok());
  auto r = (*q)->Read(1, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Payloads(*r), (std::vector<std::string>{"new"}));
}

TEST(EventQueue, TornTailIsDiscardedOnRecovery) {
  TempDir dir;
  {
    auto q = EventQueue::Open(Options(dir.path()));
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE((*q)->Append("whole", Durability::kDurable).ok());
    ASSERT_TRUE((*q)->Append("torn-record", Durability::kDurable).ok());
  }
  std::string segment;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind("seg-", 0) == 0) segment = e.path().string();
  }
  ASSERT_FALSE(segment.empty());
  const auto size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 3);  // a crash in the middle of the second record
  auto q = EventQueue::Open(Options(dir.path()));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Pending(0), 1u);
  ASSERT_TRUE((*q)->Append("after", Durability::kDurable).ok());
  auto r = (*q)->Read(0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Payloads(*r), (std::vector<std::string>{"whole", "after"}));
}

TEST(EventQueue, CorruptRecordIsNotDelivered) {
  TempDir dir;
  {
    auto q = EventQueue::Open(Options(dir.path()));
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE((*q)->Append("good", Durability::kDurable).ok());
    ASSERT_TRUE((*q)->Append("flipped", Durability::kDurable).ok());
  }
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind("seg-", 0) != 0) continue;
    const int fd = ::open(e.path().c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const char x = 'X';
    ASSERT_EQ(::pwrite(fd, &x, 1, 8 + 4 + 8 + 2), 1);  // inside the second payload
    ::close(fd);
  }
  auto q = EventQueue::Open(Options(dir.path()));
  ASSERT_TRUE(q.ok());
  auto r = (*q)->Read(0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Payloads(*r), (std::vector<std::string>{"good"}));
}

TEST(EventQueue, SizeLimitDropsOldestAndCounts) {
  TempDir dir;
  QueueOptions o = Options(dir.path());
  o.max_bytes = 4096;
  o.segment_bytes = 1024;
  std::atomic<uint64_t> dropped{0};
  o.on_drop = [&](size_t ep, uint64_t n) {
    EXPECT_EQ(ep, 0u);
    dropped += n;
  };
  auto q = EventQueue::Open(std::move(o));
  ASSERT_TRUE(q.ok());
  const std::string payload(100, 'x');
  const int total = 200;
  for (int i = 0; i < total; ++i) {
    std::string p = payload + std::to_string(i);
    ASSERT_TRUE((*q)->Append(p, Durability::kDurable).ok());
  }
  EXPECT_LE((*q)->Bytes(), 4096u + 1024u);
  EXPECT_GT(dropped.load(), 0u);
  EXPECT_EQ((*q)->Pending(0) + dropped.load(), static_cast<uint64_t>(total));
  // What is left is the newest, in order, ending with the last one.
  std::vector<std::string> all;
  for (;;) {
    auto r = (*q)->Read(0, 7);
    ASSERT_TRUE(r.ok());
    if (r->empty()) break;
    for (auto& rec : *r) all.push_back(rec.payload);
    ASSERT_TRUE((*q)->Ack(0, r->back().next, r->size()).ok());
  }
  ASSERT_EQ(all.size() + dropped.load(), static_cast<uint64_t>(total));
  EXPECT_EQ(all.back(), payload + std::to_string(total - 1));
  EXPECT_EQ(all.front(), payload + std::to_string(dropped.load()));
}

TEST(EventQueue, ConsumedSegmentsAreDeleted) {
  TempDir dir;
  QueueOptions o = Options(dir.path());
  o.segment_bytes = 512;
  auto q = EventQueue::Open(std::move(o));
  ASSERT_TRUE(q.ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*q)->Append(std::string(100, 'y'), Durability::kDurable).ok());
  const uint64_t before = (*q)->Bytes();
  auto r = (*q)->Read(0, 100);
  while (r.ok() && !r->empty()) {
    ASSERT_TRUE((*q)->Ack(0, r->back().next, r->size()).ok());
    r = (*q)->Read(0, 100);
  }
  EXPECT_LT((*q)->Bytes(), before);
  EXPECT_EQ((*q)->Pending(0), 0u);
  // A fresh record after the deletions still reads, and offsets stay monotonic across a reopen.
  const uint64_t end = (*q)->EndOffset();
  q->reset();
  auto again = EventQueue::Open(Options(dir.path()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->EndOffset(), end);
}

TEST(EventQueue, ConcurrentDurableAppendsShareSyncs) {
  TempDir dir;
  auto q = EventQueue::Open(Options(dir.path()));
  ASSERT_TRUE(q.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!(*q)->Append("t" + std::to_string(t) + "-" + std::to_string(i), Durability::kDurable).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*q)->Pending(0), 400u);
}

TEST(EventQueue, InspectShowsPendingAndOldest) {
  TempDir dir;
  {
    auto q = EventQueue::Open(Options(dir.path()));
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE((*q)->Append(ToRecord(SampleEvent()), Durability::kDurable).ok());
  }
  auto state = InspectQueue(dir.path(), {"a", "unknown"});
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->endpoints.size(), 2u);
  EXPECT_EQ(state->endpoints[0].pending, 1u);
  EXPECT_EQ(state->endpoints[0].oldest_timestamp, "2026-12-07T21:00:00.000000001Z");
  EXPECT_EQ(state->endpoints[1].pending, 0u);
  EXPECT_GT(state->segment_bytes, 0u);
}

TEST(EventsConfig, EndpointsWithDistributionKeys) {
  auto c = config::ParseConfig(R"(
notifications:
  queue_dir: /var/lib/berth/events
  endpoints:
    - name: ci
      url: http://127.0.0.1:9000/hook
      headers:
        Authorization: [Bearer abc]
      timeout: 500ms
      threshold: 5
      backoff: 2s
      ignoredmediatypes: [application/octet-stream]
      ignore:
        actions: [pull]
    - name: audit
      url: https://audit.example/events
      format: cloudevents
)",
                               "n.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const auto& n = c->notifications;
  EXPECT_EQ(n.queue_dir, "/var/lib/berth/events");
  ASSERT_EQ(n.endpoints.size(), 2u);
  EXPECT_EQ(n.endpoints[0].timeout_ms, 500);
  EXPECT_EQ(n.endpoints[0].threshold, 5);
  EXPECT_EQ(n.endpoints[0].backoff_ms, 2000);
  EXPECT_EQ(n.endpoints[0].ignored_media_types, std::vector<std::string>{"application/octet-stream"});
  EXPECT_EQ(n.endpoints[0].ignored_actions, std::vector<std::string>{"pull"});
  ASSERT_EQ(n.endpoints[0].headers.size(), 1u);
  EXPECT_EQ(n.endpoints[0].headers[0].second, std::vector<std::string>{"Bearer abc"});
  EXPECT_EQ(n.endpoints[1].format, "cloudevents");
  EXPECT_EQ(n.endpoints[1].timeout_ms, 1000);  // distribution's defaults
  EXPECT_EQ(n.endpoints[1].threshold, 10);
}

TEST(EventsConfig, ErrorsHavePositions) {
  auto bad = [](const std::string& yaml) {
    auto c = config::ParseConfig(yaml, "n.yaml");
    return c.ok() ? std::string() : c.status().message();
  };
  EXPECT_NE(bad("notifications:\n  endpoints:\n    - name: a\n      url: ftp://x\n").find("n.yaml:4:"),
            std::string::npos);
  EXPECT_NE(bad("notifications:\n  endpoints:\n    - {name: a, url: 'http://x', timeout: 5x}\n").find("timeout"),
            std::string::npos);
  EXPECT_NE(bad("notifications:\n  endpoints:\n    - {name: a, url: 'http://x'}\n    - {name: a, url: 'http://y'}\n")
                .find("twice"),
            std::string::npos);
  EXPECT_NE(
      bad("notifications:\n  endpoints:\n    - {name: a, url: 'http://x', ignore: {actions: [fly]}}\n").find("fly"),
      std::string::npos);
  EXPECT_NE(bad("notifications:\n  bogus: 1\n").find("unknown key"), std::string::npos);
  EXPECT_NE(
      bad("storage:\n  s3: {bucket: events-bucket}\nnotifications:\n  endpoints:\n    - {name: a, url: 'http://x'}\n")
          .find("queue_dir"),
      std::string::npos);
}

}  // namespace
}  // namespace berth::events
