// StorageUsage: how many bytes of blob content the store holds, for the
// berth_storage_bytes gauge.
//
// Counting means walking every blob in the store, far too slow for a scrape.
// So a background thread walks once at start-up, and again whenever the value
// is read (a scrape) and is older than `max_age` (60 s by default); the reader
// never waits and gets the last completed walk's result. No walk happens while
// nobody scrapes. Blob content is shared between repositories, so this is the
// disk the blobs use, counted once each (uploads in progress are not included).
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "storage/driver.h"
#include "util/mutex.h"

namespace berth::obs {

class StorageUsage {
 public:
  StorageUsage(storage::StorageDriver& driver, std::chrono::seconds max_age = std::chrono::seconds(60));
  ~StorageUsage();  // stops (an ongoing walk is abandoned) and joins
  StorageUsage(const StorageUsage&) = delete;
  StorageUsage& operator=(const StorageUsage&) = delete;

  struct Value {
    int64_t bytes = 0;
    int64_t blobs = 0;
    bool known = false;  // false until the first walk completes
  };
  // The last completed walk; asks for a new walk when it is older than max_age.
  Value Get() EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  bool Walk(int64_t* bytes, int64_t* blobs);  // false when stopped midway

  storage::StorageDriver& driver_;
  const std::chrono::seconds max_age_;
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> blobs_{0};
  std::atomic<bool> known_{false};
  std::atomic<int64_t> walked_at_ns_{0};  // steady clock, when the last walk finished
  Mutex mu_;
  CondVar cv_;
  bool wanted_ GUARDED_BY(mu_) = true;  // a walk is requested
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace berth::obs
