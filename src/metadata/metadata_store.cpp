#include "metadata/metadata_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "metadata/dialect.h"
#include "metadata/store_sql.h"
#include "util/log.h"
#include "util/test_hooks.h"

namespace berth::metadata {
namespace {

// Pull times written per transaction by a flush.
constexpr size_t kPullsPerTransaction = 500;

std::string S(std::string_view s) { return std::string(s); }
// A page size as a LIMIT: huge values saturate instead of wrapping negative (no limit in SQLite).
int64_t Limit(size_t n) { return static_cast<int64_t>(std::min<size_t>(n, 1u << 30)); }
std::string TextOr(const Row& row, size_t i) { return row.IsNull(i) ? std::string() : row.Text(i); }
std::optional<int64_t> IntOr(const Row& row, size_t i) {
  if (row.IsNull(i)) return std::nullopt;
  return row.Int(i);
}

// A `last` for a byte-ordered text key (tags), made valid UTF-8 without
// changing where it falls among the keys: tags are printable ASCII above NUL,
// so the first NUL or non-ASCII byte decides the comparison on its own.
std::string TextBound(std::string_view last) {
  std::string out;
  out.reserve(last.size());
  for (unsigned char c : last) {
    if (c == 0) {
      out.push_back('\x01');
      break;
    }
    if (c >= 0x80) {
      out.push_back('\x7f');
      break;
    }
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// The GC predicates, each written once and used by both the listing that
// proposes candidates and the conditional delete that re-checks one at the
// instant it is removed. $1 is the grace cut-off (Unix ms).
//
// A blob is garbage when no repository links it, no manifest references it (as
// config or layer) or is stored in it, and it was not touched within the grace.
constexpr std::string_view kBlobIsGarbage =
    "b.touched_at < $1 AND b.gc_claimed_at IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = b.digest) "
    "AND NOT EXISTS (SELECT 1 FROM manifest_blobs r WHERE r.digest = b.digest) "
    "AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)";
// A layer link is garbage when no manifest of its repository references the blob and it is past the grace.
constexpr std::string_view kLinkIsGarbage =
    "l.linked_at < $1 "
    "AND NOT EXISTS (SELECT 1 FROM manifest_blobs r JOIN manifests m ON m.id = r.manifest_id "
    "WHERE r.digest = l.digest AND m.repository_id = l.repository_id)";
// An untagged manifest is garbage when no index of its repository lists it, it
// is not a referrer of a manifest its repository holds, and it is past the grace.
constexpr std::string_view kUntaggedManifestIsGarbage =
    "m.pushed_at < $1 "
    "AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id) "
    "AND NOT EXISTS (SELECT 1 FROM manifest_children c "
    "WHERE c.repository_id = m.repository_id AND c.child_digest = m.digest) "
    "AND (m.subject_digest IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s "
    "WHERE s.repository_id = m.repository_id AND s.digest = m.subject_digest))";

// kBusy when GC has claimed `digest` (its bytes may be being deleted); Ok when
// unclaimed or unknown. Runs after the caller's write to the row, so on
// PostgreSQL it holds the row lock and reads the latest commit.
Status RefuseClaimed(Connection& c, std::string_view digest) {
  const Value key[] = {std::string(digest)};
  auto r = c.Execute("SELECT gc_claimed_at FROM blobs WHERE digest = $1", key);
  if (!r.ok()) return r.status();
  if (!r->rows.empty() && !r->rows[0].IsNull(0)) {
    return Status(StatusCode::kBusy, "blob " + std::string(digest) + " is being garbage collected");
  }
  return Status::Ok();
}

}  // namespace

std::string CatalogSortKey(std::string_view name) {
  std::string key;
  key.reserve(name.size());
  for (unsigned char c : name) {
    if (c == '/' || c == 0) {
      // distribution compares '/' as NUL: below every character a name holds.
      // ' ' is below them too and, unlike NUL, is valid text in both engines.
      key.push_back(' ');
    } else if (c <= 0x20) {
      // Above '/' but below every name character: decides the comparison here.
      key.push_back('!');
      break;
    } else if (c >= 0x80) {
      // Above every name character: decides here too (and keeps the key ASCII).
      key.push_back('\x7f');
      break;
    } else {
      key.push_back(static_cast<char>(c));
    }
  }
  return key;
}

ManifestRecord ManifestRecord::From(const oci::Digest& digest, std::string_view body, const oci::Manifest& m) {
  ManifestRecord r;
  r.digest = digest.str();
  r.media_type = oci::DetectManifestMediaType(body);
  r.size = static_cast<int64_t>(body.size());
  r.artifact_type = m.artifact_type;
  if (m.subject) r.subject = m.subject->digest.str();
  if (m.config) {
    r.config = m.config->digest.str();
    r.blobs.push_back({r.config, m.config->has_urls});
  }
  for (const auto& l : m.layers) r.blobs.push_back({l.digest.str(), l.has_urls});
  for (const auto& c : m.manifests) r.children.push_back(c.digest.str());
  if (m.annotations.is_object() && !m.annotations.empty()) r.annotations = m.annotations.dump();
  return r;
}

MetadataStore::MetadataStore(std::shared_ptr<Pool> pool, MetadataStoreOptions options)
    : pool_(std::move(pool)), options_(std::move(options)) {
  if (options_.transaction_attempts < 1) options_.transaction_attempts = 1;
  if (!options_.repository_lock_file.empty()) {
    repository_lock_fd_ = ::open(options_.repository_lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (repository_lock_fd_ < 0) {
      log::Warn("cannot open the repository lock file; repository locks are in-process only",
                {{"path", options_.repository_lock_file}, {"error", std::string(strerror(errno))}});
    }
  }
}

namespace {

// One byte of the lock file per stripe, as an open-file-description lock:
// held by this open file (not the process), released when it is closed or the
// process dies; conflicts with every other open of the file, in any process.
bool LockStripe(int fd, size_t stripe, short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(stripe);
  fl.l_len = 1;
  while (::fcntl(fd, F_OFD_SETLKW, &fl) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

}  // namespace

MetadataStore::~MetadataStore() {
  StopPullFlusher();
  if (repository_lock_fd_ >= 0) ::close(repository_lock_fd_);
}

int64_t MetadataStore::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status MetadataStore::Transaction(const std::function<Status(Connection&)>& body, Connection* on) {
  Status last;
  for (int attempt = 0; attempt < options_.transaction_attempts; ++attempt) {
    std::shared_ptr<Connection> pooled;
    if (on == nullptr) {
      auto conn = pool_->Acquire();
      if (!conn.ok()) return conn.status();
      pooled = std::move(*conn);
    }
    Connection& c = on != nullptr ? *on : *pooled;
    Status s = c.Begin();
    if (s.ok()) s = body(c);
    if (s.ok()) s = c.Commit();
    if (s.ok()) return s;
    (void)c.Rollback();
    if (s.code() != StatusCode::kConflict) return s;
    last = s;
  }
  return last;
}

// ---------------------------------------------------------------- writes ---

Status MetadataStore::LinkBlob(std::string_view repository, std::string_view digest, int64_t size) {
  return LinkBlobRows(repository, digest, size, nullptr);
}

Status MetadataStore::LinkBlobRows(std::string_view repository, std::string_view digest, int64_t size, Connection* on) {
  const int64_t now = Now();
  return Transaction(
      [&](Connection& c) -> Status {
        auto repo = sql::UpsertRepository(c, repository, now, now);
        if (!repo.ok()) return repo.status();
        if (Status s = sql::UpsertBlob(c, digest, size, now, now); !s.ok()) return s;
        // A claimed blob's bytes may already be gone: never link it (the writer protects it first: ProtectBlob).
        if (Status s = RefuseClaimed(c, digest); !s.ok()) return s;
        auto linked = sql::UpsertLink(c, *repo, digest, now, sql::MissingBlob::kFail);
        return linked.status();
      },
      on);
}

Status MetadataStore::LinkCachedBlob(std::string_view repository, std::string_view digest, int64_t size,
                                     const std::vector<std::string>& referenced_by) {
  const int64_t now = Now();
  return Transaction([&](Connection& c) -> Status {
    auto repo = sql::UpsertRepository(c, repository, now, now);
    if (!repo.ok()) return repo.status();
    if (Status s = sql::UpsertBlob(c, digest, size, now, now); !s.ok()) return s;
    // Claimed: its bytes may be gone; neither a link nor a reference may make it visible.
    if (Status s = RefuseClaimed(c, digest); !s.ok()) return s;
    auto linked = sql::UpsertLink(c, *repo, digest, now, sql::MissingBlob::kFail);
    if (!linked.ok()) return linked.status();
    for (const std::string& manifest : referenced_by) {
      const Value params[] = {*repo, manifest, S(digest)};
      auto r = c.Execute(
          "INSERT INTO manifest_blobs (manifest_id, digest) "
          "SELECT id, $3 FROM manifests WHERE repository_id = $1 AND digest = $2 ON CONFLICT DO NOTHING",
          params);
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
}

Status MetadataStore::TouchBlob(std::string_view digest) {
  const int64_t now = Now();
  return Transaction([&](Connection& c) -> Status {
    const Value params[] = {S(digest), now};
    auto r = c.Execute(
        "UPDATE blobs SET touched_at = $2 WHERE digest = $1 AND touched_at < $2 AND gc_claimed_at IS NULL", params);
    if (!r.ok()) return r.status();
    if (r->affected > 0) return Status::Ok();
    const Value key[] = {S(digest)};
    auto known = c.Execute("SELECT 1 FROM blobs WHERE digest = $1 AND gc_claimed_at IS NULL", key);
    if (!known.ok()) return known.status();
    return known->rows.empty() ? Status::NotFound("blob unknown") : Status::Ok();
  });
}

Status MetadataStore::ProtectBlob(std::string_view digest, int64_t size) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.claim_wait_ms);
  while (true) {
    const int64_t now = Now();
    Status s = Transaction([&](Connection& c) -> Status {
      if (Status up = sql::UpsertBlob(c, digest, size, now, now); !up.ok()) return up;
      Status claimed = RefuseClaimed(c, digest);
      if (claimed.code() != StatusCode::kBusy) return claimed;
      // A claim with no live lease was left by a collector that died between
      // the claim and the row: nobody will finish it before the next run.
      // Take the blob back (the caller then writes its bytes afresh). Safe
      // because a collector deletes bytes only while its lease is live, and
      // re-reads the claim under the row's lock after taking the lease
      // (GarbageCollector::DeleteClaimed); this row's lock is held from the
      // upsert above to the commit.
      const Value params[] = {S(digest), now};
      auto r = c.Execute(
          "UPDATE blobs SET gc_claimed_at = NULL, touched_at = $2 WHERE digest = $1 AND gc_claimed_at IS NOT NULL "
          "AND NOT EXISTS (SELECT 1 FROM gc_lease WHERE name = 'gc' AND expires_at >= $2)",
          params);
      if (!r.ok()) return r.status();
      return r->affected > 0 ? Status::Ok() : claimed;
    });
    // Claimed: GC is between deleting the bytes and the row, a matter of
    // milliseconds; once the row is gone the upsert inserts it afresh.
    if (s.code() != StatusCode::kBusy || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status MetadataStore::UnlinkBlob(std::string_view repository, std::string_view digest) {
  return UnlinkBlobRows(repository, digest, nullptr);
}

Status MetadataStore::UnlinkBlobRows(std::string_view repository, std::string_view digest, Connection* on) {
  return Transaction(
      [&](Connection& c) -> Status {
        auto repo = sql::FindRepository(c, repository);
        if (!repo.ok()) return repo.status();
        if (!*repo) return Status::NotFound("repository unknown");
        const Value params[] = {**repo, S(digest)};
        auto r = c.Execute("DELETE FROM blob_links WHERE repository_id = $1 AND digest = $2", params);
        if (!r.ok()) return r.status();
        if (r->affected == 0) return Status::NotFound("blob not linked in the repository");
        return sql::RemoveRepositoryIfEmpty(c, **repo);
      },
      on);
}

Status MetadataStore::PutManifest(std::string_view repository, const ManifestRecord& manifest, std::string_view tag) {
  return PutManifestRows(repository, manifest, tag, nullptr);
}

Status MetadataStore::PutManifestRows(std::string_view repository, const ManifestRecord& manifest, std::string_view tag,
                                      Connection* on) {
  const int64_t now = Now();
  return Transaction(
      [&](Connection& c) -> Status {
        auto repo = sql::UpsertRepository(c, repository, now, now);
        if (!repo.ok()) return repo.status();
        // The manifest's own bytes are a blob of the store too.
        if (Status s = sql::UpsertBlob(c, manifest.digest, manifest.size, now, now); !s.ok()) return s;
        if (Status s = RefuseClaimed(c, manifest.digest); !s.ok()) return s;
        // Lock the referenced blobs' rows FOR SHARE (PostgreSQL): this conflicts
        // with GC's claim (FOR UPDATE), so either GC's claim commits first and
        // is seen here (NotFound: MANIFEST_BLOB_UNKNOWN, the client uploads
        // again), or the references below commit first and GC's re-check sees them.
        const std::string lock =
            "SELECT gc_claimed_at FROM blobs WHERE digest = $1" + std::string(dialect::ForShare(pool_->Dialect()));
        // A foreign reference (recorded only for a known, unclaimed blob)
        // takes the same lock, so that GC cannot claim the blob between that
        // check and the reference's insert.
        for (const auto& b : manifest.blobs) {
          const Value key[] = {b.digest};
          auto row = c.Execute(lock, key);
          if (!row.ok()) return row.status();
          if (b.foreign) continue;
          if (row->rows.empty() || !row->rows[0].IsNull(0))
            return Status::NotFound("blob " + b.digest + " is unknown to the metadata database");
        }
        auto id = sql::UpsertManifest(c, *repo, manifest, now, now, sql::MissingBlob::kFail);
        if (!id.ok()) return id.status();
        if (tag.empty()) return Status::Ok();
        return sql::UpsertTag(c, *repo, tag, *id, now);
      },
      on);
}

Status MetadataStore::DeleteManifest(std::string_view repository, std::string_view digest) {
  return DeleteManifestRows(repository, digest, nullptr);
}

Status MetadataStore::DeleteManifestRows(std::string_view repository, std::string_view digest, Connection* on) {
  return Transaction(
      [&](Connection& c) -> Status {
        auto repo = sql::FindRepository(c, repository);
        if (!repo.ok()) return repo.status();
        if (!*repo) return Status::NotFound("manifest unknown");
        // Tags, references and children go with it (ON DELETE CASCADE).
        const Value params[] = {**repo, S(digest)};
        auto r = c.Execute("DELETE FROM manifests WHERE repository_id = $1 AND digest = $2", params);
        if (!r.ok()) return r.status();
        if (r->affected == 0) return Status::NotFound("manifest unknown");
        return sql::RemoveRepositoryIfEmpty(c, **repo);
      },
      on);
}

Status MetadataStore::DeleteTag(std::string_view repository, std::string_view tag) {
  return DeleteTagRows(repository, tag, nullptr);
}

Status MetadataStore::DeleteTagRows(std::string_view repository, std::string_view tag, Connection* on) {
  return Transaction(
      [&](Connection& c) -> Status {
        const Value params[] = {S(repository), S(tag)};
        auto r = c.Execute(
            "DELETE FROM tags WHERE repository_id = (SELECT id FROM repositories WHERE name = $1) AND name = $2",
            params);
        if (!r.ok()) return r.status();
        return r->affected == 0 ? Status::NotFound("tag unknown") : Status::Ok();
      },
      on);
}

// ------------------------------------------- serialised repository writes ---

Status MetadataStore::WithRepositoryLock(std::string_view repository, const std::function<Status(Connection*)>& body) {
  const std::string_view lock_sql = dialect::RepositoryLock(pool_->Dialect());
  test_hooks::Reach("metadata.repository.locking");  // tests/e2e/metadata_pg_test.sh
  if (lock_sql.empty()) {
    const size_t stripe = std::hash<std::string_view>{}(repository) % repository_locks_.size();
    MutexLock lock(repository_locks_[stripe]);
    // Other processes on the same database file (berth gc next to berth serve).
    if (repository_lock_fd_ >= 0 && !LockStripe(repository_lock_fd_, stripe, F_WRLCK)) {
      return Status::IoError("cannot lock repository " + std::string(repository) + ": " + strerror(errno));
    }
    Status s = body(nullptr);
    if (repository_lock_fd_ >= 0) (void)LockStripe(repository_lock_fd_, stripe, F_UNLCK);
    return s;
  }
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  const Value key[] = {S(repository)};
  if (auto locked = c.Execute(lock_sql, key); !locked.ok()) return locked.status();
  Status s = body(&c);
  // A failed unlock means a broken connection: the server ends the session and its lock with it.
  (void)c.Execute(dialect::RepositoryUnlock(pool_->Dialect()), key);
  return s;
}

Result<std::vector<TagInfo>> MetadataStore::TagsFor(std::string_view repository, std::string_view tag,
                                                    std::string_view digest, Connection* on) {
  std::shared_ptr<Connection> pooled;
  if (on == nullptr) {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return conn.status();
    pooled = std::move(*conn);
  }
  Connection& c = on != nullptr ? *on : *pooled;
  // By name (a tag) or by the manifest it points at (a digest).
  const std::string where = tag.empty() ? "m.digest = $2" : "t.name = $2";
  const Value params[] = {S(repository), S(tag.empty() ? digest : tag)};
  auto r = c.Execute(
      "SELECT t.name, m.digest, t.pushed_at FROM tags t JOIN repositories r ON r.id = t.repository_id "
      "JOIN manifests m ON m.id = t.manifest_id WHERE r.name = $1 AND " + where + " ORDER BY t.name",
      params);
  if (!r.ok()) return r.status();
  std::vector<TagInfo> out;
  for (const auto& row : r->rows) out.push_back(TagInfo{row.Text(0), row.Text(1), row.Int(2)});
  return out;
}

Status MetadataStore::Guard(const TagGuard& guard, std::string_view repository, std::string_view tag,
                            std::string_view digest, Connection* on) {
  if (!guard || (tag.empty() && digest.empty())) return Status::Ok();
  auto tags = TagsFor(repository, tag, digest, on);
  if (!tags.ok()) return tags.status();
  return guard(*tags);
}

Status MetadataStore::PutManifest(std::string_view repository, const ManifestRecord& manifest, std::string_view tag,
                                  const std::function<Status()>& store, const TagGuard& guard) {
  // The manifest's own bytes are content-addressed: storage may keep bytes it
  // finds, so they are protected from GC before store() relies on them.
  if (Status s = ProtectBlob(manifest.digest, manifest.size); !s.ok()) return s;
  return WithRepositoryLock(repository, [&](Connection* on) -> Status {
    if (!tag.empty()) {
      if (Status s = Guard(guard, repository, tag, "", on); !s.ok()) return s;
    }
    if (Status s = store(); !s.ok()) return s;
    return PutManifestRows(repository, manifest, tag, on);
  });
}

Status MetadataStore::DeleteManifest(std::string_view repository, std::string_view digest,
                                     const std::function<Status()>& store, const TagGuard& guard,
                                     const std::vector<std::string>* store_removed_tags) {
  return WithRepositoryLock(repository, [&](Connection* on) -> Status {
    if (Status s = Guard(guard, repository, "", digest, on); !s.ok()) return s;
    Status rows = DeleteManifestRows(repository, digest, on);
    if (!rows.ok() && !rows.IsNotFound()) return rows;
    if (Status s = store(); !s.ok()) return s;
    if (store_removed_tags == nullptr) return Status::Ok();
    for (const auto& tag : *store_removed_tags) {
      // (a crash here leaves the row pointing at a manifest storage still
      // holds untagged: storage behind on a tag row, which `berth db import` mends)
      if (Status t = DeleteTagRows(repository, tag, on); !t.ok() && !t.IsNotFound()) return t;
    }
    return Status::Ok();
  });
}

Status MetadataStore::DeleteTag(std::string_view repository, std::string_view tag,
                                const std::function<Status()>& store, const TagGuard& guard) {
  return WithRepositoryLock(repository, [&](Connection* on) -> Status {
    if (Status s = Guard(guard, repository, tag, "", on); !s.ok()) return s;
    Status rows = DeleteTagRows(repository, tag, on);
    if (!rows.ok() && !rows.IsNotFound()) return rows;
    return store();
  });
}

Status MetadataStore::LinkBlob(std::string_view repository, std::string_view digest, int64_t size,
                               const std::function<Status()>& store) {
  return WithRepositoryLock(repository, [&](Connection* on) -> Status {
    if (Status s = store(); !s.ok()) return s;
    return LinkBlobRows(repository, digest, size, on);
  });
}

Status MetadataStore::UnlinkBlob(std::string_view repository, std::string_view digest,
                                 const std::function<Status()>& store) {
  return WithRepositoryLock(repository, [&](Connection* on) -> Status {
    Status rows = UnlinkBlobRows(repository, digest, on);
    if (!rows.ok() && !rows.IsNotFound()) return rows;
    return store();
  });
}

// ----------------------------------------------------------------- reads ---

Result<Page> MetadataStore::ListCatalog(size_t n, std::string_view last, CatalogScope scope) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  // One row more than asked tells whether another page follows.
  const Value params[] = {CatalogSortKey(last), Limit(n) + 1};
  // (With manifests: one probe of the manifests' (repository_id, digest) key per repository.)
  const std::string_view sql =
      scope == CatalogScope::kAll
          ? "SELECT name FROM repositories WHERE catalog_key > $1 ORDER BY catalog_key LIMIT $2"
          : "SELECT name FROM repositories r WHERE catalog_key > $1 "
            "AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id) ORDER BY catalog_key LIMIT $2";
  auto r = (*conn)->Execute(sql, params);
  if (!r.ok()) return r.status();
  Page page;
  for (auto& row : r->rows) {
    if (page.items.size() == n) {
      page.more = true;
      break;
    }
    page.items.push_back(std::move(std::get<std::string>(row.columns[0])));
  }
  return page;
}

Result<Page> MetadataStore::ListTags(std::string_view repository, size_t n, std::string_view last) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository), TextBound(last), Limit(n) + 1};
  auto r = (*conn)->Execute(
      "SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repository_id "
      "WHERE r.name = $1 AND t.name > $2 ORDER BY t.name LIMIT $3",
      params);
  if (!r.ok()) return r.status();
  Page page;
  for (auto& row : r->rows) {
    if (page.items.size() == n) {
      page.more = true;
      break;
    }
    page.items.push_back(std::move(std::get<std::string>(row.columns[0])));
  }
  if (r->rows.empty()) {
    auto repo = sql::FindRepository(**conn, repository);
    if (!repo.ok()) return repo.status();
    if (!*repo) return Status::NotFound("repository name not known to registry");
  }
  return page;
}

Result<std::vector<ReferrerInfo>> MetadataStore::ListReferrers(std::string_view repository, std::string_view subject,
                                                               std::string_view artifact_type) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  constexpr std::string_view kSelect =
      "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM manifests m "
      "JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1 AND m.subject_digest = $2";
  static const std::string kAll = std::string(kSelect) + " ORDER BY m.digest";
  static const std::string kOfType = std::string(kSelect) + " AND m.artifact_type = $3 ORDER BY m.digest";
  Result<QueryResult> r = Status::Invalid("unset");
  if (artifact_type.empty()) {
    const Value params[] = {S(repository), S(subject)};
    r = (*conn)->Execute(kAll, params);
  } else {
    const Value params[] = {S(repository), S(subject), S(artifact_type)};
    r = (*conn)->Execute(kOfType, params);
  }
  if (!r.ok()) return r.status();
  std::vector<ReferrerInfo> out;
  out.reserve(r->rows.size());
  for (const auto& row : r->rows) {
    out.push_back(ReferrerInfo{row.Text(0), row.Text(1), row.Int(2), TextOr(row, 3), TextOr(row, 4)});
  }
  return out;
}

Result<RepositoryInfo> MetadataStore::GetRepository(std::string_view repository) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository)};
  auto r = (*conn)->Execute("SELECT name, created_at, last_pushed_at, last_pulled_at FROM repositories WHERE name = $1",
                            params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return Status::NotFound("repository name not known to registry");
  const Row& row = r->rows[0];
  return RepositoryInfo{row.Text(0), row.Int(1), row.Int(2), IntOr(row, 3)};
}

Result<ManifestInfo> MetadataStore::GetManifest(std::string_view repository, std::string_view digest) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository), S(digest)};
  auto r = (*conn)->Execute(
      "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject_digest, m.config_digest, m.created_at, "
      "m.pushed_at, m.last_pulled_at FROM manifests m JOIN repositories r ON r.id = m.repository_id "
      "WHERE r.name = $1 AND m.digest = $2",
      params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return Status::NotFound("manifest unknown");
  const Row& row = r->rows[0];
  ManifestInfo info;
  info.digest = row.Text(0);
  info.media_type = row.Text(1);
  info.size = row.Int(2);
  info.artifact_type = TextOr(row, 3);
  info.subject = TextOr(row, 4);
  info.config = TextOr(row, 5);
  info.created_at = row.Int(6);
  info.pushed_at = row.Int(7);
  info.last_pulled_at = IntOr(row, 8);
  return info;
}

Result<TagInfo> MetadataStore::GetTag(std::string_view repository, std::string_view tag) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository), S(tag)};
  auto r = (*conn)->Execute(
      "SELECT t.name, m.digest, t.pushed_at FROM tags t JOIN repositories r ON r.id = t.repository_id "
      "JOIN manifests m ON m.id = t.manifest_id WHERE r.name = $1 AND t.name = $2",
      params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return Status::NotFound("tag unknown");
  const Row& row = r->rows[0];
  return TagInfo{row.Text(0), row.Text(1), row.Int(2)};
}

