// The web UI's server side (docs/ui.md): its pages, embedded assets and JSON
// endpoints under /ui/api/, as RegistryApi handlers because the one route table
// (routes.cpp) names RegistryApi members and these need its stores and access
// controller. What is not HTTP lives elsewhere: sessions in ui/session_store.h,
// the embedded files in ui/assets.h, the listing queries in metadata/browse.h.
//
// Permissions: no second model. A request's viewer is the session's user (or
// the anonymous user without one) as an auth::Identity built exactly as for
// Basic credentials, and every decision is Identity::Can against the ACL:
// pull to see a repository, delete to delete a tag, admin to see who may
// access it. With auth off (auth.mode none) the registry is open and so is the UI.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "auth/password.h"
#include "http/blocking.h"
#include "metadata/browse.h"
#include "observability/berth_metrics.h"
#include "oci/name.h"
#include "policy/quota.h"
#include "registry/api.h"
#include "registry/errors.h"
#include "ui/assets.h"
#include "util/log.h"

namespace berth::registry {
namespace {

constexpr std::string_view kCookie = "berth_session";
constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
// Sign-in has no session yet: it requires this header instead, which a
// cross-site form cannot send (a cross-origin fetch with it needs a preflight, never answered).
constexpr std::string_view kUiHeader = "X-Berth-UI";
constexpr size_t kDefaultPage = 50;
constexpr size_t kMaxPage = 500;
constexpr int64_t kMaxConfigBytes = 1 << 20;  // an image config shown in full (larger: not fetched)

// The UI page's policy: only our own scripts and styles, never framed. It
// replaces the API's default-src 'none' (http/security_headers.h).
constexpr std::string_view kPageCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

nlohmann::json::string_t Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

http::Response Json(const nlohmann::json& j, unsigned status = 200) {
  http::Response r(status);
  r.Set("Content-Type", "application/json");
  r.Set("Cache-Control", "no-store");
  r.body = Dump(j);
  return r;
}

// The value of cookie `name` in the Cookie header ("" when absent).
std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

bool AcceptsGzip(std::string_view accept_encoding) {
  // "gzip" listed without q=0 (browsers send "gzip, deflate, br, zstd").
  size_t at = accept_encoding.find("gzip");
  if (at == std::string_view::npos) return false;
  std::string_view rest = accept_encoding.substr(at + 4);
  const size_t comma = rest.find(',');
  rest = rest.substr(0, comma);
  return rest.find("q=0") == std::string_view::npos || rest.find("q=0.") != std::string_view::npos;
}

// The page's response: index.html for every page URL (the script renders the path).
http::Response PageResponse(const Exchange& ex, unsigned status) {
  const ui::Asset* index = ui::FindAsset("index.html");
  http::Response r(status);
  r.Set("Content-Type", std::string(index->content_type));
  r.Set("Cache-Control", "no-cache");
  r.Set("Content-Security-Policy", std::string(kPageCsp));
  r.Set("X-Frame-Options", "DENY");
  r.Set("Vary", "Accept-Encoding");
  if (AcceptsGzip(ex.header("Accept-Encoding"))) {
    r.Set("Content-Encoding", "gzip");
    r.body = std::string(index->gzip);
  } else {
    r.body = std::string(index->bytes);
  }
  return r;
}

size_t PageSize(const Exchange& ex) {
  const std::string n = QueryParam(ex, "n");
  if (n.empty() || n.size() > 4 || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return kDefaultPage;
  }
  return std::clamp<size_t>(std::stoul(n), 1, kMaxPage);
}

// The platforms an index lists ("linux/amd64", "linux/arm/v7"), from its bytes.
nlohmann::json PlatformsOf(std::string_view body) {
  nlohmann::json out = nlohmann::json::array();
  if (oci::JsonTooDeep(body, oci::kMaxJsonDepth)) return out;
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array()) return out;
  for (const auto& m : j["manifests"]) {
    if (!m.is_object() || !m.contains("platform") || !m["platform"].is_object()) continue;
    const auto& p = m["platform"];
    std::string text = p.value("os", std::string("?")) + "/" + p.value("architecture", std::string("?"));
    if (p.contains("variant") && p["variant"].is_string()) text += "/" + p["variant"].get<std::string>();
    if (text == "unknown/unknown") continue;  // attestation manifests (BuildKit)
    out.push_back(text);
  }
  return out;
}

// The answer to a failed database read: `not_found` for NotFound, else the database's error.
http::Response MetadataFailure(const Status& s, http::Response not_found) {
  if (s.IsNotFound()) return not_found;
  return MetadataErrorResponse(s);
}

bool IsIndexType(std::string_view media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

}  // namespace

// Who a UI request is for, and what the ACL lets them do.
struct RegistryApi::UiViewer {
  bool open = false;  // auth off: everything is allowed
  std::optional<auth::Identity> identity;
  std::string user;        // "" anonymous
  std::string session_id;  // "" without a (valid) session
  std::string csrf;
  bool Can(const std::string& name, const std::string& action) const {
    return open || identity->Can("repository", name, action);
  }
};

namespace {

// The blocking check that an access-token session's token is still valid.
struct TokenStillValid {
  std::shared_ptr<auth::TokenStore> store;
  std::string id;
  bool operator()() const {
    if (store == nullptr) return false;
    return store->Lookup(id, auth::UnixNow()).ok();
  }
};

}  // namespace

Task<RegistryApi::UiViewer> RegistryApi::UiViewerOf(Exchange& ex) {
  UiViewer v;
  if (access_ == nullptr) {
    v.open = true;
    co_return v;
  }
  auth::AuthService& auth = access_->auth();
  const auth::ClientRequest client = ClientRequestOf(ex);
  const std::string ip = access_->ClientIp(client);
  std::shared_ptr<const auth::AuthPolicy> policy = auth.policy();
  const std::string id(CookieValue(ex.header("Cookie"), kCookie));
  std::optional<ui::Session> session;
  if (!id.empty() && ui_sessions_ != nullptr) session = ui_sessions_->Find(id, auth::UnixNow());
  if (session) {
    // The session holds while the credential it was opened with does.
    bool valid = false;
    const auto yaml_user = policy->users.find(session->user);
    if (!session->token_id.empty()) {
      // (No co_await inside && or ?: : GCC 12.)
      if (yaml_user != policy->users.end()) {
        TokenStillValid check{auth.tokens(), session->token_id};
        valid = co_await http::RunBlocking(db_threads_, std::move(check));
      }
    } else if (!session->fingerprint.empty()) {
      valid = yaml_user != policy->users.end() &&
              auth::ConstantTimeEquals(ui_sessions_->PasswordFingerprint(yaml_user->second), session->fingerprint);
    } else {
      valid = yaml_user == policy->users.end() && policy->directory != nullptr;  // a directory user
    }
    if (!valid) {
      ui_sessions_->Remove(id);
      session.reset();
    }
  }
  if (session) {
    v.user = session->user;
    v.session_id = id;
    v.csrf = session->csrf;
    v.identity = auth::Identity::FromPolicy(&auth, policy, session->user, ip, session->limit);
  } else {
    v.identity = auth::Identity::FromPolicy(&auth, policy, "", ip);
  }
  ex.context().user = v.user;
  co_return v;
}

std::string RegistryApi::UiPullHost(const Exchange& ex) const {
  std::string_view url = options_.public_url;
  if (!url.empty()) {
    if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
    while (!url.empty() && url.back() == '/') url.remove_suffix(1);
    return std::string(url);
  }
  std::string_view host = ex.header("Host");
  const bool safe = !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
  return safe ? std::string(host) : std::string("localhost");
}

// --- pages and assets ---

Task<void> RegistryApi::ServeUiPage(Exchange& ex, const RouteMatch&) { co_await ex.Send(PageResponse(ex, 200)); }

Task<void> RegistryApi::ServeUiRepositoryPage(Exchange& ex, const RouteMatch& m) {
  // A repository the viewer may not pull does not exist for them: 404, as its API answer.
  UiViewer viewer = co_await UiViewerOf(ex);
  const unsigned status = viewer.Can(m.name, "pull") ? 200 : 404;
  co_await ex.Send(PageResponse(ex, status));
}

Task<void> RegistryApi::ServeUiAsset(Exchange& ex, const RouteMatch& m) {
  const ui::Asset* asset = ui::FindAsset(m.arg);
  if (asset == nullptr || asset->name == "index.html") {
    co_await ex.Send(Error(code::kNoSuchEndpoint, "no such file"));
    co_return;
  }
  http::Response r(200);
  r.Set("Content-Type", std::string(asset->content_type));
  r.Set("ETag", std::string(asset->etag));
  r.Set("Vary", "Accept-Encoding");
  // Named by content (index.html asks for ?v=<hash>): cached for a year. Otherwise revalidated.
  r.Set("Cache-Control", QueryParam(ex, "v") == asset->hash ? "public, max-age=31536000, immutable" : "no-cache");
  if (ex.header("If-None-Match") == asset->etag) {
    r.status = 304;
    co_await ex.Send(std::move(r));
    co_return;
  }
  if (AcceptsGzip(ex.header("Accept-Encoding"))) {
    r.Set("Content-Encoding", "gzip");
    r.body = std::string(asset->gzip);
  } else {
    r.body = std::string(asset->bytes);
  }
  co_await ex.Send(std::move(r));
}

// --- the session ---

Task<void> RegistryApi::UiGetSession(Exchange& ex, const RouteMatch&) {
  UiViewer viewer = co_await UiViewerOf(ex);
  nlohmann::json j = {{"user", viewer.user},
                      {"auth", !viewer.open},
                      {"signed_in", !viewer.session_id.empty()},
                      {"csrf", viewer.csrf},
                      {"delete_enabled", options_.delete_enabled}};
  co_await ex.Send(Json(j));
}

namespace {

// What a sign-in asks for: {"user": "...", "password": "..."}.
struct SignInRequest {
  std::string user, password;
};

std::optional<SignInRequest> ParseSignIn(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("user") || !j.contains("password") || !j["user"].is_string() ||
      !j["password"].is_string()) {
    return std::nullopt;
  }
  SignInRequest r{j["user"].get<std::string>(), j["password"].get<std::string>()};
  if (r.user.empty() || r.user.size() > 256 || r.password.size() > 4096) return std::nullopt;
  return r;
}

}  // namespace

