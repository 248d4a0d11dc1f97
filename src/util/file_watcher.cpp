#include "util/file_watcher.h"

#include "util/test_hooks.h"

#include <sys/stat.h>

namespace berth {

FileStamp FileStamp::Of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

FileWatcher::FileWatcher(std::vector<std::string> paths, std::chrono::milliseconds interval,
                         std::function<void()> on_change, std::string poll_hook)
    : paths_(std::move(paths)),
      interval_(interval),
      on_change_(std::move(on_change)),
      poll_hook_(std::move(poll_hook)),
      last_(StampAll()) {
  thread_ = std::thread([this] { Loop(); });
}

FileWatcher::~FileWatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

std::vector<FileStamp> FileWatcher::StampAll() const {
  std::vector<FileStamp> stamps;
  stamps.reserve(paths_.size());
  for (const auto& p : paths_) stamps.push_back(FileStamp::Of(p));
  return stamps;
}

void FileWatcher::Rebase() {
  std::vector<FileStamp> now = StampAll();
  std::lock_guard lock(mu_);
  last_ = std::move(now);
}

bool FileWatcher::CheckNow() {
  std::vector<FileStamp> now = StampAll();  // stat outside the lock: Rebase never waits for the disk
  {
    std::lock_guard lock(mu_);
    if (now == last_) return false;
    last_ = std::move(now);
  }
  std::lock_guard callback(callback_mu_);
  on_change_();
  return true;
}

void FileWatcher::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    (void)CheckNow();
    if (!poll_hook_.empty()) test_hooks::Reach(poll_hook_);
    lock.lock();
  }
}

}  // namespace berth
