#include "metadata/import.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "metadata/metadata_store.h"
#include "metadata/store_sql.h"
#include "oci/manifest.h"
#include "oci/name.h"
#include "storage/layout.h"
#include "storage/store_walk.h"

namespace berth::metadata {
namespace {

namespace layout = storage::layout;
namespace walk = storage::walk;

constexpr std::string_view kImportCompleted = "import.completed_at";
// Rows read per query when Check pages through a table.
constexpr int64_t kCheckPage = 1000;

int64_t Ms(const storage::FileInfo& info) { return info.modified_unix * 1000; }

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ------------------------------------------------- the store's side ------

struct StoreBlob {
  std::string digest;
  int64_t size = 0;
  int64_t at = 0;
};

// Every blob with data, in digest order (BlobDirs sorts by algorithm, then hex).
// A blob directory without data is what a crash or an ordinary delete leaves: not a blob.
template <class F>
void ForEachStoreBlob(storage::StorageDriver& driver, F&& fn) {
  // While listing, not from a list of every blob: memory stays flat however many there are.
  walk::ForEachBlob(driver, [&fn](const walk::StoredBlob& b) {
    fn(StoreBlob{b.digest.str(), b.size, b.modified_unix * 1000});
    return true;
  });
}

// What one repository of the store holds that the database records.
struct StoreRepository {
  struct Link {
    std::string digest;
    int64_t at = 0;
  };
  struct Revision {
    int64_t at = 0;
    ManifestRecord record;
  };
  struct Tag {
    std::string name;
    std::string digest;
    int64_t at = 0;
  };
  std::vector<Link> links;
  std::vector<Revision> revisions;  // by digest
  std::vector<Tag> tags;            // by name; only tags whose manifest is in `revisions`
  int64_t skipped = 0;              // revisions without readable manifest bytes, dangling or malformed tags
  int64_t earliest = 0, latest = 0;

  bool empty() const { return links.empty() && revisions.empty(); }
  const Revision* FindRevision(const std::string& digest) const {
    auto it = std::lower_bound(revisions.begin(), revisions.end(), digest,
                               [](const Revision& r, const std::string& d) { return r.record.digest < d; });
    return it != revisions.end() && it->record.digest == digest ? &*it : nullptr;
  }
  void Saw(int64_t at) {
    if (earliest == 0 || at < earliest) earliest = at;
    if (at > latest) latest = at;
  }
};

StoreRepository ReadRepository(storage::StorageDriver& driver, const std::string& name) {
  StoreRepository out;
  const std::string repo = layout::Repository(name);
  for (const auto& e : walk::DigestDirs(driver, repo + "/_layers", nullptr)) {
    auto info = driver.Stat(layout::LayerLink(name, e.digest));
    if (!info.ok() || info->is_dir) continue;  // a directory left without its link
    out.links.push_back({e.digest.str(), Ms(*info)});
    out.Saw(Ms(*info));
  }
  for (const auto& e : walk::DigestDirs(driver, repo + "/_manifests/revisions", nullptr)) {
    auto link = driver.Stat(layout::RevisionLink(name, e.digest));
    if (!link.ok() || link->is_dir) continue;
    // The bytes are read only when they can be a manifest (never a large layer by mistake).
    auto data = driver.Stat(layout::BlobData(e.digest));
    if (!data.ok() || data->is_dir || data->size > static_cast<int64_t>(oci::kMaxManifestBytes)) {
      ++out.skipped;
      continue;
    }
    auto body = driver.GetContent(layout::BlobData(e.digest));
    if (!body.ok()) {
      ++out.skipped;
      continue;
    }
    auto parsed = oci::ParseManifest(*body, "");
    if (!parsed.ok()) {
      ++out.skipped;
      continue;
    }
    out.revisions.push_back({Ms(*link), ManifestRecord::From(e.digest, *body, *parsed)});
    out.Saw(Ms(*link));
  }
  auto tags = driver.List(layout::TagsDir(name));
  if (tags.ok()) {
    std::sort(tags->begin(), tags->end());
    for (const auto& t : *tags) {
      if (!oci::IsValidTag(t)) continue;
      auto content = driver.GetContent(layout::TagCurrentLink(name, t));
      if (!content.ok()) continue;  // a tag directory without a current link: a deleted tag
      auto d = walk::ParseLink(*content);
      auto info = driver.Stat(layout::TagCurrentLink(name, t));
      if (!d.ok() || !info.ok() || out.FindRevision(d->str()) == nullptr) {
        ++out.skipped;
        continue;
      }
      out.tags.push_back({t, d->str(), Ms(*info)});
      out.Saw(Ms(*info));
    }
  }
  return out;
}

// ------------------------------------------------------------ import ----

// Commits every `limit` rows and reports progress after each commit.
class BatchWriter {
 public:
  BatchWriter(Connection& conn, const ImportOptions& options, ImportProgress& progress)
      : conn_(conn), options_(options), progress_(progress) {}
  ~BatchWriter() {
    if (open_) (void)conn_.Rollback();
  }

