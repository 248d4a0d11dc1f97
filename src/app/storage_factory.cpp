#include "app/storage_factory.h"

#include <cstdlib>

#include "storage/filesystem_driver.h"
#include "storage/s3/s3_driver.h"

namespace berth::app {
namespace {

Result<std::unique_ptr<storage::StorageDriver>> OpenS3(const config::S3StorageConfig& c) {
  storage::s3::S3DriverOptions o;
  o.client.endpoint = c.endpoint;
  o.client.region = c.region;
  o.client.bucket = c.bucket;
  o.client.force_path_style = c.forcepathstyle;
  o.client.credentials.access_key = c.accesskey;
  o.client.credentials.secret_key = c.secretkey;
  if (const char* e = std::getenv("AWS_ACCESS_KEY_ID"); o.client.credentials.access_key.empty() && e) {
    o.client.credentials.access_key = e;
  }
  if (const char* e = std::getenv("AWS_SECRET_ACCESS_KEY"); o.client.credentials.secret_key.empty() && e) {
    o.client.credentials.secret_key = e;
  }
  if (o.client.credentials.access_key.empty() || o.client.credentials.secret_key.empty()) {
    return Status::Invalid("storage.s3 needs accesskey and secretkey (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  }
  o.root_directory = c.rootdirectory;
  o.chunk_size = c.chunksize;
  auto s3 = storage::s3::S3Driver::Open(std::move(o));
  if (!s3.ok()) return s3.status();
  return std::unique_ptr<storage::StorageDriver>(std::move(*s3));
}

}  // namespace

Result<std::unique_ptr<storage::StorageDriver>> OpenStorage(const config::Config& cfg) {
  if (cfg.storage.s3_enabled) return OpenS3(cfg.storage.s3);
  auto fs = storage::FilesystemDriver::Open(cfg.storage.filesystem_root);
  if (!fs.ok()) return fs.status();
  return std::unique_ptr<storage::StorageDriver>(std::move(*fs));
}

Result<std::unique_ptr<storage::StorageDriver>> OpenStorageReadOnly(const config::Config& cfg) {
  if (cfg.storage.s3_enabled) return OpenS3(cfg.storage.s3);
  auto fs = storage::FilesystemDriver::OpenExisting(cfg.storage.filesystem_root);
  if (!fs.ok()) return fs.status();
  return std::unique_ptr<storage::StorageDriver>(std::move(*fs));
}

}  // namespace berth::app
