#include "storage/filesystem_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "util/random.h"

namespace berth::storage {
namespace {

constexpr const char* kTmpDir = "/_berth_tmp";

Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR: return Status::NotFound(msg);
    case ENOSPC:
    case EDQUOT: return Status::NoSpace(msg);
    case EEXIST: return Status::Exists(msg);
    default: return Status::IoError(msg);
  }
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

std::string ParentOf(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == 0 ? "/" : p.substr(0, slash);
}

Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + dir);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync " + dir);
  return Status::Ok();
}

// mkdir -p, fsyncing the parent of every directory it creates so the new
// entries survive a crash.
Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::Ok() : Status::IoError(dir + " is not a directory");
  }
  const std::string parent = ParentOf(dir);
  if (parent != dir) {
    if (Status s = MakeDirs(parent); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir " + dir);
  return FsyncDir(parent);
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + what);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

class FsReader final : public FileReader {
 public:
  FsReader(Fd fd, int64_t offset) : fd_(std::move(fd)), offset_(offset) {}
  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      ssize_t r = ::pread(fd_.get(), buf, n, offset_);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "read");
      }
      offset_ += r;
      return static_cast<size_t>(r);
    }
  }
  int NativeFd() const override { return fd_.get(); }
  int64_t Position() const override { return offset_; }

 private:
  Fd fd_;
  int64_t offset_;
};

// Upload data is written with O_DIRECT where the filesystem allows it: on the
// machines measured, copying new data into the page cache (allocating and
// first-touching its pages) cost ~4 s of kernel CPU per GB, a direct write
// ~0.2 s, and the blob is fsynced at Commit anyway, so caching it on the way
// in buys nothing. O_DIRECT needs block-aligned file offsets, lengths and
// memory: whole blocks go straight from the caller's buffer when it is aligned
// (Exchange's body buffer is) or through an aligned staging buffer; the last
// partial block of each Write goes through a normal write on a second
// descriptor, so that everything acknowledged is in the file (an in-progress
// upload can be re-read, and a released writer keeps all of it), and is
// written again, completed, by the next direct write. EINVAL from a direct
// write (a filesystem or device that refuses it) switches the writer to
// buffered writes for good.
constexpr size_t kDirectAlign = 4096;
constexpr size_t kStageSize = 1 << 20;

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

class FsWriter final : public FileWriter {
 public:
  FsWriter(Fd fd, Fd direct_fd, int64_t size, std::string path)
      : fd_(std::move(fd)), dfd_(std::move(direct_fd)), size_(size), path_(std::move(path)) {}
  Status Write(const char* data, size_t n) override {
    const int64_t start = size_;
    Status s = dfd_.get() >= 0 ? WriteDirect(data, n) : Status::Ok();
    if (s.ok() && dfd_.get() < 0) {
      // Buffered writer (no O_DIRECT here, or it was refused mid-way: rewrite the whole call).
      s = PWriteAll(fd_.get(), data, n, start);
    }
    if (s.ok()) {
      size_ = start + static_cast<int64_t>(n);
    } else {
      // A short write (disk full) must not leave a tail the size bookkeeping
      // does not know about: cut the file back to what was acknowledged.
      size_ = start;
      stage_fill_ = -1;
      if (::ftruncate(fd_.get(), size_) != 0) { /* best effort; resume re-reads the size */
      }
    }
    return s;
  }
  int64_t Size() const override { return size_; }
  Status Commit() override {
    if (::fdatasync(fd_.get()) != 0) return ErrnoStatus(errno, "fsync " + path_);
    return Status::Ok();
  }

 private:
  Status PWriteAll(int fd, const char* data, size_t n, int64_t off) {
    while (n > 0) {
      ssize_t w = ::pwrite(fd, data, n, off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "write " + path_);
      }
      if (w == 0) return Status::IoError("write " + path_ + ": no progress");
      data += w;
      off += w;
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }

  // Writes whole blocks at a block-aligned offset with O_DIRECT. On EINVAL the
  // descriptor is dropped and Ok is returned: the caller sees dfd_ < 0 and
  // rewrites the call through the page cache.
  Status DirectBlocks(const char* data, size_t n, int64_t off) {
    while (n > 0) {
      ssize_t w = ::pwrite(dfd_.get(), data, n, off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EINVAL) {
        ::close(dfd_.release());
        return Status::Ok();
      }
      if (w < 0) return ErrnoStatus(errno, "write " + path_);
      if (w == 0) return Status::IoError("write " + path_ + ": no progress");
      data += w;
      off += w;
      n -= static_cast<size_t>(w);
      // A short direct write that ends off a block boundary cannot be continued directly.
      if (n > 0 && (static_cast<size_t>(w) % kDirectAlign) != 0) return PWriteAll(fd_.get(), data, n, off);
    }
    return Status::Ok();
  }