Task<void> RegistryApi::UiSignIn(Exchange& ex, const RouteMatch&) {
  if (access_ == nullptr || ui_sessions_ == nullptr) {
    co_await ex.Send(Error(code::kUnsupported, "this registry has no users (auth is off)"));
    co_return;
  }
  if (ex.header(kUiHeader) != "1") {
    co_await ex.Send(Error(code::kForbidden, "sign-in must come from the web UI (X-Berth-UI: 1)"));
    co_return;
  }
  auto body = co_await ex.ReadBodyToString(16 * 1024);
  if (!body.ok()) {
    co_await ex.Send(Error(code::kInvalidParameter, "the sign-in request is too large or malformed"));
    co_return;
  }
  std::optional<SignInRequest> req = ParseSignIn(*body);
  if (!req) {
    co_await ex.Send(Error(code::kInvalidParameter, "expected {\"user\": ..., \"password\": ...}"));
    co_return;
  }
  const auth::ClientRequest client = ClientRequestOf(ex);
  const std::string ip = access_->ClientIp(client);
  const log::RequestFields* fields = &client.log;
  std::shared_ptr<const auth::TokenLimit> limit;
  std::shared_ptr<const auth::TokenLimit>* limit_out = &limit;
  // The same check as Basic credentials: YAML users, the directory, access tokens; throttled.
  auth::AccessController::Login login = co_await access_->CheckLogin(ip, req->user, req->password, fields, limit_out);
  if (login == auth::AccessController::Login::kThrottled) {
    auth::Throttle throttle;
    throttle.retry_after = auth::AccessController::ThrottleRetryAfter();
    co_await ex.Send(ThrottleResponse(throttle));
    co_return;
  }
  if (login == auth::AccessController::Login::kUnavailable) {
    co_await ex.Send(Error(code::kUnavailable, "the user directory cannot be reached; try again later"));
    co_return;
  }
  if (login != auth::AccessController::Login::kOk) {
    obs::Metrics().CountAuthDenial();
    co_await ex.Send(Error(code::kUnauthorized, "wrong user name or password"));
    AuditLoginRefused(ex, ip, req->user);
    co_return;
  }
  ex.context().user = req->user;
  ui::Session s;
  s.user = req->user;
  auto policy = access_->auth().policy();
  const auto yaml_user = policy->users.find(req->user);
  if (limit != nullptr) {
    s.token_id = limit->token_id;
    s.limit = limit;
  } else if (yaml_user != policy->users.end()) {
    s.fingerprint = ui_sessions_->PasswordFingerprint(yaml_user->second);
  }
  const std::string id = ui_sessions_->Create(std::move(s), auth::UnixNow());
  std::string cookie = std::string(kCookie) + "=" + id +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(ui_sessions_->ttl_s());
  if (options_.public_url.rfind("https://", 0) == 0) cookie += "; Secure";
  http::Response r = Json({{"user", req->user}});
  r.Set("Set-Cookie", cookie);
  log::Write(log::Level::kInfo, "ui sign-in", ex.context().LogFields(), {{"ip", ip}});
  co_await ex.Send(std::move(r));
}

