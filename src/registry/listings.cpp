// GET /v2/<name>/tags/list and GET /v2/_catalog, with n/last pagination, from
// the metadata database (keyset pages: a page costs what it returns).
#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "http/blocking.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {
namespace {

// Largest page served; a bigger `n` is clamped, not refused.
constexpr size_t kMaxPageSize = 1000;

struct Page {
  std::vector<std::string> items;
  bool more = false;
  size_t n = 0;
};

// Parses n ("" = `default_n`); nullopt when malformed.
std::optional<size_t> ParsePageSize(const std::string& text, size_t default_n) {
  if (text.empty()) return default_n;
  size_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) return kMaxPageSize;
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return std::min(v, kMaxPageSize);
}

// The page of the first n names after `last` (in the catalog's order) that
// `shows` keeps, read from the database a batch at a time. A page is short only
// when it is the last: `more` is set only when another shown name follows.
// Blocking (runs on the database threads).
Result<Page> FilteredPage(metadata::MetadataStore& meta, const std::string& last, size_t n,
                          const std::function<bool(const std::string&)>& shows) {
  Page page;
  page.n = n;
  // Batches of at least 100: a caller who may see few repositories still pages quickly.
  const size_t batch = std::clamp<size_t>(n + 1, 100, kMaxPageSize + 1);
  std::string cursor = last;
  for (;;) {
    auto names = meta.ListCatalog(batch, cursor, metadata::MetadataStore::CatalogScope::kWithManifests);
    if (!names.ok()) return names.status();
    for (std::string& name : names->items) {
      if (!shows(name)) continue;
      if (page.items.size() == n) {
        page.more = true;
        return page;
      }
      page.items.push_back(std::move(name));
    }
    if (!names->more || names->items.empty()) return page;
    cursor = names->items.back();
  }
}

struct CatalogPageCall {
  metadata::MetadataStore* meta;
  std::optional<auth::AccessController::CatalogView> view;  // none: every repository
  std::string last;
  size_t n;

  Result<Page> operator()() const {
    std::function<bool(const std::string&)> shows = [this](const std::string& name) {
      return !view || view->Shows(name);
    };
    return FilteredPage(*meta, last, n, shows);
  }
};

struct TagsPageCall {
  metadata::MetadataStore* meta;
  std::string name;
  std::string last;
  size_t n;

  Result<Page> operator()() const {
    auto tags = meta->ListTags(name, n, last);
    if (!tags.ok()) return tags.status();
    return Page{std::move(tags->items), tags->more, n};
  }
};

http::Response PageResponse(nlohmann::json body, const Page& page, const std::string& path) {
  http::Response r(200);
  r.Set("Content-Type", "application/json");
  if (page.more && !page.items.empty()) {
    r.Set("Link", "<" + path + "?n=" + std::to_string(page.n) + "&last=" + page.items.back() + ">; rel=\"next\"");
  }
  r.body = body.dump();
  return r;
}

}  // namespace

Task<void> RegistryApi::ListTags(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  // Without n, every tag (as distribution does); with n, a page.
  std::optional<size_t> n = std::numeric_limits<size_t>::max();
  if (HasQueryParam(ex, "n")) n = ParsePageSize(QueryParam(ex, "n"), std::numeric_limits<size_t>::max());
  if (!n) {
    co_await ex.Send(Error(code::kInvalidParameter, "n must be a non-negative integer"));
    co_return;
  }
  TagsPageCall call{&meta_, name, QueryParam(ex, "last"), *n};
  Result<Page> page = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!page.ok()) {
    if (page.status().IsNotFound()) {
      co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry", "name", name));
    } else {
      co_await ex.Send(MetadataErrorResponse(page.status()));
    }
    co_return;
  }
  nlohmann::json body = {{"name", name}, {"tags", page->items}};
  co_await ex.Send(PageResponse(std::move(body), *page, "/v2/" + name + "/tags/list"));
}

Task<void> RegistryApi::ListCatalog(Exchange& ex, const RouteMatch& m) {
  auto n = ParsePageSize(QueryParam(ex, "n"), kMaxPageSize);
  if (!n) {
    co_await ex.Send(Error(code::kInvalidParameter, "n must be a non-negative integer"));
    co_return;
  }
  // Everything with registry:catalog:* (or no auth); otherwise what the caller may pull.
  CatalogPageCall call{&meta_, std::nullopt, QueryParam(ex, "last"), *n};
  if (m.identity != nullptr) call.view = access_->CatalogViewOf(*m.identity, ClientRequestOf(ex));
  Result<Page> page = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!page.ok()) {
    co_await ex.Send(MetadataErrorResponse(page.status()));
    co_return;
  }
  nlohmann::json body = {{"repositories", page->items}};
  co_await ex.Send(PageResponse(std::move(body), *page, "/v2/_catalog"));
}

}  // namespace berth::registry
