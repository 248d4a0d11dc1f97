// ProxyMetrics: the pull-through cache's counters (docs/proxy.md), by upstream
// (its prefix), rendered with the rest of /metrics:
//
//   berth_proxy_requests_total{upstream,result}  counter: hit | miss | revalidated | stale
//   berth_proxy_upstream_errors_total{upstream}  counter: failed upstream requests (down, 429, 5xx, refused
//   credentials, bad content) berth_proxy_upstream_bytes_total{upstream}   counter: blob and manifest bytes fetched
//   from the upstream
//
// Upstreams are registered once at start (SetUpstreams); counting is lock-free.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "observability/metrics.h"
#include "util/mutex.h"

namespace berth::obs {

enum class ProxyResult : uint8_t {
  kHit,          // served from the cache without asking the upstream
  kMiss,         // fetched from the upstream
  kRevalidated,  // a stale tag the upstream confirmed unchanged
  kStale,        // a stale tag served because the upstream failed
};

class ProxyMetrics {
 public:
  static constexpr size_t kMaxUpstreams = 64;

  void SetUpstreams(std::vector<std::string> names) EXCLUDES(mu_);
  void Count(size_t upstream, ProxyResult r);
  void CountUpstreamError(size_t upstream);
  void AddUpstreamBytes(size_t upstream, uint64_t n);
  uint64_t Requests(size_t upstream, ProxyResult r) const;

  // Appends the families (nothing when no upstream is configured).
  void Render(TextExposition& t) EXCLUDES(mu_);

 private:
  struct PerUpstream {
    std::array<std::atomic<uint64_t>, 4> results{};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> bytes{0};
  };
  std::array<PerUpstream, kMaxUpstreams> counters_{};
  Mutex mu_;
  std::vector<std::string> names_ GUARDED_BY(mu_);
};

// The process-wide instance (rendered by BerthMetrics::Render).
ProxyMetrics& ProxyStats();

}  // namespace berth::obs
