// Read-only walks over the distribution layout: the repositories (and the one
// definition of what a repository is), the blob store, digest trees. Used by
// the catalog, upload purging and the offline tools (verify, du). They only
// List/Stat/GetContent through the StorageDriver, never write. Stateless free
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "storage/driver.h"

namespace berth::storage::walk {

// What a repository is, decided here only. A repository is a directory below
// repositories/ whose path there (its name) has at most oci::kMaxNameLength
// characters and no component starting with '_', and that holds at least one
// of _manifests, _layers, _uploads, _referrers. Directories starting with '_'
// belong to the repository above them and are never searched for repositories.
// A repository stays one after deletes (distribution keeps these directories too).
//
// What holds which marker decides how far a repository shows:
//  - store walks (verify, du, upload purging) visit every repository;
//  - the tags list knows one that holds _manifests or _layers (an empty list,
//    not NAME_UNKNOWN): something was pushed into it;
//  - the catalog lists one that holds _manifests: a manifest was pushed into
//    it. (distribution's catalog, registry/storage/catalog.go, lists the
//    directories holding _layers instead: the same set in practice, as a
//    manifest push needs its blobs linked first, except a repository holding
//    blobs and no manifest, which distribution lists and Berth does not.)
struct RepositoryDir {
  std::string name;
  bool manifests = false;  // holds _manifests
  bool layers = false;     // holds _layers
  bool uploads = false;    // holds _uploads
  bool referrers = false;  // holds _referrers

  bool IsRepository() const { return manifests || layers || uploads || referrers; }
  bool HasContent() const { return manifests || layers; }  // the tags list knows it
  bool InCatalog() const { return manifests; }
};

// Every repository with what it holds, sorted by name.
std::vector<RepositoryDir> RepositoryDirs(StorageDriver& driver);
// What the directory of repository `name` (a valid name) holds; all false when it does not exist.
RepositoryDir ExamineRepository(StorageDriver& driver, std::string_view name);
// Names of every repository (RepositoryDirs), sorted.
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

// A blob of the blob store that has its data.
struct StoredBlob {
  oci::Digest digest;
  int64_t size = 0;
  int64_t modified_unix = 0;  // of its data file
};
// Calls `visit` for every blob directory of BlobDirs that holds a data file,
// in the same order, while listing. Stops early when `visit` returns false,
// and then returns false.
bool ForEachBlob(StorageDriver& driver, const std::function<bool(const StoredBlob&)>& visit);

}  // namespace berth::storage::walk
