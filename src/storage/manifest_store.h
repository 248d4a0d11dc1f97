// ManifestStore: manifests, tags and the referrers index of each repository,
// in distribution's layout. (Listings -- catalog, tags, referrers -- are served
// from the metadata database, docs/metadata.md; the store walks that import and
// verify read are in store_walk.h.)
//
// A manifest's bytes are stored as a blob; the repository holds a revision link
// to it, a tag is a link to a revision, and a manifest with a `subject` adds a
// link under _referrers/<subject>. Writes go content first, links last, so a
// crash leaves at worst unreferenced content for gc, never a dangling tag.
// Thread-safe (concurrent writers of one tag: the last rename wins; a manifest
// PUT and a DELETE of the same manifest are serialised per repository).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "oci/manifest.h"
#include "oci/name.h"
#include "storage/blob_store.h"
#include "storage/driver.h"
#include "util/mutex.h"

namespace berth::storage {

struct StoredManifest {
  std::string body;
  oci::Digest digest;
  std::string media_type;
};

class ManifestStore {
 public:
  ManifestStore(StorageDriver& driver, BlobStore& blobs) : driver_(driver), blobs_(blobs) {}

  Result<oci::Digest> ResolveTag(std::string_view name, std::string_view tag);
  // NotFound when the reference is unknown in this repository.
  Result<StoredManifest> Get(std::string_view name, const oci::Reference& ref);

  // Returns NotFound naming the first referenced blob or child manifest that the
  // repository lacks (MANIFEST_BLOB_UNKNOWN).
  Status CheckReferences(std::string_view name, const oci::Manifest& m);
  // Stores a validated manifest under its digest and, when `tag` is non-empty, tags it.
  Status Put(std::string_view name, std::string_view body, const oci::Manifest& m, const oci::Digest& digest,
             std::string_view tag);

  // Removes the revision, every tag pointing at it and its referrers entry;
  // the removed tags' names go to `removed_tags` when given.
  Status DeleteByDigest(std::string_view name, const oci::Digest& digest,
                        std::vector<std::string>* removed_tags = nullptr);
  Status DeleteTag(std::string_view name, std::string_view tag);

  // Sorted tag names. NotFound when the repository does not exist.
  Result<std::vector<std::string>> Tags(std::string_view name);
  // Whether a manifest or a blob was pushed into `name` (walk::RepositoryDir::HasContent).
  bool RepositoryExists(std::string_view name);

 private:
  std::string MediaTypeOf(const oci::Digest& d, std::string_view body) EXCLUDES(cache_mu_);
  // Serialises link writes (Put) against DeleteByDigest within one repository
  // (striped by name). In-process only: replicas on shared storage can still
  // interleave them, see docs/scale-out.md.
  // (It guards files, not members: nothing here is GUARDED_BY it.)
  Mutex& RepositoryLock(std::string_view name);

  StorageDriver& driver_;
  BlobStore& blobs_;
  // Manifests are immutable, so their media type can be cached by digest.
  Mutex cache_mu_;
  std::unordered_map<std::string, std::string> media_type_cache_ GUARDED_BY(cache_mu_);
  std::array<Mutex, 64> repo_locks_;
};

}  // namespace berth::storage