Task<void> RegistryApi::UiSignOut(Exchange& ex, const RouteMatch&) {
  UiViewer viewer = co_await UiViewerOf(ex);
  if (!viewer.session_id.empty()) {
    if (!auth::ConstantTimeEquals(ex.header(kCsrfHeader), viewer.csrf)) {
      co_await ex.Send(Error(code::kForbidden, "missing or wrong X-CSRF-Token"));
      co_return;
    }
    ui_sessions_->Remove(viewer.session_id);
  }
  http::Response r = Json(nlohmann::json::object());
  r.Set("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  co_await ex.Send(std::move(r));
}

// --- listings ---

namespace {

struct RepositoryPageCall {
  metadata::MetadataStore* meta;
  metadata::NameFilter filter;
  std::string last;
  size_t n;
  std::function<bool(const std::string&)> visible;
  Result<metadata::RepositoryPage> operator()() const {
    return metadata::ListRepositorySummaries(meta->pool(), filter, last, n, visible);
  }
};

}  // namespace

Task<void> RegistryApi::UiListRepositories(Exchange& ex, const RouteMatch&) {
  UiViewer viewer = co_await UiViewerOf(ex);
  std::function<bool(const std::string&)> visible = [](const std::string&) { return true; };
  if (!viewer.open) {
    // The catalog's rule: everything with registry:catalog:*, else what the ACL lets the viewer pull.
    auto view = std::make_shared<auth::AccessController::CatalogView>(
        access_->CatalogViewOf(*viewer.identity, ClientRequestOf(ex)));
    visible = [view](const std::string& name) { return view->Shows(name); };
  }
  RepositoryPageCall call{&meta_, metadata::NameFilter::Parse(QueryParam(ex, "filter")), QueryParam(ex, "last"),
                          PageSize(ex), std::move(visible)};
  auto page = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!page.ok()) {
    co_await ex.Send(MetadataErrorResponse(page.status()));
    co_return;
  }
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : page->items) {
    items.push_back(
        {{"name", r.name}, {"tags", r.tag_count}, {"size", r.size}, {"last_pushed_at", r.last_pushed_at / 1000}});
  }
  const nlohmann::json answer = {{"repositories", std::move(items)}, {"next", page->next}};
  co_await ex.Send(Json(answer));
}

