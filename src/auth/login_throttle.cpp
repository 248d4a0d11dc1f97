#include "auth/login_throttle.h"

#include <algorithm>
#include <vector>

namespace berth::auth {
namespace {
constexpr size_t kMaxCounters = 100000;

// The counters an attempt by `user` from `ip` touches.
std::vector<std::string> KeysOf(const std::string& ip, const std::string& user) {
  std::vector<std::string> keys{"ip:" + ip};
  if (!user.empty()) keys.push_back("user:" + user);
  return keys;
}
}  // namespace

int LoginThrottle::FailuresLocked(const std::string& key, std::chrono::steady_clock::time_point now) {
  auto it = counters_.find(key);
  if (it == counters_.end()) return 0;
  if (now - it->second.window_start > kWindow) {
    if (it->second.in_flight == 0) {
      counters_.erase(it);
    } else {  // a new window; the attempts in flight still hold their slots
      it->second.failures = 0;
      it->second.window_start = now;
    }
    return 0;
  }
  return it->second.failures;
}

void LoginThrottle::PruneLocked(std::chrono::steady_clock::time_point now) {
  if (counters_.size() < kMaxCounters) return;
  for (auto it = counters_.begin(); it != counters_.end();) {
    it = now - it->second.window_start > kWindow && it->second.in_flight == 0 ? counters_.erase(it) : std::next(it);
  }
  if (counters_.size() >= kMaxCounters) counters_.clear();  // under a flood, forget rather than grow
}

LoginThrottle::Verdict LoginThrottle::CheckLocked(const std::string& ip, const std::string& user,
                                                  std::chrono::steady_clock::time_point now) {
  int f = std::max(FailuresLocked("ip:" + ip, now), user.empty() ? 0 : FailuresLocked("user:" + user, now));
  Verdict v;
  if (f >= kRefuseAfter) {
    v.refuse = true;
  } else if (f >= kSlowAfter) {
    v.delay = std::chrono::milliseconds(250 * (f - kSlowAfter + 1));
  }
  return v;
}

LoginThrottle::Verdict LoginThrottle::Check(const std::string& ip, const std::string& user) {
  auto now = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  return CheckLocked(ip, user, now);
}

LoginThrottle::Verdict LoginThrottle::Reserve(const std::string& ip, const std::string& user) {
  auto now = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  Verdict v = CheckLocked(ip, user, now);
  if (v.refuse) return v;
  const std::vector<std::string> keys = KeysOf(ip, user);
  for (const auto& key : keys) {
    auto it = counters_.find(key);
    if (it != counters_.end() && it->second.failures + it->second.in_flight >= kRefuseAfter) {
      v.busy = true;
      return v;
    }
  }
  PruneLocked(now);
  for (const auto& key : keys) {
    auto [it, inserted] = counters_.try_emplace(key, Counter{0, 0, now});
    ++it->second.in_flight;
  }
  return v;
}

void LoginThrottle::Release(const std::string& ip, const std::string& user) {
  MutexLock lock(mu_);
  for (const auto& key : KeysOf(ip, user)) {
    auto it = counters_.find(key);
    if (it == counters_.end()) continue;  // forgotten under a flood
    if (it->second.in_flight > 0) --it->second.in_flight;
    if (it->second.in_flight == 0 && it->second.failures == 0) counters_.erase(it);
  }
}

void LoginThrottle::RecordFailure(const std::string& ip, const std::string& user) {
  auto now = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  PruneLocked(now);
  for (const std::string& key : KeysOf(ip, user)) {
    FailuresLocked(key, now);  // expires an old window
    auto [it, inserted] = counters_.try_emplace(key, Counter{0, 0, now});
    ++it->second.failures;
  }
}

void LoginThrottle::RecordSuccess(const std::string& ip, const std::string& user) {
  MutexLock lock(mu_);
  for (const std::string& key : {"user:" + user, "ip:" + ip}) {
    auto it = counters_.find(key);
    if (it == counters_.end()) continue;
    if (it->second.in_flight == 0) {
      counters_.erase(it);
    } else {  // other attempts still hold their slots
      it->second.failures = 0;
    }
  }
}

}  // namespace berth::auth
