// BlobStore: content-addressed blobs and their links into repositories.
// A blob is visible in a repository only while the repository holds a link to
// it (the _layers link), exactly as in CNCF distribution. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "oci/digest.h"
#include "storage/driver.h"

namespace berth::storage {

class BlobStore {
 public:
  explicit BlobStore(StorageDriver& driver) : driver_(driver) {}

  // Size of the blob's content (any repository). NotFound when absent.
  Result<int64_t> Stat(const oci::Digest& d);
  // Size of a blob that repository `name` links to. NotFound when not linked or absent.
  Result<int64_t> StatInRepository(std::string_view name, const oci::Digest& d);
  Result<std::unique_ptr<FileReader>> Open(const oci::Digest& d, int64_t offset);

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
