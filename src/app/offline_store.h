// What the offline commands that work next to a running `berth serve` (`berth
// gc`, `berth retention`) open, and the checks they share: the config, the
// storage, the migrated metadata database holding a completed import of the
// store, and the stores over them, with the SQLite repository lock file shared
// with `berth serve`. Not thread-safe to open; the stores it holds are.
#pragma once

#include <memory>
#include <string>

#include "app/load_config.h"
#include "metadata/db.h"
#include "metadata/metadata_store.h"
#include "storage/blob_store.h"
#include "storage/driver.h"
#include "storage/manifest_store.h"

namespace berth::app {

struct OfflineStore {
  LoadedConfig loaded;
  std::unique_ptr<storage::StorageDriver> driver;
  std::shared_ptr<metadata::Pool> pool;
  std::unique_ptr<metadata::MetadataStore> meta;
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<storage::ManifestStore> manifests;
};

// Opens it all for the config at `config_path` ("" = $CONFIG_PATH or the
// embedded defaults). On failure prints the reason on stderr and returns the
// command's exit code (2: config or storage, 1: the database, or a database
// without a completed import: marking or deciding over it would take what is
// not imported yet for absent); 0 on success.
int OpenOfflineStore(std::string config_path, OfflineStore* out);

}  // namespace berth::app
