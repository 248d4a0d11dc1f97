// MetadataStore: the registry's metadata (repositories, manifests, their
// references, tags, blobs and each repository's blob links, push and pull
// times) in a SQL database, for listings, garbage collection and policies.
// Every operation is written once, with bound parameters only, against the Db
// interface (metadata/db.h), and runs on SQLite and PostgreSQL alike.
//
// The blob store stays the source of truth for bytes. Write order (the
// invariant "whatever the database shows exists in the store"):
//  - creating: the handler first makes the bytes and links durable in storage,
//    then calls PutManifest / LinkBlob; the row that makes a manifest, tag or
//    link visible is committed only after that. A crash in between leaves
//    storage ahead of the database (`berth db check` reports it), never behind.
//  - deleting: DeleteManifest / DeleteTag / UnlinkBlob commit first, storage
//    links are removed after. GC deletes a blob's row (re-checking in the same
//    statement that nothing references it and its grace is over) before its bytes.
// Each operation runs in one transaction; a transaction that hits kConflict
// (a race with another writer) is retried a few times.
//
// Pull times are not written by pulls: TouchPulled records them in memory and a
// background flush writes each manifest's latest pull at most once per interval
// (a minute by default), so a pull never waits for the database.
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "metadata/db.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "util/mutex.h"

namespace berth::metadata {

// What the database records about one manifest, taken from its stored bytes.
struct ManifestRecord {
  struct BlobRef {
    std::string digest;
    bool foreign = false;  // a layer with URLs: its bytes may live elsewhere, so it need not be in the store
  };
  std::string digest;
  std::string media_type;
  int64_t size = 0;
  std::string artifact_type;          // "" when none
  std::string subject;                // digest, "" when none
  std::string config;                 // digest, "" when none
  std::string annotations;            // JSON object text, "" when none
  std::vector<BlobRef> blobs;         // config and layers
  std::vector<std::string> children;  // an index's manifests

