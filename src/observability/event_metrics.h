// EventMetrics: webhook delivery counters (docs/events.md), by endpoint,
// rendered with the rest of /metrics:
//
//   berth_events_pending{endpoint}          gauge: events in the queue not yet delivered to it
//   berth_events_delivered_total{endpoint}  counter: events it acknowledged (2xx/3xx)
//   berth_events_failed_total{endpoint}     counter: delivery attempts that failed
//   berth_events_dropped_total{endpoint}    counter: events dropped undelivered (queue size limit)
//
// Endpoints are registered once at start (SetEndpoints); counting is lock-free.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "observability/metrics.h"
#include "util/mutex.h"

namespace berth::obs {

class EventMetrics {
 public:
  static constexpr size_t kMaxEndpoints = 32;

  // `pending(i)`: endpoint i's queued events (null: not reported).
  void SetEndpoints(std::vector<std::string> names, std::function<uint64_t(size_t)> pending) EXCLUDES(mu_);
  void AddDelivered(size_t ep, uint64_t n);
  void AddFailed(size_t ep);
  void AddDropped(size_t ep, uint64_t n);
  uint64_t Delivered(size_t ep) const;
  uint64_t Dropped(size_t ep) const;

  // Appends the families (nothing when no endpoint is configured).
  void Render(TextExposition& t) EXCLUDES(mu_);

 private:
  struct PerEndpoint {
    std::atomic<uint64_t> delivered{0}, failed{0}, dropped{0};
  };
  std::array<PerEndpoint, kMaxEndpoints> counters_{};
  Mutex mu_;
  std::vector<std::string> names_ GUARDED_BY(mu_);
  std::function<uint64_t(size_t)> pending_ GUARDED_BY(mu_);
};

// The process-wide instance (rendered by BerthMetrics::Render).
EventMetrics& EventStats();

}  // namespace berth::obs
