// What the web UI browses (docs/ui.md), read from the metadata database:
// repository summaries (tag count, size, last push) filtered and paginated in
// SQL, a repository's tags with their manifests, what deleting a tag would
// free, and usage per namespace. Separate from MetadataStore, which it does not
// change: these are read-only queries on the same schema, against the Db
// interface (SQLite and PostgreSQL alike), with bound parameters only.
// Stateless functions; thread-safe as the Pool is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/db.h"
#include "util/status.h"

namespace berth::metadata {

struct RepositorySummary {
  std::string name;
  int64_t tag_count = 0;
  int64_t size = 0;            // bytes of the blobs linked into it (each once)
  int64_t last_pushed_at = 0;  // Unix ms
};

struct RepositoryPage {
  std::vector<RepositorySummary> items;
  std::string next;  // where the next page starts (after this name); "" when no more
};

// A filter on repository names: `^text` matches names starting with text, any
// other text names containing it (ASCII case-insensitive; names are lower case).
struct NameFilter {
  std::string text;
  bool prefix = false;
  static NameFilter Parse(std::string_view query);
};

// Up to `n` repositories holding a manifest, in catalog order after `last`,
// whose names match `filter` and for which `visible` is true (the caller's ACL
// check). The database pages and filters; `visible` sees only matching names.
// At most `max_scanned` names are looked at per call (then `next` continues).
Result<RepositoryPage> ListRepositorySummaries(Pool& pool, const NameFilter& filter, std::string_view last, size_t n,
                                               const std::function<bool(const std::string&)>& visible,
                                               size_t max_scanned = 20'000);

struct TagSummary {
  std::string name;
  std::string digest;
  std::string media_type;
  int64_t size = 0;       // the manifest's config and layers (an index: its children's), each blob once
  int64_t pushed_at = 0;  // Unix ms
};

struct TagPage {
  std::vector<TagSummary> items;
  std::string next;  // "" when no more
};

// Tags of `repository` in byte order after `last`, whose names contain
// `contains` (all when empty). NotFound when the repository is unknown.
Result<TagPage> ListTagSummaries(Pool& pool, std::string_view repository, std::string_view contains,
                                 std::string_view last, size_t n);

struct DeletionEstimate {
  int64_t bytes = 0;  // freed once garbage collection has run (0 when other tags keep the manifest)
  int64_t blobs = 0;
  int64_t other_tags = 0;  // other tags naming the same manifest
};

// What deleting tag `tag` of `repository` would free: the blobs of its manifest
// (and of an index's children no other tag or index keeps) that no other
// manifest anywhere references. NotFound when the tag is unknown.
Result<DeletionEstimate> EstimateTagDeletion(Pool& pool, std::string_view repository, std::string_view tag);

struct NamespaceUsage {
  std::string name;  // the first component of the repository names ("" for names without '/')
  int64_t repositories = 0;
  int64_t bytes = 0;  // the repositories' sizes summed (a blob shared by two counts twice)
};

// Usage per namespace of the repositories for which `visible` is true.
Result<std::vector<NamespaceUsage>> UsageByNamespace(Pool& pool,
                                                     const std::function<bool(const std::string&)>& visible);

// Every blob in the store, each once.
struct StoreTotals {
  int64_t blobs = 0;
  int64_t bytes = 0;
  int64_t repositories = 0;
};
Result<StoreTotals> StoreTotalsOf(Pool& pool);

}  // namespace berth::metadata
