#include "metadata/gc.h"

#include <algorithm>

#include "oci/digest.h"
#include "storage/layout.h"
#include "util/log.h"
#include "util/test_hooks.h"

namespace berth::metadata {
namespace {

Status IgnoreNotFound(Status s) { return s.IsNotFound() ? Status::Ok() : s; }

// The directory of a link file (`.../<hex>/link` -> `.../<hex>`): what distribution removes.
std::string LinkDir(const std::string& link) { return link.substr(0, link.rfind('/')); }

// At most this many passes of the untagged fixpoint (an index of an index of ... is rare).
constexpr int kMaxUntaggedPasses = 16;

}  // namespace

void GarbageCollector::Removed(std::string_view kind, std::string_view repository, std::string_view digest,
                               int64_t size) {
  if (options_.on_removed) options_.on_removed(kind, repository, digest, size);
}

Status GarbageCollector::Renew() {
  if (options_.stop_requested && options_.stop_requested()) {
    return Status::Unavailable("garbage collection stopped: shutting down");
  }
  if (options_.dry_run) return Status::Ok();
  auto held = meta_.AcquireGcLease(options_.owner, options_.lease_ttl_ms);
  if (!held.ok()) return held.status();
  if (!*held) return Status::Unavailable("garbage collection lease lost to another collector; stopped");
  return Status::Ok();
}

Result<GcReport> GarbageCollector::Run(int64_t now_ms) {
  GcReport report;
  report.dry_run = options_.dry_run;
  if (!options_.dry_run) {
    auto held = meta_.AcquireGcLease(options_.owner, options_.lease_ttl_ms);
    if (!held.ok()) return held.status();
    if (!*held) return Status(StatusCode::kBusy, "another garbage collection is running (its lease is held)");
    // Holding the lease: where tests start a second collector (docs/gc.md).
    test_hooks::Reach("gc.lease.acquired");
  }
  const int64_t older_than = now_ms - options_.delay_ms;
  Status s = options_.before_mark ? options_.before_mark(options_.dry_run) : Status::Ok();
  if (s.ok()) s = FinishClaimed(report);
  if (s.ok() && options_.delete_untagged) s = CollectUntagged(older_than, report);
  if (s.ok()) s = CollectLinks(older_than, report);
  if (s.ok()) s = CollectBlobs(older_than, report);
  if (!options_.dry_run) (void)meta_.ReleaseGcLease(options_.owner);
  if (!s.ok()) return s;
  return report;
}

Status GarbageCollector::DeleteClaimed(const UnreferencedBlob& blob, GcReport& report) {
  auto digest = oci::Digest::Parse(blob.digest);
  if (!digest.ok()) return digest.status();
  // Between the claim and the bytes: where tests line up writers (docs/gc.md).
  test_hooks::Reach("gc.blob.claimed");
  if (Status s = Renew(); !s.ok()) return s;
  auto claimed = meta_.StillClaimed(blob.digest);
  if (!claimed.ok()) return claimed.status();
  if (!*claimed) return Status::Ok();  // a writer took it back (ProtectBlob): its bytes are theirs
  if (Status s = IgnoreNotFound(driver_.Delete(storage::layout::BlobDir(*digest))); !s.ok()) return s;
  auto deleted = meta_.DeleteClaimedBlob(blob.digest);
  if (!deleted.ok()) return deleted.status();
  if (*deleted) {
    ++report.blobs_deleted;
    report.bytes_freed += blob.size;
    Removed("blob", "", blob.digest, blob.size);
  }
  return Status::Ok();
}

Status GarbageCollector::FinishClaimed(GcReport& report) {
  if (options_.dry_run) return Status::Ok();
  while (true) {
    // Each pass deletes what it lists, so the next page starts from the beginning again.
    auto page = meta_.ClaimedBlobs("", options_.page);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status::Ok();
    for (const auto& blob : *page) {
      if (Status s = DeleteClaimed(blob, report); !s.ok()) return s;
    }
  }
}

Status GarbageCollector::CollectUntagged(int64_t older_than, GcReport& report) {
  for (int pass = 0; pass < kMaxUntaggedPasses; ++pass) {
    int64_t deleted_this_pass = 0;
    int64_t after = 0;
    while (true) {
      auto page = meta_.UntaggedManifests(older_than, after, options_.page);
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      after = page->back().id;
      for (const auto& m : *page) {
        if (options_.dry_run) {
          Removed("manifest", m.repository, m.digest, 0);
          ++report.manifests_deleted;
          continue;
        }
        auto digest = oci::Digest::Parse(m.digest);
        if (!digest.ok()) return digest.status();
        std::function<Status()> store = [&] {
          return IgnoreNotFound(manifests_.DeleteByDigest(m.repository, *digest));
        };
        auto deleted = meta_.DeleteManifestIfUntagged(m.repository, m.digest, older_than, store);
        if (!deleted.ok()) return deleted.status();
        if (*deleted) {
          ++report.manifests_deleted;
          ++deleted_this_pass;
          Removed("manifest", m.repository, m.digest, 0);
        }
      }
      if (Status s = Renew(); !s.ok()) return s;
    }
    if (options_.dry_run || deleted_this_pass == 0) return Status::Ok();
  }
  return Status::Ok();
}

Status GarbageCollector::CollectLinks(int64_t older_than, GcReport& report) {
  LayerLinkKey after;
  while (true) {
    auto page = meta_.UnreferencedLayerLinks(older_than, after, options_.page);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status::Ok();
    after = page->back();
    for (const auto& link : *page) {
      if (options_.dry_run) {
        ++report.links_deleted;
        Removed("link", link.repository, link.digest, 0);
        continue;
      }
      auto digest = oci::Digest::Parse(link.digest);
      if (!digest.ok()) return digest.status();
      std::function<Status()> store = [&] {
        // Between the link's row and its storage link, under the repository's
        // lock: where tests line up an upload of the same blob (docs/gc.md).
        test_hooks::Reach("gc.link.row_deleted");
        return IgnoreNotFound(driver_.Delete(LinkDir(storage::layout::LayerLink(link.repository, *digest))));
      };
      auto deleted = meta_.UnlinkBlobIfUnreferenced(link.repository, link.digest, older_than, store);
      if (!deleted.ok()) return deleted.status();
      if (*deleted) {
        ++report.links_deleted;
        Removed("link", link.repository, link.digest, 0);
      }
    }
    if (Status s = Renew(); !s.ok()) return s;
  }
}

Status GarbageCollector::CollectBlobs(int64_t older_than, GcReport& report) {
  std::string after;
  while (true) {
    // A dry run removed no link: count the blobs that removing them would free.
    auto page = meta_.UnreferencedBlobs(older_than, after, options_.page, options_.dry_run);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status::Ok();
    after = page->back().digest;
    for (const auto& blob : *page) {
      if (options_.dry_run) {
        ++report.blobs_deleted;
        report.bytes_freed += blob.size;
        Removed("blob", "", blob.digest, blob.size);
        continue;
      }
      auto claimed = meta_.ClaimBlobIfUnreferenced(blob.digest, older_than);
      if (!claimed.ok()) return claimed.status();
      if (!*claimed) continue;  // touched, linked or referenced since the mark: kept
      if (Status s = DeleteClaimed(blob, report); !s.ok()) return s;
    }
  }
}

// ------------------------------------------------------------- online ---

GcScheduler::GcScheduler(MetadataStore& meta, storage::StorageDriver& driver, storage::ManifestStore& manifests,
                         GcOptions options, std::chrono::milliseconds interval, RunObserver on_run)
    : meta_(meta),
      driver_(driver),
      manifests_(manifests),
      options_(std::move(options)),
      interval_(interval),
      on_run_(std::move(on_run)) {
  if (!options_.on_removed) {
    const bool dry_run = options_.dry_run;
    options_.on_removed = [dry_run](std::string_view kind, std::string_view repository, std::string_view digest,
                                    int64_t size) {
      log::Info(dry_run ? "gc (dry run): would remove" : "gc: removed", {{"kind", std::string(kind)},
                                                                         {"repository", std::string(repository)},
                                                                         {"digest", std::string(digest)},
                                                                         {"size", std::to_string(size)}});
    };
  }
  options_.stop_requested = [this] { return Stopping(); };
  thread_ = std::thread([this] { Loop(); });
}

bool GcScheduler::Stopping() {
  MutexLock lock(mu_);
  return stop_;
}

GcScheduler::~GcScheduler() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.NotifyAll();
  thread_.join();
}

