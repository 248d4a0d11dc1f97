// Quotas (docs/policies.md): a policy's usage is the bytes of the distinct
// blobs that the repositories it governs hold (their blob links and their
// manifests' own bytes), each blob once however many of them hold it, read
// from the metadata database (never by walking the store). The registry checks
// it before an upload or a manifest becomes visible; `berth du` and the
// metrics show it next to the limit.
// Thread-safety: functions; the MetadataStore is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/metadata_store.h"
#include "policy/policy_set.h"
#include "util/status.h"

namespace berth::policy {

// The repositories (known to the database) that `policy` governs: those whose
// first matching policy in `set` is it.
Result<std::vector<std::string>> GovernedRepositories(metadata::MetadataStore& meta, const PolicySet& set,
                                                      const Policy& policy);

// The policy's usage; with `digest`, also whether one of its repositories holds that blob already.
Result<metadata::MetadataStore::Usage> PolicyUsage(metadata::MetadataStore& meta, const PolicySet& set,
                                                   const Policy& policy, std::string_view digest = {});

// Whether storing `needed` more bytes into `repository` stays within its
// policy's quota: "" when it does, else the message the client sees
// ("quota exceeded for myorg/**: 49.9 GiB of 50 GiB used, this upload needs 200 MiB").
// A blob the policy's repositories already hold (`digest`) needs nothing.
// No policy, or no quota: "" without asking the database. An error: the database's.
Result<std::string> CheckQuota(metadata::MetadataStore& meta, const PolicySet& set, std::string_view repository, int64_t needed,
                  std::string_view digest = {});

std::string QuotaExceededMessage(const Policy& policy, int64_t used, int64_t needed);

}  // namespace berth::policy
