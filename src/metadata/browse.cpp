#include "metadata/browse.h"

#include <algorithm>
#include <map>

#include "metadata/metadata_store.h"

namespace berth::metadata {
namespace {

int64_t Limit(size_t n) { return static_cast<int64_t>(std::min<size_t>(n, 1u << 20)); }

// `text` as a LIKE pattern's literal part (ESCAPE '\').
std::string EscapeLike(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// A blob's bytes counted once per repository: the sum over its links.
constexpr std::string_view kRepositorySize =
    "(SELECT CAST(coalesce(sum(b.size), 0) AS BIGINT) FROM blob_links l JOIN blobs b ON b.digest = l.digest "
    "WHERE l.repository_id = r.id)";

}  // namespace

NameFilter NameFilter::Parse(std::string_view query) {
  NameFilter f;
  if (!query.empty() && query.front() == '^') {
    f.prefix = true;
    query.remove_prefix(1);
  }
  f.text.reserve(query.size());
  for (char c : query) f.text.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (f.text.empty()) f.prefix = false;
  return f;
}

Result<RepositoryPage> ListRepositorySummaries(Pool& pool, const NameFilter& filter, std::string_view last, size_t n,
                                               const std::function<bool(const std::string&)>& visible,
                                               size_t max_scanned) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  // A prefix is a range of catalog keys (the key maps names character by
  // character): start at it and stop past it, so the index does the work.
  // Names are ASCII, so prefix + DEL bounds every continuation.
  std::string from;  // the first key that can match (inclusive)
  std::string high = "\x7f";
  if (filter.prefix) {
    from = CatalogSortKey(filter.text);
    high = from + "\x7f";
  }
  // The filter runs on the catalog key, not the name: the key maps a name
  // character by character (so a substring of the name is one of the key), and
  // its index then answers the whole WHERE without reading a table row for the
  // names that do not match (100,000 repositories: ~35 ms instead of ~400 ms).
  const std::string like = "%" + EscapeLike(CatalogSortKey(filter.text)) + "%";
  const std::string sql =
      "SELECT r.name, r.catalog_key, r.last_pushed_at, "
      "(SELECT count(*) FROM tags t WHERE t.repository_id = r.id), " +
      std::string(kRepositorySize) +
      " FROM repositories r WHERE r.catalog_key > $1 AND r.catalog_key >= $5 AND r.catalog_key < $2 AND r.catalog_key LIKE $3 ESCAPE '\\' "
      "AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id) ORDER BY r.catalog_key LIMIT $4";
  RepositoryPage page;
  size_t scanned = 0;
  const size_t batch = std::max<size_t>(2 * n, 100);
  std::string cursor_key = CatalogSortKey(last);
  std::string last_name;
  while (true) {
    const Value params[] = {cursor_key, high, like, Limit(batch), from};
    auto r = (*conn)->Execute(sql, params);
    if (!r.ok()) return r.status();
    for (const Row& row : r->rows) {
      if (page.items.size() == n || scanned == max_scanned) {
        page.next = last_name;  // more rows follow
        return page;
      }
      ++scanned;
      last_name = row.Text(0);
      cursor_key = row.Text(1);
      if (!visible(last_name)) continue;
      page.items.push_back(RepositorySummary{last_name, row.Int(3), row.Int(4), row.Int(2)});
    }
    if (r->rows.size() < batch) return page;  // the end
  }
}

Result<TagPage> ListTagSummaries(Pool& pool, std::string_view repository, std::string_view contains,
                                 std::string_view last, size_t n) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  const std::string like = "%" + EscapeLike(contains) + "%";
  const Value params[] = {std::string(repository), std::string(last), like, Limit(n) + 1};
  // An index's size: the blobs of its children, each once.
  auto r = (*conn)->Execute(
      "SELECT t.name, m.digest, m.media_type, t.pushed_at, "
      "(SELECT CAST(coalesce(sum(b.size), 0) AS BIGINT) FROM blobs b WHERE b.digest IN (SELECT mb.digest FROM manifest_blobs mb "
      "  WHERE mb.manifest_id = m.id OR mb.manifest_id IN (SELECT c.id FROM manifest_children mc JOIN manifests c "
      "  ON c.repository_id = mc.repository_id AND c.digest = mc.child_digest WHERE mc.manifest_id = m.id))) "
      "FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN manifests m ON m.id = t.manifest_id "
      "WHERE r.name = $1 AND t.name > $2 AND t.name LIKE $3 ESCAPE '\\' ORDER BY t.name LIMIT $4",
      params);
  if (!r.ok()) return r.status();
  TagPage page;
  for (const Row& row : r->rows) {
    if (page.items.size() == n) {
      page.next = page.items.back().name;
      break;
    }
    page.items.push_back(TagSummary{row.Text(0), row.Text(1), row.Text(2), row.Int(4), row.Int(3)});
  }
  if (page.items.empty()) {
    const Value p[] = {std::string(repository)};
    auto found = (*conn)->Execute("SELECT 1 FROM repositories WHERE name = $1", p);
    if (!found.ok()) return found.status();
    if (found->rows.empty()) return Status::NotFound("repository name not known to registry");
  }
  return page;
}

