// CredentialVerifier: checks user name + password against the configured
// bcrypt hashes, with a short-lived cache of successful checks so that a
// client asking for 50 tokens pays for bcrypt once.
//
// The cache key is HMAC-SHA256(per-process random key, user, password, stored
// hash): the password itself is never kept, and changing a user's hash
// invalidates its entries. Unknown users are checked against a dummy hash so
// timing does not reveal whether a user exists. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/mutex.h"

namespace berth::auth {

// user name -> bcrypt hash (kRobotHash: a robot, which has no password and only logs in with access tokens)
using UserTable = std::map<std::string, std::string, std::less<>>;
inline constexpr std::string_view kRobotHash = "!robot";
inline bool IsRobot(std::string_view hash) { return hash == kRobotHash; }

class CredentialVerifier {
 public:
  static constexpr std::chrono::seconds kCacheTtl{300};

  CredentialVerifier();
  // Slow (bcrypt) on a cache miss: call it off the I/O threads.
  bool Verify(const UserTable& users, std::string_view user, std::string_view password) EXCLUDES(mu_);
  // True when Verify would answer from the cache (no bcrypt needed).
  bool IsCached(const UserTable& users, std::string_view user, std::string_view password) EXCLUDES(mu_);

 private:
  std::string CacheKey(std::string_view user, std::string_view password, std::string_view hash) const;
  // A hash to burn time on for unknown users, of the cost most users have,
  // so an unknown user takes as long as a known one with a wrong password.
  std::string DummyHash(const UserTable& users) EXCLUDES(mu_);

  unsigned char hmac_key_[32];
  Mutex mu_;
  std::map<int, std::string> dummy_hashes_ GUARDED_BY(mu_);  // bcrypt cost -> hash of a random password
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> cache_ GUARDED_BY(mu_);  // key -> expiry
};

}  // namespace berth::auth
