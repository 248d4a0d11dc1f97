// The retention rule engine (docs/policies.md): given one repository's tags
// and manifests and the policy that governs it, decides for every tag whether
// it is kept or removed and which rule decided, and which manifests go with
// the removed tags. Pure: no I/O, no clock (the caller passes `now`), so the
// dry run, the GC pass and the unit tests all see the same decisions.
//
// A tag is kept when any rule keeps it; the deciding rule is the first of:
//   immutable (immutable_tags) > keep_tags > keep_last > keep_pushed_within > keep_pulled_within.
// keep_last ranks the tags no earlier rule kept, by push time, newest first;
// equal push times are ordered by tag name (so a tie is decided the same way every run).
// No policy, or a policy without `retention`, keeps every tag.
//
// A manifest is removed only when every tag pointing at it is removed and
// nothing that stays needs it: not a child of a manifest that stays (an index),
// not a referrer whose subject stays. Untagged children of a removed index
// go with it unless something that stays needs them too.
// Thread-safety: functions of their arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/policy_set.h"

namespace berth::policy {

struct TagRecord {
  std::string name;
  std::string digest;
  int64_t pushed_at = 0;  // Unix ms
};

struct ManifestNode {
  std::string digest;
  int64_t pushed_at = 0;
  std::optional<int64_t> last_pulled_at;
  std::string subject;                // "" when none
  std::vector<std::string> children;  // an index's manifests
};

struct RepositoryState {
  std::vector<TagRecord> tags;
  std::vector<ManifestNode> manifests;
};

enum class Rule : uint8_t {
  kNoPolicy,      // no policy matches the repository: kept
  kNoRetention,   // the policy has no `retention`: kept
  kImmutable,     // immutable_tags: kept
  kKeepTags,      // keep_tags: kept
  kKeepLast,      // among the keep_last most recently pushed: kept
  kPushedWithin,  // pushed within keep_pushed_within: kept
  kPulledWithin,  // pulled within keep_pulled_within: kept
  kNoKeepRule,    // no rule keeps it: removed
};
// "keep_tags", "keep_last", ... as the dry run prints it.
const char* RuleName(Rule rule);

struct TagDecision {
  std::string tag;
  std::string digest;
  bool keep = true;
  Rule rule = Rule::kNoPolicy;
  std::string detail;  // why, in words: the pattern that matched, the rank, the age
};

struct RetentionPlan {
  std::vector<TagDecision> tags;        // in tag name order
  std::vector<std::string> manifests;   // digests removed with the tags (parents before their children)
  int64_t removed_tags() const;
};

RetentionPlan PlanRetention(const Policy* policy, const RepositoryState& state, int64_t now_ms);

}  // namespace berth::policy
