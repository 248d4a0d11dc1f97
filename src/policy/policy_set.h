// PolicySet: the config's `policies:` compiled (docs/policies.md): for each
// entry, the repository name pattern (the ACL's glob language, auth/pattern.h),
// its immutable tag patterns, its retention rules and its quota. A repository
// is governed by the FIRST entry whose name pattern matches it, or by none.
//
// Layer: policy/ sits between registry/ (which enforces immutable tags and
// quotas) and metadata/ + auth/pattern.h (what it reads and matches with);
// app/ runs the retention pass and `berth retention`. The rule engine
// (retention.h) is pure.
//
// Thread-safety: a PolicySet is immutable once compiled; PolicyHolder swaps
// the running set on a reload (SIGHUP) and may be read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/pattern.h"
#include "config/config.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::policy {

struct RetentionRules {
  std::vector<auth::Pattern> keep_tags;
  std::optional<int64_t> keep_last;
  std::optional<int64_t> keep_pushed_within_ms;
  std::optional<int64_t> keep_pulled_within_ms;
};

struct Policy {
  int index = 0;  // in `policies:`
  int line = 0;   // where the entry starts in the config file
  auth::Pattern name;
  // Every repository `name` matches starts with this ("" when unknown: a regex, a leading wildcard).
  std::string name_prefix;
  std::vector<auth::Pattern> immutable_tags;
  std::optional<RetentionRules> retention;  // absent: keep everything
  std::optional<int64_t> quota_bytes;       // absent: no limit

  // The entry's name as the messages show it: `policies[0] "myorg/**"`.
  std::string Label() const;
  // The immutable_tags pattern that `tag` matches, or null when it is mutable.
  const auth::Pattern* ImmutableRule(std::string_view tag) const;
};

class PolicySet {
 public:
  PolicySet() = default;
  explicit PolicySet(std::vector<Policy> policies) : policies_(std::move(policies)) {}

  // From cfg.policies; errors name file:line:column of the pattern that does not compile.
  static Result<std::shared_ptr<const PolicySet>> Compile(const config::Config& cfg);

  // The policy governing `repository` (first match), or null.
  const Policy* Match(std::string_view repository) const;
  const std::vector<Policy>& policies() const { return policies_; }
  bool empty() const { return policies_.empty(); }

 private:
  std::vector<Policy> policies_;
};

// The running PolicySet, replaced as a whole on a reload. Readers keep the set
// they got for the length of one operation.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const PolicySet> set = std::make_shared<PolicySet>()) : set_(std::move(set)) {}
  std::shared_ptr<const PolicySet> Get() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return set_;
  }
  void Set(std::shared_ptr<const PolicySet> set) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    set_ = std::move(set);
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const PolicySet> set_ GUARDED_BY(mu_);
};

}  // namespace berth::policy
