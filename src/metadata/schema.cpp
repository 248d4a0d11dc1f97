#include "metadata/schema.h"

#include <array>
#include <chrono>

#include "metadata/dialect.h"

namespace berth::metadata {
namespace {

// All times are Unix milliseconds (UTC). docs/metadata.md describes each table.
// Digests, names and tags are {{key}} columns: compared and sorted in byte order.
constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE repositories (
  id {{id}},
  name {{key}} NOT NULL UNIQUE,
  -- the name with '/' as ' ': sorts like distribution's catalog (component by component)
  catalog_key {{key}} NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  last_pushed_at BIGINT NOT NULL,
  last_pulled_at BIGINT
);

-- Every blob in the blob store (layers, configs and the manifests' own bytes).
CREATE TABLE blobs (
  digest {{key}} NOT NULL PRIMARY KEY,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  -- last upload, mount, link or HEAD: GC's grace period counts from here
  touched_at BIGINT NOT NULL
) {{without_rowid}};

-- A repository's _layers links: the blobs it may reference.
CREATE TABLE blob_links (
  repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  digest {{key}} NOT NULL REFERENCES blobs (digest),
  linked_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, digest)
) {{without_rowid}};
CREATE INDEX blob_links_by_digest ON blob_links (digest);

CREATE TABLE manifests (
  id {{id}},
  repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  -- the manifest's bytes are a blob: GC cannot delete them while this row exists
  digest {{key}} NOT NULL REFERENCES blobs (digest),
  media_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  artifact_type TEXT,
  subject_digest {{key}},
  config_digest {{key}},
  annotations TEXT,
  created_at BIGINT NOT NULL,
  pushed_at BIGINT NOT NULL,
  last_pulled_at BIGINT,
  UNIQUE (repository_id, digest)
);
CREATE INDEX manifests_by_digest ON manifests (digest);
CREATE INDEX manifests_by_subject ON manifests (repository_id, subject_digest) WHERE subject_digest IS NOT NULL;

-- The blobs an image manifest references (config and layers) and that the store holds.
CREATE TABLE manifest_blobs (
  manifest_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
  digest {{key}} NOT NULL REFERENCES blobs (digest),
  PRIMARY KEY (manifest_id, digest)
) {{without_rowid}};
CREATE INDEX manifest_blobs_by_digest ON manifest_blobs (digest);

-- The manifests an index lists (in the same repository; not a foreign key:
-- a child may be deleted while its index stays, as in distribution).
CREATE TABLE manifest_children (
  manifest_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
  repository_id BIGINT NOT NULL,
  child_digest {{key}} NOT NULL,
  PRIMARY KEY (manifest_id, child_digest)
) {{without_rowid}};
CREATE INDEX manifest_children_by_child ON manifest_children (repository_id, child_digest);

CREATE TABLE tags (
  repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  name {{key}} NOT NULL,
  manifest_id BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
  pushed_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, name)
) {{without_rowid}};
CREATE INDEX tags_by_manifest ON tags (manifest_id);

-- Facts about the database itself (import.completed_at).
CREATE TABLE metadata_state (
  name {{key}} NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) {{without_rowid}};
)sql";

// Personal access tokens (auth/token_store.h): `berth token create` adds one,
// the token endpoint and Basic credentials check them. Only a hash of the
// secret is kept (SHA-256: the secrets are 256 random bits, see token_store.h).
constexpr std::string_view kAccessTokens = R"sql(
CREATE TABLE access_tokens (
  id {{id}},
  -- the token's public part ("berth_pat_<public_id>_<secret>"): how it is found, listed and revoked
  public_id {{key}} NOT NULL UNIQUE,
  user_name {{key}} NOT NULL,
  label TEXT NOT NULL,
  -- hex SHA-256 of the secret part
  secret_sha256 TEXT NOT NULL,
  -- space-separated scopes it is limited to (type:name-pattern:actions); '' = the user's whole ACL
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  -- updated at most once a minute per token
  last_used_at BIGINT
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_name);
)sql";

// Garbage collection while pushes run (docs/gc.md): a blob's claim (set by GC
// before it deletes the bytes; writers refuse a claimed blob) and the one lease
// that lets one collector at a time run.
constexpr std::string_view kGcClaims = R"sql(
ALTER TABLE blobs ADD COLUMN gc_claimed_at BIGINT;
CREATE INDEX blobs_gc_claimed ON blobs (digest) WHERE gc_claimed_at IS NOT NULL;
CREATE TABLE gc_lease (
  name {{key}} NOT NULL PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL
) {{without_rowid}};
)sql";

