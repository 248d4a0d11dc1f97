// Import and Check: the metadata database against a store in distribution's
// layout, read only through the StorageDriver (any backend) with the shared
// walks of storage/store_walk.h.
//
// ImportStore fills the database from the store (on first start and by
// `berth db import`): every blob of the blob store first, then each repository's
// layer links, manifests (parsed from their stored bytes with their references)
// and tags. Rows are committed in batches (rows_per_transaction), so memory stays
// bounded by one repository plus the blob walk, and an interrupted import is
// simply run again: every write is an upsert. What the store holds but cannot be
// recorded is counted as skipped and left to `berth verify`, which reports it:
// a link or tag to missing content, a revision whose bytes are missing or are not
// a manifest. The database is marked imported only when the whole store is in.
//
// CheckStore compares database and store (`berth db check`) and reports every
// difference, one finding each:
//   repository-missing-in-db / repository-missing-in-store
//   link-missing-in-db / link-missing-in-store                 a repository's _layers link
//   manifest-missing-in-db / manifest-missing-in-store         a repository's revision
//   manifest-mismatch     the row disagrees with the stored bytes (type, size, references, ...)
//   tag-missing-in-db / tag-missing-in-store / tag-mismatch    (mismatch: points at another manifest)
//   blob-missing-in-db / blob-missing-in-store / blob-size-mismatch
// and, apart from them, notes: states that a running or interrupted writer or
// collector leaves, which are no difference (docs/gc.md):
//   gc-claim-pending   a blob garbage collection claimed (its bytes may be gone)
//                      and a run has not finished; the next run does
//   blob-unstored      a blob row nothing shows, without bytes: an upload
//                      protected it and has not stored it (or its commit
//                      failed); GC removes the row after the grace
// It skips what ImportStore skips (so a fresh import checks clean). Run on a
// quiet store: a push racing the check shows up as a difference.
// Free functions; thread-safe; they never write to the store.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "metadata/db.h"
#include "storage/driver.h"

namespace berth::metadata {

struct ImportProgress {
  int64_t blobs = 0;
  int64_t repositories = 0;
  int64_t links = 0;
  int64_t manifests = 0;
  int64_t tags = 0;
  int64_t skipped = 0;    // what the store holds but the database cannot record (see above)
  bool finished = false;  // the last report of a completed import
};

struct ImportOptions {
  size_t rows_per_transaction = 1000;
  // Called after each committed batch and once at the end (finished = true).
  std::function<void(const ImportProgress&)> progress;
  // Unix milliseconds now (import.completed_at); the system clock when empty.
  std::function<int64_t()> clock;
};

Result<ImportProgress> ImportStore(storage::StorageDriver& driver, Pool& pool, const ImportOptions& options = {});

// True once an import has completed on this database (the start-up decides from this whether to import).
Result<bool> ImportCompleted(Pool& pool);

struct CheckFinding {
  std::string kind;        // one of the kinds above
  std::string repository;  // "" for blobs
  std::string object;      // digest or tag ("" for a whole repository)
  std::string detail;
};

struct CheckReport {
  int64_t repositories = 0;  // compared (in either)
  int64_t blobs = 0;
  int64_t manifests = 0;
  int64_t tags = 0;
  int64_t links = 0;
  std::vector<CheckFinding> findings;
  std::vector<CheckFinding> notes;  // informational (see above); never make a report unclean
  bool clean() const { return findings.empty(); }
};

// An error only when the comparison could not run (database unreachable).
Result<CheckReport> CheckStore(storage::StorageDriver& driver, Pool& pool);

// "<kind> <repository> <object>: <detail>", one line per finding (a note is printed after "note: ").
std::string FormatFinding(const CheckFinding& f);
// The closing summary (counts, then "OK" or the number of differences).
std::string FormatCheckSummary(const CheckReport& r);

}  // namespace berth::metadata