Result<DeletionEstimate> EstimateTagDeletion(Pool& pool, std::string_view repository, std::string_view tag) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  const Value p[] = {std::string(repository), std::string(tag)};
  auto found = (*conn)->Execute(
      "SELECT m.digest, (SELECT count(*) FROM tags x WHERE x.manifest_id = m.id) FROM tags t "
      "JOIN repositories r ON r.id = t.repository_id JOIN manifests m ON m.id = t.manifest_id "
      "WHERE r.name = $1 AND t.name = $2",
      p);
  if (!found.ok()) return found.status();
  if (found->rows.empty()) return Status::NotFound("tag unknown");
  DeletionEstimate e;
  e.other_tags = found->rows[0].Int(1) - 1;
  if (e.other_tags > 0) return e;
  const Value params[] = {std::string(repository), found->rows[0].Text(0)};
  // t: the manifest and those of its children nothing else keeps (no tag, no other index);
  // d: their blobs and own bytes; freed: those no manifest outside t references.
  auto r = (*conn)->Execute(
      "WITH t(id) AS ("
      "  SELECT m.id FROM manifests m JOIN repositories r ON r.id = m.repository_id "
      "  WHERE r.name = $1 AND m.digest = $2 "
      "  UNION SELECT c.id FROM manifests m JOIN repositories r ON r.id = m.repository_id "
      "  JOIN manifest_children mc ON mc.manifest_id = m.id "
      "  JOIN manifests c ON c.repository_id = mc.repository_id AND c.digest = mc.child_digest "
      "  WHERE r.name = $1 AND m.digest = $2 AND NOT EXISTS (SELECT 1 FROM tags x WHERE x.manifest_id = c.id) "
      "  AND NOT EXISTS (SELECT 1 FROM manifest_children o WHERE o.repository_id = c.repository_id "
      "    AND o.child_digest = c.digest AND o.manifest_id <> m.id)), "
      "d(digest) AS (SELECT mb.digest FROM manifest_blobs mb WHERE mb.manifest_id IN (SELECT id FROM t) "
      "  UNION SELECT m.digest FROM manifests m WHERE m.id IN (SELECT id FROM t)) "
      "SELECT CAST(coalesce(sum(b.size), 0) AS BIGINT), count(*) FROM blobs b WHERE b.digest IN (SELECT digest FROM d) "
      "AND NOT EXISTS (SELECT 1 FROM manifest_blobs o WHERE o.digest = b.digest "
      "  AND o.manifest_id NOT IN (SELECT id FROM t)) "
      "AND NOT EXISTS (SELECT 1 FROM manifests o WHERE o.digest = b.digest AND o.id NOT IN (SELECT id FROM t))",
      params);
  if (!r.ok()) return r.status();
  if (!r->rows.empty()) {
    e.bytes = r->rows[0].Int(0);
    e.blobs = r->rows[0].Int(1);
  }
  return e;
}

Result<std::vector<NamespaceUsage>> UsageByNamespace(Pool& pool,
                                                     const std::function<bool(const std::string&)>& visible) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  auto r = (*conn)->Execute("SELECT r.name, " + std::string(kRepositorySize) + " FROM repositories r", {});
  if (!r.ok()) return r.status();
  std::map<std::string, NamespaceUsage> by_name;
  for (const Row& row : r->rows) {
    const std::string& name = row.Text(0);
    if (!visible(name)) continue;
    const size_t slash = name.find('/');
    const std::string ns = slash == std::string::npos ? std::string() : name.substr(0, slash);
    NamespaceUsage& u = by_name[ns];
    u.name = ns;
    ++u.repositories;
    u.bytes += row.Int(1);
  }
  std::vector<NamespaceUsage> out;
  out.reserve(by_name.size());
  for (auto& [name, u] : by_name) out.push_back(std::move(u));
  return out;
}

Result<StoreTotals> StoreTotalsOf(Pool& pool) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  auto r = (*conn)->Execute(
      "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT), (SELECT count(*) FROM repositories) FROM blobs "
      "WHERE gc_claimed_at IS NULL",
      {});
  if (!r.ok()) return r.status();
  StoreTotals t;
  if (!r->rows.empty()) {
    t.blobs = r->rows[0].Int(0);
    t.bytes = r->rows[0].Int(1);
    t.repositories = r->rows[0].Int(2);
  }
  return t;
}

}  // namespace berth::metadata
