// Read-only walking helpers over the distribution layout, shared by the
// offline tools (verify, du). They only List/Stat/GetContent through the
// StorageDriver, never write. Stateless free functions; thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "oci/digest.h"
#include "storage/driver.h"

namespace berth::storage::walk {

// Names of every repository: directories below repositories/ that hold at least
// one of _manifests, _layers, _uploads, _referrers (so a repository that only has
// blobs so far counts). Sorted.
std::vector<std::string> Repositories(StorageDriver& driver);

// One entry of a `<dir>/<alg>/<hex>/...` digest tree.
struct DigestEntry {
  oci::Digest digest;  // from the path
  std::string dir;     // <dir>/<alg>/<hex>
};

// Entries of a `<dir>/<alg>/<hex>` tree; names that are not a known algorithm
// or a valid hex for it go to `strays` (full paths). A missing `dir` is empty.
std::vector<DigestEntry> DigestDirs(StorageDriver& driver, const std::string& dir, std::vector<std::string>* strays);

// True when `path` exists and is not a directory (List reports such a path as NotFound).
bool IsFile(StorageDriver& driver, const std::string& path);

// Parses a link file's content: a digest, optionally followed by whitespace.
Result<oci::Digest> ParseLink(std::string_view content);

// Every blob directory of the blob store (blobs/<alg>/<xx>/<hex>); entries that
// do not fit the layout go to `strays` when it is non-null.
std::vector<DigestEntry> BlobDirs(StorageDriver& driver, std::vector<std::string>* strays);

}  // namespace berth::storage::walk
