// Verifier: an offline consistency check of a store (`berth verify`).
//
// Walks the distribution layout through the StorageDriver interface only (so it
// works for any backend) and never writes. It re-hashes every blob (streaming,
// one 1 MiB buffer) and checks every link, tag and stored manifest:
//   corrupt-blob        blob content does not hash to the digest of its path
//   unreadable-blob     blob data cannot be read (or is not a file)
//   missing-blob-data   a blob directory without data that a link refers to
//   dangling-link       a layer / revision / tag / referrer link to a missing blob
//   dangling-tag        a tag whose current manifest has no revision in the repository
//   malformed-link      a link file that is not a digest, or names another digest than its path
//   missing-reference   a manifest whose config, layer or child manifest blob is missing
//   malformed-manifest  a revision whose blob is not a manifest
//   stray-file          an unexpected file or directory where content lives (temp/partial files)
// What a crash or an ordinary delete legitimately leaves behind is counted, not
// reported: upload sessions (resumable or abandoned), empty blob/link directories
// that nothing refers to, tag directories without a current link, temp files.
// Safe to run next to a live server: anything that vanishes mid-walk is skipped,
// and a problem is re-checked once before it is reported.
// VerifyStore keeps no state between calls; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/driver.h"

namespace berth::storage {

struct VerifyProblem {
  std::string kind;    // one of the kinds listed above
  std::string path;    // driver path of the offending object
  std::string detail;  // human-readable explanation
};

struct VerifyReport {
  int64_t blobs_checked = 0;
  int64_t bytes_hashed = 0;
  int64_t repositories = 0;
  int64_t links_checked = 0;
  int64_t manifests_checked = 0;
  int64_t uploads = 0;  // upload sessions present (in progress or abandoned)
  int64_t upload_bytes = 0;
  int64_t leftover_dirs = 0;  // empty blob/link/tag directories nothing refers to
  int64_t temp_files = 0;     // files in the driver's temp area (swept at start-up)
  std::vector<VerifyProblem> problems;

  bool clean() const { return problems.empty(); }
};

// Checks the whole store behind `driver`.
VerifyReport VerifyStore(StorageDriver& driver);

// "<kind> <path>: <detail>", one line per problem.
std::string FormatProblem(const VerifyProblem& p);
// The closing summary (counts, then "OK" or the number of problems).
std::string FormatSummary(const VerifyReport& r);

}  // namespace berth::storage
