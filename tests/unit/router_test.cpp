// Unit tests for the route table (registry/routes.h) and its matcher
// (registry/router.h): every path maps to its entry, each method to its action
// and scope, the 405's Allow header, the metrics labels.
#include "registry/router.h"

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <set>
#include <string>
#include <vector>

#include "registry/routes.h"

namespace berth::registry {
namespace {

using boost::beast::http::verb;
using Segs = std::vector<std::string>;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kUuid = "0f2b6c0e-7d2c-4c57-9d0e-0123456789ab";

// Entries are named by their first path pattern.
constexpr std::string_view kBase = "/v2/";
constexpr std::string_view kCatalog = "/v2/_catalog";
constexpr std::string_view kTags = "/v2/{name}/tags/list";
constexpr std::string_view kManifest = "/v2/{name}/manifests/{reference}";
constexpr std::string_view kBlob = "/v2/{name}/blobs/{digest}";
constexpr std::string_view kUploadStart = "/v2/{name}/blobs/uploads/";
constexpr std::string_view kUpload = "/v2/{name}/blobs/uploads/{uuid}";
constexpr std::string_view kReferrers = "/v2/{name}/referrers/{digest}";
constexpr std::string_view kToken = "/v2/token";
constexpr std::string_view kMetrics = "/metrics";
constexpr std::string_view kHealthz = "/healthz";
constexpr std::string_view kReadyz = "/readyz";
constexpr std::string_view kNone = "(none)";

// Every route of the table, as the main listener serves them with every feature on.
const Router& AllRoutes() {
  static const Router router = [] {
    Router r;
    for (const Route& route : RegistryRoutes()) r.Add(route, RouteLabelOf(route));
    return r;
  }();
  return router;
}

const Route& Entry(std::string_view first_path) {
  for (const Route& r : RegistryRoutes()) {
    if (r.paths[0] == first_path) return r;
  }
  throw std::runtime_error("no entry " + std::string(first_path));
}

// The path's segments as the server gives them (boost::urls, percent-decoded);
// a query is ignored.
Segs Split(std::string_view path) {
  auto url = boost::urls::parse_origin_form(path);
  if (!url) throw std::runtime_error("bad path " + std::string(path));
  Segs out;
  for (auto seg : url->segments()) out.push_back(seg);
  return out;
}

std::string Where(const Segs& segs) {
  std::string where;
  for (const auto& s : segs) where += "/" + s;
  return where;
}

void ExpectRoute(const Segs& segs, std::string_view entry, const std::string& name, const std::string& arg) {
  RouteMatch m = AllRoutes().Match(segs);
  EXPECT_EQ(m.route == nullptr ? kNone : m.route->paths[0], entry) << Where(segs);
  EXPECT_EQ(m.name, name) << Where(segs);
  EXPECT_EQ(m.arg, arg) << Where(segs);
}

void ExpectRoute(std::string_view path, std::string_view entry, const std::string& name, const std::string& arg) {
  ExpectRoute(Split(path), entry, name, arg);
}

void ExpectNotFound(const Segs& segs) { ExpectRoute(segs, kNone, "", ""); }
void ExpectNotFound(std::string_view path) { ExpectNotFound(Split(path)); }

TEST(RouterTest, SplitMatchesTheServersSegments) {
  EXPECT_EQ(Split("/v2/"), (Segs{"v2", ""}));
  EXPECT_EQ(Split("/v2"), (Segs{"v2"}));
  EXPECT_EQ(Split("/v2/a/b/"), (Segs{"v2", "a", "b", ""}));
  EXPECT_EQ(Split("/"), Segs{});
  EXPECT_EQ(Split("/v2/a%2Fb/manifests/x"), (Segs{"v2", "a/b", "manifests", "x"}));
}

TEST(RouterTest, Base) {
  ExpectRoute("/v2/", kBase, "", "");
  ExpectRoute("/v2", kBase, "", "");
}

TEST(RouterTest, Catalog) {
  ExpectRoute("/v2/_catalog", kCatalog, "", "");
  ExpectNotFound("/v2/_catalog/");
  ExpectNotFound("/v2/_catalog/x");
  ExpectNotFound("/v2/catalog");
}

TEST(RouterTest, TagsList) {
  ExpectRoute("/v2/library/ubuntu/tags/list", kTags, "library/ubuntu", "");
  ExpectRoute("/v2/a/tags/list", kTags, "a", "");
  ExpectNotFound("/v2/a/tags/");
  ExpectNotFound("/v2/a/tags/lists");
  ExpectNotFound("/v2/a/tags/list/");
  ExpectNotFound("/v2/tags/list");  // no repository name
}

TEST(RouterTest, Manifests) {
  ExpectRoute("/v2/library/ubuntu/manifests/latest", kManifest, "library/ubuntu", "latest");
  ExpectRoute("/v2/a/manifests/" + kDigest, kManifest, "a", kDigest);
  // The reference is unvalidated here.
  ExpectRoute("/v2/a/manifests/", kManifest, "a", "");
  ExpectNotFound("/v2/manifests/latest");
  EXPECT_EQ(AllRoutes().Match(Split("/v2/a/manifests/latest")).param, Param::kReference);
}

TEST(RouterTest, Blobs) {
  ExpectRoute("/v2/library/ubuntu/blobs/" + kDigest, kBlob, "library/ubuntu", kDigest);
  ExpectRoute("/v2/a/blobs/not-a-digest", kBlob, "a", "not-a-digest");  // validated by the dispatcher
  ExpectNotFound("/v2/blobs/" + kDigest);
  EXPECT_EQ(AllRoutes().Match(Split("/v2/a/blobs/" + kDigest)).param, Param::kDigest);
}

TEST(RouterTest, UploadStartWithAndWithoutTrailingSlash) {
  ExpectRoute("/v2/library/ubuntu/blobs/uploads/", kUploadStart, "library/ubuntu", "");
  ExpectRoute("/v2/a/blobs/uploads/", kUploadStart, "a", "");
  // A literal beats the blob route's {digest}.
  ExpectRoute("/v2/library/ubuntu/blobs/uploads", kUploadStart, "library/ubuntu", "");
  ExpectRoute("/v2/a/blobs/uploads", kUploadStart, "a", "");
}

TEST(RouterTest, UploadById) {
  ExpectRoute("/v2/library/ubuntu/blobs/uploads/" + kUuid, kUpload, "library/ubuntu", kUuid);
  ExpectRoute("/v2/a/blobs/uploads/" + kUuid, kUpload, "a", kUuid);
  ExpectRoute("/v2/a/blobs/uploads/xyz", kUpload, "a", "xyz");  // validated by the dispatcher
  ExpectNotFound("/v2/blobs/uploads/" + kUuid);
  ExpectNotFound("/v2/blobs/uploads/");
  EXPECT_EQ(AllRoutes().Match(Split("/v2/a/blobs/uploads/" + kUuid)).param, Param::kUploadId);
}

TEST(RouterTest, Referrers) {
  ExpectRoute("/v2/library/ubuntu/referrers/" + kDigest, kReferrers, "library/ubuntu", kDigest);
  ExpectRoute("/v2/a/referrers/" + kDigest, kReferrers, "a", kDigest);
  ExpectNotFound("/v2/referrers/" + kDigest);
}

TEST(RouterTest, RoutesOutsideV2) {
  ExpectRoute("/v2/token", kToken, "", "");
  ExpectRoute("/token", kToken, "", "");
  ExpectRoute("/metrics", kMetrics, "", "");
  ExpectRoute("/healthz", kHealthz, "", "");
  ExpectRoute("/readyz", kReadyz, "", "");
  ExpectNotFound("/metrics/");
  ExpectNotFound("/healthz/x");
  ExpectNotFound("/v2/healthz");
  ExpectNotFound("/token/");
}

TEST(RouterTest, NestedNames) {
  ExpectRoute("/v2/a/b/c/manifests/v1", kManifest, "a/b/c", "v1");
  ExpectRoute("/v2/a/b/c/blobs/" + kDigest, kBlob, "a/b/c", kDigest);
  ExpectRoute("/v2/a/b/c/tags/list", kTags, "a/b/c", "");
  ExpectRoute("/v2/a/b/c/blobs/uploads/", kUploadStart, "a/b/c", "");
  ExpectRoute("/v2/a/b/c/blobs/uploads", kUploadStart, "a/b/c", "");
  ExpectRoute("/v2/a/b/c/blobs/uploads/" + kUuid, kUpload, "a/b/c", kUuid);
  ExpectRoute("/v2/a/b/c/referrers/" + kDigest, kReferrers, "a/b/c", kDigest);
  ExpectRoute("/v2/a/b/c/d/e/f/g/manifests/latest", kManifest, "a/b/c/d/e/f/g", "latest");
}

TEST(RouterTest, NamesContainingEndpointWords) {
  ExpectRoute("/v2/a/blobs/b/blobs/" + kDigest, kBlob, "a/blobs/b", kDigest);
  ExpectRoute("/v2/x/manifests/y/manifests/latest", kManifest, "x/manifests/y", "latest");
  ExpectRoute("/v2/a/blobs/b/manifests/latest", kManifest, "a/blobs/b", "latest");
  ExpectRoute("/v2/x/manifests/y/blobs/" + kDigest, kBlob, "x/manifests/y", kDigest);
  ExpectRoute("/v2/tags/list/tags/list", kTags, "tags/list", "");
  ExpectRoute("/v2/referrers/manifests/latest", kManifest, "referrers", "latest");
  ExpectRoute("/v2/manifests/blobs/" + kDigest, kBlob, "manifests", kDigest);
  ExpectRoute("/v2/blobs/uploads/blobs/" + kDigest, kBlob, "blobs/uploads", kDigest);
  ExpectRoute("/v2/a/blobs/uploads/blobs/uploads/" + kUuid, kUpload, "a/blobs/uploads", kUuid);
  ExpectRoute("/v2/v2/manifests/latest", kManifest, "v2", "latest");
  ExpectRoute("/v2/_catalog/manifests/latest", kManifest, "_catalog", "latest");
  ExpectRoute("/v2/token/manifests/latest", kManifest, "token", "latest");
  ExpectRoute("/v2/a/blobs/uploads/blobs/uploads/", kUploadStart, "a/blobs/uploads", "");
}

TEST(RouterTest, UnknownPaths) {
  ExpectNotFound("/v2/a");
  ExpectNotFound("/v2/a/b");
  ExpectNotFound("/v2/a/b/c");
  ExpectNotFound("/v2/a/foo/bar");
  ExpectNotFound("/v2/a/tags/foo");
  ExpectNotFound("/v2/a/manifest/latest");
  ExpectNotFound("/v2/a/blob/" + kDigest);
  ExpectNotFound("/v2/a/uploads/" + kUuid);
  ExpectNotFound("/v2/a/b/c/");
  ExpectNotFound("/v2/foo");
  ExpectNotFound("/v2/foo/blobs");
  ExpectNotFound(Segs{"v2", "", ""});
  ExpectNotFound(Segs{"v2", "a", ""});
}

TEST(RouterTest, OtherPrefixes) {
  // "/" is the web UI's page (docs/ui.md).
  ExpectRoute(Segs{}, "/", "", "");
  ExpectRoute("/", "/", "", "");
  ExpectNotFound(Segs{""});
  ExpectNotFound("/v1/");
  ExpectNotFound("/V2/");
  ExpectNotFound("/v2x/");
  ExpectNotFound("/v1/a/manifests/latest");
  ExpectNotFound("/v3/a/blobs/" + kDigest);
  ExpectNotFound("/api/v2/a/manifests/latest");
  ExpectNotFound("/a/v2/manifests/latest");
  ExpectNotFound("/_catalog");
  ExpectNotFound("/favicon.ico");
  ExpectNotFound(Segs{"", "v2", ""});
}

TEST(RouterTest, SegmentsAreTakenVerbatim) {
  // Segments are already percent-decoded; a decoded '/' stays inside its segment.
  ExpectRoute(Segs{"v2", "a/b", "manifests", "latest"}, kManifest, "a/b", "latest");
  ExpectRoute(Segs{"v2", "..", "manifests", "latest"}, kManifest, "..", "latest");
  ExpectRoute(Segs{"v2", "", "manifests", "latest"}, kManifest, "", "latest");
}

// --- the entries ---

std::string ActionOf(std::string_view entry, verb m) {
  const MethodHandler* h = Entry(entry).Find(m);
  return h == nullptr ? "(405)" : std::string(h->action);
}

TEST(RouteTableTest, EachMethodHasItsAction) {
  EXPECT_EQ(ActionOf(kBase, verb::get), "");
  EXPECT_EQ(ActionOf(kBase, verb::post), "(405)");
  EXPECT_EQ(ActionOf(kCatalog, verb::get), "catalog");
  EXPECT_EQ(ActionOf(kTags, verb::head), "pull");
  EXPECT_EQ(ActionOf(kTags, verb::delete_), "(405)");
  EXPECT_EQ(ActionOf(kManifest, verb::get), "pull");
  EXPECT_EQ(ActionOf(kManifest, verb::head), "pull");
  EXPECT_EQ(ActionOf(kManifest, verb::put), "push");
  EXPECT_EQ(ActionOf(kManifest, verb::delete_), "delete");
  EXPECT_EQ(ActionOf(kManifest, verb::patch), "(405)");
  EXPECT_EQ(ActionOf(kManifest, verb::options), "(405)");
  EXPECT_EQ(ActionOf(kBlob, verb::get), "pull");
  EXPECT_EQ(ActionOf(kBlob, verb::delete_), "delete");
  EXPECT_EQ(ActionOf(kBlob, verb::put), "(405)");
  EXPECT_EQ(ActionOf(kUploadStart, verb::post), "push");
  EXPECT_EQ(ActionOf(kUploadStart, verb::get), "(405)");
  EXPECT_EQ(ActionOf(kUpload, verb::get), "pull");
  EXPECT_EQ(ActionOf(kUpload, verb::head), "(405)");
  EXPECT_EQ(ActionOf(kUpload, verb::patch), "push");
  EXPECT_EQ(ActionOf(kUpload, verb::put), "push");
  EXPECT_EQ(ActionOf(kUpload, verb::delete_), "delete");
  EXPECT_EQ(ActionOf(kUpload, verb::post), "(405)");
  EXPECT_EQ(ActionOf(kReferrers, verb::get), "pull");
  EXPECT_EQ(ActionOf(kReferrers, verb::delete_), "(405)");
  EXPECT_EQ(ActionOf(kToken, verb::get), "token");
  EXPECT_EQ(ActionOf(kToken, verb::post), "token");
  EXPECT_EQ(ActionOf(kToken, verb::put), "(405)");
  EXPECT_EQ(ActionOf(kMetrics, verb::head), "metrics");
  EXPECT_EQ(ActionOf(kMetrics, verb::post), "(405)");
  // Probes answer any method.
  EXPECT_EQ(ActionOf(kHealthz, verb::post), "");
  EXPECT_EQ(ActionOf(kReadyz, verb::propfind), "");
}

TEST(RouteTableTest, AllowListsTheEntrysMethods) {
  EXPECT_EQ(Entry(kBase).Allow(), "GET, HEAD");
  EXPECT_EQ(Entry(kCatalog).Allow(), "GET, HEAD");
  EXPECT_EQ(Entry(kTags).Allow(), "GET, HEAD");
  EXPECT_EQ(Entry(kManifest).Allow(), "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(Entry(kBlob).Allow(), "GET, HEAD, DELETE");
  EXPECT_EQ(Entry(kUploadStart).Allow(), "POST");
  EXPECT_EQ(Entry(kUpload).Allow(), "GET, PATCH, PUT, DELETE");
  EXPECT_EQ(Entry(kReferrers).Allow(), "GET, HEAD");
  EXPECT_EQ(Entry(kToken).Allow(), "GET, POST");
  EXPECT_EQ(Entry("/.well-known/jwks.json").Allow(), "GET, HEAD");
  EXPECT_EQ(Entry(kMetrics).Allow(), "GET, HEAD");
}

TEST(RouteTableTest, LabelsAreTheMetricsRouteValues) {
  const auto labels = RouteLabelNames();
  const std::vector<std::string_view> want = {"other", "base",    "catalog", "tags",   "manifest", "blob",
                                              "upload", "referrers", "token", "jwks", "metrics", "ui",
                                              "ui_api", "healthz", "readyz"};
  EXPECT_EQ(std::vector<std::string_view>(labels.begin(), labels.end()), want);
  EXPECT_EQ(RouteLabelOf(Entry(kUploadStart)).index, RouteLabelOf(Entry(kUpload)).index);
  EXPECT_EQ(RouteLabelOf(Entry(kUpload)).name, "upload");
  EXPECT_EQ(RouteLabelOf(Entry(kManifest)).index, 4u);
  const RouteMatch m = AllRoutes().Match(Split("/token"));
  EXPECT_EQ(m.label.name, "token");
  EXPECT_EQ(AllRoutes().Match(Split("/nowhere")).label.name, "other");
}

TEST(RouteTableTest, EntriesAreWellFormed) {
  std::set<std::string_view> first_paths;
  for (const Route& r : RegistryRoutes()) {
    EXPECT_TRUE(first_paths.insert(r.paths[0]).second) << r.paths[0];
    EXPECT_FALSE(r.label.empty()) << r.paths[0];
    MethodSet seen = 0;
    int handlers = 0;
    for (const MethodHandler& h : r.methods) {
      if (h.handler == nullptr) {
        EXPECT_EQ(h.methods, 0) << r.paths[0];
        continue;
      }
      ++handlers;
      EXPECT_EQ(seen & h.methods, 0) << r.paths[0] << ": a method with two handlers";
      seen |= h.methods;
      if (r.access == Access::kRepository) {
        EXPECT_TRUE(h.action == "pull" || h.action == "push" || h.action == "delete") << r.paths[0];
      }
    }
    EXPECT_GT(handlers, 0) << r.paths[0];
    // Repository routes name their repository; a registry scope names its resource.
    // (The web UI's session routes may name one: their handlers ask the ACL.)
    const bool has_name = r.paths[0].find("{name}") != std::string_view::npos;
    if (r.access != Access::kSession) EXPECT_EQ(has_name, r.access == Access::kRepository) << r.paths[0];
    EXPECT_EQ(!r.resource.empty(), r.access == Access::kRegistry) << r.paths[0];
    Router one;
    EXPECT_NO_THROW(one.Add(r, RouteLabelOf(r))) << r.paths[0];
  }
}

TEST(RouteTableTest, DebugListenerServesMetricsAndProbesOnly) {
  std::vector<std::string_view> debug;
  for (const Route& r : RegistryRoutes()) {
    if ((r.listeners & listener::kDebug) != 0) debug.push_back(r.paths[0]);
  }
  EXPECT_EQ(debug, (std::vector<std::string_view>{kMetrics, kHealthz, kReadyz}));
}

// --- scopes ---

std::vector<auth::Scope> Needed(std::string_view path, verb m) {
  const RouteMatch match = AllRoutes().Match(Split(path));
  return NeededScopes(match, match.route->Find(m));
}

std::vector<auth::Scope> Wanted(std::string_view path, verb m) {
  auto url = boost::urls::parse_origin_form(path);
  const RouteMatch match = AllRoutes().Match(Split(path));
  return WantedScopes(match, match.route->Find(m), *url);
}

TEST(RouteTableTest, NeededScopesFollowTheEntry) {
  using auth::Scope;
  EXPECT_EQ(Needed("/v2/", verb::get), std::vector<Scope>{});
  // The catalog answers every authenticated caller (filtered); it asks for the whole of it.
  EXPECT_EQ(Needed("/v2/_catalog?n=10", verb::get), std::vector<Scope>{});
  EXPECT_EQ(Wanted("/v2/_catalog?n=10", verb::get), (std::vector<Scope>{{"registry", "catalog", {"*"}}}));
  EXPECT_EQ(Needed("/metrics", verb::get), (std::vector<Scope>{{"registry", "metrics", {"*"}}}));
  EXPECT_EQ(Needed("/v2/a/b/manifests/v1", verb::put), (std::vector<Scope>{{"repository", "a/b", {"push"}}}));
  EXPECT_EQ(Needed("/v2/a/b/manifests/v1", verb::head), (std::vector<Scope>{{"repository", "a/b", {"pull"}}}));
  EXPECT_EQ(Needed("/v2/a/blobs/" + kDigest, verb::delete_), (std::vector<Scope>{{"repository", "a", {"delete"}}}));
  EXPECT_EQ(Needed("/v2/a/blobs/uploads/?mount=" + kDigest + "&from=b", verb::post),
            (std::vector<Scope>{{"repository", "a", {"push"}}}));
  // A mount reads its source when it may (distribution's access controller asks for it).
  EXPECT_EQ(Wanted("/v2/a/blobs/uploads/?mount=" + kDigest + "&from=b", verb::post),
            (std::vector<Scope>{{"repository", "b", {"pull"}}}));
  EXPECT_EQ(Wanted("/v2/a/blobs/uploads/?mount=" + kDigest + "&from=a", verb::post), std::vector<Scope>{});
  EXPECT_EQ(Wanted("/v2/a/blobs/uploads/?mount=" + kDigest + "&from=..%2fx", verb::post), std::vector<Scope>{});
  EXPECT_EQ(Wanted("/v2/a/blobs/uploads/?from=b", verb::post), std::vector<Scope>{});
  EXPECT_EQ(Wanted("/v2/a/blobs/uploads/", verb::post), std::vector<Scope>{});
  // A method the route does not serve: credentials only, then 405.
  EXPECT_EQ(Needed("/v2/a/manifests/v1", verb::patch), std::vector<Scope>{});
}

// An entry can ask for more than its route's scope, worked out from the request.
std::vector<auth::Scope> PullOfFrom(const RouteMatch&, const boost::urls::url_view& url) {
  auto it = url.params().find("from");
  if (it == url.params().end()) return {};
  return {auth::Scope{"repository", std::string((*it).value), {"pull"}}};
}

TEST(RouteTableTest, AnEntryCanAskForExtraScopes) {
  Route mount_like{.label = "upload", .paths = {"/v2/{name}/blobs/uploads/"}};
  mount_like.methods[0] = MethodHandler{.methods = method::kPost,
                                        .handler = Entry(kUploadStart).methods[0].handler,
                                        .action = "push",
                                        .extra_scopes = PullOfFrom};
  Router router;
  router.Add(mount_like, RouteLabelOf(Entry(kUpload)));
  auto url = boost::urls::parse_origin_form("/v2/a/blobs/uploads/?mount=x&from=b/c");
  const RouteMatch match = router.Match(Split("/v2/a/blobs/uploads/?mount=x&from=b/c"));
  ASSERT_EQ(match.route, &mount_like);
  EXPECT_EQ(NeededScopes(match, match.route->Find(verb::post)),
            (std::vector<auth::Scope>{{"repository", "a", {"push"}}}));
  EXPECT_EQ(WantedScopes(match, match.route->Find(verb::post), *url),
            (std::vector<auth::Scope>{{"repository", "b/c", {"pull"}}}));
}

TEST(RouterTest, MalformedPatternsAreRefused) {
  for (std::string_view bad : {"v2/x", "/v2/{name}/{name}/x", "/v2/{what}", "/v2/{name}/{digest}/{uuid}"}) {
    Route r{.label = "x", .paths = {bad}};
    Router router;
    EXPECT_THROW(router.Add(r, http::RouteLabel{}), std::invalid_argument) << bad;
  }
}

TEST(RouterTest, MoreLiteralSegmentsWinThenTableOrder) {
  const Route a{.label = "a", .paths = {"/x/{name}/{reference}"}};
  const Route b{.label = "b", .paths = {"/x/{name}/fixed"}};
  const Route c{.label = "c", .paths = {"/x/{name}/{digest}"}};
  Router router;
  router.Add(a, http::RouteLabel{1, "a"});
  router.Add(b, http::RouteLabel{2, "b"});
  router.Add(c, http::RouteLabel{3, "c"});
  EXPECT_EQ(router.Match(Split("/x/n/fixed")).route, &b);
  EXPECT_EQ(router.Match(Split("/x/n/other")).route, &a);
  EXPECT_EQ(router.Match(Split("/x/n/m/other")).name, "n/m");
  EXPECT_EQ(router.Match(Split("/x/n/m/other")).label.name, "a");
}

}  // namespace
}  // namespace berth::registry
