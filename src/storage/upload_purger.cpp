#include "storage/upload_purger.h"

#include <algorithm>
#include <string>

#include "util/log.h"

namespace berth::storage {

UploadPurger::UploadPurger(UploadStore& uploads, std::chrono::seconds age, std::chrono::seconds interval, bool dry_run)
    : uploads_(uploads), age_(age), interval_(interval), dry_run_(dry_run), thread_([this] { Run(); }) {}

UploadPurger::~UploadPurger() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.NotifyAll();
  thread_.join();
}

void UploadPurger::Run() {
  std::chrono::seconds wait = std::min(kFirstPassDelay, interval_);
  while (true) {
    {
      MutexLock lock(mu_);
      const auto next_pass = std::chrono::steady_clock::now() + wait;
      while (!stop_ && wake_.WaitUntil(mu_, next_pass)) {
      }
      if (stop_) return;
    }
    Pass();
    wait = interval_;
  }
}

void UploadPurger::Pass() {
  const auto cutoff = std::chrono::system_clock::now() - age_;
  UploadStore::PurgeResult r = uploads_.PurgeStarted(cutoff, dry_run_);
  for (const auto& e : r.errors) log::Warn("upload purge: cannot remove an upload", {{"error", e}});
  if (r.removed > 0 || r.failed > 0) {
    log::Info(
        dry_run_ ? "upload purge (dry run): would remove abandoned uploads" : "upload purge: removed abandoned uploads",
        {{"removed", std::to_string(r.removed)},
         {"kept", std::to_string(r.kept)},
         {"failed", std::to_string(r.failed)},
         {"age_seconds", std::to_string(age_.count())}});
  }
}

}  // namespace berth::storage
