#include "app/offline_store.h"

#include <iostream>

#include "app/metadata_factory.h"
#include "app/storage_factory.h"
#include "metadata/import.h"

namespace berth::app {

int OpenOfflineStore(std::string config_path, OfflineStore* out) {
  auto loaded = LoadConfigFor(&config_path);
  if (!loaded.ok()) {
    std::cerr << "berth: " << loaded.status().message() << "\n";
    return 2;
  }
  out->loaded = std::move(*loaded);
  const config::Config& cfg = out->loaded.config;
  auto driver = OpenStorage(cfg);
  if (!driver.ok()) {
    std::cerr << "berth: cannot open storage: " << driver.status().message() << "\n";
    return 2;
  }
  out->driver = std::move(*driver);
  auto pool = OpenMigratedMetadataPool(cfg);
  if (!pool.ok()) {
    std::cerr << "berth: " << pool.status().message() << "\n";
    return 1;
  }
  out->pool = *pool;
  auto imported = metadata::ImportCompleted(*out->pool);
  if (!imported.ok() || !*imported) {
    std::cerr << "berth: the metadata database " << DescribeMetadata(cfg)
              << " holds no completed import of the store; run `berth db import` (or start `berth serve` once) first\n";
    return 1;
  }
  metadata::MetadataStoreOptions meta_options;
  meta_options.repository_lock_file = RepositoryLockFile(cfg);  // shared with berth serve on SQLite
  out->meta = std::make_unique<metadata::MetadataStore>(out->pool, meta_options);
  out->blobs = std::make_unique<storage::BlobStore>(*out->driver);
  out->manifests = std::make_unique<storage::ManifestStore>(*out->driver, *out->blobs);
  return 0;
}

}  // namespace berth::app
