// The route table's entry type and its path matcher.
//
// Every endpoint Berth serves is one Route (the table is in routes.cpp): its
// path patterns, the handler of each method with the action it needs and the
// audit event it records, who may call it, and its metrics label -- in the
// spirit of distribution's registry/handlers/app.go (`app.register(route,
// dispatcher)`) and blob.go (`handlers.MethodHandler{"GET": ..., "DELETE": ...}`).
// RegistryApi (api.cpp) serves a request by matching it here, checking the
// access the entry asks for and calling the method's handler; the 405 `Allow`
// header, the scopes and the audit event all come from the entry.
//
// Path patterns are segments: literals, `{name}` (one or more segments: the
// repository, validated before anything else), and at most one one-segment
// parameter: `{reference}` (a tag or digest, the handler parses it), `{digest}`
// (parsed before the handler runs: 400 DIGEST_INVALID) or `{uuid}` (an upload
// id: 404 BLOB_UPLOAD_UNKNOWN when malformed). Repository names contain '/', so
// a pattern with `{name}` matches its literal prefix from the start of the path
// and the rest from the end.
//
// Pure values; a Router is immutable once built and safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/url/url_view.hpp>

#include "auth/scope.h"
#include "http/request_context.h"
#include "http/task.h"
#include "oci/digest.h"

namespace berth::http {
class Exchange;
}  // namespace berth::http
namespace berth::auth {
class Identity;
}  // namespace berth::auth

namespace berth::registry {

class RegistryApi;
struct RouteMatch;

// HTTP methods as a bit set.
using MethodSet = uint8_t;
namespace method {
inline constexpr MethodSet kGet = 1 << 0;
inline constexpr MethodSet kHead = 1 << 1;
inline constexpr MethodSet kPost = 1 << 2;
inline constexpr MethodSet kPut = 1 << 3;
inline constexpr MethodSet kPatch = 1 << 4;
inline constexpr MethodSet kDelete = 1 << 5;
inline constexpr MethodSet kOther = 1 << 6;  // OPTIONS, PROPFIND, ...
inline constexpr MethodSet kAny = 0xFF;
}  // namespace method
MethodSet MethodBit(boost::beast::http::verb m);

// Who may call a route (when auth is on).
enum class Access : uint8_t {
  kPublic,         // anyone, no credentials (the token endpoint, probes)
  kAuthenticated,  // any valid credentials (GET /v2/, the spec's authentication check)
  kRepository,     // scope repository:<name>:<the method's action>
  kRegistry,       // scope registry:<Route::resource>:*
  kSession,        // the web UI: no check here; the handler resolves the session cookie to
                   // the signed-in (or anonymous) user and asks the ACL (registry/ui_api.cpp)
};

// A configuration switch a route depends on.
enum class Feature : uint8_t {
  kNone,
  kTokenServer,  // served only when auth is on (auth.mode: token)
  kMetrics,      // on the main port only with metrics.enabled; public there with metrics.public
  kUi,           // the web UI: only with ui.enabled (docs/ui.md)
};

// Which listeners serve a route (a bit set).
using ListenerSet = uint8_t;
namespace listener {
inline constexpr ListenerSet kMain = 1 << 0;   // server.addr
inline constexpr ListenerSet kDebug = 1 << 1;  // server.debug_addr: no authentication at all
}  // namespace listener

// What a request that changed the registry did: an audit line now, a webhook
// event later.
struct AuditEvent {
  std::string_view event;    // push | delete
  std::string_view target;   // manifest | blob | mount | upload
  std::string_view ref_key;  // reference | digest | upload
  std::string ref;
};

using RouteHandler = http::Task<void> (RegistryApi::*)(http::Exchange& ex, const RouteMatch& match);
// The event a finished request records, if any (it may depend on the query and the status).
using EventOf = std::optional<AuditEvent> (*)(const http::Exchange& ex, const RouteMatch& match);
// The webhook event (docs/events.md) a successful request of this method sends:
// distribution's action (push, pull, delete, mount), or empty for none. The
// handler calls RegistryApi::Notify with what it touched; the action comes from here.
using NotifyOf = std::string_view (*)(const http::Exchange& ex, const RouteMatch& match);
// Scopes a request reads when granted but can do without, worked out from the
// request (a cross-repository mount reads repository:<from>:pull, the catalog
// registry:catalog:*): a token that does not name them is challenged for them
// (auth::AccessController::Authorize), the handler asks the Identity.
using ExtraScopesOf = std::vector<auth::Scope> (*)(const RouteMatch& match, const boost::urls::url_view& url);

// One method (or several) of a route and what it takes.
struct MethodHandler {
  MethodSet methods = 0;
  RouteHandler handler = nullptr;
  // What the method does: the action of a repository scope (pull, push,
  // delete), and for every route the `action` field of its log lines.
  std::string_view action{};
  EventOf event = nullptr;
  ExtraScopesOf extra_scopes = nullptr;
  NotifyOf notify = nullptr;
};

struct Route {
  // The value of the metrics' `route` label (never a raw path); routes of one
  // kind share it (/v2/token and /token, the two upload routes).
  std::string_view label{};
  std::array<std::string_view, 2> paths{};  // path patterns (the second may be empty)
  Access access = Access::kRepository;
  std::string_view resource{};  // Access::kRegistry: the scope's name (catalog, metrics)
  std::array<MethodHandler, 4> methods{};
  Feature feature = Feature::kNone;
  ListenerSet listeners = listener::kMain;

