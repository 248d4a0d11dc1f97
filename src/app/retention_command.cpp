// berth retention (see commands.h): the retention pass of `policies:`, with
// every decision printed (docs/policies.md), safe next to `berth serve`.
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/offline_store.h"
#include "metadata/metadata_store.h"
#include "policy/retention_pass.h"
#include "storage/blob_store.h"
#include "storage/manifest_store.h"

namespace berth::app {

int Retention(const RetentionCommand& command) {
  OfflineStore store;
  if (int rc = OpenOfflineStore(command.config_path, &store); rc != 0) return rc;
  metadata::MetadataStore& meta = *store.meta;
  storage::ManifestStore& manifests = *store.manifests;

  const bool json = command.json;
  const bool dry_run = command.dry_run;
  nlohmann::json tags = nlohmann::json::array();
  nlohmann::json removed_manifests = nlohmann::json::array();
  policy::RetentionPassOptions options;
  options.dry_run = dry_run;
  options.now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  options.on_tag = [&](std::string_view repo, const policy::Policy& p, const policy::TagDecision& d) {
    if (json) {
      tags.push_back({{"repository", std::string(repo)},
                      {"tag", d.tag},
                      {"digest", d.digest},
                      {"decision", d.keep ? "keep" : "remove"},
                      {"rule", policy::RuleName(d.rule)},
                      {"detail", d.detail},
                      {"policy", p.index},
                      {"policy_name", p.name.text()}});
      return;
    }
    const char* verb = d.keep ? "keep  " : (dry_run ? "would remove" : "removed");
    std::cout << verb << " " << repo << ":" << d.tag << "  " << policy::RuleName(d.rule)
              << (d.detail.empty() ? "" : " (" + d.detail + ")") << "  " << p.Label() << "\n";
  };
  options.on_manifest = [&](std::string_view repo, std::string_view digest) {
    if (json) {
      removed_manifests.push_back({{"repository", std::string(repo)}, {"digest", std::string(digest)}});
      return;
    }
    std::cout << (dry_run ? "would remove" : "removed") << " manifest " << repo << "@" << digest << "\n";
  };
  const auto start = std::chrono::steady_clock::now();
  auto report = policy::RunRetention(meta, manifests, *store.loaded.policies, options);
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::cerr << "berth: retention stopped: " << report.status().message() << "\n";
    return 1;
  }
  if (json) {
    nlohmann::json out{{"dry_run", dry_run},
                       {"repositories", report->repositories},
                       {"tags_kept", report->tags_kept},
                       {"tags_removed", report->tags_removed},
                       {"manifests_removed", report->manifests_removed},
                       {"skipped", report->skipped},
                       {"duration_ms", ms},
                       {"tags", tags},
                       {"manifests", removed_manifests}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << (dry_run ? "dry run: " : "") << report->repositories << " repositories, " << report->tags_kept
              << " tags kept, " << report->tags_removed << (dry_run ? " would be removed, " : " removed, ")
              << report->manifests_removed << " manifests" << (dry_run ? " would go" : " removed");
    if (report->skipped > 0) std::cout << ", " << report->skipped << " changed since the decision (kept)";
    std::cout << " in " << ms << " ms";
    if (!dry_run) std::cout << "; garbage collection frees their data";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace berth::app