  // From the manifest's bytes and their parse (oci::ParseManifest). The media
  // type is the one the registry serves for these bytes (DetectManifestMediaType).
  static ManifestRecord From(const oci::Digest& digest, std::string_view body, const oci::Manifest& m);
};

// One page of a keyset-paginated listing.
struct Page {
  std::vector<std::string> items;
  bool more = false;  // entries follow the last item
};

struct ReferrerInfo {
  std::string digest;
  std::string media_type;
  int64_t size = 0;
  std::string artifact_type;
  std::string annotations;  // JSON object text, "" when none
};

struct ManifestInfo {
  std::string digest;
  std::string media_type;
  int64_t size = 0;
  std::string artifact_type, subject, config;  // "" when none
  int64_t created_at = 0;                      // first pushed into the repository
  int64_t pushed_at = 0;                       // last pushed
  std::optional<int64_t> last_pulled_at;
};

struct TagInfo {
  std::string name;
  std::string digest;
  int64_t pushed_at = 0;
};

struct RepositoryInfo {
  std::string name;
  int64_t created_at = 0;  // first push (blob link or manifest)
  int64_t last_pushed_at = 0;
  std::optional<int64_t> last_pulled_at;
};

// What garbage collection asks for (issue #16). Each list is one keyset page.
struct UnreferencedBlob {
  std::string digest;
  int64_t size = 0;
};
struct LayerLinkKey {
  int64_t repository_id = 0;  // cursor: start after (repository_id, digest)
  std::string repository;
  std::string digest;
};
struct ManifestKey {
  int64_t id = 0;  // cursor: start after this id
  std::string repository;
  std::string digest;
};

struct MetadataStoreOptions {
  // Unix milliseconds now; the system clock when empty (tests set it).
  std::function<int64_t()> clock;
  // How often the background flush writes pull times, and so at most how often
  // one manifest's pull time is written.
  int64_t pull_flush_interval_ms = 60'000;
  // Pulls remembered between flushes; past it, further distinct pulls are dropped until the next flush.
  size_t max_pending_pulls = 100'000;
  // Attempts for a transaction that meets kConflict.
  int transaction_attempts = 3;
  // How long ProtectBlob waits for GC to finish a claimed blob.
  int64_t claim_wait_ms = 2'000;
  // SQLite only: a file whose byte ranges lock repositories across processes
  // (`berth gc` next to `berth serve` on one database file): each lock stripe
  // is also an open-file-description lock on one byte of it. Empty: the lock
  // is in-process only. (PostgreSQL's advisory lock needs no file.)
  std::string repository_lock_file;
};

// The catalog's sort key of a repository name: distribution lists repositories
// component by component ("a/b" before "a-b"), which is byte order with '/'
// below every other character. Any `last` a client sends maps onto the same
// order (bytes no name may hold are folded so the comparison still decides
// correctly, and the key is always valid UTF-8 text).
std::string CatalogSortKey(std::string_view name);

class MetadataStore {
 public:
  MetadataStore(std::shared_ptr<Pool> pool, MetadataStoreOptions options = {});
  // Stops the background flush after a last flush.
  ~MetadataStore();
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  // ---- writes (call after storage has made the bytes and links durable) ----
  // A blob uploaded into or mounted into `repository` (its _layers link).
  // Creates the repository and the blob row as needed; renews the link's and blob's grace.
  Status LinkBlob(std::string_view repository, std::string_view digest, int64_t size);
  // A blob the pull-through cache filled into `repository` (docs/proxy.md): its
  // link as LinkBlob and, in the same transaction, the references to it of the
  // repository's manifests `referenced_by` (digests). A cached manifest is
  // recorded before its blobs arrive, when they are references the database
  // cannot hold yet; without these rows GC would take the filled blob's link.
  // Unknown manifest digests are skipped.
  Status LinkCachedBlob(std::string_view repository, std::string_view digest, int64_t size,
                        const std::vector<std::string>& referenced_by);
  // Renews a blob's grace (a HEAD that may let a client skip its upload).
  // NotFound when unknown or claimed by GC (the client then uploads it again).
  Status TouchBlob(std::string_view digest);
  // Protects a blob from garbage collection *before* a writer relies on its
  // bytes (an upload about to finish, a mount, a manifest's own bytes): upserts
  // its row with a fresh grace. When GC has claimed it (its bytes may be going),
  // waits up to `claim_wait_ms` for GC to finish it (GC then deletes the row and
  // the row is inserted afresh: the caller must (re)write the bytes), else kBusy.
  // After Ok, GC cannot claim the blob until the grace is over, so the caller
  // may store or reuse the bytes and then link them.
  Status ProtectBlob(std::string_view digest, int64_t size);
  // Removes the repository's link (a blob DELETE). NotFound when not linked.
  Status UnlinkBlob(std::string_view repository, std::string_view digest);
  // Records a stored manifest and, when `tag` is not empty, points the tag at it.
  // NotFound naming the first (non-foreign) referenced blob the database does not know.
  Status PutManifest(std::string_view repository, const ManifestRecord& manifest, std::string_view tag);
  // Removes a manifest with its tags and references. NotFound when unknown.
  Status DeleteManifest(std::string_view repository, std::string_view digest);
  Status DeleteTag(std::string_view repository, std::string_view tag);
  // A repository left with no manifest and no blob link is removed by the
  // operation that emptied it (it leaves the catalog).

