// GarbageCollector: one run of garbage collection (issue #16, docs/gc.md),
// safe while the registry serves pushes. Marks from the metadata database
// (never walks the store) and sweeps in small steps: each deletion is one
// short transaction that re-checks its condition, plus the storage half; no
// lock is held across more than one object.
//
// Order of a run, under the collectors' lease (one collector at a time):
//  1. finish the blobs an interrupted run claimed (bytes, then row);
//  2. with delete_untagged: untagged manifests, to a fixpoint (a deleted
//     index frees its children, a deleted subject its referrers);
//  3. each repository's layer links that none of its manifests references;
//  4. blobs nothing references: claim, delete the bytes, delete the row.
// Every step honours the grace: nothing touched since now - delay is collected.
//
// Thread-safety: one Run at a time per object; several collectors (processes)
// exclude each other through the database lease.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "metadata/metadata_store.h"
#include "storage/driver.h"
#include "storage/manifest_store.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::metadata {

struct GcOptions {
  // The grace: objects touched, linked or pushed within it are kept.
  int64_t delay_ms = 6 * 3600 * 1000;
  bool delete_untagged = false;
  // List what would be removed; change nothing (takes no lease, claims nothing).
  // Blobs freed by removing garbage links are counted; untagged manifests are
  // listed for one pass only, and the blobs their removal would free are not
  // (their fixpoint needs the deletions).
  bool dry_run = false;
  // Rows per database page.
  size_t page = 500;
  // The lease's lifetime; renewed after every page and every blob.
  int64_t lease_ttl_ms = 60'000;
  // Who holds the lease (a process- and host-unique id).
  std::string owner;
  // Called for every object removed (or, in a dry run, that would be):
  // kind is "blob", "manifest" or "link"; repository "" for blobs.
  std::function<void(std::string_view kind, std::string_view repository, std::string_view digest, int64_t size)>
      on_removed;
  // Asked between two objects: true stops the run there (kUnavailable). Null: never.
  std::function<bool()> stop_requested;
  // Run under the lease before anything is marked (the retention pass of
  // policies: docs/policies.md), so this run already frees what it removed.
  // A status other than Ok stops the run. Told whether this is a dry run.
  std::function<Status(bool dry_run)> before_mark;
};

struct GcReport {
  int64_t blobs_deleted = 0;
  int64_t bytes_freed = 0;
  int64_t manifests_deleted = 0;
  int64_t links_deleted = 0;
  bool dry_run = false;
};

class GarbageCollector {
 public:
  GarbageCollector(MetadataStore& meta, storage::StorageDriver& driver, storage::ManifestStore& manifests,
                   GcOptions options)
      : meta_(meta), driver_(driver), manifests_(manifests), options_(std::move(options)) {}

  // One run. kBusy when another collector holds the lease (nothing done);
  // kUnavailable when the lease was lost mid-run (stopped between two objects).
  Result<GcReport> Run(int64_t now_ms);

 private:
  Status Renew();
  Status FinishClaimed(GcReport& report);
  Status CollectUntagged(int64_t older_than, GcReport& report);
  Status CollectLinks(int64_t older_than, GcReport& report);
  Status CollectBlobs(int64_t older_than, GcReport& report);
  // Bytes, then the claimed row.
  Status DeleteClaimed(const UnreferencedBlob& blob, GcReport& report);
  void Removed(std::string_view kind, std::string_view repository, std::string_view digest, int64_t size);

  MetadataStore& meta_;
  storage::StorageDriver& driver_;
  storage::ManifestStore& manifests_;
  GcOptions options_;
};

// Online GC in `berth serve` (storage.gc.enabled): a GarbageCollector run
// shortly after start and then every `interval`, on its own thread (like the
// upload purger). One log line per run with the totals (or why it stopped),
// one audit line per object removed. A run finding the lease held by another
// collector (another replica, `berth gc`) logs that and waits for the next interval.
//
// Thread-safety: owns one thread; the destructor stops it between two objects
// of a run (at most one object's work late) and joins it.
class GcScheduler {
 public:
  // The first run waits this long after start (or `interval`, if shorter).
  static constexpr std::chrono::seconds kFirstRunDelay{30};

  // Called after every run (metrics): its outcome and duration in seconds.
  using RunObserver = std::function<void(const Result<GcReport>& outcome, double seconds)>;

  GcScheduler(MetadataStore& meta, storage::StorageDriver& driver, storage::ManifestStore& manifests, GcOptions options,
              std::chrono::milliseconds interval, RunObserver on_run = nullptr);
  ~GcScheduler();
  GcScheduler(const GcScheduler&) = delete;
  GcScheduler& operator=(const GcScheduler&) = delete;

 private:
  void Loop() EXCLUDES(mu_);
  bool Stopping() EXCLUDES(mu_);
  void RunOnce();

  MetadataStore& meta_;
  storage::StorageDriver& driver_;
  storage::ManifestStore& manifests_;
  GcOptions options_;
  const std::chrono::milliseconds interval_;
  RunObserver on_run_;
  Mutex mu_;
  CondVar wake_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace berth::metadata
