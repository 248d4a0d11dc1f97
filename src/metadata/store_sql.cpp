#include "metadata/store_sql.h"

namespace berth::metadata::sql {
namespace {

std::string S(std::string_view s) { return std::string(s); }

}  // namespace

Value TextOrNull(std::string_view s) {
  if (s.empty()) return std::monostate{};
  return std::string(s);
}

Result<int64_t> UpsertRepository(Connection& conn, std::string_view name, int64_t created_at, int64_t pushed_at) {
  const Value params[] = {S(name), CatalogSortKey(name), created_at, pushed_at};
  auto r = conn.Execute(
      "INSERT INTO repositories (name, catalog_key, created_at, last_pushed_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (name) DO UPDATE SET "
      "created_at = CASE WHEN excluded.created_at < repositories.created_at "
      "THEN excluded.created_at ELSE repositories.created_at END, "
      "last_pushed_at = CASE WHEN excluded.last_pushed_at > repositories.last_pushed_at "
      "THEN excluded.last_pushed_at ELSE repositories.last_pushed_at END "
      "RETURNING id",
      params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return Status::IoError("repository upsert returned no id");
  return r->rows[0].Int(0);
}

Result<std::optional<int64_t>> FindRepository(Connection& conn, std::string_view name) {
  const Value params[] = {S(name)};
  auto r = conn.Execute("SELECT id FROM repositories WHERE name = $1", params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(r->rows[0].Int(0));
}

Status UpsertBlob(Connection& conn, std::string_view digest, int64_t size, int64_t created_at, int64_t touched_at) {
  const Value params[] = {S(digest), size, created_at, touched_at};
  auto r = conn.Execute(
      "INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (digest) DO UPDATE SET touched_at = CASE WHEN excluded.touched_at > blobs.touched_at "
      "THEN excluded.touched_at ELSE blobs.touched_at END",
      params);
  return r.status();
}

Result<bool> UpsertLink(Connection& conn, int64_t repository_id, std::string_view digest, int64_t linked_at,
                        MissingBlob missing) {
  const Value params[] = {repository_id, S(digest), linked_at};
  constexpr std::string_view kOnConflict =
      " ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = CASE WHEN excluded.linked_at > "
      "blob_links.linked_at THEN excluded.linked_at ELSE blob_links.linked_at END";
  static const std::string kInsert =
      "INSERT INTO blob_links (repository_id, digest, linked_at) VALUES ($1, $2, $3)" + std::string(kOnConflict);
  static const std::string kInsertIfKnown =
      "INSERT INTO blob_links (repository_id, digest, linked_at) "
      "SELECT CAST($1 AS BIGINT), digest, CAST($3 AS BIGINT) FROM blobs WHERE digest = $2" +
      std::string(kOnConflict);
  auto r = conn.Execute(missing == MissingBlob::kFail ? kInsert : kInsertIfKnown, params);
  if (!r.ok()) return r.status();
  return r->affected > 0;
}

Result<int64_t> UpsertManifest(Connection& conn, int64_t repository_id, const ManifestRecord& m, int64_t created_at,
                               int64_t pushed_at, MissingBlob missing) {
  {
    const Value params[] = {repository_id, m.digest};
    auto found = conn.Execute("SELECT id FROM manifests WHERE repository_id = $1 AND digest = $2", params);
    if (!found.ok()) return found.status();
    if (!found->rows.empty()) {
      const int64_t id = found->rows[0].Int(0);
      const Value update[] = {id, pushed_at};
      auto u = conn.Execute("UPDATE manifests SET pushed_at = $2 WHERE id = $1 AND pushed_at < $2", update);
      if (!u.ok()) return u.status();
      return id;
    }
  }
  // A new manifest. Its references are content-addressed: they never change for this digest.
  if (missing == MissingBlob::kFail) {
    for (const auto& b : m.blobs) {
      if (b.foreign) continue;
      const Value params[] = {b.digest};
      // A blob GC has claimed counts as unknown (its bytes may be gone: the client uploads it again).
      auto known = conn.Execute("SELECT gc_claimed_at FROM blobs WHERE digest = $1", params);
      if (!known.ok()) return known.status();
      if (known->rows.empty() || !known->rows[0].IsNull(0))
        return Status::NotFound("blob " + b.digest + " is unknown to the metadata database");
    }
  }
  const Value insert[] = {repository_id,
                          m.digest,
                          m.media_type,
                          m.size,
                          TextOrNull(m.artifact_type),
                          TextOrNull(m.subject),
                          TextOrNull(m.config),
                          TextOrNull(m.annotations),
                          created_at,
                          pushed_at};
  auto row = conn.Execute(
      "INSERT INTO manifests (repository_id, digest, media_type, size, artifact_type, subject_digest, "
      "config_digest, annotations, created_at, pushed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
      "RETURNING id",
      insert);
  if (!row.ok()) return row.status();
  if (row->rows.empty()) return Status::IoError("manifest insert returned no id");
  const int64_t id = row->rows[0].Int(0);
  for (const auto& b : m.blobs) {
    const Value params[] = {id, b.digest};
    // A reference the store need not hold (a foreign layer, or anything in an
    // import) is recorded only when the blob is known: the foreign key would
    // refuse it. Never to a blob GC has claimed: its row is about to go, and a
    // reference would make that delete fail (the caller locks the row first).
    auto r = (missing == MissingBlob::kFail && !b.foreign)
                 ? conn.Execute(
                       "INSERT INTO manifest_blobs (manifest_id, digest) VALUES ($1, $2) "
                       "ON CONFLICT DO NOTHING",
                       params)
                 : conn.Execute(
                       "INSERT INTO manifest_blobs (manifest_id, digest) "
                       "SELECT CAST($1 AS BIGINT), digest FROM blobs WHERE digest = $2 AND gc_claimed_at IS NULL "
                       "ON CONFLICT DO NOTHING",
                       params);
    if (!r.ok()) return r.status();
  }
  for (const auto& child : m.children) {
    const Value params[] = {id, repository_id, child};
    auto r = conn.Execute(
        "INSERT INTO manifest_children (manifest_id, repository_id, child_digest) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        params);
    if (!r.ok()) return r.status();
  }
  return id;
}

Status UpsertTag(Connection& conn, int64_t repository_id, std::string_view tag, int64_t manifest_id,
                 int64_t pushed_at) {
  const Value params[] = {repository_id, S(tag), manifest_id, pushed_at};
  auto r = conn.Execute(
      "INSERT INTO tags (repository_id, name, manifest_id, pushed_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, "
      "pushed_at = excluded.pushed_at",
      params);
  return r.status();
}

Status RemoveRepositoryIfEmpty(Connection& conn, int64_t repository_id) {
  const Value params[] = {repository_id};
  auto r = conn.Execute(
      "DELETE FROM repositories WHERE id = $1 "
      "AND NOT EXISTS (SELECT 1 FROM manifests WHERE repository_id = $1) "
      "AND NOT EXISTS (SELECT 1 FROM blob_links WHERE repository_id = $1)",
      params);
  return r.status();
}

}  // namespace berth::metadata::sql