  Status WriteDirect(const char* data, size_t n) {
    int64_t off = size_;
    // Fast path: block-aligned offset and memory, whole blocks straight from the caller.
    if (off % kDirectAlign == 0 && reinterpret_cast<uintptr_t>(data) % kDirectAlign == 0 && n >= kDirectAlign) {
      const size_t whole = n & ~(kDirectAlign - 1);
      if (Status s = DirectBlocks(data, whole, off); !s.ok() || dfd_.get() < 0) return s;
      data += whole;
      n -= whole;
      off += static_cast<int64_t>(whole);
      stage_fill_ = 0;
    }
    // Nothing completes a block: a plain write, no staging needed (small blobs).
    if (static_cast<size_t>(off % kDirectAlign) + n < kDirectAlign) {
      if (Status s = PWriteAll(fd_.get(), data, n, off); !s.ok()) return s;
      if (stage_fill_ >= 0 && stage_) {
        std::memcpy(stage_.get() + stage_fill_, data, n);
        stage_fill_ += static_cast<int64_t>(n);
      } else {
        stage_fill_ = -1;  // reload the partial block from the file when it is needed
      }
      return Status::Ok();
    }
    if (!stage_) {
      void* p = nullptr;
      if (::posix_memalign(&p, kDirectAlign, kStageSize) != 0) return Status::IoError("out of memory");
      stage_.reset(static_cast<char*>(p));
      stage_fill_ = -1;
    }
    const size_t head = static_cast<size_t>(off % kDirectAlign);
    if (stage_fill_ != static_cast<int64_t>(head)) {
      // The partial block already in the file (written by an earlier request, say).
      if (head > 0) {
        ssize_t r = ::pread(fd_.get(), stage_.get(), head, off - static_cast<int64_t>(head));
        if (r != static_cast<ssize_t>(head)) return Status::IoError("read back " + path_);
      }
      stage_fill_ = static_cast<int64_t>(head);
    }
    while (n > 0) {
      const size_t fill = static_cast<size_t>(stage_fill_);
      const size_t take = std::min(n, kStageSize - fill);
      std::memcpy(stage_.get() + fill, data, take);
      data += take;
      n -= take;
      const size_t have = fill + take;
      const size_t whole = have & ~(kDirectAlign - 1);
      const int64_t base = off - static_cast<int64_t>(fill);
      if (whole > 0) {
        if (Status s = DirectBlocks(stage_.get(), whole, base); !s.ok() || dfd_.get() < 0) return s;
      }
      const size_t rest = have - whole;
      if (rest > 0) std::memmove(stage_.get(), stage_.get() + whole, rest);
      stage_fill_ = static_cast<int64_t>(rest);
      off = base + static_cast<int64_t>(have);
      if (n == 0 && rest > 0) {
        // The partial last block: into the file now (acknowledged bytes are readable and kept).
        if (Status s = PWriteAll(fd_.get(), stage_.get(), rest, base + static_cast<int64_t>(whole)); !s.ok()) {
          return s;
        }
      }
    }
    return Status::Ok();
  }

  Fd fd_;   // buffered: partial blocks, fdatasync, truncation
  Fd dfd_;  // O_DIRECT; -1 when the filesystem refuses it
  int64_t size_;
  std::string path_;
  std::unique_ptr<char, FreeDeleter> stage_;  // aligned; allocated when an unaligned write needs it
  int64_t stage_fill_ = -1;                   // bytes of the current partial block held in stage_; -1 = unknown
};

}  // namespace

bool IsCleanStoragePath(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  size_t i = 1;
  while (i <= path.size()) {
    size_t next = path.find('/', i);
    if (next == std::string_view::npos) next = path.size();
    std::string_view comp = path.substr(i, next - i);
    if (comp.empty() || comp == "." || comp == ".." || comp.find('\0') != std::string_view::npos) return false;
    i = next + 1;
  }
  return true;
}