  // ---- a repository's storage mutation and its rows, serialised across replicas ----
  // The registry's manifest writes: `store` is the storage half (links under
  // the repository), run under the repository's write lock together with the
  // rows, in the write order above, so that two replicas' mutations of one
  // repository never interleave (a tag PUT and a DELETE of its manifest: see
  // docs/scale-out.md). The lock is, on PostgreSQL, a session-level advisory
  // lock on a hash of the repository's name, held on one connection (the rows
  // are written on that connection); a crash of the holder ends its session
  // and so releases it. On SQLite, which one process serves, an in-process lock.
  // kUnavailable when the database cannot be reached (nothing was stored).
  //
  //
  // `guard` (optional) is asked first, under the lock, with the tags the
  // operation would move or remove as they are at that instant (PutManifest:
  // `tag` if it exists; DeleteTag: the tag; DeleteManifest: the tags pointing
  // at the manifest); a status other than Ok refuses the operation (nothing
  // written). Immutable tags (policies) are checked there, so no concurrent
  // push can slip between the check and the write.
  using TagGuard = std::function<Status(const std::vector<TagInfo>& tags)>;
  // store() first; when it succeeds, PutManifest's rows.
  Status PutManifest(std::string_view repository, const ManifestRecord& manifest, std::string_view tag,
                     const std::function<Status()>& store, const TagGuard& guard = nullptr);
  // DeleteManifest's rows first (committed), then store(). When the database does
  // not know the manifest, store() still runs (storage may be ahead of the
  // database after a crash) and its status is returned.
  // `store_removed_tags` (optional): the tags store() found pointing at the
  // manifest in storage and removed, read after it succeeds; their rows go too,
  // whatever they point at. (After a crash storage may have moved a tag to
  // this manifest while its row still names the old one: without this, the
  // row would outlive the tag.)
  Status DeleteManifest(std::string_view repository, std::string_view digest, const std::function<Status()>& store,
                        const TagGuard& guard = nullptr, const std::vector<std::string>* store_removed_tags = nullptr);
  // Likewise for a tag.
  Status DeleteTag(std::string_view repository, std::string_view tag, const std::function<Status()>& store,
                   const TagGuard& guard = nullptr);
  // A blob's link (upload finish, mount, the manifest PUT's repair): store()
  // first (the storage link), then LinkBlob's rows. Under the lock because GC
  // removes a garbage link (row, then storage link) under it: unlocked, an
  // upload's link written between GC's two steps would lose its storage half
  // (docs/gc.md). Call only after ProtectBlob and the blob's bytes are stored:
  // the lock is held for the link, never while a body streams.
  Status LinkBlob(std::string_view repository, std::string_view digest, int64_t size,
                  const std::function<Status()>& store);
  // A blob DELETE: UnlinkBlob's rows (NotFound ignored: storage may be ahead), then store().
  Status UnlinkBlob(std::string_view repository, std::string_view digest, const std::function<Status()>& store);

  // ---- reads ----
  // Repositories in distribution's catalog order, the first `n` after `last` ("" = from the start).
  // kWithManifests: only those holding a manifest (the registry's _catalog: like
  // distribution, a repository with only blobs -- a push in progress -- is not listed).
  enum class CatalogScope : uint8_t { kAll, kWithManifests };
  Result<Page> ListCatalog(size_t n, std::string_view last, CatalogScope scope = CatalogScope::kAll);
  // Tags in byte order, the first `n` after `last`. NotFound when the repository is unknown.
  Result<Page> ListTags(std::string_view repository, size_t n, std::string_view last);
  // Manifests of `repository` whose subject is `subject`, by digest; only those
  // of `artifact_type` when it is not empty.
  Result<std::vector<ReferrerInfo>> ListReferrers(std::string_view repository, std::string_view subject,
                                                  std::string_view artifact_type);
  Result<RepositoryInfo> GetRepository(std::string_view repository);  // NotFound when unknown
  Result<ManifestInfo> GetManifest(std::string_view repository, std::string_view digest);
  Result<TagInfo> GetTag(std::string_view repository, std::string_view tag);
  // Blob digests the manifest references (config and layers), by digest.
  Result<std::vector<std::string>> ManifestBlobs(std::string_view repository, std::string_view digest);
  Result<std::vector<std::string>> ManifestChildren(std::string_view repository, std::string_view digest);
  // Digests of `repository`'s manifests that list no children (images, not
  // indexes) and have no reference row to blob `digest` (LinkCachedBlob's candidates).
  Result<std::vector<std::string>> ManifestsNotReferencing(std::string_view repository, std::string_view digest);