void GcScheduler::Loop() {
  std::chrono::milliseconds wait = std::min<std::chrono::milliseconds>(kFirstRunDelay, interval_);
  while (true) {
    {
      MutexLock lock(mu_);
      const auto next = std::chrono::steady_clock::now() + wait;
      while (!stop_ && wake_.WaitUntil(mu_, next)) {
      }
      if (stop_) return;
    }
    RunOnce();
    wait = interval_;
  }
}

void GcScheduler::RunOnce() {
  const auto start = std::chrono::steady_clock::now();
  GarbageCollector gc(meta_, driver_, manifests_, options_);
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto report = gc.Run(now_ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (on_run_) on_run_(report, std::chrono::duration<double>(elapsed).count());
  const std::string ms = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
  if (!report.ok()) {
    if (report.status().code() == StatusCode::kBusy) {
      log::Info("gc: skipped, another collector is running", {{"reason", report.status().message()}});
    } else if (Stopping()) {
      log::Info("gc: stopped at shutdown", {{"duration_ms", ms}});
    } else {
      log::Warn("gc: run failed", {{"error", report.status().message()}, {"duration_ms", ms}});
    }
    return;
  }
  log::Info(report->dry_run ? "gc (dry run): finished" : "gc: finished",
            {{"blobs", std::to_string(report->blobs_deleted)},
             {"bytes", std::to_string(report->bytes_freed)},
             {"manifests", std::to_string(report->manifests_deleted)},
             {"links", std::to_string(report->links_deleted)},
             {"duration_ms", ms}});
}

}  // namespace berth::metadata