namespace {

struct TagPageCall {
  metadata::MetadataStore* meta;
  std::string name, filter, last;
  size_t n;
  Result<metadata::TagPage> operator()() const {
    return metadata::ListTagSummaries(meta->pool(), name, filter, last, n);
  }
};

struct RepositoryInfoCall {
  metadata::MetadataStore* meta;
  std::string name;
  Result<metadata::RepositoryInfo> operator()() const { return meta->GetRepository(name); }
};

}  // namespace

Task<void> RegistryApi::UiRepository(Exchange& ex, const RouteMatch& m) {
  UiViewer viewer = co_await UiViewerOf(ex);
  if (!viewer.Can(m.name, "pull")) {
    co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry"));
    co_return;
  }
  RepositoryInfoCall info_call{&meta_, m.name};
  auto info = co_await http::RunBlocking(db_threads_, std::move(info_call));
  if (!info.ok()) {
    http::Response failure =
        MetadataFailure(info.status(), Error(code::kNameUnknown, "repository name not known to registry"));
    co_await ex.Send(std::move(failure));
    co_return;
  }
  TagPageCall call{&meta_, m.name, QueryParam(ex, "filter"), QueryParam(ex, "last"), PageSize(ex)};
  auto page = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!page.ok()) {
    http::Response failure =
        MetadataFailure(page.status(), Error(code::kNameUnknown, "repository name not known to registry"));
    co_await ex.Send(std::move(failure));
    co_return;
  }
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& t : page->items) {
    nlohmann::json platforms = nlohmann::json::array();
    if (IsIndexType(t.media_type)) {
      // The index's own bytes name its platforms (storage, small: a manifest).
      auto digest = oci::Digest::Parse(t.digest);
      if (digest.ok()) {
        oci::Reference ref;
        ref.digest = *digest;
        auto stored = manifests_.Get(m.name, ref);
        if (stored.ok()) platforms = PlatformsOf(stored->body);
      }
    }
    tags.push_back({{"name", t.name},
                    {"digest", t.digest},
                    {"media_type", t.media_type},
                    {"size", t.size},
                    {"pushed_at", t.pushed_at / 1000},
                    {"platforms", std::move(platforms)}});
  }
  nlohmann::json j = {{"name", m.name},
                      {"pull_host", UiPullHost(ex)},
                      {"created_at", info->created_at / 1000},
                      {"last_pushed_at", info->last_pushed_at / 1000},
                      {"can_delete", options_.delete_enabled && viewer.Can(m.name, "delete")},
                      {"can_see_access", !viewer.open && viewer.Can(m.name, "admin")},
                      {"tags", std::move(tags)},
                      {"next", page->next}};
  co_await ex.Send(Json(j));
}