namespace {

Result<std::vector<std::string>> Column0(Result<QueryResult> r) {
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  out.reserve(r->rows.size());
  for (auto& row : r->rows) out.push_back(std::move(std::get<std::string>(row.columns[0])));
  return out;
}

}  // namespace

Result<std::vector<std::string>> MetadataStore::ManifestBlobs(std::string_view repository, std::string_view digest) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository), S(digest)};
  return Column0((*conn)->Execute(
      "SELECT b.digest FROM manifest_blobs b JOIN manifests m ON m.id = b.manifest_id "
      "JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1 AND m.digest = $2 ORDER BY b.digest",
      params));
}

Result<std::vector<std::string>> MetadataStore::ManifestChildren(std::string_view repository, std::string_view digest) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository), S(digest)};
  return Column0((*conn)->Execute(
      "SELECT c.child_digest FROM manifest_children c JOIN manifests m ON m.id = c.manifest_id "
      "JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1 AND m.digest = $2 ORDER BY c.child_digest",
      params));
}

Result<std::vector<std::string>> MetadataStore::ManifestsNotReferencing(std::string_view repository,
                                                                        std::string_view digest) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(repository), S(digest)};
  return Column0((*conn)->Execute(
      "SELECT m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1 "
      "AND NOT EXISTS (SELECT 1 FROM manifest_children c WHERE c.manifest_id = m.id) "
      "AND NOT EXISTS (SELECT 1 FROM manifest_blobs b WHERE b.manifest_id = m.id AND b.digest = $2) "
      "ORDER BY m.digest",
      params));
}