Result<std::unique_ptr<FilesystemDriver>> FilesystemDriver::Open(const std::string& root_in) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(root_in, ec);
  if (ec) return Status::IoError("cannot resolve " + root_in + ": " + ec.message());
  std::string root = abs.lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (Status s = MakeDirs(root + kTmpDir); !s.ok()) return s;
  // Sweep temporary files a crash left behind (older than an hour, so a
  // second process briefly sharing the directory is not disturbed).
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& e : std::filesystem::directory_iterator(root + kTmpDir, ec)) {
    std::error_code ec2;
    if (now - e.last_write_time(ec2) > std::chrono::hours(1)) std::filesystem::remove(e.path(), ec2);
  }
  return std::unique_ptr<FilesystemDriver>(new FilesystemDriver(root));
}

Result<std::unique_ptr<FilesystemDriver>> FilesystemDriver::OpenExisting(const std::string& root_in) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(root_in, ec);
  if (ec) return Status::IoError("cannot resolve " + root_in + ": " + ec.message());
  std::string root = abs.lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) return ErrnoStatus(errno, root);
  if (!S_ISDIR(st.st_mode)) return Status::Invalid(root + " is not a directory");
  return std::unique_ptr<FilesystemDriver>(new FilesystemDriver(root));
}

Result<std::string> FilesystemDriver::FullPath(const std::string& path) const {
  if (!IsCleanStoragePath(path)) return Status::Invalid("unclean storage path");
  return root_ + path;
}

std::string FilesystemDriver::TempPath() const {
  static std::atomic<uint64_t> counter{0};
  return root_ + kTmpDir + "/" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(FastRandom64());
}

Result<std::string> FilesystemDriver::GetContent(const std::string& path) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  Fd fd(::open(full->c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + path);
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t r = ::read(fd.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read " + path);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

Status FilesystemDriver::PutContent(const std::string& path, std::string_view content) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  const std::string tmp = TempPath();
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) return ErrnoStatus(errno, "create temp file");
    Status s = WriteAll(fd.get(), content.data(), content.size(), path);
    if (s.ok() && ::fdatasync(fd.get()) != 0) s = ErrnoStatus(errno, "fsync " + path);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (Status s = MakeDirs(ParentOf(*full)); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), full->c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "rename to " + path);
  }
  return FsyncDir(ParentOf(*full));
}

Result<std::unique_ptr<FileReader>> FilesystemDriver::Reader(const std::string& path, int64_t offset) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  Fd fd(::open(full->c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + path);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<FileReader>(new FsReader(std::move(fd), offset));
}

Result<std::unique_ptr<FileWriter>> FilesystemDriver::Writer(const std::string& path) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  if (Status s = MakeDirs(ParentOf(*full)); !s.ok()) return s;
  // O_RDWR: the partial last block is read back before it is completed by a direct write.
  Fd fd(::open(full->c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  Fd direct(direct_io_ ? ::open(full->c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC) : -1);  // EINVAL: not supported here
  return std::unique_ptr<FileWriter>(new FsWriter(std::move(fd), std::move(direct), st.st_size, path));
}

Result<FileInfo> FilesystemDriver::Stat(const std::string& path) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  struct stat st;
  if (::stat(full->c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  return FileInfo{st.st_size, S_ISDIR(st.st_mode), st.st_mtim.tv_sec};
}

Result<std::vector<std::string>> FilesystemDriver::List(const std::string& path) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  DIR* dir = ::opendir(full->c_str());
  if (dir == nullptr) return ErrnoStatus(errno, "list " + path);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  return names;
}

Status FilesystemDriver::Move(const std::string& from, const std::string& to) {
  auto src = FullPath(from);
  auto dst = FullPath(to);
  if (!src.ok()) return src.status();
  if (!dst.ok()) return dst.status();
  if (Status s = MakeDirs(ParentOf(*dst)); !s.ok()) return s;
  if (::rename(src->c_str(), dst->c_str()) != 0) return ErrnoStatus(errno, "move " + from + " to " + to);
  return FsyncDir(ParentOf(*dst));
}

Status FilesystemDriver::Delete(const std::string& path) {
  auto full = FullPath(path);
  if (!full.ok()) return full.status();
  std::error_code ec;
  auto n = std::filesystem::remove_all(*full, ec);
  if (ec) return ErrnoStatus(ec.value(), "delete " + path);
  if (n == 0) return Status::NotFound("delete " + path + ": not found");
  return FsyncDir(ParentOf(*full));
}

Status FilesystemDriver::CheckWritable() {
  const std::string tmp = TempPath();
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "storage not writable");
  ::unlink(tmp.c_str());
  return Status::Ok();
}

}  // namespace berth::storage