  // Before a write: a transaction is open.
  Status Ensure() {
    if (open_) return Status::Ok();
    if (Status s = conn_.Begin(); !s.ok()) return s;
    open_ = true;
    return Status::Ok();
  }
  // After a write: commits when the batch is full.
  Status Done() {
    if (++rows_ < std::max<size_t>(options_.rows_per_transaction, 1)) return Status::Ok();
    return Commit();
  }
  Status Commit() {
    if (!open_) return Status::Ok();
    open_ = false;
    rows_ = 0;
    if (Status s = conn_.Commit(); !s.ok()) {
      (void)conn_.Rollback();
      return s;
    }
    if (options_.progress) options_.progress(progress_);
    return Status::Ok();
  }
  Connection& conn() { return conn_; }

 private:
  Connection& conn_;
  const ImportOptions& options_;
  ImportProgress& progress_;
  bool open_ = false;
  size_t rows_ = 0;
};

Status ImportRepository(BatchWriter& w, const std::string& name, const StoreRepository& r, ImportProgress& p) {
  Connection& c = w.conn();
  if (Status s = w.Ensure(); !s.ok()) return s;
  auto repo = sql::UpsertRepository(c, name, r.earliest, r.latest);
  if (!repo.ok()) return repo.status();
  ++p.repositories;
  if (Status s = w.Done(); !s.ok()) return s;
  for (const auto& l : r.links) {
    if (Status s = w.Ensure(); !s.ok()) return s;
    auto linked = sql::UpsertLink(c, *repo, l.digest, l.at, sql::MissingBlob::kSkip);
    if (!linked.ok()) return linked.status();
    if (*linked) {
      ++p.links;
    } else {
      ++p.skipped;  // a link to a blob the store does not hold
    }
    if (Status s = w.Done(); !s.ok()) return s;
  }
  std::map<std::string, int64_t> ids;
  for (const auto& rev : r.revisions) {
    if (Status s = w.Ensure(); !s.ok()) return s;
    // Its bytes were walked as a blob already; the upsert covers one stored since.
    if (Status s = sql::UpsertBlob(c, rev.record.digest, rev.record.size, rev.at, rev.at); !s.ok()) return s;
    auto id = sql::UpsertManifest(c, *repo, rev.record, rev.at, rev.at, sql::MissingBlob::kSkip);
    if (!id.ok()) return id.status();
    ids[rev.record.digest] = *id;
    ++p.manifests;
    if (Status s = w.Done(); !s.ok()) return s;
  }
  for (const auto& t : r.tags) {
    if (Status s = w.Ensure(); !s.ok()) return s;
    if (Status s = sql::UpsertTag(c, *repo, t.name, ids.at(t.digest), t.at); !s.ok()) return s;
    ++p.tags;
    if (Status s = w.Done(); !s.ok()) return s;
  }
  // Only links to missing blobs: nothing to list after all.
  if (Status s = w.Ensure(); !s.ok()) return s;
  return sql::RemoveRepositoryIfEmpty(c, *repo);
}

// --------------------------------------------------------------- check ---

void Add(CheckReport& report, std::string kind, std::string repository, std::string object, std::string detail) {
  report.findings.push_back({std::move(kind), std::move(repository), std::move(object), std::move(detail)});
}

void Note(CheckReport& report, std::string kind, std::string object, std::string detail) {
  report.notes.push_back({std::move(kind), "", std::move(object), std::move(detail)});
}

// Merges two sorted sequences of keys, reporting the ones only one side has.
template <class A, class B, class KeyA, class KeyB, class OnlyA, class OnlyB, class Both>
void Merge(const A& a, const B& b, KeyA key_a, KeyB key_b, OnlyA only_a, OnlyB only_b, Both both) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && key_a(a[i]) < key_b(b[j]))) {
      only_a(a[i++]);
    } else if (i == a.size() || key_b(b[j]) < key_a(a[i])) {
      only_b(b[j++]);
    } else {
      both(a[i++], b[j++]);
    }
  }
}

