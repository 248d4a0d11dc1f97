// The route table. One entry per endpoint; router.h says what an entry holds.
//
// To add an endpoint: declare its handler in api.h (a private RegistryApi
// member `Task<void> Name(Exchange& ex, const RouteMatch& m)`), write it, and
// add its entry here. Everything else (matching, the access check, 405 with
// Allow, parameter validation, metrics label, audit line) follows from the entry.
#include "registry/routes.h"

#include <algorithm>
#include <vector>

#include "http/exchange.h"
#include "observability/berth_metrics.h"
#include "oci/name.h"
#include "registry/api.h"

namespace berth::registry {
namespace {

using method::kAny;
using method::kDelete;
using method::kGet;
using method::kHead;
using method::kPatch;
using method::kPost;
using method::kPut;

// --- audit events (what a method stored or removed) ---

std::optional<AuditEvent> ManifestPushed(const Exchange&, const RouteMatch& m) {
  return AuditEvent{"push", "manifest", "reference", m.arg};
}

std::optional<AuditEvent> ManifestDeleted(const Exchange&, const RouteMatch& m) {
  return AuditEvent{"delete", "manifest", "reference", m.arg};
}

std::optional<AuditEvent> BlobDeleted(const Exchange&, const RouteMatch& m) {
  return AuditEvent{"delete", "blob", "digest", m.arg};
}

// POST .../blobs/uploads/: a mount or a monolithic upload stores a blob;
// opening an upload session stores nothing yet.
std::optional<AuditEvent> UploadStarted(const Exchange& ex, const RouteMatch&) {
  const bool monolithic = HasQueryParam(ex, "digest");
  if (ex.status() == 201 && !monolithic && HasQueryParam(ex, "mount")) {
    return AuditEvent{"push", "mount", "digest", QueryParam(ex, "mount")};
  }
  if (monolithic) return AuditEvent{"push", "blob", "digest", QueryParam(ex, "digest")};
  return std::nullopt;
}

std::optional<AuditEvent> UploadFinished(const Exchange& ex, const RouteMatch&) {
  return AuditEvent{"push", "blob", "digest", QueryParam(ex, "digest")};
}

std::optional<AuditEvent> UploadCancelled(const Exchange&, const RouteMatch& m) {
  return AuditEvent{"delete", "upload", "upload", m.arg};
}

// --- webhook events (docs/events.md): distribution's action of a successful request ---

std::string_view Pulled(const Exchange&, const RouteMatch&) { return "pull"; }
std::string_view Pushed(const Exchange&, const RouteMatch&) { return "push"; }
std::string_view Deleted(const Exchange&, const RouteMatch&) { return "delete"; }
// POST .../blobs/uploads/: a monolithic upload pushes, a cross-repository mount mounts.
std::string_view UploadNotify(const Exchange& ex, const RouteMatch&) {
  if (HasQueryParam(ex, "digest")) return "push";
  if (HasQueryParam(ex, "mount")) return "mount";
  return "";
}

// --- scopes a request reads when granted (router.h: ExtraScopesOf) ---

// A cross-repository mount reads its source: as distribution's access
// controller, ask for repository:<from>:pull, so a client following the
// challenge comes back with a token for both repositories.
std::vector<auth::Scope> MountSource(const RouteMatch& m, const boost::urls::url_view& url) {
  const auto params = url.params();
  auto mount = params.find("mount");
  auto from = params.find("from");
  if (mount == params.end() || from == params.end() || !(*from).has_value) return {};
  std::string source = (*from).value;
  if (source == m.name || !oci::IsValidRepositoryName(source)) return {};
  return {auth::Scope{"repository", std::move(source), {"pull"}}};
}

// The catalog shows everything to registry:catalog:*, and to anyone else the
// repositories they may pull (ListCatalog).
std::vector<auth::Scope> WholeCatalog(const RouteMatch&, const boost::urls::url_view&) {
  return {auth::Scope{"registry", "catalog", {"*"}}};
}

std::vector<std::string_view> CollectLabels(std::span<const Route> routes) {
  std::vector<std::string_view> labels = {http::RouteLabel{}.name};
  for (const Route& r : routes) {
    if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
  }
  return labels;
}

}  // namespace

std::span<const Route> RegistryRoutes() {
  static const Route kRoutes[] = {
      // --- the distribution API, /v2/ ---
      {.label = "base",
       .paths = {"/v2/", "/v2"},
       .access = Access::kAuthenticated,
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ServeBase, .action = ""}}}},
      {.label = "catalog",
       .paths = {"/v2/_catalog"},
       .access = Access::kAuthenticated,
       .methods = {{{.methods = kGet | kHead,
                     .handler = &RegistryApi::ListCatalog,
                     .action = "catalog",
                     .extra_scopes = WholeCatalog}}}},
      {.label = "tags",
       .paths = {"/v2/{name}/tags/list"},
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ListTags, .action = "pull"}}}},
      {.label = "manifest",
       .paths = {"/v2/{name}/manifests/{reference}"},
       .methods = {{
           {.methods = kGet | kHead, .handler = &RegistryApi::GetManifest, .action = "pull", .notify = Pulled},
           {.methods = kPut,
            .handler = &RegistryApi::PutManifest,
            .action = "push",
            .event = ManifestPushed,
            .notify = Pushed},
           {.methods = kDelete,
            .handler = &RegistryApi::DeleteManifest,
            .action = "delete",
            .event = ManifestDeleted,
            .notify = Deleted},
       }}},
      {.label = "blob",
       .paths = {"/v2/{name}/blobs/{digest}"},
       .methods = {{
           {.methods = kGet | kHead, .handler = &RegistryApi::GetBlob, .action = "pull", .notify = Pulled},
           {.methods = kDelete,
            .handler = &RegistryApi::DeleteBlob,
            .action = "delete",
            .event = BlobDeleted,
            .notify = Deleted},
       }}},
      // A cross-repository mount (?mount=&from=) also reads the source
      // repository: StartUpload asks the identity for pull on it and opens an
      // upload session when it may not mount.
      {.label = "upload",
       .paths = {"/v2/{name}/blobs/uploads/", "/v2/{name}/blobs/uploads"},
       .methods = {{
           {.methods = kPost,
            .handler = &RegistryApi::StartUpload,
            .action = "push",
            .event = UploadStarted,
            .extra_scopes = MountSource,
            .notify = UploadNotify},
       }}},
      {.label = "upload",
       .paths = {"/v2/{name}/blobs/uploads/{uuid}"},
       .methods = {{
           {.methods = kGet, .handler = &RegistryApi::GetUploadStatus, .action = "pull"},
           {.methods = kPatch, .handler = &RegistryApi::PatchUpload, .action = "push"},
           {.methods = kPut,
            .handler = &RegistryApi::PutUpload,
            .action = "push",
            .event = UploadFinished,
            .notify = Pushed},
           {.methods = kDelete, .handler = &RegistryApi::CancelUpload, .action = "delete", .event = UploadCancelled},
       }}},
      {.label = "referrers",
       .paths = {"/v2/{name}/referrers/{digest}"},
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ListReferrers, .action = "pull"}}}},

      // --- outside the distribution API ---
      {.label = "token",
       .paths = {"/v2/token", "/token"},
       .access = Access::kPublic,
       .methods = {{{.methods = kGet | kPost, .handler = &RegistryApi::ServeToken, .action = "token"}}},
       .feature = Feature::kTokenServer},
      // The token keys as a JWKS (RFC 7517), for relying parties such as
      // distribution v3 (auth.token.jwks); the same as auth.token.jwks_file.
      {.label = "jwks",
       .paths = {"/.well-known/jwks.json"},
       .access = Access::kPublic,
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ServeJwks, .action = ""}}},
       .feature = Feature::kTokenServer},
      {.label = "metrics",
       .paths = {"/metrics"},
       .access = Access::kRegistry,
       .resource = "metrics",
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ServeMetrics, .action = "metrics"}}},
       .feature = Feature::kMetrics,
       .listeners = listener::kMain | listener::kDebug},
      // --- the web UI (docs/ui.md; ui_api.cpp) ---
      // kSession: each handler resolves the session cookie and asks the same
      // ACL as /v2/ for what it shows (a repository page the viewer may not
      // pull is a 404, as its API answer). The page shell and its assets are public.
      {.label = "ui",
       .paths = {"/", "/storage"},
       .access = Access::kPublic,
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ServeUiPage, .action = ""}}},
       .feature = Feature::kUi},
      {.label = "ui",
       .paths = {"/repositories/{name}", "/repositories/{name}/manifests/{reference}"},
       .access = Access::kSession,
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ServeUiRepositoryPage, .action = "pull"}}},
       .feature = Feature::kUi},
      {.label = "ui",
       .paths = {"/ui/assets/{reference}"},
       .access = Access::kPublic,
       .methods = {{{.methods = kGet | kHead, .handler = &RegistryApi::ServeUiAsset, .action = ""}}},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/session"},
       .access = Access::kSession,
       .methods = {{
           {.methods = kGet, .handler = &RegistryApi::UiGetSession, .action = ""},
           {.methods = kPost, .handler = &RegistryApi::UiSignIn, .action = "login"},
           {.methods = kDelete, .handler = &RegistryApi::UiSignOut, .action = "logout"},
       }},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/repositories"},
       .access = Access::kSession,
       .methods = {{{.methods = kGet, .handler = &RegistryApi::UiListRepositories, .action = "catalog"}}},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/repositories/{name}/summary"},
       .access = Access::kSession,
       .methods = {{{.methods = kGet, .handler = &RegistryApi::UiRepository, .action = "pull"}}},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/repositories/{name}/tags/{reference}"},
       .access = Access::kSession,
       .methods = {{
           {.methods = kGet, .handler = &RegistryApi::UiTagDeletion, .action = "pull"},
           {.methods = kDelete,
            .handler = &RegistryApi::UiDeleteTag,
            .action = "delete",
            .event = ManifestDeleted,
            .notify = Deleted},
       }},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/repositories/{name}/manifests/{reference}"},
       .access = Access::kSession,
       .methods = {{{.methods = kGet, .handler = &RegistryApi::UiManifest, .action = "pull"}}},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/repositories/{name}/access"},
       .access = Access::kSession,
       .methods = {{{.methods = kGet, .handler = &RegistryApi::UiAccess, .action = "admin"}}},
       .feature = Feature::kUi},
      {.label = "ui_api",
       .paths = {"/ui/api/storage"},
       .access = Access::kSession,
       .methods = {{{.methods = kGet, .handler = &RegistryApi::UiStorage, .action = ""}}},
       .feature = Feature::kUi},
      // Liveness and readiness probes: any method, no authentication.
      {.label = "healthz",
       .paths = {"/healthz"},
       .access = Access::kPublic,
       .methods = {{{.methods = kAny, .handler = &RegistryApi::ServeHealthz, .action = ""}}},
       .listeners = listener::kMain | listener::kDebug},
      {.label = "readyz",
       .paths = {"/readyz"},
       .access = Access::kPublic,
       .methods = {{{.methods = kAny, .handler = &RegistryApi::ServeReadyz, .action = ""}}},
       .listeners = listener::kMain | listener::kDebug},
  };
  static_assert(std::size(kRoutes) < obs::BerthMetrics::kMaxRoutes, "more route labels than the metrics count");
  return kRoutes;
}

std::span<const std::string_view> RouteLabelNames() {
  static const std::vector<std::string_view> labels = CollectLabels(RegistryRoutes());
  return labels;
}

http::RouteLabel RouteLabelOf(const Route& route) {
  const auto labels = RouteLabelNames();
  for (size_t i = 1; i < labels.size(); ++i) {
    if (labels[i] == route.label) return http::RouteLabel{static_cast<uint8_t>(i), labels[i]};
  }
  return http::RouteLabel{};
}

}  // namespace berth::registry
