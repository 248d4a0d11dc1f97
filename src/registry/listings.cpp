// GET /v2/<name>/tags/list and GET /v2/_catalog, with n/last pagination.
#include <algorithm>
#include <charconv>
#include <functional>

#include <nlohmann/json.hpp>

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

// `sorted` is in lexical order; the page holds the first n entries after `last`.
Page Paginate(const std::vector<std::string>& sorted, const std::string& last, size_t n) {
  Page page;
  page.n = n;
  auto it = last.empty() ? sorted.begin() : std::upper_bound(sorted.begin(), sorted.end(), last);
  for (; it != sorted.end() && page.items.size() < n; ++it) page.items.push_back(*it);
  page.more = it != sorted.end();
  return page;
}

// Yields names in lexical order, one per call, into `*name`; false when there
// are no more. (Today the sorted directory walk; a metadata database's cursor later.)
using NameSource = std::function<bool(std::string* name)>;

// The page of the first n names after `last` that `shows` keeps. A page is
// short only when it is the last: `more` is set only when another shown name follows.
Page FilteredPage(const NameSource& next, const std::string& last, size_t n,
                  const std::function<bool(const std::string&)>& shows) {
  Page page;
  page.n = n;
  std::string name;
  while (next(&name)) {
    if (!last.empty() && name <= last) continue;
    if (!shows(name)) continue;
    if (page.items.size() == n) {
      page.more = true;
      break;
    }
    page.items.push_back(name);
  }
  return page;
}

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
  auto tags = manifests_.Tags(name);
  if (!tags.ok()) {
    if (tags.status().IsNotFound()) {
      co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry", "name", name));
    } else {
      co_await ex.Send(StorageErrorResponse(tags.status()));
    }
    co_return;
  }
  // Without n, every tag (as distribution does); with n, a page.
  auto n = ParsePageSize(QueryParam(ex, "n"), tags->size());
  if (!n) {
    co_await ex.Send(Error(code::kInvalidParameter, "n must be a non-negative integer"));
    co_return;
  }
  if (!HasQueryParam(ex, "n")) n = tags->size();
  Page page = Paginate(*tags, QueryParam(ex, "last"), *n);
  nlohmann::json body = {{"name", name}, {"tags", page.items}};
  co_await ex.Send(PageResponse(std::move(body), page, "/v2/" + name + "/tags/list"));
}

Task<void> RegistryApi::ListCatalog(Exchange& ex, const RouteMatch& m) {
  auto n = ParsePageSize(QueryParam(ex, "n"), kMaxPageSize);
  if (!n) {
    co_await ex.Send(Error(code::kInvalidParameter, "n must be a non-negative integer"));
    co_return;
  }
  auto repos = storage::ListRepositories(driver_);
  if (!repos.ok()) {
    co_await ex.Send(StorageErrorResponse(repos.status()));
    co_return;
  }
  // Everything with registry:catalog:* (or no auth); otherwise what the caller may pull.
  std::optional<auth::AccessController::CatalogView> view;
  if (m.identity != nullptr) view = access_->CatalogViewOf(*m.identity, ClientRequestOf(ex));
  const std::vector<std::string>& sorted = *repos;
  const std::string last = QueryParam(ex, "last");
  auto from = last.empty() ? sorted.begin() : std::upper_bound(sorted.begin(), sorted.end(), last);
  NameSource next = [&from, &sorted](std::string* name) {
    if (from == sorted.end()) return false;
    *name = *from++;
    return true;
  };
  std::function<bool(const std::string&)> shows = [&view](const std::string& name) {
    return !view || view->Shows(name);
  };
  Page page = FilteredPage(next, last, *n, shows);
  nlohmann::json body = {{"repositories", page.items}};
  co_await ex.Send(PageResponse(std::move(body), page, "/v2/_catalog"));
}

}  // namespace berth::registry
