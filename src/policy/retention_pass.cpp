#include "policy/retention_pass.h"

#include <unordered_map>

#include "oci/digest.h"
#include "policy/quota.h"

namespace berth::policy {
namespace {

Status IgnoreNotFound(Status s) { return s.IsNotFound() ? Status::Ok() : s; }

RepositoryState StateOf(const metadata::MetadataStore::RepositoryContents& contents) {
  RepositoryState state;
  state.tags.reserve(contents.tags.size());
  for (const auto& t : contents.tags) state.tags.push_back(TagRecord{t.name, t.digest, t.pushed_at});
  std::unordered_map<std::string, size_t> index;
  state.manifests.reserve(contents.manifests.size());
  for (const auto& m : contents.manifests) {
    index.emplace(m.digest, state.manifests.size());
    state.manifests.push_back(ManifestNode{m.digest, m.pushed_at, m.last_pulled_at, m.subject, {}});
  }
  for (const auto& [parent, child] : contents.children) {
    auto it = index.find(parent);
    if (it != index.end()) state.manifests[it->second].children.push_back(child);
  }
  return state;
}

// A tag the engine removed: removed under the lock only if unchanged since.
Result<bool> RemoveTag(metadata::MetadataStore& meta, storage::ManifestStore& manifests, const Policy& policy,
                       std::string_view repository, const TagDecision& d) {
  bool changed = false;
  metadata::MetadataStore::TagGuard guard = [&](const std::vector<metadata::TagInfo>& now) -> Status {
    changed = now.empty() || now[0].digest != d.digest || policy.ImmutableRule(d.tag) != nullptr;
    // Not an error: the tag moved (or went) since the decision; the next run decides again.
    return changed ? Status(StatusCode::kAlreadyExists, "tag changed") : Status::Ok();
  };
  const std::string repo(repository);
  std::function<Status()> store = [&] { return IgnoreNotFound(manifests.DeleteTag(repo, d.tag)); };
  Status s = meta.DeleteTag(repository, d.tag, store, guard);
  if (changed) return false;
  if (s.IsNotFound()) return false;
  if (!s.ok()) return s;
  return true;
}

}  // namespace

Result<RetentionReport> RunRetention(metadata::MetadataStore& meta, storage::ManifestStore& manifests,
                                     const PolicySet& set, const RetentionPassOptions& options) {
  RetentionReport report;
  for (const Policy& policy : set.policies()) {
    if (!policy.retention) continue;
    auto repos = GovernedRepositories(meta, set, policy);
    if (!repos.ok()) return repos.status();
    for (const std::string& repo : *repos) {
      auto contents = meta.GetRepositoryContents(repo);
      if (!contents.ok()) return contents.status();
      ++report.repositories;
      const RetentionPlan plan = PlanRetention(&policy, StateOf(*contents), options.now_ms);
      for (const TagDecision& d : plan.tags) {
        if (d.keep) {
          ++report.tags_kept;
        } else if (!options.dry_run) {
          auto removed = RemoveTag(meta, manifests, policy, repo, d);
          if (!removed.ok()) return removed.status();
          if (!*removed) {
            ++report.skipped;
            continue;
          }
          ++report.tags_removed;
        } else {
          ++report.tags_removed;
        }
        if (options.on_tag) options.on_tag(repo, policy, d);
      }
      for (const std::string& digest : plan.manifests) {
        if (!options.dry_run) {
          auto parsed = oci::Digest::Parse(digest);
          if (!parsed.ok()) return parsed.status();
          std::function<Status()> store = [&] { return IgnoreNotFound(manifests.DeleteByDigest(repo, *parsed)); };
          // GC's own condition, re-checked in the delete; pushed before the pass began.
          auto deleted = meta.DeleteManifestIfUntagged(repo, digest, options.now_ms, store);
          if (!deleted.ok()) return deleted.status();
          if (!*deleted) {
            ++report.skipped;
            continue;
          }
        }
        ++report.manifests_removed;
        if (options.on_manifest) options.on_manifest(repo, digest);
      }
    }
  }
  return report;
}

}  // namespace berth::policy
