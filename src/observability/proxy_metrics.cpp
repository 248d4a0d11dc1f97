#include "observability/proxy_metrics.h"

namespace berth::obs {

void ProxyMetrics::SetUpstreams(std::vector<std::string> names) {
  MutexLock lock(mu_);
  names_ = std::move(names);
  if (names_.size() > kMaxUpstreams) names_.resize(kMaxUpstreams);
}

void ProxyMetrics::Count(size_t upstream, ProxyResult r) {
  if (upstream < kMaxUpstreams)
    counters_[upstream].results[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

void ProxyMetrics::CountUpstreamError(size_t upstream) {
  if (upstream < kMaxUpstreams) counters_[upstream].errors.fetch_add(1, std::memory_order_relaxed);
}

void ProxyMetrics::AddUpstreamBytes(size_t upstream, uint64_t n) {
  if (upstream < kMaxUpstreams) counters_[upstream].bytes.fetch_add(n, std::memory_order_relaxed);
}

uint64_t ProxyMetrics::Requests(size_t upstream, ProxyResult r) const {
  if (upstream >= kMaxUpstreams) return 0;
  return counters_[upstream].results[static_cast<size_t>(r)].load(std::memory_order_relaxed);
}

void ProxyMetrics::Render(TextExposition& t) {
  std::vector<std::string> names;
  {
    MutexLock lock(mu_);
    names = names_;
  }
  if (names.empty()) return;
  static constexpr std::string_view kResults[] = {"hit", "miss", "revalidated", "stale"};
  t.Family("berth_proxy_requests_total", "counter",
           "Pull-through cache lookups of manifests and blobs, by upstream and result (hit, miss, revalidated, "
           "stale).");
  for (size_t u = 0; u < names.size(); ++u) {
    for (size_t r = 0; r < 4; ++r) {
      t.Sample("berth_proxy_requests_total", {{"upstream", names[u]}, {"result", kResults[r]}},
               counters_[u].results[r].load(std::memory_order_relaxed));
    }
  }
  t.Family("berth_proxy_upstream_errors_total", "counter",
           "Failed requests to an upstream registry (unreachable, 429, 5xx, refused credentials, bad content).");
  for (size_t u = 0; u < names.size(); ++u) {
    t.Sample("berth_proxy_upstream_errors_total", {{"upstream", names[u]}},
             counters_[u].errors.load(std::memory_order_relaxed));
  }
  t.Family("berth_proxy_upstream_bytes_total", "counter", "Manifest and blob bytes fetched from an upstream registry.");
  for (size_t u = 0; u < names.size(); ++u) {
    t.Sample("berth_proxy_upstream_bytes_total", {{"upstream", names[u]}},
             counters_[u].bytes.load(std::memory_order_relaxed));
  }
}

ProxyMetrics& ProxyStats() {
  static ProxyMetrics m;
  return m;
}

}  // namespace berth::obs