struct DbManifest {
  int64_t id = 0;
  ManifestRecord record;  // blobs hold what the database references
};

struct DbRepository {
  std::vector<std::string> links;                         // sorted
  std::vector<DbManifest> manifests;                      // by digest
  std::vector<std::pair<std::string, std::string>> tags;  // (name, digest) by name
};

std::string OrNull(const Row& row, size_t i) { return row.IsNull(i) ? std::string() : row.Text(i); }

Result<DbRepository> ReadDbRepository(Connection& c, int64_t id) {
  DbRepository out;
  const Value params[] = {id};
  auto links = c.Execute("SELECT digest FROM blob_links WHERE repository_id = $1 ORDER BY digest", params);
  if (!links.ok()) return links.status();
  for (const auto& row : links->rows) out.links.push_back(row.Text(0));
  auto manifests = c.Execute(
      "SELECT id, digest, media_type, size, artifact_type, subject_digest, config_digest, annotations "
      "FROM manifests WHERE repository_id = $1 ORDER BY digest",
      params);
  if (!manifests.ok()) return manifests.status();
  std::map<int64_t, size_t> by_id;
  for (const auto& row : manifests->rows) {
    DbManifest m;
    m.id = row.Int(0);
    m.record.digest = row.Text(1);
    m.record.media_type = row.Text(2);
    m.record.size = row.Int(3);
    m.record.artifact_type = OrNull(row, 4);
    m.record.subject = OrNull(row, 5);
    m.record.config = OrNull(row, 6);
    m.record.annotations = OrNull(row, 7);
    by_id[m.id] = out.manifests.size();
    out.manifests.push_back(std::move(m));
  }
  auto refs = c.Execute(
      "SELECT b.manifest_id, b.digest FROM manifest_blobs b JOIN manifests m ON m.id = b.manifest_id "
      "WHERE m.repository_id = $1 ORDER BY b.manifest_id, b.digest",
      params);
  if (!refs.ok()) return refs.status();
  for (const auto& row : refs->rows) {
    if (auto it = by_id.find(row.Int(0)); it != by_id.end())
      out.manifests[it->second].record.blobs.push_back({row.Text(1)});
  }
  auto children = c.Execute(
      "SELECT manifest_id, child_digest FROM manifest_children WHERE repository_id = $1 "
      "ORDER BY manifest_id, child_digest",
      params);
  if (!children.ok()) return children.status();
  for (const auto& row : children->rows) {
    if (auto it = by_id.find(row.Int(0)); it != by_id.end())
      out.manifests[it->second].record.children.push_back(row.Text(1));
  }
  auto tags = c.Execute(
      "SELECT t.name, m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id WHERE t.repository_id = $1 "
      "ORDER BY t.name",
      params);
  if (!tags.ok()) return tags.status();
  for (const auto& row : tags->rows) out.tags.emplace_back(row.Text(0), row.Text(1));
  return out;
}

// What the database should hold for a stored manifest: references to blobs the store holds, sorted.
ManifestRecord Expected(ManifestRecord r, const std::vector<std::string>& store_blobs) {
  std::set<std::string> refs;
  for (const auto& b : r.blobs) {
    if (std::binary_search(store_blobs.begin(), store_blobs.end(), b.digest)) refs.insert(b.digest);
  }
  r.blobs.clear();
  for (const auto& d : refs) r.blobs.push_back({d});
  std::set<std::string> children(r.children.begin(), r.children.end());
  r.children.assign(children.begin(), children.end());
  return r;
}

// The first field in which the database's row differs from the stored manifest; "" when none.
std::string ManifestDifference(const ManifestRecord& store, const ManifestRecord& db) {
  if (store.media_type != db.media_type)
    return "media type " + db.media_type + ", stored bytes say " + store.media_type;
  if (store.size != db.size) return "size " + std::to_string(db.size) + ", stored " + std::to_string(store.size);
  if (store.artifact_type != db.artifact_type)
    return "artifact type '" + db.artifact_type + "', stored '" + store.artifact_type + "'";
  if (store.subject != db.subject) return "subject '" + db.subject + "', stored '" + store.subject + "'";
  if (store.config != db.config) return "config '" + db.config + "', stored '" + store.config + "'";
  if (store.annotations != db.annotations) return "annotations differ from the stored bytes";
  std::vector<std::string> a, b;
  for (const auto& x : store.blobs) a.push_back(x.digest);
  for (const auto& x : db.blobs) b.push_back(x.digest);
  if (a != b)
    return "blob references differ from the stored bytes (" + std::to_string(b.size()) + " recorded, " +
           std::to_string(a.size()) + " expected)";
  if (store.children != db.children) return "child manifests differ from the stored bytes";
  return "";
}

