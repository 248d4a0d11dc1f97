// LoginThrottle: slows down and then refuses repeated failed logins, per client
// address and per user name, so passwords cannot be brute-forced.
// After kSlowAfter failures within the window each attempt is delayed; after
// kRefuseAfter it is refused (429) until the window passes. Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

#include "util/mutex.h"

namespace berth::auth {

class LoginThrottle {
 public:
  static constexpr int kSlowAfter = 5;
  static constexpr int kRefuseAfter = 10;
  static constexpr std::chrono::seconds kWindow{300};

  struct Verdict {
    bool refuse = false;
    std::chrono::milliseconds delay{0};
  };

  Verdict Check(const std::string& ip, const std::string& user) EXCLUDES(mu_);
  void RecordFailure(const std::string& ip, const std::string& user) EXCLUDES(mu_);
  void RecordSuccess(const std::string& ip, const std::string& user) EXCLUDES(mu_);

 private:
  struct Counter {
    int failures = 0;
    std::chrono::steady_clock::time_point window_start;
  };
  int FailuresLocked(const std::string& key, std::chrono::steady_clock::time_point now) REQUIRES(mu_);
  void PruneLocked(std::chrono::steady_clock::time_point now) REQUIRES(mu_);

  Mutex mu_;
  std::unordered_map<std::string, Counter> counters_ GUARDED_BY(mu_);  // "ip:<addr>" and "user:<name>"
};

}  // namespace berth::auth
