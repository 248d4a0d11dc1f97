// The retention pass (docs/policies.md): for every repository governed by a
// policy with `retention`, reads its tags and manifests from the metadata
// database, asks the rule engine (retention.h) and, unless a dry run, removes
// the tags it decided against and then the manifests that went with them.
// It runs inside online GC before marking (so GC frees their data in the same
// run) and as `berth retention`.
//
// Each removal runs under the repository's write lock and re-checks what the
// decision rested on: a tag is removed only if it still points at the digest
// the engine saw (a re-push since keeps it until the next run) and is not
// immutable under the running policies; a manifest only if it is still untagged,
// no index of its repository lists it and it is no referrer of a manifest the
// repository holds (GC's own condition), and it was pushed before the pass began.
// Thread-safety: one pass per call; safe next to the registry's writes.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "metadata/metadata_store.h"
#include "policy/policy_set.h"
#include "policy/retention.h"
#include "storage/manifest_store.h"
#include "util/status.h"

namespace berth::policy {

struct RetentionPassOptions {
  bool dry_run = false;
  int64_t now_ms = 0;
  // Every tag decided (kept or removed; in a real run after the removal succeeded).
  std::function<void(std::string_view repository, const Policy& policy, const TagDecision& decision)> on_tag;
  // Every manifest removed (or, in a dry run, that would be).
  std::function<void(std::string_view repository, std::string_view digest)> on_manifest;
};

struct RetentionReport {
  int64_t repositories = 0;
  int64_t tags_kept = 0;
  int64_t tags_removed = 0;
  int64_t manifests_removed = 0;
  // Tags and manifests a real run left because they changed since the decision.
  int64_t skipped = 0;
};

Result<RetentionReport> RunRetention(metadata::MetadataStore& meta, storage::ManifestStore& manifests,
                                     const PolicySet& set, const RetentionPassOptions& options);

}  // namespace berth::policy
