// Directory: users not in the YAML, authenticated against an LDAP directory
// (auth.ldap), and the groups it puts them in, for ACL entries with
// `account: "@group"`.
//
// A login: connect (ldaps or StartTLS when configured), bind as the service
// account, search user_base for user_filter with {username} escaped (RFC 4515,
// filter.h): exactly one entry or the login fails, and its username_attribute
// must hold the login name exactly (directories match "ALICE" and "alice " to
// alice; the account name, which the ACL and the tokens carry, must be the
// directory's own spelling); read its groups (its
// member_of attribute, or a search of group_base for group_filter with {dn});
// then a simple bind as the user's DN with the password given: that bind is
// the password check. An empty password is always refused (an LDAP bind with
// one is anonymous and "succeeds" without checking anything).
//
// Successful logins are cached for cache_seconds under an HMAC of (user,
// password) with a per-process key (the password itself is never kept), with
// the groups found: a user disabled, removed or taken out of a group in the
// directory keeps what they had for at most that long. Failures are not cached
// (the login throttle bounds guessing). A directory that cannot be reached or
// answers garbage is kUnavailable: the login fails, nobody is let in.
//
// Blocking (network): call Authenticate off the I/O threads. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "auth/ldap/client.h"
#include "config/config.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::auth::ldap {

using GroupSet = std::set<std::string, std::less<>>;

struct DirectoryOptions {
  ClientOptions client;
  std::string bind_dn;  // empty: search anonymously
  std::string bind_password;
  std::string user_base;
  std::string user_filter;
  std::string username_attribute = "uid";
  std::string group_base;
  std::string group_filter;
  std::string group_name_attribute = "cn";
  std::string member_of;
  std::chrono::seconds cache_ttl{60};
  size_t max_cached_logins = 10000;  // beyond: the expired ones go, then (still full) all of them
};

class Directory {
 public:
  enum class Outcome : uint8_t { kOk, kBad, kUnavailable };
  struct Login {
    Outcome outcome = Outcome::kBad;
    std::string reason;  // for the log (never the password): why it was refused or unavailable
  };

  explicit Directory(DirectoryOptions options);
  virtual ~Directory() = default;
  // From auth.ldap: reads bind_password_file (its first line). InvalidArgument
  // naming the file when it cannot be read.
  static Result<std::shared_ptr<Directory>> FromConfig(const config::LdapConfig& config);

  Login Authenticate(std::string_view user, std::string_view password) EXCLUDES(mu_);

  // The groups of `user` from a login within the cache time; null otherwise.
  std::shared_ptr<const GroupSet> CachedGroups(std::string_view user) const EXCLUDES(mu_);

  std::chrono::seconds cache_ttl() const { return options_.cache_ttl; }

 protected:
  // Asks the directory (network): the login's outcome and, when kOk, the
  // user's groups. Virtual for the cache's tests only.
  virtual Login Lookup(std::string_view user, std::string_view password, GroupSet* groups) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Cached {
    std::string user;
    std::shared_ptr<const GroupSet> groups;
    Clock::time_point expires;
  };
  std::string CacheKey(std::string_view user, std::string_view password) const;

  DirectoryOptions options_;
  unsigned char hmac_key_[32];
  mutable Mutex mu_;
  // A login is cached in both (and evicted from both together): a hit in
  // logins_ without its user in groups_ would let the user in without their
  // groups, so it counts as a miss.
  std::map<std::string, Cached, std::less<>> logins_ GUARDED_BY(mu_);  // cache key -> login
  std::map<std::string, Cached, std::less<>> groups_ GUARDED_BY(mu_);  // user -> groups of their latest login
};

}  // namespace berth::auth::ldap
