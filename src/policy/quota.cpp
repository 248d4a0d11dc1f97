#include "policy/quota.h"

#include <algorithm>

namespace berth::policy {

Result<std::vector<std::string>> GovernedRepositories(metadata::MetadataStore& meta, const PolicySet& set,
                                                      const Policy& policy) {
  // Every name the policy matches starts with its literal prefix: a range scan
  // of the name index, then the exact first-match test.
  auto names = meta.RepositoriesWithPrefix(policy.name_prefix);
  if (!names.ok()) return names.status();
  std::erase_if(*names, [&](const std::string& name) { return set.Match(name) != &policy; });
  return names;
}

Result<metadata::MetadataStore::Usage> PolicyUsage(metadata::MetadataStore& meta, const PolicySet& set,
                                                   const Policy& policy, std::string_view digest) {
  auto names = meta.RepositoriesWithPrefix(policy.name_prefix);
  if (!names.ok()) return names.status();
  const size_t in_range = names->size();
  std::erase_if(*names, [&](const std::string& name) { return set.Match(name) != &policy; });
  // Every repository of the range is governed by this policy (the usual case,
  // "myorg/**"): one statement over the range.
  if (names->size() == in_range) return meta.StoredBytesWithPrefix(policy.name_prefix, digest);
  return meta.StoredBytes(*names, digest);
}

std::string QuotaExceededMessage(const Policy& policy, int64_t used, int64_t needed) {
  return "quota exceeded for " + policy.name.text() + ": " + config::FormatSize(used) + " of " +
         config::FormatSize(policy.quota_bytes.value_or(0)) + " used, this upload needs " +
         config::FormatSize(needed);
}

Result<std::string> CheckQuota(metadata::MetadataStore& meta, const PolicySet& set, std::string_view repository,
                               int64_t needed, std::string_view digest) {
  const Policy* policy = set.Match(repository);
  if (policy == nullptr || !policy->quota_bytes) return std::string();
  auto usage = PolicyUsage(meta, set, *policy, digest);
  if (!usage.ok()) return usage.status();
  if (usage->holds_digest) return std::string();
  if (usage->bytes + std::max<int64_t>(needed, 0) <= *policy->quota_bytes) return std::string();
  return QuotaExceededMessage(*policy, usage->bytes, needed);
}

}  // namespace berth::policy
