// Removes abandoned uploads in the background: distribution's upload purging
// (storage.maintenance.uploadpurging). A pass runs shortly after start and then
// every `interval`; it removes the uploads started more than `age` ago that no
// request holds (UploadStore::PurgeStarted). Without it, a client that gives up
// mid-push leaves its partial data in repositories/<name>/_uploads forever.
//
// Thread-safety: owns one thread; the destructor stops it (waiting for a pass
// in progress to finish).
#pragma once

#include <chrono>
#include <thread>

#include "storage/upload_store.h"
#include "util/mutex.h"

namespace berth::storage {

class UploadPurger {
 public:
  UploadPurger(UploadStore& uploads, std::chrono::seconds age, std::chrono::seconds interval, bool dry_run);
  ~UploadPurger();
  UploadPurger(const UploadPurger&) = delete;
  UploadPurger& operator=(const UploadPurger&) = delete;

  // The first pass waits this long after start (or `interval`, if shorter):
  // long enough not to slow down start-up, short enough to clean up early.
  static constexpr std::chrono::seconds kFirstPassDelay{10};

 private:
  void Run() EXCLUDES(mu_);
  void Pass();

  UploadStore& uploads_;
  const std::chrono::seconds age_;
  const std::chrono::seconds interval_;
  const bool dry_run_;
  Mutex mu_;
  CondVar wake_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace berth::storage
