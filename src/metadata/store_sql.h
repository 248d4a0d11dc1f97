// The row writers shared by MetadataStore (one operation per transaction) and
// the importer (many rows per transaction), so each INSERT is written once.
// Internal to src/metadata. Each function runs inside the caller's transaction
// on the caller's connection; none begins or commits.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "metadata/db.h"
#include "metadata/metadata_store.h"

namespace berth::metadata::sql {

// What to do with a referenced blob the database does not know.
enum class MissingBlob {
  kFail,  // NotFound naming it (a push: the handler answers MANIFEST_BLOB_UNKNOWN)
  kSkip,  // record the reference only if the blob is known (an import of what the store holds)
};

// The repository's id, creating it; created_at only moves back and last_pushed_at only forward.
Result<int64_t> UpsertRepository(Connection& conn, std::string_view name, int64_t created_at, int64_t pushed_at);
// nullopt when unknown.
Result<std::optional<int64_t>> FindRepository(Connection& conn, std::string_view name);
// The blob row; touched_at only moves forward.
Status UpsertBlob(Connection& conn, std::string_view digest, int64_t size, int64_t created_at, int64_t touched_at);
// The repository's link to a blob; linked_at only moves forward. False when the
// blob is unknown and `missing` is kSkip.
Result<bool> UpsertLink(Connection& conn, int64_t repository_id, std::string_view digest, int64_t linked_at,
                        MissingBlob missing);
// The manifest's id, inserting it with its references when new, else moving pushed_at forward.
// The blob row of the manifest's own bytes must exist.
Result<int64_t> UpsertManifest(Connection& conn, int64_t repository_id, const ManifestRecord& m, int64_t created_at,
                               int64_t pushed_at, MissingBlob missing);
Status UpsertTag(Connection& conn, int64_t repository_id, std::string_view tag, int64_t manifest_id, int64_t pushed_at);
// Deletes the repository when it has no manifest and no blob link left.
Status RemoveRepositoryIfEmpty(Connection& conn, int64_t repository_id);

// NULL for "", the text otherwise (optional columns).
Value TextOrNull(std::string_view s);

}  // namespace berth::metadata::sql
