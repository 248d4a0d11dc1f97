// The storage backend the config names (filesystem or S3), opened for the
// registry or read-only for the store tools, and a one-line description of it
// for the log. S3 credentials fall back to the usual AWS environment
// variables; the secret key is never logged. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "storage/driver.h"
#include "util/status.h"

namespace berth::app {

// For serving: a filesystem root is created if missing and swept of temporary files.
Result<std::unique_ptr<storage::StorageDriver>> OpenStorage(const config::Config& cfg);

// For verify and du, which may run next to `serve`: a filesystem store is opened
// without creating or sweeping anything.
Result<std::unique_ptr<storage::StorageDriver>> OpenStorageReadOnly(const config::Config& cfg);

}  // namespace berth::app
