#include "auth/login_throttle.h"

#include <algorithm>

namespace berth::auth {
namespace {
constexpr size_t kMaxCounters = 100000;
}

int LoginThrottle::FailuresLocked(const std::string& key, std::chrono::steady_clock::time_point now) {
  auto it = counters_.find(key);
  if (it == counters_.end()) return 0;
  if (now - it->second.window_start > kWindow) {
    counters_.erase(it);
    return 0;
  }
  return it->second.failures;
}

void LoginThrottle::PruneLocked(std::chrono::steady_clock::time_point now) {
  if (counters_.size() < kMaxCounters) return;
  for (auto it = counters_.begin(); it != counters_.end();) {
    it = now - it->second.window_start > kWindow ? counters_.erase(it) : std::next(it);
  }
  if (counters_.size() >= kMaxCounters) counters_.clear();  // under a flood, forget rather than grow
}

LoginThrottle::Verdict LoginThrottle::Check(const std::string& ip, const std::string& user) {
  auto now = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  int f = std::max(FailuresLocked("ip:" + ip, now), user.empty() ? 0 : FailuresLocked("user:" + user, now));
  Verdict v;
  if (f >= kRefuseAfter) {
    v.refuse = true;
  } else if (f >= kSlowAfter) {
    v.delay = std::chrono::milliseconds(250 * (f - kSlowAfter + 1));
  }
  return v;
}

void LoginThrottle::RecordFailure(const std::string& ip, const std::string& user) {
  auto now = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  PruneLocked(now);
  for (const std::string& key : {"ip:" + ip, user.empty() ? std::string() : "user:" + user}) {
    if (key.empty()) continue;
    FailuresLocked(key, now);  // expires an old window
    auto [it, inserted] = counters_.try_emplace(key, Counter{0, now});
    ++it->second.failures;
  }
}

void LoginThrottle::RecordSuccess(const std::string& ip, const std::string& user) {
  MutexLock lock(mu_);
  counters_.erase("user:" + user);
  counters_.erase("ip:" + ip);
}

}  // namespace berth::auth
