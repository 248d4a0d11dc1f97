#include "storage/blob_store.h"

#include "storage/layout.h"

namespace berth::storage {

namespace {

// The size of the blob data file at `path`.
Result<int64_t> DataSize(StorageDriver& driver, const std::string& path) {
  auto info = driver.Stat(path);
  if (!info.ok()) return info.status();
  if (info->is_dir) return Status::IoError("blob data is a directory");
  return info->size;
}

}  // namespace

Result<int64_t> BlobStore::Stat(const oci::Digest& d) { return DataSize(driver_, layout::BlobData(d)); }

Result<int64_t> BlobStore::StatInRepository(std::string_view name, const oci::Digest& d) {
  if (!IsLinked(name, d)) return Status::NotFound("blob not linked in repository");
  return Stat(d);
}

Result<ServableBlob> BlobStore::Find(std::string_view name, const oci::Digest& d) {
  if (!IsLinked(name, d)) return Status::NotFound("blob not linked in repository");
  std::string path = layout::BlobData(d);
  auto size = DataSize(driver_, path);
  if (!size.ok()) return size.status();
  return ServableBlob(driver_, std::move(path), *size);
}

Result<std::unique_ptr<FileReader>> BlobStore::Open(const oci::Digest& d, int64_t offset) {
  return driver_.Reader(layout::BlobData(d), offset);
}

Status BlobStore::Link(std::string_view name, const oci::Digest& d) {
  return driver_.PutContent(layout::LayerLink(name, d), d.str());
}

Status BlobStore::Unlink(std::string_view name, const oci::Digest& d) {
  // Remove the link's directory (<alg>/<hex>), as distribution does.
  std::string link = layout::LayerLink(name, d);
  return driver_.Delete(link.substr(0, link.rfind('/')));
}

bool BlobStore::IsLinked(std::string_view name, const oci::Digest& d) {
  return driver_.Stat(layout::LayerLink(name, d)).ok();
}

Status BlobStore::PutSmall(const oci::Digest& d, std::string_view content) {
  return driver_.PutContent(layout::BlobData(d), content);
}

Result<std::string> BlobStore::GetSmall(const oci::Digest& d) { return driver_.GetContent(layout::BlobData(d)); }

}  // namespace berth::storage
