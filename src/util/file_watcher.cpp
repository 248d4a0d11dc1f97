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
    MutexLock lock(mu_);
    stop_ = true;
  }
  stop_cv_.NotifyAll();
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
  MutexLock lock(mu_);
  last_ = std::move(now);
}

bool FileWatcher::CheckNow() {
  std::vector<FileStamp> now = StampAll();  // stat outside the lock: Rebase never waits for the disk
  {
    MutexLock lock(mu_);
    if (now == last_) return false;
    last_ = std::move(now);
  }
  MutexLock callback(callback_mu_);
  on_change_();
  return true;
}

void FileWatcher::Loop() {
  MutexLock lock(mu_);
  for (;;) {
    const auto next_poll = std::chrono::steady_clock::now() + interval_;
    while (!stop_ && stop_cv_.WaitUntil(mu_, next_poll)) {
    }
    if (stop_) return;
    lock.Unlock();
    (void)CheckNow();
    if (!poll_hook_.empty()) test_hooks::Reach(poll_hook_);
    lock.Lock();
  }
}

}  // namespace berth
