// BerthMetrics: the registry's metrics (served at GET /metrics) and the
// process-wide instance everything counts into.
//
//   berth_http_requests_total{method,route,status}        counter
//   berth_http_request_duration_seconds{method,route}     histogram
//   berth_http_request_bytes_total{route}                 counter (request bodies)
//   berth_http_response_bytes_total{route}                counter (response bodies)
//   berth_uploads_in_progress                             gauge (requests holding an upload session)
//   berth_blob_uploads_total{result}                      counter
//   berth_token_requests_total{result}                    counter (granted | denied | unauthorized)
//   berth_auth_denials_total                              counter (requests refused by authentication/ACL)
//   berth_storage_bytes, berth_storage_blobs              gauges (see storage_usage.h)
//   berth_gc_runs_total{result}                           counter (success | failure | skipped), docs/gc.md
//   berth_gc_blobs_deleted_total, berth_gc_manifests_deleted_total, berth_gc_bytes_freed_total  counters
//   berth_gc_last_duration_seconds, berth_gc_last_success_timestamp_seconds  gauges
//   process_*                                             from /proc/self
//
// Counting is lock-free and allocation-free (see metrics.h); only Render() and
// the Set*Source wiring take a lock. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"
#include "observability/metrics.h"
#include "observability/storage_usage.h"
#include "util/mutex.h"

namespace berth::obs {

enum class TokenResult : uint8_t { kGranted, kDenied, kUnauthorized };
enum class BlobUploadResult : uint8_t { kSuccess, kFailure, kMounted, kCancelled };
enum class GcResult : uint8_t { kSuccess, kFailure, kSkipped };

class BerthMetrics final : public http::RequestObserver {
 public:
  static constexpr size_t kMethods = 8;  // GET HEAD POST PUT PATCH DELETE OPTIONS other
  // Route labels are counted by their index (http::RouteLabel), below this.
  static constexpr size_t kMaxRoutes = 32;

  void OnRequest(const http::Exchange& ex, std::chrono::steady_clock::duration elapsed) override;
  // The same, from plain values (what OnRequest extracts from the exchange).
  void CountRequest(boost::beast::http::verb method, http::RouteLabel route, unsigned status, double seconds,
                    int64_t bytes_in, int64_t bytes_out);
  void CountTokenRequest(TokenResult r);
  void CountAuthDenial();
  void CountBlobUpload(BlobUploadResult r);
  // One garbage collection run (online GC): its result, what it deleted, how
  // long it took; `finished_unix_s` becomes the last success time on success.
  void CountGcRun(GcResult r, int64_t blobs, int64_t manifests, int64_t bytes, double seconds, double finished_unix_s);
  // What the GC counters say so far in this process (the web UI's storage page).
  struct GcSummary {
    uint64_t successes = 0, failures = 0, skipped = 0;
    uint64_t blobs_deleted = 0, manifests_deleted = 0, bytes_freed = 0;
    double last_duration_s = -1;     // -1: never ran
    double last_success_unix_s = 0;  // 0: never succeeded
  };
  GcSummary Gc() const;

  // The route label values, by index (the handler's route table; index 0 is
  // http::RouteLabel{}'s "other"). Until set, every route renders as "other".
  // The names must be static strings.
  void SetRouteLabels(std::vector<std::string_view> names) EXCLUDES(mu_);

  // Where the gauges come from (null/empty: not reported). Kept until replaced.
  void SetUploadsInProgressSource(std::function<int64_t()> source) EXCLUDES(mu_);
  void SetStorageUsage(StorageUsage* usage) EXCLUDES(mu_);

  // The whole exposition document (text format 0.0.4).
  std::string Render() EXCLUDES(mu_);

  uint64_t RequestCount(boost::beast::http::verb method, http::RouteLabel route, unsigned status) const;

 private:
  static unsigned MethodIndex(boost::beast::http::verb m);
  static uint32_t RequestKey(unsigned method, unsigned route, unsigned status) {
    return 1 + (status << 8 | route << 3 | method);
  }

  LabeledCounters requests_;
  std::array<Histogram, kMethods * kMaxRoutes> durations_{};
  std::array<std::atomic<uint64_t>, kMaxRoutes> bytes_in_{};
  std::array<std::atomic<uint64_t>, kMaxRoutes> bytes_out_{};
  std::array<std::atomic<uint64_t>, 3> token_{};
  std::array<std::atomic<uint64_t>, 4> blob_uploads_{};
  std::atomic<uint64_t> auth_denials_{0};
  std::array<std::atomic<uint64_t>, 3> gc_runs_{};
  std::atomic<uint64_t> gc_blobs_{0}, gc_manifests_{0}, gc_bytes_{0};
  std::atomic<double> gc_last_duration_s_{-1}, gc_last_success_s_{0};  // -1 / 0: never

  Mutex mu_;  // the route labels and the sources below
  std::vector<std::string_view> route_labels_ GUARDED_BY(mu_){http::RouteLabel{}.name};
  std::function<int64_t()> uploads_in_progress_ GUARDED_BY(mu_);
  StorageUsage* storage_usage_ GUARDED_BY(mu_) = nullptr;
};

// The process-wide instance.
BerthMetrics& Metrics();

}  // namespace berth::obs