// -------------------------------------------------------------- policies ---

namespace {

// The names starting with `prefix` as a range on the unique name index:
// name >= $1 AND name < $2, where $2 is the prefix with its last byte + 1
// ("\x7f" when there is none: names are printable ASCII).
std::pair<std::string, std::string> PrefixRange(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) >= 0x7e) end.pop_back();
  if (end.empty()) return {std::string(prefix), "\x7f"};
  end.back() = static_cast<char>(end.back() + 1);
  return {std::string(prefix), end};
}

}  // namespace

Result<std::vector<std::string>> MetadataStore::RepositoriesWithPrefix(std::string_view prefix) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto [from, to] = PrefixRange(prefix);
  const Value params[] = {from, to};
  return Column0(
      (*conn)->Execute("SELECT name FROM repositories WHERE name >= $1 AND name < $2 ORDER BY name", params));
}

Result<MetadataStore::Usage> MetadataStore::StoredBytesWithPrefix(std::string_view prefix, std::string_view digest) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto [from, to] = PrefixRange(prefix);
  const Value params[] = {from, to, S(digest)};
  // The distinct digests the repositories in the range hold, summed once each.
  auto r = (*conn)->Execute(
      "SELECT CAST(COALESCE(SUM(b.size), 0) AS BIGINT), "
      "CAST(COALESCE(MAX(CASE WHEN b.digest = $3 THEN 1 ELSE 0 END), 0) AS BIGINT) "
      "FROM blobs b WHERE b.digest IN ("
      "SELECT l.digest FROM blob_links l JOIN repositories r ON r.id = l.repository_id "
      "WHERE r.name >= $1 AND r.name < $2 "
      "UNION SELECT m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id "
      "WHERE r.name >= $1 AND r.name < $2)",
      params);
  if (!r.ok()) return r.status();
  Usage usage;
  if (!r->rows.empty()) {
    usage.bytes = r->rows[0].Int(0);
    usage.holds_digest = !digest.empty() && r->rows[0].Int(1) != 0;
  }
  return usage;
}