  // ---- policies (docs/policies.md) ----
  // Repositories whose name starts with `prefix`, by name.
  Result<std::vector<std::string>> RepositoriesWithPrefix(std::string_view prefix);
  // Every tag of `repository` (name, digest, push time) and every manifest
  // (digest, push and pull times, subject, children): what retention decides on.
  struct RepositoryContents {
    std::vector<TagInfo> tags;
    std::vector<ManifestInfo> manifests;
    std::vector<std::pair<std::string, std::string>> children;  // (index digest, child digest)
  };
  Result<RepositoryContents> GetRepositoryContents(std::string_view repository);
  // The bytes of the distinct blobs the repositories hold (their blob links and
  // their manifests' own bytes), each blob once however many of them hold it:
  // a quota's usage. `repositories` names them; a name unknown to the database adds nothing.
  // With `digest`, also whether that blob is among them (then it would add nothing).
  struct Usage {
    int64_t bytes = 0;
    bool holds_digest = false;
  };
  Result<Usage> StoredBytes(const std::vector<std::string>& repositories, std::string_view digest = {});
  // The same over every repository whose name starts with `prefix`, in one
  // statement (when a policy governs all of them: its quota check's fast path).
  Result<Usage> StoredBytesWithPrefix(std::string_view prefix, std::string_view digest = {});

  // ---- pull times ----
  // Remembers a pull (never blocks on the database).
  void TouchPulled(std::string_view repository, std::string_view digest) EXCLUDES(pulls_mu_);
  // Writes the remembered pulls now (the background flush calls this).
  Status FlushPulls() EXCLUDES(pulls_mu_);
  // Starts the background flush every pull_flush_interval_ms; idempotent.
  void StartPullFlusher() EXCLUDES(flusher_mu_);
  // Stops it after a last flush; idempotent.
  void StopPullFlusher() EXCLUDES(flusher_mu_);
  // Pulls dropped because max_pending_pulls was reached.
  int64_t DroppedPulls() const EXCLUDES(pulls_mu_);

  // ---- garbage collection (issue #16); `older_than` is a time in Unix ms ----
  // Blobs no manifest references (as config, layer or its own bytes), no
  // repository links, and not touched since `older_than`; by digest after `after`.
  // With `links_as_gone`, links that are themselves garbage (UnreferencedLayerLinks)
  // do not keep a blob: what a run removing those links would then find (GC's dry run).
  Result<std::vector<UnreferencedBlob>> UnreferencedBlobs(int64_t older_than, std::string_view after, size_t limit,
                                                          bool links_as_gone = false);
  // Deletes the blob's row if, at this instant, it is still as above. False when it is not (kept).
  Result<bool> DeleteBlobIfUnreferenced(std::string_view digest, int64_t older_than);
  // Layer links that no manifest of their repository references, linked before `older_than`.
  Result<std::vector<LayerLinkKey>> UnreferencedLayerLinks(int64_t older_than, const LayerLinkKey& after, size_t limit);
  Result<bool> UnlinkBlobIfUnreferenced(std::string_view repository, std::string_view digest, int64_t older_than);
  // Manifests pushed before `older_than` with no tag, not listed by an index of
  // their repository, and not a referrer of a manifest their repository holds.
  // (One step of the fixpoint: deleting an untagged index frees its children for the next pass.)
  Result<std::vector<ManifestKey>> UntaggedManifests(int64_t older_than, int64_t after_id, size_t limit);
  Result<bool> DeleteManifestIfUntagged(std::string_view repository, std::string_view digest, int64_t older_than);

  // The same two under the repository's write lock, with the storage half:
  // the row is deleted (re-checked), then store() removes the storage link,
  // before any manifest write of the repository can run (they take the lock
  // too, and the registry's manifest PUT re-checks its references in storage
  // under it). store() runs only when the row was deleted.
  Result<bool> UnlinkBlobIfUnreferenced(std::string_view repository, std::string_view digest, int64_t older_than,
                                        const std::function<Status()>& store);
  Result<bool> DeleteManifestIfUntagged(std::string_view repository, std::string_view digest, int64_t older_than,
                                        const std::function<Status()>& store);

