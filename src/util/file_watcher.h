// FileWatcher: notices when any of a few files changes, by polling, and calls
// back. Used for the config file (users and ACL reload) and the TLS
// certificate and key (renewals by certbot or cert-manager need no signal).
//
// A change is a new device/inode (editors and certbot replace files), size or
// modification time (cp rewrites in place); a file that disappears or
// reappears is a change too. Polling rather than inotify: it sees a file
// replaced through a symlink or a bind mount the same way.
//
// Thread-safe. `on_change` runs on the watcher's thread (or on the caller of
// CheckNow), never twice at once, without the watcher's lock held: it may call
// Rebase().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "util/mutex.h"

namespace berth {

// One version of a file, as stat(2) sees it (following symlinks). A missing
// or unreadable file has the default stamp.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};

  static FileStamp Of(const std::string& path);
  bool operator==(const FileStamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

class FileWatcher {
 public:
  // Takes the files' stamps now, then checks every `interval` on its own thread.
  // `poll_hook`: a test hook (util/test_hooks.h) reached after every poll, so a
  // test can see that a poll found nothing to do.
  FileWatcher(std::vector<std::string> paths, std::chrono::milliseconds interval, std::function<void()> on_change,
              std::string poll_hook = "");
  // Stops the thread (after an on_change that is running returns).
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Takes the files as they are now as seen: changes made so far are not
  // reported. For a reload done for another reason (SIGHUP), called just
  // before that reload reads the files, so the watcher does not repeat it.
  void Rebase() EXCLUDES(mu_);
  // Checks now instead of waiting for the next poll; true (and on_change
  // called) when something changed since the last check or Rebase.
  bool CheckNow() EXCLUDES(mu_, callback_mu_);

 private:
  std::vector<FileStamp> StampAll() const;
  void Loop() EXCLUDES(mu_);

  const std::vector<std::string> paths_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> on_change_;
  const std::string poll_hook_;
  Mutex callback_mu_ ACQUIRED_BEFORE(mu_);  // held while on_change_ runs
  Mutex mu_;
  CondVar stop_cv_;
  std::vector<FileStamp> last_ GUARDED_BY(mu_);  // the stamps last reported or rebased on
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last member: starts once the others exist
};

}  // namespace berth
