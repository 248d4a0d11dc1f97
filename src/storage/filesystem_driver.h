// FilesystemDriver: StorageDriver on a local directory.
// Durability: PutContent and Move fsync the file and its directory; Writer::Commit
// fsyncs the file; Writer data bypasses the page cache (O_DIRECT) where it can. Temporary files live in
// <root>/_berth_tmp (same filesystem, so renames are atomic) and are swept at start-up. Thread-safe.
#pragma once

#include <string>

#include "storage/driver.h"

namespace berth::storage {

class FilesystemDriver final : public StorageDriver {
 public:
  // Creates `root` when missing.
  static Result<std::unique_ptr<FilesystemDriver>> Open(const std::string& root);
  // Opens an existing `root` without writing anything (no temp dir, no sweep), for
  // tools that only read while a server may be running (verify, du). NotFound when missing.
  static Result<std::unique_ptr<FilesystemDriver>> OpenExisting(const std::string& root);

  DriverInfo Info() const override { return DriverInfo{"filesystem", root_, false, true}; }
  Result<std::string> GetContent(const std::string& path) override;
  Status PutContent(const std::string& path, std::string_view content) override;
  Result<std::unique_ptr<FileReader>> Reader(const std::string& path, int64_t offset) override;
  Result<std::unique_ptr<FileWriter>> Writer(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<std::vector<std::string>> List(const std::string& path) override;
  Status Move(const std::string& from, const std::string& to) override;
  Status Delete(const std::string& path) override;
  Status CheckWritable() override;

  const std::string& root() const { return root_; }
  // Upload data is written with O_DIRECT where the filesystem supports it
  // (default); off: always through the page cache (tests of the fallback).
  void set_direct_io(bool on) { direct_io_ = on; }

 private:
  explicit FilesystemDriver(std::string root) : root_(std::move(root)) {}
  Result<std::string> FullPath(const std::string& path) const;
  std::string TempPath() const;

  std::string root_;
  bool direct_io_ = true;
};

}  // namespace berth::storage