void CompareRepository(const std::string& name, const StoreRepository& s, const DbRepository& d,
                       const std::vector<std::string>& store_blobs, CheckReport& report) {
  std::vector<std::string> links;
  for (const auto& l : s.links) {
    if (std::binary_search(store_blobs.begin(), store_blobs.end(), l.digest)) links.push_back(l.digest);
  }
  auto id = [](const std::string& x) -> const std::string& { return x; };
  Merge(
      links, d.links, id, id,
      [&](const std::string& x) {
        Add(report, "link-missing-in-db", name, x, "the store links the blob, the database does not");
      },
      [&](const std::string& x) {
        Add(report, "link-missing-in-store", name, x, "the database links the blob, the store does not");
      },
      [&](const std::string&, const std::string&) {});
  report.links += static_cast<int64_t>(std::max(links.size(), d.links.size()));

  auto rev_key = [](const StoreRepository::Revision& r) -> const std::string& { return r.record.digest; };
  auto db_key = [](const DbManifest& m) -> const std::string& { return m.record.digest; };
  Merge(
      s.revisions, d.manifests, rev_key, db_key,
      [&](const StoreRepository::Revision& r) {
        Add(report, "manifest-missing-in-db", name, r.record.digest, "stored, not in the database");
      },
      [&](const DbManifest& m) {
        Add(report, "manifest-missing-in-store", name, m.record.digest,
            "in the database, no readable revision in the store");
      },
      [&](const StoreRepository::Revision& r, const DbManifest& m) {
        std::string diff = ManifestDifference(Expected(r.record, store_blobs), m.record);
        if (!diff.empty()) Add(report, "manifest-mismatch", name, m.record.digest, diff);
      });
  report.manifests += static_cast<int64_t>(std::max(s.revisions.size(), d.manifests.size()));

  auto tag_key = [](const StoreRepository::Tag& t) -> const std::string& { return t.name; };
  auto db_tag_key = [](const std::pair<std::string, std::string>& t) -> const std::string& { return t.first; };
  Merge(
      s.tags, d.tags, tag_key, db_tag_key,
      [&](const StoreRepository::Tag& t) {
        Add(report, "tag-missing-in-db", name, t.name, "stored tag points at " + t.digest);
      },
      [&](const std::pair<std::string, std::string>& t) {
        Add(report, "tag-missing-in-store", name, t.first, "database tag points at " + t.second);
      },
      [&](const StoreRepository::Tag& t, const std::pair<std::string, std::string>& dt) {
        if (t.digest != dt.second) {
          Add(report, "tag-mismatch", name, t.name, "database: " + dt.second + ", store: " + t.digest);
        }
      });
  report.tags += static_cast<int64_t>(std::max(s.tags.size(), d.tags.size()));
}

}  // namespace