Result<MetadataStore::RepositoryContents> MetadataStore::GetRepositoryContents(std::string_view repository) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  const Value params[] = {S(repository)};
  RepositoryContents out;
  auto tags = c.Execute(
      "SELECT t.name, m.digest, t.pushed_at FROM tags t JOIN repositories r ON r.id = t.repository_id "
      "JOIN manifests m ON m.id = t.manifest_id WHERE r.name = $1 ORDER BY t.name",
      params);
  if (!tags.ok()) return tags.status();
  out.tags.reserve(tags->rows.size());
  for (const auto& row : tags->rows) out.tags.push_back(TagInfo{row.Text(0), row.Text(1), row.Int(2)});
  auto manifests = c.Execute(
      "SELECT m.digest, m.media_type, m.size, m.subject_digest, m.created_at, m.pushed_at, m.last_pulled_at "
      "FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1 ORDER BY m.digest",
      params);
  if (!manifests.ok()) return manifests.status();
  out.manifests.reserve(manifests->rows.size());
  for (const auto& row : manifests->rows) {
    ManifestInfo info;
    info.digest = row.Text(0);
    info.media_type = row.Text(1);
    info.size = row.Int(2);
    info.subject = TextOr(row, 3);
    info.created_at = row.Int(4);
    info.pushed_at = row.Int(5);
    info.last_pulled_at = IntOr(row, 6);
    out.manifests.push_back(std::move(info));
  }
  auto children = c.Execute(
      "SELECT m.digest, ch.child_digest FROM manifest_children ch JOIN manifests m ON m.id = ch.manifest_id "
      "JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1",
      params);
  if (!children.ok()) return children.status();
  for (const auto& row : children->rows) out.children.emplace_back(row.Text(0), row.Text(1));
  return out;
}

