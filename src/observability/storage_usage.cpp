#include "observability/storage_usage.h"

#include "storage/store_walk.h"

namespace berth::obs {
namespace {
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

StorageUsage::StorageUsage(storage::StorageDriver& driver, std::chrono::seconds max_age)
    : driver_(driver), max_age_(max_age) {
  thread_ = std::thread([this] { Loop(); });
}

StorageUsage::~StorageUsage() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  stopping_ = true;
  cv_.NotifyAll();
  thread_.join();
}

StorageUsage::Value StorageUsage::Get() {
  Value v{bytes_.load(), blobs_.load(), known_.load()};
  if (v.known && NowNs() - walked_at_ns_.load() > std::chrono::nanoseconds(max_age_).count()) {
    {
      MutexLock lock(mu_);
      wanted_ = true;
    }
    cv_.NotifyAll();
  }
  return v;
}

void StorageUsage::Loop() {
  MutexLock lock(mu_);
  while (true) {
    while (!stop_ && !wanted_) cv_.Wait(mu_);
    if (stop_) return;
    wanted_ = false;
    lock.Unlock();
    int64_t bytes = 0, blobs = 0;
    const bool done = Walk(&bytes, &blobs);
    lock.Lock();
    if (!done) return;
    bytes_ = bytes;
    blobs_ = blobs;
    walked_at_ns_ = NowNs();
    known_ = true;
  }
}

bool StorageUsage::Walk(int64_t* bytes, int64_t* blobs) {
  return storage::walk::ForEachBlob(driver_, [&](const storage::walk::StoredBlob& b) {
    if (stopping_) return false;
    *bytes += b.size;
    ++*blobs;
    return true;
  });
}

}  // namespace berth::obs