  // ---- GC's claim protocol (docs/gc.md) ----
  // Step 1 of deleting a blob: locks its row and, if at this instant it is
  // unreferenced, unlinked and past the grace, marks it claimed (committed).
  // From then on writers treat it as absent (ProtectBlob waits, LinkBlob is
  // kBusy, a manifest referencing it is NotFound, TouchBlob NotFound). True
  // when claimed (also when it already was: an interrupted run's claim).
  Result<bool> ClaimBlobIfUnreferenced(std::string_view digest, int64_t older_than);
  // Claimed blobs (an interrupted run leaves them), by digest after `after`.
  Result<std::vector<UnreferencedBlob>> ClaimedBlobs(std::string_view after, size_t limit);
  // Step 3, after the bytes are gone: deletes the claimed row. False when it
  // is not claimed (nothing deleted).
  Result<bool> DeleteClaimedBlob(std::string_view digest);
  // Whether `digest` is still claimed, read under its row lock. A collector
  // asks this with its lease held, right before deleting the bytes: a writer
  // may have taken back a claim whose collector died (ProtectBlob) before
  // this collector's lease began.
  Result<bool> StillClaimed(std::string_view digest);

  // ---- the collectors' lease: one collector at a time across processes ----
  // Takes or renews the lease for `owner` until now + ttl_ms; false when
  // another owner holds an unexpired lease.
  Result<bool> AcquireGcLease(std::string_view owner, int64_t ttl_ms);
  // Gives the lease up (only if `owner` holds it).
  Status ReleaseGcLease(std::string_view owner);

  Pool& pool() { return *pool_; }

 private:
  int64_t Now() const;
  // Runs `body` in a transaction on one connection (`on`, or one from the pool
  // when null), retrying on kConflict.
  Status Transaction(const std::function<Status(Connection&)>& body, Connection* on = nullptr);
  // Runs `body` holding `repository`'s write lock (see PutManifest with `store`);
  // on PostgreSQL `body` gets the connection that holds the lock, on SQLite null.
  Status WithRepositoryLock(std::string_view repository, const std::function<Status(Connection*)>& body);
  Status PutManifestRows(std::string_view repository, const ManifestRecord& manifest, std::string_view tag,
                         Connection* on);
  Status DeleteManifestRows(std::string_view repository, std::string_view digest, Connection* on);
  Status DeleteTagRows(std::string_view repository, std::string_view tag, Connection* on);
  Status LinkBlobRows(std::string_view repository, std::string_view digest, int64_t size, Connection* on);
  Status UnlinkBlobRows(std::string_view repository, std::string_view digest, Connection* on);
  // The tags named `tag`, or (tag empty) pointing at `digest`, read on `on` (or a pooled connection).
  Result<std::vector<TagInfo>> TagsFor(std::string_view repository, std::string_view tag, std::string_view digest,
                                       Connection* on);
  // Asks `guard` (when set) about those tags.
  Status Guard(const TagGuard& guard, std::string_view repository, std::string_view tag, std::string_view digest,
               Connection* on);
  // Runs `delete_sql` ($1 older_than, $2 the repository's id, $3 digest) in a
  // transaction; true when it deleted a row (and the repository is removed when
  // that left it empty).
  Result<bool> DeleteInRepository(std::string_view repository, std::string_view digest, int64_t older_than,
                                  const std::string& delete_sql, Connection* on = nullptr);
  // DeleteInRepository under the repository's lock, then store() when a row went.
  Result<bool> DeleteInRepositoryLocked(std::string_view repository, std::string_view digest, int64_t older_than,
                                        const std::string& delete_sql, const std::function<Status()>& store);
  void FlushLoop() EXCLUDES(flusher_mu_, pulls_mu_);

  std::shared_ptr<Pool> pool_;
  MetadataStoreOptions options_;

  mutable Mutex pulls_mu_;
  // (repository, digest) -> latest pull
  std::map<std::pair<std::string, std::string>, int64_t> pending_pulls_ GUARDED_BY(pulls_mu_);
  int64_t dropped_pulls_ GUARDED_BY(pulls_mu_) = 0;

  Mutex flusher_mu_;  // the flusher's start/stop
  CondVar flusher_cv_;
  bool flusher_stop_ GUARDED_BY(flusher_mu_) = false;
  std::thread flusher_ GUARDED_BY(flusher_mu_);

  // SQLite: the repositories' write locks, striped by name (they guard storage and rows, not members).
  std::array<Mutex, 64> repository_locks_;
  // options_.repository_lock_file, opened by the constructor (-1: none or it failed: in-process only).
  int repository_lock_fd_ = -1;
};

}  // namespace berth::metadata