Result<ImportProgress> ImportStore(storage::StorageDriver& driver, Pool& pool, const ImportOptions& options) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  ImportProgress progress;
  BatchWriter w(**conn, options, progress);
  Status failed;
  // Blobs first: the rows below reference them.
  ForEachStoreBlob(driver, [&](const StoreBlob& b) {
    if (!failed.ok()) return;
    failed = w.Ensure();
    if (failed.ok()) failed = sql::UpsertBlob(**conn, b.digest, b.size, b.at, b.at);
    if (failed.ok()) {
      ++progress.blobs;
      failed = w.Done();
    }
  });
  if (!failed.ok()) return failed;
  // Reading a repository is many small file reads (the kernel's time, most of
  // an import); writing it is the database's. So the repositories are read a
  // chunk ahead of the writer, on kReaders threads, and written in name order
  // on this one. Memory: two chunks of repositories at most.
  const std::vector<std::string> names = walk::Repositories(driver);
  constexpr size_t kChunk = 256;
  constexpr size_t kReaders = 2;
  auto read_chunk = [&driver, &names](size_t begin) {
    const size_t end = std::min(begin + kChunk, names.size());
    std::vector<StoreRepository> out(end - begin);
    std::vector<std::thread> readers;
    for (size_t t = 0; t < kReaders; ++t) {
      readers.emplace_back([&, t] {
        for (size_t i = begin + t; i < end; i += kReaders) out[i - begin] = ReadRepository(driver, names[i]);
      });
    }
    for (auto& t : readers) t.join();
    return out;
  };
  // (a pending read is waited for by the future's destructor on every return)
  std::future<std::vector<StoreRepository>> ahead = std::async(std::launch::async, read_chunk, 0);
  for (size_t begin = 0; begin < names.size(); begin += kChunk) {
    std::vector<StoreRepository> chunk = ahead.get();
    if (begin + kChunk < names.size()) ahead = std::async(std::launch::async, read_chunk, begin + kChunk);
    for (size_t i = 0; i < chunk.size(); ++i) {
      const StoreRepository& r = chunk[i];
      progress.skipped += r.skipped;
      if (r.empty()) continue;  // only uploads so far
      if (Status s = ImportRepository(w, names[begin + i], r, progress); !s.ok()) return s;
    }
  }
  const int64_t now = options.clock ? options.clock() : SystemNowMs();
  if (Status s = w.Ensure(); !s.ok()) return s;
  const Value mark[] = {std::string(kImportCompleted), std::to_string(now)};
  auto r = (*conn)->Execute(
      "INSERT INTO metadata_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      mark);
  if (!r.ok()) return r.status();
  progress.finished = true;
  if (Status s = w.Commit(); !s.ok()) return s;
  return progress;
}

Result<bool> ImportCompleted(Pool& pool) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  const Value params[] = {std::string(kImportCompleted)};
  auto r = (*conn)->Execute("SELECT value FROM metadata_state WHERE name = $1", params);
  if (!r.ok()) return r.status();
  return !r->rows.empty();
}