// --- a tag's deletion ---

namespace {

struct EstimateCall {
  metadata::MetadataStore* meta;
  std::string name, tag;
  Result<metadata::DeletionEstimate> operator()() const {
    return metadata::EstimateTagDeletion(meta->pool(), name, tag);
  }
};

}  // namespace

Task<void> RegistryApi::UiTagDeletion(Exchange& ex, const RouteMatch& m) {
  UiViewer viewer = co_await UiViewerOf(ex);
  if (!viewer.Can(m.name, "pull")) {
    co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry"));
    co_return;
  }
  EstimateCall call{&meta_, m.name, m.arg};
  auto e = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!e.ok()) {
    http::Response failure = MetadataFailure(e.status(), Error(code::kManifestUnknown, "tag unknown", "tag", m.arg));
    co_await ex.Send(std::move(failure));
    co_return;
  }
  const nlohmann::json answer = {
      {"tag", m.arg}, {"bytes", e->bytes}, {"blobs", e->blobs}, {"other_tags", e->other_tags}};
  co_await ex.Send(Json(answer));
}

Task<void> RegistryApi::UiDeleteTag(Exchange& ex, const RouteMatch& m) {
  UiViewer viewer = co_await UiViewerOf(ex);
  if (!viewer.Can(m.name, "pull")) {
    co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry"));
    co_return;
  }
  if (!viewer.open && (viewer.session_id.empty() || !auth::ConstantTimeEquals(ex.header(kCsrfHeader), viewer.csrf))) {
    co_await ex.Send(Error(code::kForbidden, "missing or wrong X-CSRF-Token"));
    co_return;
  }
  if (!viewer.Can(m.name, "delete")) {
    co_await ex.Send(Error(code::kForbidden, "requested access to the resource is denied"));
    co_return;
  }
  if (!options_.delete_enabled) {
    co_await ex.Send(Error(code::kUnsupported, "deletes are disabled on this registry"));
    co_return;
  }
  auto ref = oci::Reference::Parse(m.arg);
  if (!ref.ok() || ref->is_digest()) {
    co_await ex.Send(Error(code::kManifestInvalid, "not a tag", "tag", m.arg));
    co_return;
  }
  // The same removal as DELETE /v2/<name>/manifests/<tag>: rows first, then
  // storage, under the lock; an immutable tag's policy refuses it the same way.
  auto refusal = std::make_shared<std::string>();
  Status s = co_await RemoveManifest(m.name, *ref, refusal);
  if (!refusal->empty()) {
    co_await ex.Send(Error(code::kForbidden, *refusal));
    co_return;
  }
  if (s.IsNotFound()) {
    co_await ex.Send(Error(code::kManifestUnknown, "tag unknown", "tag", m.arg));
    co_return;
  }
  if (!s.ok()) {
    co_await ex.Send(WriteErrorResponse(s));
    co_return;
  }
  // The same event as DELETE /v2/<name>/manifests/<tag> (the route's notify).
  events::Target target;
  target.tag = ref->tag;
  const std::string path = "/v2/" + m.name + "/manifests/" + ref->tag;
  Status recorded = co_await Notify(ex, m, std::move(target), path);
  if (!recorded.ok()) {
    co_await ex.Send(Error(code::kUnavailable, recorded.message()));
    co_return;
  }
  const nlohmann::json answer = {{"deleted", m.arg}};
  co_await ex.Send(Json(answer));
}

