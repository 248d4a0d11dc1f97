#include "observability/berth_metrics.h"

#include "observability/event_metrics.h"
#include "observability/process_metrics.h"
#include "observability/proxy_metrics.h"

namespace berth::obs {
using boost::beast::http::verb;

namespace {
constexpr std::string_view kMethodNames[BerthMetrics::kMethods] = {"GET",   "HEAD",   "POST",    "PUT",
                                                                   "PATCH", "DELETE", "OPTIONS", "other"};
constexpr std::string_view kTokenResults[] = {"granted", "denied", "unauthorized"};
constexpr std::string_view kBlobUploadResults[] = {"success", "failure", "mounted", "cancelled"};

BerthMetrics g_metrics;
}  // namespace

BerthMetrics& Metrics() { return g_metrics; }

unsigned BerthMetrics::MethodIndex(verb m) {
  switch (m) {
    case verb::get: return 0;
    case verb::head: return 1;
    case verb::post: return 2;
    case verb::put: return 3;
    case verb::patch: return 4;
    case verb::delete_: return 5;
    case verb::options: return 6;
    default: return 7;
  }
}

void BerthMetrics::OnRequest(const http::Exchange& ex, std::chrono::steady_clock::duration elapsed) {
  CountRequest(ex.method(), ex.context().route, ex.status(), std::chrono::duration<double>(elapsed).count(),
               ex.bytes_received(), ex.bytes_sent());
}

void BerthMetrics::CountRequest(verb method, http::RouteLabel route, unsigned status, double seconds, int64_t bytes_in,
                                int64_t bytes_out) {
  const unsigned m = MethodIndex(method);
  unsigned r = route.index;
  if (r >= kMaxRoutes) r = 0;
  if (status > 999) status = 999;
  requests_.Add(RequestKey(m, r, status));
  durations_[m * kMaxRoutes + r].Observe(seconds, kDurationBuckets);
  if (bytes_in > 0) bytes_in_[r].fetch_add(static_cast<uint64_t>(bytes_in), std::memory_order_relaxed);
  if (bytes_out > 0) bytes_out_[r].fetch_add(static_cast<uint64_t>(bytes_out), std::memory_order_relaxed);
}

uint64_t BerthMetrics::RequestCount(verb method, http::RouteLabel route, unsigned status) const {
  return requests_.Get(RequestKey(MethodIndex(method), route.index, status));
}

void BerthMetrics::CountTokenRequest(TokenResult r) {
  token_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

void BerthMetrics::CountAuthDenial() { auth_denials_.fetch_add(1, std::memory_order_relaxed); }

void BerthMetrics::CountBlobUpload(BlobUploadResult r) {
  blob_uploads_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

void BerthMetrics::CountGcRun(GcResult r, int64_t blobs, int64_t manifests, int64_t bytes, double seconds,
                              double finished_unix_s) {
  gc_runs_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  if (r == GcResult::kSkipped) return;
  gc_blobs_.fetch_add(static_cast<uint64_t>(blobs), std::memory_order_relaxed);
  gc_manifests_.fetch_add(static_cast<uint64_t>(manifests), std::memory_order_relaxed);
  gc_bytes_.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed);
  gc_last_duration_s_.store(seconds, std::memory_order_relaxed);
  if (r == GcResult::kSuccess) gc_last_success_s_.store(finished_unix_s, std::memory_order_relaxed);
}

BerthMetrics::GcSummary BerthMetrics::Gc() const {
  GcSummary g;
  g.successes = gc_runs_[static_cast<size_t>(GcResult::kSuccess)].load(std::memory_order_relaxed);
  g.failures = gc_runs_[static_cast<size_t>(GcResult::kFailure)].load(std::memory_order_relaxed);
  g.skipped = gc_runs_[static_cast<size_t>(GcResult::kSkipped)].load(std::memory_order_relaxed);
  g.blobs_deleted = gc_blobs_.load(std::memory_order_relaxed);
  g.manifests_deleted = gc_manifests_.load(std::memory_order_relaxed);
  g.bytes_freed = gc_bytes_.load(std::memory_order_relaxed);
  g.last_duration_s = gc_last_duration_s_.load(std::memory_order_relaxed);
  g.last_success_unix_s = gc_last_success_s_.load(std::memory_order_relaxed);
  return g;
}

void BerthMetrics::SetRouteLabels(std::vector<std::string_view> names) {
  if (names.empty()) names.push_back(http::RouteLabel{}.name);
  if (names.size() > kMaxRoutes) names.resize(kMaxRoutes);
  MutexLock lock(mu_);
  route_labels_ = std::move(names);
}

void BerthMetrics::SetUploadsInProgressSource(std::function<int64_t()> source) {
  MutexLock lock(mu_);
  uploads_in_progress_ = std::move(source);
}

void BerthMetrics::SetStorageUsage(StorageUsage* usage) {
  MutexLock lock(mu_);
  storage_usage_ = usage;
}

std::string BerthMetrics::Render() {
  std::vector<std::string_view> routes;
  {
    MutexLock lock(mu_);
    routes = route_labels_;
  }
  // A route index without a name (none was set) renders as "other", as index 0.
  auto route_name = [&routes](size_t r) { return r < routes.size() ? routes[r] : routes[0]; };
  TextExposition t;
  t.Family("berth_http_requests_total", "counter", "HTTP requests answered, by method, endpoint kind and status.");
  for (const auto& [key, value] : requests_.Snapshot()) {
    const uint32_t k = key - 1;
    const unsigned m = k & 7, r = (k >> 3) & 31, status = k >> 8;
    const std::string st = std::to_string(status);
    t.Sample("berth_http_requests_total", {{"method", kMethodNames[m]}, {"route", route_name(r)}, {"status", st}},
             value);
  }
  t.Family("berth_http_request_duration_seconds", "histogram",
           "Time from the end of the request head to the end of the response, by method and endpoint kind.");
  for (size_t m = 0; m < kMethods; ++m) {
    for (size_t r = 0; r < kMaxRoutes; ++r) {
      const Histogram& h = durations_[m * kMaxRoutes + r];
      if (h.count() == 0) continue;
      const std::string_view route = route_name(r);
      t.HistogramSamples("berth_http_request_duration_seconds", {{"method", kMethodNames[m]}, {"route", route}},
                         kDurationBuckets, h.Read(kDurationBuckets));
    }
  }
  t.Family("berth_http_request_bytes_total", "counter", "Request body bytes received, by endpoint kind.");
  for (size_t r = 0; r < routes.size(); ++r) {
    t.Sample("berth_http_request_bytes_total", {{"route", routes[r]}}, bytes_in_[r].load(std::memory_order_relaxed));
  }
  t.Family("berth_http_response_bytes_total", "counter", "Response body bytes sent, by endpoint kind.");
  for (size_t r = 0; r < routes.size(); ++r) {
    t.Sample("berth_http_response_bytes_total", {{"route", routes[r]}}, bytes_out_[r].load(std::memory_order_relaxed));
  }
  t.Family("berth_blob_uploads_total", "counter",
           "Blob upload completions (PUT, or POST with ?digest=), mounts and cancellations, by result.");
  for (size_t i = 0; i < blob_uploads_.size(); ++i) {
    t.Sample("berth_blob_uploads_total", {{"result", kBlobUploadResults[i]}}, blob_uploads_[i].load());
  }
  t.Family("berth_token_requests_total", "counter",
           "Token endpoint requests: granted (everything asked for), denied (some scope refused), "
           "unauthorized (bad credentials).");
  for (size_t i = 0; i < token_.size(); ++i) {
    t.Sample("berth_token_requests_total", {{"result", kTokenResults[i]}}, token_[i].load());
  }
  t.Family("berth_auth_denials_total", "counter",
           "Requests refused by authentication or the ACL (401/403/429 from the access check).");
  t.Sample("berth_auth_denials_total", {}, auth_denials_.load());
  static constexpr std::array<std::string_view, 3> kGcResults = {"success", "failure", "skipped"};
  t.Family("berth_gc_runs_total", "counter",
           "Online garbage collection runs, by result (skipped: another collector held the lease).");
  for (size_t i = 0; i < gc_runs_.size(); ++i) {
    t.Sample("berth_gc_runs_total", {{"result", kGcResults[i]}}, gc_runs_[i].load());
  }
  t.Family("berth_gc_blobs_deleted_total", "counter", "Blobs whose bytes garbage collection deleted.");
  t.Sample("berth_gc_blobs_deleted_total", {}, gc_blobs_.load());
  t.Family("berth_gc_manifests_deleted_total", "counter", "Untagged manifests garbage collection deleted.");
  t.Sample("berth_gc_manifests_deleted_total", {}, gc_manifests_.load());
  t.Family("berth_gc_bytes_freed_total", "counter", "Bytes of blob content garbage collection freed.");
  t.Sample("berth_gc_bytes_freed_total", {}, gc_bytes_.load());
  if (const double d = gc_last_duration_s_.load(); d >= 0) {
    t.Family("berth_gc_last_duration_seconds", "gauge", "Duration of the last garbage collection run.");
    t.Sample("berth_gc_last_duration_seconds", {}, d);
  }
  if (const double last = gc_last_success_s_.load(); last > 0) {
    t.Family("berth_gc_last_success_timestamp_seconds", "gauge",
             "When the last successful garbage collection run finished (Unix seconds).");
    t.Sample("berth_gc_last_success_timestamp_seconds", {}, last);
  }
  {
    MutexLock lock(mu_);
    if (uploads_in_progress_) {
      t.Family("berth_uploads_in_progress", "gauge", "Upload sessions currently held by a request (being written).");
      t.Sample("berth_uploads_in_progress", {}, static_cast<double>(uploads_in_progress_()));
    }
    if (storage_usage_ != nullptr) {
      StorageUsage::Value v = storage_usage_->Get();
      if (v.known) {
        t.Family("berth_storage_bytes", "gauge",
                 "Bytes of blob content in the store (a background walk, at most about 60 s old).");
        t.Sample("berth_storage_bytes", {}, static_cast<double>(v.bytes));
        t.Family("berth_storage_blobs", "gauge", "Blobs in the store (same walk as berth_storage_bytes).");
        t.Sample("berth_storage_blobs", {}, static_cast<double>(v.blobs));
      }
    }
  }
  ProxyStats().Render(t);
  EventStats().Render(t);
  ProcessStats p;
  if (ReadProcessStats(&p)) {
    t.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    t.Sample("process_cpu_seconds_total", {}, p.cpu_seconds);
    t.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    t.Sample("process_resident_memory_bytes", {}, static_cast<double>(p.resident_bytes));
    t.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    t.Sample("process_virtual_memory_bytes", {}, static_cast<double>(p.virtual_bytes));
    t.Family("process_open_fds", "gauge", "Number of open file descriptors.");
    t.Sample("process_open_fds", {}, static_cast<double>(p.open_fds));
    t.Family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    t.Sample("process_max_fds", {}, static_cast<double>(p.max_fds));
    t.Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    t.Sample("process_start_time_seconds", {}, p.start_time_seconds);
  }
  return t.Take();
}

}  // namespace berth::obs
