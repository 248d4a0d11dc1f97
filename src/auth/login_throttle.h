// LoginThrottle: slows down and then refuses repeated failed logins, per client
// address and per user name, so passwords cannot be brute-forced.
// After kSlowAfter failures within the window each attempt is delayed; after
// kRefuseAfter it is refused (429) until the window passes.
//
// An attempt whose check blocks (bcrypt, the directory, the token database)
// reserves a slot first (Reserve): until it ends it counts against the refusal
// limit, so N concurrent guesses from one address cannot all pass the check
// before the first failure is recorded. At most kRefuseAfter - failures
// attempts per address and per user are in flight; one beyond them is told to
// wait (busy) for a slot, not refused. Thread-safe.
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
    bool busy = false;  // Reserve: every slot is taken by attempts in flight; try again when one ends
    std::chrono::milliseconds delay{0};
  };

  // One attempt in flight, released when it goes out of scope (after its
  // RecordFailure or RecordSuccess, so the outcome is counted before the slot frees).
  class Reservation {
   public:
    Reservation(LoginThrottle& throttle, std::string ip, std::string user)
        : throttle_(&throttle), ip_(std::move(ip)), user_(std::move(user)) {}
    ~Reservation() {
      if (throttle_ != nullptr) throttle_->Release(ip_, user_);
    }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;

   private:
    LoginThrottle* throttle_;
    std::string ip_, user_;
  };

  Verdict Check(const std::string& ip, const std::string& user) EXCLUDES(mu_);
  // Check, and unless refused or busy, count one attempt in flight for `ip`
  // and `user` (hold a Reservation for it: it releases the slot).
  Verdict Reserve(const std::string& ip, const std::string& user) EXCLUDES(mu_);
  void RecordFailure(const std::string& ip, const std::string& user) EXCLUDES(mu_);
  void RecordSuccess(const std::string& ip, const std::string& user) EXCLUDES(mu_);

 private:
  struct Counter {
    int failures = 0;
    int in_flight = 0;  // reserved attempts not yet released
    std::chrono::steady_clock::time_point window_start;
  };
  void Release(const std::string& ip, const std::string& user) EXCLUDES(mu_);
  Verdict CheckLocked(const std::string& ip, const std::string& user, std::chrono::steady_clock::time_point now)
      REQUIRES(mu_);
  int FailuresLocked(const std::string& key, std::chrono::steady_clock::time_point now) REQUIRES(mu_);
  void PruneLocked(std::chrono::steady_clock::time_point now) REQUIRES(mu_);

  Mutex mu_;
  std::unordered_map<std::string, Counter> counters_ GUARDED_BY(mu_);  // "ip:<addr>" and "user:<name>"
};

}  // namespace berth::auth