Result<MetadataStore::Usage> MetadataStore::StoredBytes(const std::vector<std::string>& repositories,
                                                        std::string_view digest) {
  Usage usage;
  if (repositories.empty()) return usage;
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  // The digests each repository holds, over the indexes by repository
  // (blob_links' primary key, manifests' unique (repository_id, digest)), one
  // statement per repository with the name bound; deduplicated here, so a blob
  // several of them hold counts once.
  std::unordered_map<std::string, int64_t> sizes;
  for (const std::string& repo : repositories) {
    const Value params[] = {repo};
    auto r = c.Execute(
        "SELECT b.digest, b.size FROM blobs b WHERE b.digest IN ("
        "SELECT l.digest FROM blob_links l JOIN repositories r ON r.id = l.repository_id WHERE r.name = $1 "
        "UNION SELECT m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1)",
        params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) sizes.emplace(row.Text(0), row.Int(1));
  }
  for (const auto& [d, size] : sizes) usage.bytes += size;
  usage.holds_digest = !digest.empty() && sizes.count(std::string(digest)) != 0;
  return usage;
}

// ------------------------------------------------------------ pull times ---

void MetadataStore::TouchPulled(std::string_view repository, std::string_view digest) {
  const int64_t now = Now();
  MutexLock lock(pulls_mu_);
  auto key = std::make_pair(S(repository), S(digest));
  auto it = pending_pulls_.find(key);
  if (it != pending_pulls_.end()) {
    if (it->second < now) it->second = now;
    return;
  }
  if (pending_pulls_.size() >= options_.max_pending_pulls) {
    ++dropped_pulls_;
    return;
  }
  pending_pulls_.emplace(std::move(key), now);
}

