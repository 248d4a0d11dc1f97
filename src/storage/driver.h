// StorageDriver: the narrow interface every storage backend implements.
//
// Modelled on CNCF distribution's driver so that both a local filesystem and an
// object store (S3: no atomic rename, eventually consistent listing) fit:
//  - paths are '/'-separated, absolute within the driver, built only by
//    storage/layout.h from validated names and digests;
//  - PutContent is all-or-nothing (readers see the old or the new content);
//  - Writer appends a stream and makes it durable only on Commit;
//  - Move is how finished content becomes visible (rename on a filesystem,
//    copy+delete on an object store);
//  - List returns the direct children of a "directory" and may lag behind writes.
// Implementations must be safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace berth::storage {

struct FileInfo {
  int64_t size = 0;
  bool is_dir = false;
  int64_t modified_unix = 0;
};

// Sequential reader over one stored file. Not thread-safe.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Reads up to n bytes; 0 means end of file.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // A descriptor the file can be sent from with sendfile, reading from
  // Position(); -1 when the backend has none. The reader keeps ownership.
  virtual int NativeFd() const { return -1; }
  virtual int64_t Position() const { return 0; }
};

// Appending writer. Not thread-safe. Destroying an uncommitted writer keeps
// what was written so far (an upload can resume later) but makes no durability promise.
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual Status Write(const char* data, size_t n) = 0;
  virtual int64_t Size() const = 0;
  // Flushes and makes everything written durable (fsync).
  virtual Status Commit() = 0;
};

// What a driver is and what it can do, so callers need not know its class.
struct DriverInfo {
  std::string name;      // "filesystem", "s3"
  std::string location;  // the root directory; for s3 the endpoint, bucket and root prefix (never credentials)
  // RedirectUrl gives URLs a client can fetch content from directly (an object store's presigned URLs).
  bool can_redirect = false;
  // Whether Reader can read a file whose Writer has not finished (a local file:
  // yes; an S3 multipart upload: no). When not, an upload's running hash is
  // saved in storage between requests instead of being recomputed from its bytes.
  bool can_read_unfinished = true;

  // For logs and `berth verify`: a filesystem's root directory as it is, otherwise "<name> <location>".
  std::string Where() const { return name == "filesystem" ? location : name + " " + location; }
};

class StorageDriver {
 public:
  virtual ~StorageDriver() = default;

  // Fixed for the driver's lifetime.
  virtual DriverInfo Info() const = 0;
  virtual Result<std::string> GetContent(const std::string& path) = 0;
  // Atomic replace: readers never see partial content.
  virtual Status PutContent(const std::string& path, std::string_view content) = 0;
  virtual Result<std::unique_ptr<FileReader>> Reader(const std::string& path, int64_t offset) = 0;
  // Opens `path` for appending (creating it when missing).
  virtual Result<std::unique_ptr<FileWriter>> Writer(const std::string& path) = 0;
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // Names (not paths) of the direct children; NotFound when `path` does not exist.
  virtual Result<std::vector<std::string>> List(const std::string& path) = 0;
  // Makes `from` visible at `to`, replacing what was there, atomically where the backend can.
  virtual Status Move(const std::string& from, const std::string& to) = 0;
  // Deletes a file or a whole tree. NotFound when nothing was there.
  virtual Status Delete(const std::string& path) = 0;
  // Checks the backend can be written to (readiness).
  virtual Status CheckWritable() = 0;
  // A URL from which a client can fetch `path` directly (an object store's
  // presigned URL), for redirects. Unsupported unless Info().can_redirect.
  virtual Result<std::string> RedirectUrl(const std::string& path) {
    return Status::Unsupported(Info().name + " storage has no redirect URLs");
  }
};

// True for "/a/b" style paths without empty, "." or ".." components.
bool IsCleanStoragePath(std::string_view path);

}  // namespace berth::storage