  // The handler of `m`, or null (405).
  const MethodHandler* Find(boost::beast::http::verb m) const;
  // The methods served, for the 405's Allow header: "GET, HEAD, PUT, DELETE".
  std::string Allow() const;
};

// The one-segment parameter a pattern names.
enum class Param : uint8_t { kNone, kReference, kDigest, kUploadId };

// A request matched to a route; the dispatcher validates and completes it.
struct RouteMatch {
  const Route* route = nullptr;  // null: no route matches the path
  http::RouteLabel label;        // the route's metrics label
  bool has_name = false;         // the pattern has {name}
  std::string name;              // {name}: the repository
  Param param = Param::kNone;
  std::string arg;                           // the one-segment parameter, as in the path
  std::optional<oci::Digest> digest;         // {digest}: `arg` parsed (set by the dispatcher)
  const auth::Identity* identity = nullptr;  // who asks; null when auth is off or the route is public
  const MethodHandler* method = nullptr;     // the method's entry (set by the dispatcher before the handler runs)
};

class Router {
 public:
  // Adds `route`'s patterns; `route` must outlive the router. A malformed
  // pattern is a programming error: std::invalid_argument.
  void Add(const Route& route, http::RouteLabel label);

  // The route the percent-decoded path `segments` match ("/v2/a/b/" is
  // {"v2","a","b",""}, as boost::urls yields them), or one with `route` null.
  // Literal segments beat parameters: of several matching patterns the one
  // with the most literal segments wins (/v2/a/blobs/uploads is an upload start,
  // not the blob "uploads"), then the one added first.
  RouteMatch Match(const std::vector<std::string>& segments) const;

  // The routes added, in order.
  const std::vector<const Route*>& routes() const { return routes_; }

 private:
  struct Segment {
    enum class Kind : uint8_t { kLiteral, kName, kParam } kind = Kind::kLiteral;
    std::string_view literal;
    Param param = Param::kNone;
  };
  struct Pattern {
    const Route* route = nullptr;
    http::RouteLabel label;
    std::vector<Segment> segments;
    int name_at = -1;  // index of {name}, or -1
    int literals = 0;
  };
  static Pattern Compile(std::string_view path);
  static bool Matches(const Pattern& p, const std::vector<std::string>& s, RouteMatch* out);

  std::vector<Pattern> patterns_;
  std::vector<const Route*> routes_;
};

// The scopes a request needs: the route's, with the method's action. A method the route does not serve (`method` null)
// needs valid credentials only, as in distribution: it is answered 405 once
// the client is authenticated.
std::vector<auth::Scope> NeededScopes(const RouteMatch& match, const MethodHandler* method);
// The method's extra scopes (ExtraScopesOf): wanted, not needed.
std::vector<auth::Scope> WantedScopes(const RouteMatch& match, const MethodHandler* method,
                                      const boost::urls::url_view& url);

}  // namespace berth::registry
