// The metric primitives, the text exposition format and the registry's metric set.
#include "observability/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "config/config.h"
#include "http/request_context.h"
#include "observability/berth_metrics.h"
#include "observability/storage_usage.h"
#include "storage/blob_store.h"
#include "storage/filesystem_driver.h"
#include "temp_dir.h"

namespace berth::obs {
namespace {
using boost::beast::http::verb;

TEST(LabeledCountersTest, CountsPerKey) {
  LabeledCounters c;
  c.Add(7);
  c.Add(7, 4);
  c.Add(9);
  EXPECT_EQ(c.Get(7), 5u);
  EXPECT_EQ(c.Get(9), 1u);
  EXPECT_EQ(c.Get(8), 0u);
  auto snap = c.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0], (std::pair<uint32_t, uint64_t>{7, 5}));
  EXPECT_EQ(snap[1], (std::pair<uint32_t, uint64_t>{9, 1}));
  EXPECT_EQ(c.dropped(), 0u);
}

TEST(LabeledCountersTest, FullTableCountsTheOverflowAsDropped) {
  LabeledCounters c;
  for (uint32_t k = 1; k <= LabeledCounters::kSlots + 10; ++k) c.Add(k);
  EXPECT_EQ(c.Snapshot().size(), LabeledCounters::kSlots);
  EXPECT_EQ(c.dropped(), 10u);
  c.Add(1);  // existing keys still count
  EXPECT_EQ(c.Get(1), 2u);
}

TEST(LabeledCountersTest, ConcurrentAddsAreNotLost) {
  LabeledCounters c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 20000; ++i) c.Add(1 + static_cast<uint32_t>(i % 50));
    });
  }
  for (auto& t : threads) t.join();
  uint64_t total = 0;
  for (const auto& [k, v] : c.Snapshot()) {
    EXPECT_EQ(v, 4u * 400u) << "key " << k;
    total += v;
  }
  EXPECT_EQ(total, 80000u);
}

TEST(HistogramTest, BucketsAreCumulativeAndInclusive) {
  constexpr std::array<double, 3> bounds = {0.1, 1, 10};
  Histogram h;
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0}) h.Observe(v, bounds);
  auto s = h.Read(bounds);
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);  // 0.05, 0.1 (le is inclusive)
  EXPECT_EQ(s.cumulative[1], 4u);  // + 0.5, 1.0
  EXPECT_EQ(s.cumulative[2], 5u);  // + 5
  EXPECT_EQ(s.cumulative[3], 6u);  // +Inf: everything
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 106.65);
}