constexpr std::array<Migration, 3> kMigrations = {{
    {1, "initial schema", kInitialSchema},
    {2, "access tokens", kAccessTokens},
    {3, "gc claims and lease", kGcClaims},
}};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at BIGINT NOT NULL)";

Result<int64_t> CurrentVersion(Connection& conn) {
  auto r = conn.Execute("SELECT max(version) FROM schema_migrations", {});
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].IsNull(0)) return int64_t{0};
  return r->rows[0].Int(0);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status TooNew(int64_t found, int64_t known) {
  return Status::Unsupported("the metadata database has schema version " + std::to_string(found) +
                             ", newer than this berth knows (" + std::to_string(known) +
                             "): run a berth at least as new as the one that wrote it");
}

// Applies one migration in its own transaction, unless another process did meanwhile.
Status ApplyOne(Connection& conn, std::string_view dialect, const Migration& m, int64_t now_ms, bool* applied) {
  *applied = false;
  auto sql = dialect::Render(dialect, m.sql);
  if (!sql.ok()) return sql.status();
  if (Status s = conn.Begin(); !s.ok()) return s;
  auto fail = [&](const Status& s) {
    (void)conn.Rollback();
    return Status(s.code(), "metadata migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                                ") failed, nothing of it applied: " + s.message());
  };
  if (std::string_view lock = dialect::MigrationLock(dialect); !lock.empty()) {
    if (Status s = conn.ExecuteScript(lock); !s.ok()) return fail(s);
  }
  auto current = CurrentVersion(conn);
  if (!current.ok()) return fail(current.status());
  if (*current >= m.version) return conn.Rollback();  // applied by someone else since we looked
  if (*current != m.version - 1) {
    return fail(Status::Invalid("database is at version " + std::to_string(*current) + ", expected " +
                                std::to_string(m.version - 1)));
  }
  if (Status s = conn.ExecuteScript(*sql); !s.ok()) return fail(s);
  const Value params[] = {m.version, std::string(m.name), now_ms};
  auto row = conn.Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", params);
  if (!row.ok()) return fail(row.status());
  if (Status s = conn.Commit(); !s.ok()) return fail(s);
  *applied = true;
  return Status::Ok();
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int64_t LatestSchemaVersion() { return kMigrations.back().version; }

Result<int64_t> SchemaVersion(Pool& pool) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  // Creating the (empty) bookkeeping table is the portable way to read "no version yet" as 0.
  if (Status s = (*conn)->ExecuteScript(kCreateMigrationsTable); !s.ok()) return s;
  return CurrentVersion(**conn);
}

Result<MigrateResult> Migrate(Pool& pool, std::span<const Migration> migrations, int64_t now_ms) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int64_t>(i) + 1)
      return Status::Invalid("migrations must be numbered 1, 2, ...");
  }
  const int64_t known = migrations.empty() ? 0 : migrations.back().version;
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  // IF NOT EXISTS: a no-op on every start but the first. Two PostgreSQL servers
  // creating it at the same instant can still collide; the loser retries once.
  if (Status s = (*conn)->ExecuteScript(kCreateMigrationsTable); !s.ok()) {
    if (Status again = (*conn)->ExecuteScript(kCreateMigrationsTable); !again.ok()) return again;
  }
  auto from = CurrentVersion(**conn);
  if (!from.ok()) return from.status();
  MigrateResult result;
  result.from = result.to = *from;
  if (*from > known) return TooNew(*from, known);
  for (const Migration& m : migrations) {
    if (m.version <= result.to) continue;
    bool applied = false;
    if (Status s = ApplyOne(**conn, pool.Dialect(), m, now_ms, &applied); !s.ok()) return s;
    if (applied) result.applied.push_back(m.version);
    auto now = CurrentVersion(**conn);
    if (!now.ok()) return now.status();
    if (*now > known) return TooNew(*now, known);  // a newer binary migrated meanwhile
    result.to = *now;
  }
  return result;
}

Result<MigrateResult> Migrate(Pool& pool) { return Migrate(pool, Migrations(), NowMs()); }

}  // namespace berth::metadata
