// A fresh temporary directory for one test, removed (recursively) when destroyed.
//
// Base directory: $TMPDIR when set; otherwise /dev/shm when it is a writable
// directory; otherwise /tmp. /dev/shm is preferred because the filesystem
// driver fsyncs every file and every directory it creates: on a disk-backed
// /tmp that costs several milliseconds per write and makes the storage tests
// take tens of seconds, on tmpfs it is free. The semantics the tests check
// (rename atomicity, directory listing, inode replacement) are the same.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace berth::testing_util {

inline std::string TempBase() {
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') return t;
  struct stat st;
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK | X_OK) == 0) {
    return "/dev/shm";
  }
  return "/tmp";
}

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "berth-test") {
    std::string tmpl = TempBase() + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace berth::testing_util
