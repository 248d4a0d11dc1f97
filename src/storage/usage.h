// Usage: storage used per repository (`berth du`).
//
// A repository uses the distinct blobs it links: layer links (_layers) plus its
// manifests (revision links). Blobs shared between repositories count in each of
// them, but once in the totals. Reads only, through the StorageDriver; safe next
// to a live server (numbers are a snapshot, not a transaction). Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/driver.h"

namespace berth::storage {

struct RepositoryUsage {
  std::string name;
  int64_t blobs = 0;      // distinct blobs linked (layers, configs and manifests)
  int64_t manifests = 0;  // of which manifests
  int64_t bytes = 0;      // their total size
  int64_t uploads = 0;    // upload sessions in progress (or abandoned)
  int64_t upload_bytes = 0;
};

struct UsageReport {
  std::vector<RepositoryUsage> repositories;  // largest first, then by name
  int64_t linked_blobs = 0;                   // distinct blobs linked by at least one repository
  int64_t linked_bytes = 0;
  int64_t store_blobs = 0;  // every blob in the blob store, linked or not
  int64_t store_bytes = 0;
  int64_t uploads = 0;
  int64_t upload_bytes = 0;
};

UsageReport ComputeUsage(StorageDriver& driver);

// A fixed-width table, one repository a line, then the totals.
std::string FormatUsageTable(const UsageReport& r);
// The same as a JSON document (exact byte counts).
std::string FormatUsageJson(const UsageReport& r);

}  // namespace berth::storage