// --- a manifest ---

namespace {

struct ReferrersOfCall {
  metadata::MetadataStore* meta;
  std::string name, subject;
  Result<std::vector<metadata::ReferrerInfo>> operator()() const { return meta->ListReferrers(name, subject, ""); }
};

}  // namespace

Task<void> RegistryApi::UiManifest(Exchange& ex, const RouteMatch& m) {
  UiViewer viewer = co_await UiViewerOf(ex);
  if (!viewer.Can(m.name, "pull")) {
    co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry"));
    co_return;
  }
  auto ref = oci::Reference::Parse(m.arg);
  if (!ref.ok()) {
    co_await ex.Send(Error(code::kManifestInvalid, "invalid reference", "reference", m.arg));
    co_return;
  }
  auto stored = manifests_.Get(m.name, *ref);
  if (!stored.ok()) {
    http::Response failure = Error(code::kManifestUnknown, "manifest unknown");
    if (!stored.status().IsNotFound()) failure = StorageErrorResponse(stored.status());
    co_await ex.Send(std::move(failure));
    co_return;
  }
  nlohmann::json manifest = nullptr;
  if (!oci::JsonTooDeep(stored->body, oci::kMaxJsonDepth)) {
    manifest = nlohmann::json::parse(stored->body, nullptr, /*allow_exceptions=*/false);
  }
  if (manifest.is_discarded()) manifest = nullptr;
  // An image's config (created, entrypoint, env, labels, history...), when small.
  nlohmann::json config = nullptr;
  if (manifest.is_object() && manifest.contains("config") && manifest["config"].is_object() &&
      manifest["config"].value("mediaType", std::string()).find("image.config") != std::string::npos) {
    auto digest = oci::Digest::Parse(manifest["config"].value("digest", std::string()));
    if (digest.ok()) {
      auto size = blobs_.StatInRepository(m.name, *digest);
      if (size.ok() && *size <= kMaxConfigBytes) {
        auto bytes = blobs_.GetSmall(*digest);
        if (bytes.ok() && !oci::JsonTooDeep(*bytes, oci::kMaxJsonDepth)) {
          config = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
          if (config.is_discarded()) config = nullptr;
        }
      }
    }
  }
  ReferrersOfCall call{&meta_, m.name, stored->digest.str()};
  auto referrers = co_await http::RunBlocking(db_threads_, std::move(call));
  nlohmann::json refs = nlohmann::json::array();
  if (referrers.ok()) {
    for (const auto& d : *referrers) {
      nlohmann::json r = {
          {"digest", d.digest}, {"media_type", d.media_type}, {"size", d.size}, {"artifact_type", d.artifact_type}};
      if (!d.annotations.empty()) {
        auto a = nlohmann::json::parse(d.annotations, nullptr, /*allow_exceptions=*/false);
        if (a.is_object()) r["annotations"] = std::move(a);
      }
      refs.push_back(std::move(r));
    }
  }
  nlohmann::json j = {{"name", m.name},
                      {"reference", m.arg},
                      {"digest", stored->digest.str()},
                      {"media_type", stored->media_type},
                      {"size", stored->body.size()},
                      {"pull_host", UiPullHost(ex)},
                      {"manifest", std::move(manifest)},
                      {"config", std::move(config)},
                      {"referrers", std::move(refs)},
                      {"raw", stored->body}};
  co_await ex.Send(Json(j));
}

