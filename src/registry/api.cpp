#include "registry/api.h"

#include "observability/berth_metrics.h"
#include "observability/metrics.h"
#include "oci/name.h"
#include "registry/errors.h"

namespace berth::registry {
using boost::beast::http::verb;

RegistryApi::RegistryApi(storage::StorageDriver& driver, RegistryOptions options, auth::AccessController* access)
    : driver_(driver), blobs_(driver), uploads_(driver, blobs_), manifests_(driver, blobs_), options_(options),
      access_(access) {
  if (access_ != nullptr) tokens_ = std::make_unique<auth::TokenService>(*access_);
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

http::Response MethodNotAllowed(Endpoint e) {
  auto r = Error(code::kUnsupported, "method not allowed for this endpoint");
  const char* allow = "GET, HEAD";
  switch (e) {
    case Endpoint::kManifest: allow = "GET, HEAD, PUT, DELETE"; break;
    case Endpoint::kBlob: allow = "GET, HEAD, DELETE"; break;
    case Endpoint::kUploadStart: allow = "POST"; break;
    case Endpoint::kUpload: allow = "GET, PATCH, PUT, DELETE"; break;
    default: break;
  }
  r.Set("Allow", allow);
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

namespace {

http::RouteLabel RouteLabelOf(Endpoint e) {
  switch (e) {
    case Endpoint::kBase: return http::RouteLabel::kBase;
    case Endpoint::kCatalog: return http::RouteLabel::kCatalog;
    case Endpoint::kTags: return http::RouteLabel::kTags;
    case Endpoint::kManifest: return http::RouteLabel::kManifest;
    case Endpoint::kBlob: return http::RouteLabel::kBlob;
    case Endpoint::kUploadStart:
    case Endpoint::kUpload: return http::RouteLabel::kUpload;
    case Endpoint::kReferrers: return http::RouteLabel::kReferrers;
    case Endpoint::kNotFound: break;
  }
  return http::RouteLabel::kOther;
}

// The ACL action a request exercises (as NeededScopes asks for it).
std::string_view ActionOf(verb m, Endpoint e) {
  if (e == Endpoint::kBase) return "";
  if (e == Endpoint::kCatalog) return "catalog";
  if (m == verb::get || m == verb::head) return "pull";
  if (m == verb::delete_) return "delete";
  return "push";
}

}  // namespace

Task<void> RegistryApi::Handle(Exchange& ex) {
  std::vector<std::string> segments;
  for (auto seg : ex.url().segments()) segments.push_back(seg);
  const bool token_path = (segments.size() == 2 && segments[0] == "v2" && segments[1] == "token") ||
                          (segments.size() == 1 && segments[0] == "token");
  http::RequestContext& ctx = ex.context();
  if (token_path && tokens_) {
    ctx.route = http::RouteLabel::kToken;
    ctx.action = "token";
    if (ex.method() != verb::get && ex.method() != verb::post) {
      co_await ex.Send(Error(code::kUnsupported, "use GET or POST"));
      co_return;
    }
    co_await ServeToken(ex);
    co_return;
  }
  // Liveness and readiness probes: outside /v2/, no authentication.
  if (segments.size() == 1 && (segments[0] == "healthz" || segments[0] == "readyz")) {
    ctx.route = segments[0] == "readyz" ? http::RouteLabel::kReadyz : http::RouteLabel::kHealthz;
    co_await ServeProbe(ex, segments[0] == "readyz");
    co_return;
  }
  if (segments.size() == 1 && segments[0] == "metrics" && options_.metrics_enabled) {
    ctx.route = http::RouteLabel::kMetrics;
    ctx.action = "metrics";
    if (access_ != nullptr && !options_.metrics_public) {
      const std::vector<auth::Scope> needed = {auth::Scope{"registry", "metrics", {"*"}}};
      auto identity = co_await CheckAccess(ex, needed);
      if (!identity) co_return;
    }
    co_await ServeMetrics(ex);
    co_return;
  }
  Route route = MatchRoute(segments);
  if (route.endpoint == Endpoint::kNotFound) {
    co_await ex.Send(Error(code::kNoSuchEndpoint, "no such endpoint"));
    co_return;
  }
  ctx.route = RouteLabelOf(route.endpoint);
  if (route.endpoint != Endpoint::kBase && route.endpoint != Endpoint::kCatalog) {
    if (!oci::IsValidRepositoryName(route.name)) {
      co_await ex.Send(
          Error(code::kNameInvalid, "invalid repository name", "name", route.name.substr(0, 256)));
      co_return;
    }
    ctx.repository = route.name;
  }
  ctx.action = ActionOf(ex.method(), route.endpoint);
  if (access_ == nullptr) {
    co_await Dispatch(ex, route, nullptr);
    AfterDispatch(ex, route);
    co_return;
  }
  const std::vector<auth::Scope> needed = NeededScopes(ex, route);
  auto identity = co_await CheckAccess(ex, needed);
  if (!identity) co_return;  // refused and answered
  co_await Dispatch(ex, route, &*identity);
  AfterDispatch(ex, route);
}

Task<void> RegistryApi::HandleDebug(Exchange& ex) {
  const auto segs = ex.url().segments();
  const std::string path = segs.size() == 1 ? std::string(*segs.begin()) : std::string();
  if (path == "metrics") {
    ex.context().route = http::RouteLabel::kMetrics;
    co_await ServeMetrics(ex);
  } else if (path == "healthz" || path == "readyz") {
    ex.context().route = path == "readyz" ? http::RouteLabel::kReadyz : http::RouteLabel::kHealthz;
    co_await ServeProbe(ex, path == "readyz");
  } else {
    http::Response r(404);
    r.Set("Content-Type", "text/plain; charset=utf-8");
    r.body = "not found: this listener serves only /metrics, /healthz and /readyz\n";
    co_await ex.Send(std::move(r));
  }
}

Task<void> RegistryApi::ServeMetrics(Exchange& ex) {
  if (ex.method() != verb::get && ex.method() != verb::head) {
    http::Response r(405);
    r.Set("Allow", "GET, HEAD");
    co_await ex.Send(std::move(r));
    co_return;
  }
  http::Response r(200);
  r.Set("Content-Type", std::string(obs::TextExposition::kContentType));
  r.Set("Cache-Control", "no-store");
  r.body = obs::Metrics().Render();
  co_await ex.Send(std::move(r));
}

Task<void> RegistryApi::ServeProbe(Exchange& ex, bool readiness) {
  http::Response r(200);
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.Set("Cache-Control", "no-store");
  r.body = "ok\n";
  if (readiness) {
    // Ready means the storage answers and takes writes.
    if (Status s = driver_.CheckWritable(); !s.ok()) {
      r.status = 503;
      r.body = s.message() + "\n";
    }
  }
  co_await ex.Send(std::move(r));
}

Task<std::optional<auth::Identity>> RegistryApi::CheckAccess(Exchange& ex, const std::vector<auth::Scope>& needed) {
  const auth::ClientRequest client = ClientRequestOf(ex);
  auth::AccessDecision decision = co_await access_->Authorize(client, needed);
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
  co_await ex.Send(std::move(refusal));
  AuditDenied(ex);
  co_return std::nullopt;
}

std::vector<auth::Scope> RegistryApi::NeededScopes(const Exchange& ex, const Route& route) const {
  if (route.endpoint == Endpoint::kBase) return {};
  if (route.endpoint == Endpoint::kCatalog) return {auth::Scope{"registry", "catalog", {"*"}}};
  const verb m = ex.method();
  std::string action = "push";
  if (m == verb::get || m == verb::head) action = "pull";
  if (m == verb::delete_) action = "delete";
  return {auth::Scope{"repository", route.name, {action}}};
}

Task<void> RegistryApi::Dispatch(Exchange& ex, const Route& route, const auth::Identity* identity) {
  const verb m = ex.method();
  const bool read = m == verb::get || m == verb::head;
  switch (route.endpoint) {
    case Endpoint::kBase:
      if (!read) break;
      {
        http::Response r(200);
        r.Set("Content-Type", "application/json");
        r.body = "{}";
        co_await ex.Send(std::move(r));
      }
      co_return;
    case Endpoint::kCatalog:
      if (!read) break;
      co_await ListCatalog(ex);
      co_return;
    case Endpoint::kTags:
      if (!read) break;
      co_await ListTags(ex, route.name);
      co_return;
    case Endpoint::kReferrers:
      if (!read) break;
      co_await ListReferrers(ex, route.name, route.arg);
      co_return;
    case Endpoint::kManifest:
      if (read) {
        co_await GetManifest(ex, route.name, route.arg);
      } else if (m == verb::put) {
        co_await PutManifest(ex, route.name, route.arg);
      } else if (m == verb::delete_) {
        co_await DeleteManifest(ex, route.name, route.arg);
      } else {
        break;
      }
      co_return;
    case Endpoint::kBlob: {
      if (!read && m != verb::delete_) break;
      auto digest = oci::Digest::Parse(route.arg);
      if (!digest.ok()) {
        co_await ex.Send(Error(code::kDigestInvalid, digest.status().message(), "digest", route.arg));
        co_return;
      }
      if (read) {
        co_await GetBlob(ex, route.name, *digest);
      } else {
        co_await DeleteBlob(ex, route.name, *digest);
      }
      co_return;
    }
    case Endpoint::kUploadStart:
      if (m != verb::post) break;
      {
        // A mount also reads the source repository: without pull there, no mount.
        const std::string from = QueryParam(ex, "from");
        const bool may_mount = identity == nullptr || identity->Can("repository", from, "pull");
        co_await StartUpload(ex, route.name, may_mount);
      }
      co_return;
    case Endpoint::kUpload:
      if (!storage::IsValidUploadId(route.arg)) {
        co_await ex.Send(Error(code::kBlobUploadUnknown, "upload unknown"));
        co_return;
      }
      if (m == verb::get) {
        co_await GetUploadStatus(ex, route.name, route.arg);
      } else if (m == verb::patch) {
        co_await PatchUpload(ex, route.name, route.arg);
      } else if (m == verb::put) {
        co_await PutUpload(ex, route.name, route.arg);
      } else if (m == verb::delete_) {
        co_await CancelUpload(ex, route.name, route.arg);
      } else {
        break;
      }
      co_return;
    case Endpoint::kNotFound:
      break;
  }
  co_await ex.Send(MethodNotAllowed(route.endpoint));
}

}  // namespace berth::registry