int64_t MetadataStore::DroppedPulls() const {
  MutexLock lock(pulls_mu_);
  return dropped_pulls_;
}

Status MetadataStore::FlushPulls() {
  std::map<std::pair<std::string, std::string>, int64_t> batch;
  {
    MutexLock lock(pulls_mu_);
    batch.swap(pending_pulls_);
  }
  Status result;
  auto it = batch.begin();
  while (it != batch.end()) {
    auto chunk_end = it;
    for (size_t k = 0; k < kPullsPerTransaction && chunk_end != batch.end(); ++k) ++chunk_end;
    Status s = Transaction([&](Connection& c) -> Status {
      std::map<std::string, int64_t> repos;  // the repository's latest pull in this chunk
      for (auto p = it; p != chunk_end; ++p) {
        const Value params[] = {p->first.first, p->first.second, p->second};
        auto r = c.Execute(
            "UPDATE manifests SET last_pulled_at = $3 "
            "WHERE repository_id = (SELECT id FROM repositories WHERE name = $1) AND digest = $2 "
            "AND (last_pulled_at IS NULL OR last_pulled_at < $3)",
            params);
        if (!r.ok()) return r.status();
        int64_t& latest = repos[p->first.first];
        if (latest < p->second) latest = p->second;
      }
      for (const auto& [name, at] : repos) {
        const Value params[] = {name, at};
        auto r = c.Execute(
            "UPDATE repositories SET last_pulled_at = $2 "
            "WHERE name = $1 AND (last_pulled_at IS NULL OR last_pulled_at < $2)",
            params);
        if (!r.ok()) return r.status();
      }
      return Status::Ok();
    });
    if (!s.ok()) {
      // Keep what could not be written for the next flush (the database may be back by then).
      MutexLock lock(pulls_mu_);
      for (auto p = it; p != batch.end(); ++p) {
        auto [slot, inserted] = pending_pulls_.emplace(p->first, p->second);
        if (!inserted && slot->second < p->second) slot->second = p->second;
      }
      return s;
    }
    it = chunk_end;
  }
  return result;
}