// --- who may access a repository ---

Task<void> RegistryApi::UiAccess(Exchange& ex, const RouteMatch& m) {
  UiViewer viewer = co_await UiViewerOf(ex);
  if (!viewer.Can(m.name, "pull")) {
    co_await ex.Send(Error(code::kNameUnknown, "repository name not known to registry"));
    co_return;
  }
  if (viewer.open || !viewer.Can(m.name, "admin")) {
    co_await ex.Send(Error(code::kForbidden, "seeing who may access a repository needs the admin action on it"));
    co_return;
  }
  // The entries that can decide for this repository, in the order the ACL tries them
  // (the first that matches a request decides: `berth acl explain`).
  auto policy = access_->auth().policy();
  nlohmann::json entries = nlohmann::json::array();
  for (const auth::AclEntry& e : policy->acl.entries()) {
    if (e.type && *e.type != "repository") continue;
    const bool depends = e.name && e.name->text().find("${") != std::string::npos;
    if (e.name && !depends && !e.name->Matches(m.name)) continue;
    std::string account = "(any signed-in user)";
    if (e.group) {
      account = "@" + *e.group;
    } else if (e.anonymous_only) {
      account = "(anonymous)";
    } else if (e.account) {
      account = e.account->text();
    }
    entries.push_back({{"line", e.line},
                       {"account", account},
                       {"name", e.name ? e.name->text() : std::string("(any)")},
                       {"name_depends_on_account", depends},
                       {"actions", e.actions},
                       {"ip_ranges", e.ips.size()},  // restricted to some client addresses when > 0
                       {"comment", e.comment}});
  }
  const nlohmann::json answer = {{"name", m.name}, {"entries", std::move(entries)}};
  co_await ex.Send(Json(answer));
}

// --- storage ---

