#include "observability/event_metrics.h"

namespace berth::obs {

void EventMetrics::SetEndpoints(std::vector<std::string> names, std::function<uint64_t(size_t)> pending) {
  MutexLock lock(mu_);
  names_ = std::move(names);
  if (names_.size() > kMaxEndpoints) names_.resize(kMaxEndpoints);
  pending_ = std::move(pending);
}

void EventMetrics::AddDelivered(size_t ep, uint64_t n) {
  if (ep < kMaxEndpoints) counters_[ep].delivered.fetch_add(n, std::memory_order_relaxed);
}

void EventMetrics::AddFailed(size_t ep) {
  if (ep < kMaxEndpoints) counters_[ep].failed.fetch_add(1, std::memory_order_relaxed);
}

void EventMetrics::AddDropped(size_t ep, uint64_t n) {
  if (ep < kMaxEndpoints) counters_[ep].dropped.fetch_add(n, std::memory_order_relaxed);
}

uint64_t EventMetrics::Delivered(size_t ep) const {
  return ep < kMaxEndpoints ? counters_[ep].delivered.load(std::memory_order_relaxed) : 0;
}

uint64_t EventMetrics::Dropped(size_t ep) const {
  return ep < kMaxEndpoints ? counters_[ep].dropped.load(std::memory_order_relaxed) : 0;
}

void EventMetrics::Render(TextExposition& t) {
  MutexLock lock(mu_);
  if (names_.empty()) return;
  if (pending_) {
    t.Family("berth_events_pending", "gauge", "Events in the durable queue not yet delivered to the endpoint.");
    for (size_t i = 0; i < names_.size(); ++i) {
      t.Sample("berth_events_pending", {{"endpoint", names_[i]}}, static_cast<double>(pending_(i)));
    }
  }
  struct Family {
    const char* name;
    const char* help;
    std::atomic<uint64_t> PerEndpoint::*field;
  };
  static constexpr Family kFamilies[] = {
      {"berth_events_delivered_total", "Events the endpoint acknowledged.", &PerEndpoint::delivered},
      {"berth_events_failed_total", "Failed delivery attempts to the endpoint.", &PerEndpoint::failed},
      {"berth_events_dropped_total", "Events dropped undelivered because the queue reached max_queue_bytes.",
       &PerEndpoint::dropped},
  };
  for (const Family& f : kFamilies) {
    t.Family(f.name, "counter", f.help);
    for (size_t i = 0; i < names_.size(); ++i) {
      t.Sample(f.name, {{"endpoint", names_[i]}}, (counters_[i].*f.field).load(std::memory_order_relaxed));
    }
  }
}

EventMetrics& EventStats() {
  static EventMetrics m;
  return m;
}

}  // namespace berth::obs
