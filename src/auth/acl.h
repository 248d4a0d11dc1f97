// Acl: the ordered access-control list from the config.
//
// Entries are checked in file order; the FIRST entry whose conditions all match
// decides, and grants the intersection of what was asked and its `actions`.
// `actions: []` is an explicit deny; no matching entry is a deny.
// Conditions: account, name, type (repository|registry), ip (address or CIDR),
// service. `account: "@team"` matches the members of group `team` (the YAML's
// `groups:`, kept in the entry, or the groups a directory gave the request's
// user). An absent condition matches anything, except that the anonymous
// user is only ever matched by `account: ""` (so `account: "*"` means "any
// signed-in user", never "anyone"). Immutable once built; thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/pattern.h"
#include "util/ip_range.h"
#include "util/status.h"

namespace berth::auth {

struct AclEntry {
  std::optional<Pattern> account;                    // nullopt: any signed-in user
  bool anonymous_only = false;                       // account: ""
  std::optional<std::string> group;                  // account: "@<group>" (then `account` is unset)
  std::set<std::string, std::less<>> group_members;  // the group's members from the YAML's `groups:`
  std::optional<Pattern> name;
  std::optional<std::string> type;  // "repository" | "registry"
  std::vector<IpRange> ips;         // empty: any address
  std::optional<Pattern> service;
  std::set<std::string> actions;  // may contain "*"
  std::string comment;
  int line = 0;  // where it stands in the config file (for explain)
};

struct AccessRequest {
  std::string account;  // empty = anonymous
  std::string type;     // "repository" | "registry"
  std::string name;     // repository name, or "catalog"
  std::string ip;       // real client address
  std::string service;
  // Groups the account belongs to besides the YAML's (a directory's), or null.
  const std::set<std::string, std::less<>>* groups = nullptr;
};

struct AclDecision {
  int entry = -1;                 // index of the deciding entry, -1 when none matched
  std::set<std::string> granted;  // subset of what was requested
};

class Acl {
 public:
  Acl() = default;
  explicit Acl(std::vector<AclEntry> entries) : entries_(std::move(entries)) {}

  // `requested` are the actions asked for ("pull", "push", "delete", "*").
  AclDecision Authorize(const AccessRequest& req, const std::set<std::string>& requested) const;
  const std::vector<AclEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  bool EntryMatches(const AclEntry& e, const AccessRequest& req) const;
  std::vector<AclEntry> entries_;
};

// Grant of `requested` by an entry's `allowed` actions ("*" allows everything).
std::set<std::string> IntersectActions(const std::set<std::string>& requested, const std::set<std::string>& allowed);

}  // namespace berth::auth
