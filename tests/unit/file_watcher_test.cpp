// Unit tests for util/file_watcher.h: what counts as a change of a file
// (FileStamp) and when the watcher calls back (polling, CheckNow, Rebase).
#include "util/file_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>

#include "temp_dir.h"

namespace berth {
namespace {

using namespace std::chrono_literals;

void Write(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

// Sets the file's modification time, so a rewrite within one clock tick still differs.
void SetMtime(const std::string& path, time_t sec, long nsec) {
  timespec times[2] = {{0, UTIME_OMIT}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

class FileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = dir_.path() + "/a.yaml";
    b_ = dir_.path() + "/b.pem";
    Write(a_, "one");
    Write(b_, "two");
    SetMtime(a_, 1000, 1);
    SetMtime(b_, 1000, 1);
  }
  // A watcher that only looks when asked (CheckNow), counting its callbacks.
  std::unique_ptr<FileWatcher> Manual() {
    return std::make_unique<FileWatcher>(std::vector<std::string>{a_, b_}, 1h, [this] { ++calls_; });
  }

  testing_util::TempDir dir_{"berth-watch"};
  std::string a_, b_;
  int calls_ = 0;
};

TEST_F(FileWatcherTest, StampIdentifiesAVersion) {
  const FileStamp before = FileStamp::Of(a_);
  EXPECT_TRUE(FileStamp::Of(a_) == before);
  EXPECT_EQ(before.size, 3);

  Write(a_, "ONE");  // same size, rewritten in place
  SetMtime(a_, 1000, 2);
  EXPECT_FALSE(FileStamp::Of(a_) == before) << "a new modification time is a change";

  const FileStamp rewritten = FileStamp::Of(a_);
  const std::string tmp = a_ + ".tmp";
  Write(tmp, "ONE");
  SetMtime(tmp, 1000, 2);
  ASSERT_EQ(std::rename(tmp.c_str(), a_.c_str()), 0);  // replaced, as editors and certbot do
  EXPECT_FALSE(FileStamp::Of(a_) == rewritten) << "a new inode is a change, same size and time or not";

  const FileStamp missing = FileStamp::Of(dir_.path() + "/nope");
  EXPECT_TRUE(missing == FileStamp{});
  EXPECT_EQ(missing.size, -1);
}

TEST_F(FileWatcherTest, CheckNowReportsEachChangeOnce) {
  auto w = Manual();
  EXPECT_FALSE(w->CheckNow());
  EXPECT_EQ(calls_, 0);

  Write(b_, "three");
  EXPECT_TRUE(w->CheckNow());
  EXPECT_EQ(calls_, 1);
  EXPECT_FALSE(w->CheckNow()) << "the same change is reported once";
  EXPECT_EQ(calls_, 1);

  ASSERT_EQ(std::remove(a_.c_str()), 0);
  EXPECT_TRUE(w->CheckNow()) << "a file that disappears is a change";
  Write(a_, "one");
  EXPECT_TRUE(w->CheckNow()) << "and so is one that comes back";
  EXPECT_EQ(calls_, 3);
}

TEST_F(FileWatcherTest, RebaseForgetsChangesSeenElsewhere) {
  auto w = Manual();
  Write(a_, "changed, then reloaded by SIGHUP");
  w->Rebase();
  EXPECT_FALSE(w->CheckNow());
  EXPECT_EQ(calls_, 0);
  Write(a_, "changed again");
  EXPECT_TRUE(w->CheckNow());
  EXPECT_EQ(calls_, 1);
}

TEST_F(FileWatcherTest, ChangesBeforeConstructionAreNotReported) {
  Write(a_, "before");
  auto w = Manual();
  EXPECT_FALSE(w->CheckNow());
}

TEST_F(FileWatcherTest, ThreadPollsAndCallsBack) {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  FileWatcher w({a_}, 10ms, [&] {
    std::lock_guard lock(mu);
    ++calls;
    cv.notify_all();
  });
  Write(a_, "a change the poller finds on its own");
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return calls > 0; })) << "no callback within 10 s at a 10 ms interval";
  EXPECT_EQ(calls, 1);
}

TEST_F(FileWatcherTest, CallbackMayRebase) {
  FileWatcher* self = nullptr;
  int calls = 0;
  FileWatcher w({a_}, 1h, [&] {
    ++calls;
    self->Rebase();  // as the TLS reload path does; must not deadlock
  });
  self = &w;
  Write(a_, "x");
  EXPECT_TRUE(w.CheckNow());
  EXPECT_EQ(calls, 1);
}

TEST_F(FileWatcherTest, DestructorStopsPromptly) {
  const auto start = std::chrono::steady_clock::now();
  {
    FileWatcher w({a_}, 1h, [] {});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the destructor waited for the next poll";
}

}  // namespace
}  // namespace berth