namespace {

// A policy's quota as the storage page shows it.
struct QuotaUsage {
  std::string policy;  // its label: policies[0] "myorg/**"
  int64_t used = 0;
  int64_t limit = 0;
};

struct UsageCall {
  metadata::MetadataStore* meta;
  std::function<bool(const std::string&)> visible;
  bool totals = false;
  std::shared_ptr<const policy::PolicySet> policies;  // null: none
  struct Out {
    Result<std::vector<metadata::NamespaceUsage>> usage = Status::Ok();
    std::optional<metadata::StoreTotals> totals;
    std::vector<QuotaUsage> quotas;
  };
  std::shared_ptr<Out> operator()() const {
    auto out = std::make_shared<Out>();
    out->usage = metadata::UsageByNamespace(meta->pool(), visible);
    if (totals) {
      auto t = metadata::StoreTotalsOf(meta->pool());
      if (t.ok()) out->totals = *t;
    }
    if (policies == nullptr) return out;
    // A quota is shown to whoever sees the whole catalog, or may pull one of
    // the repositories it governs (its usage is the whole policy's: the figure
    // the push of any of them is checked against).
    for (const policy::Policy& p : policies->policies()) {
      if (!p.quota_bytes) continue;
      if (!totals) {
        auto governed = policy::GovernedRepositories(*meta, *policies, p);
        if (!governed.ok() || std::none_of(governed->begin(), governed->end(), visible)) continue;
      }
      auto used = policy::PolicyUsage(*meta, *policies, p);
      if (!used.ok()) continue;
      out->quotas.push_back({p.Label(), used->bytes, *p.quota_bytes});
    }
    return out;
  }
};

}  // namespace

Task<void> RegistryApi::UiStorage(Exchange& ex, const RouteMatch&) {
  UiViewer viewer = co_await UiViewerOf(ex);
  std::function<bool(const std::string&)> visible = [](const std::string&) { return true; };
  bool all = viewer.open;
  if (!viewer.open) {
    auto view = std::make_shared<auth::AccessController::CatalogView>(
        access_->CatalogViewOf(*viewer.identity, ClientRequestOf(ex)));
    all = view->all();
    visible = [view](const std::string& name) { return view->Shows(name); };
  }
  UsageCall call{&meta_, std::move(visible), all, Policies()};
  auto out = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!out->usage.ok()) {
    co_await ex.Send(MetadataErrorResponse(out->usage.status()));
    co_return;
  }
  nlohmann::json namespaces = nlohmann::json::array();
  for (const auto& u : *out->usage) {
    namespaces.push_back({{"name", u.name}, {"repositories", u.repositories}, {"bytes", u.bytes}});
  }
  nlohmann::json quotas = nlohmann::json::array();
  for (const auto& q : out->quotas) quotas.push_back({{"policy", q.policy}, {"used", q.used}, {"limit", q.limit}});
  nlohmann::json j = {
      {"namespaces", std::move(namespaces)}, {"quotas", std::move(quotas)}, {"totals", nullptr}, {"gc", nullptr}};
  // The whole store and garbage collection are shown to those who see the whole catalog.
  if (out->totals) {
    j["totals"] = {
        {"blobs", out->totals->blobs}, {"bytes", out->totals->bytes}, {"repositories", out->totals->repositories}};
    // This process's online GC (storage.gc), from its metrics; null when it never ran here.
    const obs::BerthMetrics::GcSummary gc = obs::Metrics().Gc();
    if (gc.successes + gc.failures + gc.skipped > 0) {
      j["gc"] = {{"runs_succeeded", gc.successes},
                 {"runs_failed", gc.failures},
                 {"runs_skipped", gc.skipped},
                 {"blobs_deleted", gc.blobs_deleted},
                 {"manifests_deleted", gc.manifests_deleted},
                 {"bytes_freed", gc.bytes_freed},
                 {"last_duration_s", gc.last_duration_s},
                 {"last_success_at", static_cast<int64_t>(gc.last_success_unix_s)}};
    }
  }
  co_await ex.Send(Json(j));
}

}  // namespace berth::registry
