// berth gc (see commands.h): one garbage collection run, safe while `berth
// serve` runs on the same storage and database (docs/gc.md).
#include <unistd.h>

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/offline_store.h"
#include "metadata/gc.h"
#include "metadata/metadata_store.h"
#include "storage/blob_store.h"
#include "storage/manifest_store.h"
#include "util/random.h"

namespace berth::app {

int Gc(const GcCommand& command) {
  OfflineStore store;
  if (int rc = OpenOfflineStore(command.config_path, &store); rc != 0) return rc;
  const config::Config& cfg = store.loaded.config;
  metadata::MetadataStore& meta = *store.meta;
  storage::ManifestStore& manifests = *store.manifests;

  nlohmann::json removed = nlohmann::json::array();
  metadata::GcOptions options;
  options.delay_ms = cfg.storage.gc_delay_s * 1000;
  options.delete_untagged = command.delete_untagged || cfg.storage.gc_delete_untagged;
  options.dry_run = command.dry_run;
  char host[256] = {};
  (void)gethostname(host, sizeof host - 1);
  options.owner = "berth gc " + std::string(host) + " pid " + std::to_string(getpid()) + " " + RandomHex(4);
  const bool json = command.json;
  const char* verb = command.dry_run ? "would remove" : "removed";
  options.on_removed = [&removed, json, verb](std::string_view kind, std::string_view repository,
                                              std::string_view digest, int64_t size) {
    if (json) {
      nlohmann::json entry{{"kind", std::string(kind)}, {"digest", std::string(digest)}};
      if (!repository.empty()) entry["repository"] = std::string(repository);
      if (kind == "blob") entry["size"] = size;
      removed.push_back(std::move(entry));
      return;
    }
    std::cout << verb << " " << kind << " " << (repository.empty() ? "" : std::string(repository) + " ") << digest;
    if (kind == "blob") std::cout << " " << size << " bytes";
    std::cout << "\n";
  };
  const auto start = std::chrono::steady_clock::now();
  metadata::GarbageCollector gc(meta, *store.driver, manifests, options);
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto report = gc.Run(now_ms);
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::cerr << "berth: garbage collection stopped: " << report.status().message() << "\n";
    return 1;
  }
  if (json) {
    nlohmann::json out{{"dry_run", report->dry_run},
                       {"blobs", report->blobs_deleted},
                       {"bytes", report->bytes_freed},
                       {"manifests", report->manifests_deleted},
                       {"links", report->links_deleted},
                       {"duration_ms", ms},
                       {"removed", removed}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << (command.dry_run ? "dry run: would remove " : "removed ") << report->blobs_deleted << " blobs ("
              << report->bytes_freed << " bytes), " << report->manifests_deleted << " manifests, "
              << report->links_deleted << " layer links in " << ms << " ms\n";
  }
  return 0;
}

}  // namespace berth::app
