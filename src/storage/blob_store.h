// BlobStore: content-addressed blobs and their links into repositories.
// A blob is visible in a repository only while the repository holds a link to
// it (the _layers link), exactly as in CNCF distribution. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "oci/digest.h"
#include "storage/driver.h"

namespace berth::storage {

// A blob found for a GET, in the spirit of distribution's BlobServer: linked
// into the repository, with its size; then either a URL the client can fetch it
// from directly, or its bytes from an offset. The caller keeps HTTP's rules
// (conditional requests, ranges) and asks for the URL or the reader only once
// it needs one. A plain value; it refers to the BlobStore's driver.
class ServableBlob {
 public:
  int64_t size() const { return size_; }
  // Where the storage serves the bytes itself (a presigned URL). Unsupported
  // when the driver has no such URLs (Info().can_redirect).
  Result<std::string> RedirectUrl() const { return driver_->RedirectUrl(data_path_); }
  // The bytes from `offset` on; the reader may offer a descriptor for sendfile.
  Result<std::unique_ptr<FileReader>> Open(int64_t offset) const { return driver_->Reader(data_path_, offset); }

 private:
  friend class BlobStore;
  ServableBlob(StorageDriver& driver, std::string data_path, int64_t size)
      : driver_(&driver), data_path_(std::move(data_path)), size_(size) {}

  StorageDriver* driver_;
  std::string data_path_;
  int64_t size_;
};

class BlobStore {
 public:
  explicit BlobStore(StorageDriver& driver) : driver_(driver) {}

  // Size of the blob's content (any repository). NotFound when absent.
  Result<int64_t> Stat(const oci::Digest& d);
  // Size of a blob that repository `name` links to. NotFound when not linked or absent.
  Result<int64_t> StatInRepository(std::string_view name, const oci::Digest& d);
  Result<std::unique_ptr<FileReader>> Open(const oci::Digest& d, int64_t offset);
  // A blob that repository `name` links to, ready to be served. NotFound when not linked or absent.
  Result<ServableBlob> Find(std::string_view name, const oci::Digest& d);

  Status Link(std::string_view name, const oci::Digest& d);
  Status Unlink(std::string_view name, const oci::Digest& d);
  bool IsLinked(std::string_view name, const oci::Digest& d);

  // Small content (manifests): stored whole, atomically.
  Status PutSmall(const oci::Digest& d, std::string_view content);
  Result<std::string> GetSmall(const oci::Digest& d);

  StorageDriver& driver() { return driver_; }

 private:
  StorageDriver& driver_;
};

}  // namespace berth::storage
