#include "registry/api.h"

#include "observability/berth_metrics.h"
#include "observability/metrics.h"
#include "oci/name.h"
#include "registry/errors.h"

namespace berth::registry {
using boost::beast::http::verb;

namespace {

// The path parameter the route's pattern names, checked before its handler
// runs (RouteMatch::digest is set here). The error to answer, if invalid.
std::optional<http::Response> CheckParameter(RouteMatch* m) {
  switch (m->param) {
    case Param::kDigest: {
      auto digest = oci::Digest::Parse(m->arg);
      if (!digest.ok()) return Error(code::kDigestInvalid, digest.status().message(), "digest", m->arg);
      m->digest = *digest;
      break;
    }
    case Param::kUploadId:
      if (!storage::IsValidUploadId(m->arg)) return Error(code::kBlobUploadUnknown, "upload unknown");
      break;
    case Param::kReference:  // a tag or a digest: the manifest handlers tell which
    case Param::kNone: break;
  }
  return std::nullopt;
}

// "/metrics, /healthz and /readyz"
std::string PathList(const Router& router) {
  std::string list;
  const auto& routes = router.routes();
  for (size_t i = 0; i < routes.size(); ++i) {
    if (i > 0) list += i + 1 == routes.size() ? " and " : ", ";
    list += routes[i]->paths[0];
  }
  return list;
}

}  // namespace

RegistryApi::RegistryApi(storage::StorageDriver& driver, metadata::MetadataStore& meta,
                         boost::asio::thread_pool& db_threads, RegistryOptions options, auth::AccessController* access)
    : driver_(driver),
      meta_(meta),
      db_threads_(db_threads),
      blobs_(driver),
      uploads_(driver, blobs_),
      manifests_(driver, blobs_),
      options_(options),
      access_(access) {
  if (access_ != nullptr) tokens_ = std::make_unique<auth::TokenService>(*access_);
  if (access_ != nullptr && options_.ui_enabled) {
    ui_sessions_ = std::make_unique<ui::SessionStore>(options_.ui_session_ttl_s);
  }
  for (const Route& route : RegistryRoutes()) {
    if ((route.listeners & listener::kMain) != 0 && Enabled(route)) main_routes_.Add(route, RouteLabelOf(route));
    if ((route.listeners & listener::kDebug) != 0) debug_routes_.Add(route, RouteLabelOf(route));
  }
  debug_not_found_ = "not found: this listener serves only " + PathList(debug_routes_) + "\n";
  const auto labels = RouteLabelNames();
  obs::Metrics().SetRouteLabels(std::vector<std::string_view>(labels.begin(), labels.end()));
  obs::Metrics().SetUploadsInProgressSource([this] { return static_cast<int64_t>(uploads_.InProgress()); });
  // Always: the debug listener serves /metrics even when the main port does not.
  storage_usage_ = std::make_unique<obs::StorageUsage>(driver_);
  obs::Metrics().SetStorageUsage(storage_usage_.get());
}

RegistryApi::~RegistryApi() {
  obs::Metrics().SetUploadsInProgressSource(nullptr);
  obs::Metrics().SetStorageUsage(nullptr);
}

http::Response RegistryApi::ServerError(unsigned status, std::string_view message) const {
  return ServerErrorResponse(status, message);
}

std::string QueryParam(const Exchange& ex, std::string_view key) {
  auto params = ex.url().params();
  auto it = params.find(key);
  if (it == params.end() || !(*it).has_value) return "";
  return (*it).value;
}

bool HasQueryParam(const Exchange& ex, std::string_view key) { return ex.url().params().contains(key); }

http::Response MethodNotAllowed(const Route& route) {
  auto r = Error(code::kUnsupported, "method not allowed for this endpoint");
  r.Set("Allow", route.Allow());
  return r;
}

auth::ClientRequest ClientRequestOf(const Exchange& ex) {
  auth::ClientRequest r;
  r.authorization = ex.header("Authorization");
  r.host = ex.header("Host");
  r.forwarded_for = ex.header("X-Forwarded-For");
  r.forwarded_proto = ex.header("X-Forwarded-Proto");
  r.forwarded_host = ex.header("X-Forwarded-Host");
  r.remote_address = ex.remote_address();
  r.log = ex.context().LogFields();
  return r;
}

std::string UploadLocation(const std::string& name, const std::string& uuid) {
  return "/v2/" + name + "/blobs/uploads/" + uuid;
}

std::string RangeHeader(int64_t size) { return "0-" + std::to_string(size > 0 ? size - 1 : 0); }

bool RegistryApi::Enabled(const Route& route) const {
  switch (route.feature) {
    case Feature::kNone: return true;
    case Feature::kTokenServer: return access_ != nullptr;
    case Feature::kMetrics: return options_.metrics_enabled;
    case Feature::kUi: return options_.ui_enabled;
  }
  return false;
}

bool RegistryApi::IsPublic(const Route& route) const {
  return route.access == Access::kPublic || route.access == Access::kSession || (route.feature == Feature::kMetrics && options_.metrics_public);
}

Task<void> RegistryApi::Handle(Exchange& ex) { co_await Serve(ex, main_routes_, false); }

Task<void> RegistryApi::HandleDebug(Exchange& ex) { co_await Serve(ex, debug_routes_, true); }

Task<void> RegistryApi::Serve(Exchange& ex, const Router& router, bool debug) {
  std::vector<std::string> segments;
  for (auto seg : ex.url().segments()) segments.push_back(seg);
  RouteMatch m = router.Match(segments);
  if (m.route == nullptr) {
    http::Response r = Error(code::kNoSuchEndpoint, "no such endpoint");
    if (debug) {
      r = http::Response(404);
      r.Set("Content-Type", "text/plain; charset=utf-8");
      r.body = debug_not_found_;
    }
    co_await ex.Send(std::move(r));
    co_return;
  }
  http::RequestContext& ctx = ex.context();
  ctx.route = m.label;
  if (m.has_name) {
    // Before anything else: the access check names the repository in its scope.
    if (!oci::IsValidRepositoryName(m.name)) {
      co_await ex.Send(Error(code::kNameInvalid, "invalid repository name", "name", m.name.substr(0, 256)));
      co_return;
    }
    ctx.repository = m.name;
  }
  const MethodHandler* method = m.route->Find(ex.method());
  if (method != nullptr) ctx.action = method->action;
  std::optional<auth::Identity> identity;
  if (!debug && access_ != nullptr && !IsPublic(*m.route)) {
    const std::vector<auth::Scope> needed = NeededScopes(m, method);
    const std::vector<auth::Scope> wanted = WantedScopes(m, method, ex.url());
    identity = co_await CheckAccess(ex, needed, wanted);
    if (!identity) co_return;  // refused and answered
    m.identity = &*identity;
  }
  if (method == nullptr) {
    co_await ex.Send(MethodNotAllowed(*m.route));
    co_return;
  }
  m.method = method;
  if (auto invalid = CheckParameter(&m)) {
    co_await ex.Send(std::move(*invalid));
  } else {
    co_await (this->*method->handler)(ex, m);
  }
  AfterDispatch(ex, m, *method);
}

Task<std::optional<auth::Identity>> RegistryApi::CheckAccess(Exchange& ex, const std::vector<auth::Scope>& needed,
                                                             const std::vector<auth::Scope>& wanted) {
  const auth::ClientRequest client = ClientRequestOf(ex);
  auth::AccessDecision decision = co_await access_->Authorize(client, needed, wanted);
  if (auto* identity = std::get_if<auth::Identity>(&decision)) {
    ex.context().user = identity->account();  // for the access log and audit lines
    co_return std::move(*identity);
  }
  http::Response refusal;
  if (auto* challenge = std::get_if<auth::Challenge>(&decision)) {
    ex.context().user = challenge->account;  // who was denied, when authenticated
    refusal = ChallengeResponse(*challenge);
  } else {
    refusal = ThrottleResponse(std::get<auth::Throttle>(decision));
  }
  // Counted before the answer leaves, so that a client that saw its refusal
  // also sees it counted (the audit line needs the status, so it follows).
  obs::Metrics().CountAuthDenial();
  co_await ex.Send(std::move(refusal));
  AuditDenied(ex);
  co_return std::nullopt;
}

Task<void> RegistryApi::ServeBase(Exchange& ex, const RouteMatch&) {
  http::Response r(200);
  r.Set("Content-Type", "application/json");
  r.body = "{}";
  co_await ex.Send(std::move(r));
}

Task<void> RegistryApi::ServeMetrics(Exchange& ex, const RouteMatch&) {
  http::Response r(200);
  r.Set("Content-Type", std::string(obs::TextExposition::kContentType));
  r.Set("Cache-Control", "no-store");
  r.body = obs::Metrics().Render();
  r.body += co_await QuotaMetrics();
  co_await ex.Send(std::move(r));
}

namespace {

http::Response ProbeResponse() {
  http::Response r(200);
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.Set("Cache-Control", "no-store");
  r.body = "ok\n";
  return r;
}

}  // namespace

Task<void> RegistryApi::ServeHealthz(Exchange& ex, const RouteMatch&) { co_await ex.Send(ProbeResponse()); }

Task<void> RegistryApi::ServeReadyz(Exchange& ex, const RouteMatch&) {
  http::Response r = ProbeResponse();
  // Ready means the storage answers and takes writes.
  if (Status s = driver_.CheckWritable(); !s.ok()) {
    r.status = 503;
    r.body = s.message() + "\n";
  }
  co_await ex.Send(std::move(r));
}

}  // namespace berth::registry
