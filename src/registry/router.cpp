#include "registry/router.h"

#include <stdexcept>

namespace berth::registry {
using boost::beast::http::verb;

namespace {

constexpr std::pair<MethodSet, std::string_view> kMethodNames[] = {
    {method::kGet, "GET"}, {method::kHead, "HEAD"},   {method::kPost, "POST"},
    {method::kPut, "PUT"}, {method::kPatch, "PATCH"}, {method::kDelete, "DELETE"},
};

}  // namespace

MethodSet MethodBit(verb m) {
  switch (m) {
    case verb::get: return method::kGet;
    case verb::head: return method::kHead;
    case verb::post: return method::kPost;
    case verb::put: return method::kPut;
    case verb::patch: return method::kPatch;
    case verb::delete_: return method::kDelete;
    default: return method::kOther;
  }
}

const MethodHandler* Route::Find(verb m) const {
  const MethodSet bit = MethodBit(m);
  for (const MethodHandler& h : methods) {
    if (h.handler != nullptr && (h.methods & bit) != 0) return &h;
  }
  return nullptr;
}

std::string Route::Allow() const {
  std::string allow;
  for (const MethodHandler& h : methods) {
    if (h.handler == nullptr) continue;
    for (const auto& [bit, name] : kMethodNames) {
      if ((h.methods & bit) == 0) continue;
      if (!allow.empty()) allow += ", ";
      allow += name;
    }
  }
  return allow;
}

Router::Pattern Router::Compile(std::string_view path) {
  if (path.empty() || path.front() != '/') throw std::invalid_argument("route pattern must start with '/'");
  Pattern p;
  path.remove_prefix(1);
  // "/" has no segments, "/v2/" has {"v2", ""}: as boost::urls splits paths.
  size_t start = 0;
  while (!path.empty()) {
    const size_t slash = path.find('/', start);
    const std::string_view text =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    Segment seg;
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      const std::string_view param = text.substr(1, text.size() - 2);
      if (param == "name") {
        if (p.name_at >= 0) throw std::invalid_argument("route pattern with two {name}");
        seg.kind = Segment::Kind::kName;
        p.name_at = static_cast<int>(p.segments.size());
      } else {
        seg.kind = Segment::Kind::kParam;
        if (param == "reference")
          seg.param = Param::kReference;
        else if (param == "digest")
          seg.param = Param::kDigest;
        else if (param == "uuid")
          seg.param = Param::kUploadId;
        else
          throw std::invalid_argument("unknown route parameter {" + std::string(param) + "}");
        for (const Segment& other : p.segments) {
          if (other.kind == Segment::Kind::kParam) throw std::invalid_argument("route pattern with two parameters");
        }
      }
    } else {
      seg.literal = text;
      ++p.literals;
    }
    p.segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return p;
}

void Router::Add(const Route& route, http::RouteLabel label) {
  for (std::string_view path : route.paths) {
    if (path.empty()) continue;
    Pattern p = Compile(path);
    p.route = &route;
    p.label = label;
    patterns_.push_back(std::move(p));
  }
  routes_.push_back(&route);
}

bool Router::Matches(const Pattern& p, const std::vector<std::string>& s, RouteMatch* out) {
  const size_t k = p.segments.size();
  const size_t n = s.size();
  if (p.name_at < 0 ? n != k : n < k) return false;
  // Pattern segment i lines up with path segment i before {name}, and with the
  // path's end after it.
  const size_t name_at = p.name_at < 0 ? k : static_cast<size_t>(p.name_at);
  const size_t tail = n - k;  // how many more segments {name} takes than one
  for (size_t i = 0; i < k; ++i) {
    if (i == name_at) continue;
    const Segment& seg = p.segments[i];
    const std::string& text = s[i < name_at ? i : i + tail];
    if (seg.kind == Segment::Kind::kLiteral && text != seg.literal) return false;
  }
  out->route = p.route;
  out->label = p.label;
  out->has_name = p.name_at >= 0;
  out->name.clear();
  out->param = Param::kNone;
  out->arg.clear();
  if (out->has_name) {
    for (size_t i = name_at; i <= name_at + tail; ++i) {
      if (i > name_at) out->name += '/';
      out->name += s[i];
    }
  }
  for (size_t i = 0; i < k; ++i) {
    const Segment& seg = p.segments[i];
    if (seg.kind != Segment::Kind::kParam) continue;
    out->param = seg.param;
    out->arg = s[i < name_at ? i : i + tail];
  }
  return true;
}

RouteMatch Router::Match(const std::vector<std::string>& segments) const {
  RouteMatch best;
  int best_literals = -1;
  RouteMatch candidate;
  for (const Pattern& p : patterns_) {
    if (p.literals <= best_literals) continue;
    if (!Matches(p, segments, &candidate)) continue;
    best = std::move(candidate);
    best_literals = p.literals;
  }
  return best;
}

std::vector<auth::Scope> NeededScopes(const RouteMatch& match, const MethodHandler* method) {
  std::vector<auth::Scope> needed;
  if (method == nullptr) return needed;
  switch (match.route->access) {
    case Access::kPublic:
    case Access::kAuthenticated:
    case Access::kSession: break;  // (the UI's handlers ask the ACL themselves)
    case Access::kRepository:
      needed.push_back(auth::Scope{"repository", match.name, {std::string(method->action)}});
      break;
    case Access::kRegistry: needed.push_back(auth::Scope{"registry", std::string(match.route->resource), {"*"}}); break;
  }
  return needed;
}

std::vector<auth::Scope> WantedScopes(const RouteMatch& match, const MethodHandler* method,
                                      const boost::urls::url_view& url) {
  if (method == nullptr || method->extra_scopes == nullptr) return {};
  return method->extra_scopes(match, url);
}

}  // namespace berth::registry