Result<CheckReport> CheckStore(storage::StorageDriver& driver, Pool& pool) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  CheckReport report;

  // Blobs: the store's walk (digest order) against the table, page by page.
  std::vector<std::string> store_blobs;  // kept sorted for the links and references below
  {
    // A blob row is "visible" when a layer link, a manifest or a reference names
    // it and GC has not claimed it. An invisible row may exist before its bytes
    // (a writer protects a blob in the database before it commits the bytes,
    // docs/gc.md) or after them (a claim GC has not finished): only a visible
    // row without bytes is a difference; the others are notes (informational).
    struct DbBlob {
      std::string first;  // digest
      int64_t second;     // size
      bool visible;
      bool claimed;
    };
    std::vector<DbBlob> db_page;
    size_t db_pos = 0;
    std::string db_after;
    bool db_done = false;
    Status failed;
    auto next_db = [&]() -> const DbBlob* {
      if (db_pos < db_page.size()) return &db_page[db_pos];
      if (db_done || !failed.ok()) return nullptr;
      db_page.clear();
      db_pos = 0;
      const Value params[] = {db_after, kCheckPage};
      auto r = c.Execute(
          "SELECT b.digest, b.size, CAST(CASE WHEN b.gc_claimed_at IS NULL AND ("
          "EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = b.digest) OR "
          "EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest) OR "
          "EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)) THEN 1 ELSE 0 END AS BIGINT), "
          "CAST(CASE WHEN b.gc_claimed_at IS NULL THEN 0 ELSE 1 END AS BIGINT) "
          "FROM blobs b WHERE b.digest > $1 ORDER BY b.digest LIMIT $2",
          params);
      if (!r.ok()) {
        failed = r.status();
        return nullptr;
      }
      for (const auto& row : r->rows) db_page.push_back({row.Text(0), row.Int(1), row.Int(2) != 0, row.Int(3) != 0});
      if (static_cast<int64_t>(db_page.size()) < kCheckPage) db_done = true;
      if (db_page.empty()) return nullptr;
      db_after = db_page.back().first;
      return &db_page[0];
    };
    // A row the store has no bytes for.
    auto without_bytes = [&](const DbBlob& d) {
      if (d.visible) {
        Add(report, "blob-missing-in-store", "", d.first, "in the database, no data in the store");
      } else if (d.claimed) {
        Note(
            report, "gc-claim-pending", d.first,
            "claimed by garbage collection, bytes deleted; the next run deletes the row (a run was interrupted, or is running)");
      } else {
        Note(report, "blob-unstored", d.first,
             "protected by an upload that has not stored it (in progress, or its commit failed); garbage collection "
             "removes the row after the grace");
      }
    };
    ForEachStoreBlob(driver, [&](const StoreBlob& b) {
      store_blobs.push_back(b.digest);
      ++report.blobs;
      const DbBlob* d;
      while ((d = next_db()) != nullptr && d->first < b.digest) {
        without_bytes(*d);
        ++db_pos;
      }
      if (d != nullptr && d->first == b.digest) {
        if (d->second != b.size) {
          Add(report, "blob-size-mismatch", "", b.digest,
              "database: " + std::to_string(d->second) + " bytes, store: " + std::to_string(b.size));
        }
        if (d->claimed) {
          Note(
              report, "gc-claim-pending", b.digest,
              "claimed by garbage collection; the next run deletes its bytes and row (a run was interrupted, or is running)");
        }
        ++db_pos;
      } else {
        Add(report, "blob-missing-in-db", "", b.digest, "stored, not in the database");
      }
    });
    for (const DbBlob* d; (d = next_db()) != nullptr; ++db_pos) {
      without_bytes(*d);
      ++report.blobs;
    }
    if (!failed.ok()) return failed;
  }

  // Repositories: the store's sorted names against the table's, in byte order.
  std::vector<std::string> store_repos = walk::Repositories(driver);
  size_t si = 0;
  std::string db_after;
  std::vector<std::pair<int64_t, std::string>> db_repos;
  bool db_done = false;
  while (true) {
    if (db_repos.empty() && !db_done) {
      const Value params[] = {db_after, kCheckPage};
      auto r = c.Execute("SELECT id, name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2", params);
      if (!r.ok()) return r.status();
      for (auto it = r->rows.rbegin(); it != r->rows.rend(); ++it) db_repos.emplace_back(it->Int(0), it->Text(1));
      if (static_cast<int64_t>(r->rows.size()) < kCheckPage) db_done = true;
      if (!r->rows.empty()) db_after = r->rows.back().Text(1);
    }
    const bool have_store = si < store_repos.size();
    const bool have_db = !db_repos.empty();  // back() is the smallest
    if (!have_store && !have_db) break;
    if (have_store && (!have_db || store_repos[si] < db_repos.back().second)) {
      const std::string& name = store_repos[si++];
      StoreRepository s = ReadRepository(driver, name);
      bool any = !s.revisions.empty();
      for (const auto& l : s.links) any = any || std::binary_search(store_blobs.begin(), store_blobs.end(), l.digest);
      if (any) {
        ++report.repositories;
        Add(report, "repository-missing-in-db", name, "",
            std::to_string(s.revisions.size()) + " manifests, " + std::to_string(s.tags.size()) + " tags, " +
                std::to_string(s.links.size()) + " layer links in the store");
      }
      continue;
    }
    auto [id, name] = db_repos.back();
    db_repos.pop_back();
    ++report.repositories;
    auto d = ReadDbRepository(c, id);
    if (!d.ok()) return d.status();
    if (!have_store || name < store_repos[si]) {
      Add(report, "repository-missing-in-store", name, "",
          std::to_string(d->manifests.size()) + " manifests, " + std::to_string(d->tags.size()) + " tags, " +
              std::to_string(d->links.size()) + " layer links in the database");
      continue;
    }
    StoreRepository s = ReadRepository(driver, store_repos[si++]);
    CompareRepository(name, s, *d, store_blobs, report);
  }
  return report;
}

std::string FormatFinding(const CheckFinding& f) {
  std::string line = f.kind;
  if (!f.repository.empty()) line += " " + f.repository;
  if (!f.object.empty()) line += " " + f.object;
  return line + ": " + f.detail;
}

std::string FormatCheckSummary(const CheckReport& r) {
  std::string s = "compared " + std::to_string(r.repositories) + " repositories, " + std::to_string(r.manifests) +
                  " manifests, " + std::to_string(r.tags) + " tags, " + std::to_string(r.links) + " layer links, " +
                  std::to_string(r.blobs) + " blobs: ";
  if (r.clean()) {
    if (r.notes.empty()) return s + "OK";
    return s + "OK (" + std::to_string(r.notes.size()) + " note" + (r.notes.size() == 1 ? "" : "s") + ")";
  }
  return s + std::to_string(r.findings.size()) + " difference" + (r.findings.size() == 1 ? "" : "s");
}

}  // namespace berth::metadata