void MetadataStore::StartPullFlusher() {
  MutexLock lock(flusher_mu_);
  if (flusher_.joinable()) return;
  flusher_stop_ = false;
  flusher_ = std::thread([this] { FlushLoop(); });
}

void MetadataStore::StopPullFlusher() {
  std::thread flusher;  // joined outside the lock: the flusher takes it to see the stop
  {
    MutexLock lock(flusher_mu_);
    if (!flusher_.joinable()) return;
    flusher_stop_ = true;
    flusher = std::move(flusher_);
  }
  flusher_cv_.NotifyAll();
  flusher.join();
  (void)FlushPulls();
}

void MetadataStore::FlushLoop() {
  MutexLock lock(flusher_mu_);
  while (!flusher_stop_) {
    const auto next_flush =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.pull_flush_interval_ms);
    while (!flusher_stop_ && flusher_cv_.WaitUntil(flusher_mu_, next_flush)) {
    }
    if (flusher_stop_) break;
    lock.Unlock();
    (void)FlushPulls();  // a failure keeps the pulls for the next round
    lock.Lock();
  }
}

// -------------------------------------------------- garbage collection ---

Result<std::vector<UnreferencedBlob>> MetadataStore::UnreferencedBlobs(int64_t older_than, std::string_view after,
                                                                       size_t limit, bool links_as_gone) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  static const std::string kSql = "SELECT b.digest, b.size FROM blobs b WHERE " + std::string(kBlobIsGarbage) +
                                  " AND b.digest > $2 ORDER BY b.digest LIMIT $3";
  // The same rule with "no link" read as "no link that is not itself garbage".
  static const std::string kLinksAsGone = [] {
    std::string garbage(kBlobIsGarbage);
    const std::string no_link = "NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = b.digest)";
    const std::string no_live_link = "NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = b.digest AND NOT (" +
                                     std::string(kLinkIsGarbage) + "))";
    garbage.replace(garbage.find(no_link), no_link.size(), no_live_link);
    return "SELECT b.digest, b.size FROM blobs b WHERE " + garbage + " AND b.digest > $2 ORDER BY b.digest LIMIT $3";
  }();
  const Value params[] = {older_than, S(after), Limit(limit)};
  auto r = (*conn)->Execute(links_as_gone ? kLinksAsGone : kSql, params);
  if (!r.ok()) return r.status();
  std::vector<UnreferencedBlob> out;
  for (const auto& row : r->rows) out.push_back({row.Text(0), row.Int(1)});
  return out;
}

Result<bool> MetadataStore::DeleteBlobIfUnreferenced(std::string_view digest, int64_t older_than) {
  bool deleted = false;
  Status s = Transaction([&](Connection& c) -> Status {
    static const std::string kSql = "DELETE FROM blobs AS b WHERE b.digest = $2 AND " + std::string(kBlobIsGarbage);
    const Value params[] = {older_than, S(digest)};
    auto r = c.Execute(kSql, params);
    if (!r.ok()) return r.status();
    deleted = r->affected > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return deleted;
}

Result<std::vector<LayerLinkKey>> MetadataStore::UnreferencedLayerLinks(int64_t older_than, const LayerLinkKey& after,
                                                                        size_t limit) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  static const std::string kSql =
      "SELECT l.repository_id, r.name, l.digest FROM blob_links l JOIN repositories r ON r.id = l.repository_id "
      "WHERE " +
      std::string(kLinkIsGarbage) +
      " AND (l.repository_id, l.digest) > ($2, $3) ORDER BY l.repository_id, l.digest LIMIT $4";
  const Value params[] = {older_than, after.repository_id, after.digest, Limit(limit)};
  auto r = (*conn)->Execute(kSql, params);
  if (!r.ok()) return r.status();
  std::vector<LayerLinkKey> out;
  for (const auto& row : r->rows) out.push_back({row.Int(0), row.Text(1), row.Text(2)});
  return out;
}

Result<bool> MetadataStore::UnlinkBlobIfUnreferenced(std::string_view repository, std::string_view digest,
                                                     int64_t older_than) {
  static const std::string kSql =
      "DELETE FROM blob_links AS l WHERE l.repository_id = $2 AND l.digest = $3 AND " + std::string(kLinkIsGarbage);
  return DeleteInRepository(repository, digest, older_than, kSql);
}

Result<std::vector<ManifestKey>> MetadataStore::UntaggedManifests(int64_t older_than, int64_t after_id, size_t limit) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  static const std::string kSql =
      "SELECT m.id, r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE " +
      std::string(kUntaggedManifestIsGarbage) + " AND m.id > $2 ORDER BY m.id LIMIT $3";
  const Value params[] = {older_than, after_id, Limit(limit)};
  auto r = (*conn)->Execute(kSql, params);
  if (!r.ok()) return r.status();
  std::vector<ManifestKey> out;
  for (const auto& row : r->rows) out.push_back({row.Int(0), row.Text(1), row.Text(2)});
  return out;
}

Result<bool> MetadataStore::DeleteManifestIfUntagged(std::string_view repository, std::string_view digest,
                                                     int64_t older_than) {
  static const std::string kSql = "DELETE FROM manifests AS m WHERE m.repository_id = $2 AND m.digest = $3 AND " +
                                  std::string(kUntaggedManifestIsGarbage);
  return DeleteInRepository(repository, digest, older_than, kSql);
}