TEST(ExpositionTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeHelp("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
  TextExposition t;
  t.Family("m_total", "counter", "Help with \\ and\nnewline.");
  t.Sample("m_total", {{"path", "a\"b"}, {"x", "1\\2"}}, uint64_t{3});
  EXPECT_EQ(t.text(),
            "# HELP m_total Help with \\\\ and\\nnewline.\n"
            "# TYPE m_total counter\n"
            "m_total{path=\"a\\\"b\",x=\"1\\\\2\"} 3\n");
}

TEST(ExpositionTest, FormatsValues) {
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(ExpositionTest, WritesHistogramSeries) {
  constexpr std::array<double, 2> bounds = {0.5, 2};
  Histogram h;
  h.Observe(0.25, bounds);
  h.Observe(1, bounds);
  h.Observe(3, bounds);
  TextExposition t;
  t.HistogramSamples("d_seconds", {{"k", "v"}}, bounds, h.Read(bounds));
  EXPECT_EQ(t.text(),
            "d_seconds_bucket{k=\"v\",le=\"0.5\"} 1\n"
            "d_seconds_bucket{k=\"v\",le=\"2\"} 2\n"
            "d_seconds_bucket{k=\"v\",le=\"+Inf\"} 3\n"
            "d_seconds_sum{k=\"v\"} 4.25\n"
            "d_seconds_count{k=\"v\"} 3\n");
}

bool Contains(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(BerthMetricsTest, RendersRequestCountersAndDurations) {
  BerthMetrics m;
  m.SetRouteLabels({"other", "base", "manifest"});
  const http::RouteLabel manifest{2, "manifest"};
  m.CountRequest(verb::get, manifest, 200, 0.002, 0, 500);
  m.CountRequest(verb::get, manifest, 200, 0.3, 0, 500);
  m.CountRequest(verb::put, manifest, 201, 0.01, 700, 0);
  m.CountRequest(verb::propfind, http::RouteLabel{}, 404, 0.0001, 0, 10);
  m.CountTokenRequest(TokenResult::kDenied);
  m.CountAuthDenial();
  m.CountBlobUpload(BlobUploadResult::kSuccess);
  EXPECT_EQ(m.RequestCount(verb::get, manifest, 200), 2u);
  const std::string text = m.Render();
  EXPECT_TRUE(Contains(text, "# TYPE berth_http_requests_total counter")) << text;
  EXPECT_TRUE(Contains(text, "berth_http_requests_total{method=\"GET\",route=\"manifest\",status=\"200\"} 2")) << text;
  EXPECT_TRUE(Contains(text, "berth_http_requests_total{method=\"PUT\",route=\"manifest\",status=\"201\"} 1")) << text;
  EXPECT_TRUE(Contains(text, "berth_http_requests_total{method=\"other\",route=\"other\",status=\"404\"} 1")) << text;
  EXPECT_TRUE(Contains(text, "# TYPE berth_http_request_duration_seconds histogram")) << text;
  EXPECT_TRUE(
      Contains(text, "berth_http_request_duration_seconds_bucket{method=\"GET\",route=\"manifest\",le=\"0.001\"} 0"));
  EXPECT_TRUE(
      Contains(text, "berth_http_request_duration_seconds_bucket{method=\"GET\",route=\"manifest\",le=\"0.0025\"} 1"));
  EXPECT_TRUE(
      Contains(text, "berth_http_request_duration_seconds_bucket{method=\"GET\",route=\"manifest\",le=\"0.25\"} 1"));
  EXPECT_TRUE(
      Contains(text, "berth_http_request_duration_seconds_bucket{method=\"GET\",route=\"manifest\",le=\"0.5\"} 2"));
  EXPECT_TRUE(
      Contains(text, "berth_http_request_duration_seconds_bucket{method=\"GET\",route=\"manifest\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(Contains(text, "berth_http_request_duration_seconds_count{method=\"GET\",route=\"manifest\"} 2"));
  EXPECT_TRUE(Contains(text, "berth_http_request_bytes_total{route=\"manifest\"} 700")) << text;
  EXPECT_TRUE(Contains(text, "berth_http_response_bytes_total{route=\"manifest\"} 1000")) << text;
  // Every known route has its byte counters, zero or not.
  EXPECT_TRUE(Contains(text, "berth_http_request_bytes_total{route=\"base\"} 0")) << text;
  EXPECT_TRUE(Contains(text, "berth_token_requests_total{result=\"denied\"} 1")) << text;
  EXPECT_TRUE(Contains(text, "berth_token_requests_total{result=\"granted\"} 0")) << text;
  EXPECT_TRUE(Contains(text, "berth_auth_denials_total 1")) << text;
  EXPECT_TRUE(Contains(text, "berth_blob_uploads_total{result=\"success\"} 1")) << text;
  EXPECT_TRUE(text.find("# TYPE process_cpu_seconds_total counter") != std::string::npos) << text;
  EXPECT_TRUE(text.find("\nprocess_resident_memory_bytes ") != std::string::npos) << text;
  EXPECT_TRUE(text.find("\nprocess_open_fds ") != std::string::npos) << text;
  EXPECT_TRUE(text.find("\nprocess_start_time_seconds ") != std::string::npos) << text;
  // No source wired: the gauges are absent rather than a made-up 0.
  EXPECT_EQ(text.find("berth_uploads_in_progress"), std::string::npos);
  EXPECT_EQ(text.find("berth_storage_bytes"), std::string::npos);
  m.SetUploadsInProgressSource([] { return int64_t{3}; });
  EXPECT_TRUE(Contains(m.Render(), "berth_uploads_in_progress 3"));
}

TEST(RequestContextTest, KeepsSaneIncomingIdsAndMakesOthers) {
  EXPECT_TRUE(http::IsSaneRequestId("abc-DEF_1.2"));
  EXPECT_TRUE(http::IsSaneRequestId(std::string(64, 'a')));
  EXPECT_FALSE(http::IsSaneRequestId(std::string(65, 'a')));
  EXPECT_FALSE(http::IsSaneRequestId(""));
  EXPECT_FALSE(http::IsSaneRequestId("a b"));
  EXPECT_FALSE(http::IsSaneRequestId("a\"b"));
  EXPECT_FALSE(http::IsSaneRequestId("a\r\nX-Evil: 1"));
  http::RequestContext a, b;
  a.AssignRequestId("trace-42");
  EXPECT_EQ(a.request_id(), "trace-42");
  a.AssignRequestId("bad id");
  b.AssignRequestId("");
  EXPECT_EQ(a.request_id().size(), 16u);
  EXPECT_EQ(b.request_id().size(), 16u);
  EXPECT_NE(a.request_id(), b.request_id());
  EXPECT_TRUE(http::IsSaneRequestId(a.request_id()));
  // Before a handler routes it, a request counts as "other".
  EXPECT_EQ(a.route.index, 0u);
  EXPECT_EQ(a.route.name, "other");
}

TEST(StorageUsageTest, SumsBlobSizesInTheBackground) {
  testing_util::TempDir tmp("berth-usage");
  auto driver = storage::FilesystemDriver::Open(tmp.path());
  ASSERT_TRUE(driver.ok()) << driver.status().message();
  storage::BlobStore blobs(**driver);
  const std::string a(1000, 'a'), b(234, 'b');
  ASSERT_TRUE(blobs.PutSmall(oci::DigestOf(a, oci::DigestAlgorithm::kSha256), a).ok());
  ASSERT_TRUE(blobs.PutSmall(oci::DigestOf(b, oci::DigestAlgorithm::kSha256), b).ok());
  StorageUsage usage(**driver);
  StorageUsage::Value v;
  for (int i = 0; i < 1000 && !v.known; ++i) {  // the start-up walk runs on its own thread
    v = usage.Get();
    if (!v.known) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(v.known);
  EXPECT_EQ(v.bytes, 1234);
  EXPECT_EQ(v.blobs, 2);
}

TEST(MetricsConfigTest, ParsesDebugAddrAndMetrics) {
  auto c = config::ParseConfig("server: {debug_addr: \"127.0.0.1:5001\", metrics: {enabled: false, public: true}}\n",
                               "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server.debug_addr, "127.0.0.1:5001");
  EXPECT_FALSE(c->server.metrics.enabled);
  EXPECT_TRUE(c->server.metrics.is_public);
  auto d = config::ParseConfig("", "t.yaml");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->server.debug_addr.empty());
  EXPECT_TRUE(d->server.metrics.enabled);
  EXPECT_FALSE(d->server.metrics.is_public);
  EXPECT_FALSE(config::ParseConfig("server: {debug_addr: \"nohost\"}\n", "t.yaml").ok());
  EXPECT_FALSE(config::ParseConfig("server: {metrics: {enabled: true, open: true}}\n", "t.yaml").ok());
}

}  // namespace
}  // namespace berth::obs