Result<bool> MetadataStore::UnlinkBlobIfUnreferenced(std::string_view repository, std::string_view digest,
                                                     int64_t older_than, const std::function<Status()>& store) {
  static const std::string kSql =
      "DELETE FROM blob_links AS l WHERE l.repository_id = $2 AND l.digest = $3 AND " + std::string(kLinkIsGarbage);
  return DeleteInRepositoryLocked(repository, digest, older_than, kSql, store);
}

Result<bool> MetadataStore::DeleteManifestIfUntagged(std::string_view repository, std::string_view digest,
                                                     int64_t older_than, const std::function<Status()>& store) {
  static const std::string kSql = "DELETE FROM manifests AS m WHERE m.repository_id = $2 AND m.digest = $3 AND " +
                                  std::string(kUntaggedManifestIsGarbage);
  return DeleteInRepositoryLocked(repository, digest, older_than, kSql, store);
}

Result<bool> MetadataStore::DeleteInRepositoryLocked(std::string_view repository, std::string_view digest,
                                                     int64_t older_than, const std::string& delete_sql,
                                                     const std::function<Status()>& store) {
  bool deleted = false;
  Status s = WithRepositoryLock(repository, [&](Connection* on) -> Status {
    auto rows = DeleteInRepository(repository, digest, older_than, delete_sql, on);
    if (!rows.ok()) return rows.status();
    deleted = *rows;
    return deleted ? store() : Status::Ok();
  });
  if (!s.ok()) return s;
  return deleted;
}

Result<bool> MetadataStore::DeleteInRepository(std::string_view repository, std::string_view digest, int64_t older_than,
                                               const std::string& delete_sql, Connection* on) {
  bool deleted = false;
  Status s = Transaction(
      [&](Connection& c) -> Status {
        auto repo = sql::FindRepository(c, repository);
        if (!repo.ok()) return repo.status();
        if (!*repo) return Status::Ok();
        const Value params[] = {older_than, **repo, S(digest)};
        auto r = c.Execute(delete_sql, params);
        if (!r.ok()) return r.status();
        deleted = r->affected > 0;
        return deleted ? sql::RemoveRepositoryIfEmpty(c, **repo) : Status::Ok();
      },
      on);
  if (!s.ok()) return s;
  return deleted;
}

// ------------------------------------------------------ GC claims, lease ---

Result<bool> MetadataStore::ClaimBlobIfUnreferenced(std::string_view digest, int64_t older_than) {
  bool claimed = false;
  const int64_t now = Now();
  Status s = Transaction([&](Connection& c) -> Status {
    // Lock the row first; the re-check below is a new statement, so on
    // PostgreSQL (READ COMMITTED) it sees every writer that committed before
    // the lock was granted: a manifest reference or link inserted meanwhile keeps B.
    const std::string lock =
        "SELECT gc_claimed_at FROM blobs WHERE digest = $1" + std::string(dialect::ForUpdate(pool_->Dialect()));
    const Value key[] = {S(digest)};
    auto row = c.Execute(lock, key);
    if (!row.ok()) return row.status();
    if (row->rows.empty()) return Status::Ok();
    if (!row->rows[0].IsNull(0)) {
      claimed = true;  // an earlier run's claim: finish it
      return Status::Ok();
    }
    static const std::string kClaim =
        "UPDATE blobs AS b SET gc_claimed_at = $3 WHERE b.digest = $2 AND " + std::string(kBlobIsGarbage);
    const Value params[] = {older_than, S(digest), now};
    auto r = c.Execute(kClaim, params);
    if (!r.ok()) return r.status();
    claimed = r->affected > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return claimed;
}

Result<std::vector<UnreferencedBlob>> MetadataStore::ClaimedBlobs(std::string_view after, size_t limit) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {S(after), Limit(limit)};
  auto r = (*conn)->Execute(
      "SELECT digest, size FROM blobs WHERE gc_claimed_at IS NOT NULL AND digest > $1 ORDER BY digest LIMIT $2",
      params);
  if (!r.ok()) return r.status();
  std::vector<UnreferencedBlob> out;
  for (const auto& row : r->rows) out.push_back({row.Text(0), row.Int(1)});
  return out;
}

Result<bool> MetadataStore::StillClaimed(std::string_view digest) {
  bool claimed = false;
  Status s = Transaction([&](Connection& c) -> Status {
    const std::string lock =
        "SELECT gc_claimed_at FROM blobs WHERE digest = $1" + std::string(dialect::ForUpdate(pool_->Dialect()));
    const Value key[] = {S(digest)};
    auto row = c.Execute(lock, key);
    if (!row.ok()) return row.status();
    claimed = !row->rows.empty() && !row->rows[0].IsNull(0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return claimed;
}

Result<bool> MetadataStore::DeleteClaimedBlob(std::string_view digest) {
  bool deleted = false;
  Status s = Transaction([&](Connection& c) -> Status {
    const Value key[] = {S(digest)};
    auto r = c.Execute("DELETE FROM blobs WHERE digest = $1 AND gc_claimed_at IS NOT NULL", key);
    if (!r.ok()) return r.status();
    deleted = r->affected > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return deleted;
}

Result<bool> MetadataStore::AcquireGcLease(std::string_view owner, int64_t ttl_ms) {
  bool held = false;
  const int64_t now = Now();
  Status s = Transaction([&](Connection& c) -> Status {
    const Value params[] = {S(owner), now + ttl_ms, now};
    auto r = c.Execute(
        "INSERT INTO gc_lease (name, owner, expires_at) VALUES ('gc', $1, $2) "
        "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
        "WHERE gc_lease.owner = excluded.owner OR gc_lease.expires_at < $3",
        params);
    if (!r.ok()) return r.status();
    held = r->affected > 0;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return held;
}

Status MetadataStore::ReleaseGcLease(std::string_view owner) {
  return Transaction([&](Connection& c) -> Status {
    const Value params[] = {S(owner)};
    return c.Execute("DELETE FROM gc_lease WHERE name = 'gc' AND owner = $1", params).status();
  });
}

}  // namespace berth::metadata
