// RequestContext: what is known about one request beyond its bytes — its id,
// who made it, which repository and action it is about, and which kind of
// endpoint it hit (the bounded `route` label of the metrics). The server
// creates it with the Exchange; handlers fill it in as they learn things; the
// access log, audit lines and metrics read it when the request ends.
// Plain value owned by one Exchange; used by one coroutine at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/log.h"

namespace berth::http {

// Endpoint kinds, never raw paths: the metrics' label values stay few.
enum class RouteLabel : uint8_t {
  kOther = 0,
  kBase,
  kCatalog,
  kTags,
  kManifest,
  kBlob,
  kUpload,
  kReferrers,
  kToken,
  kMetrics,
  kHealthz,
  kReadyz,
  kCount,  // number of labels, not a label
};
std::string_view RouteLabelName(RouteLabel r);

// True for an incoming X-Request-Id worth keeping: 1-64 of [A-Za-z0-9._-].
bool IsSaneRequestId(std::string_view id);

class RequestContext {
 public:
  static constexpr size_t kMaxIdLength = 64;

  // Keeps `incoming` (an X-Request-Id header) when sane, otherwise makes a fresh
  // random 16-hex-digit id. No allocation.
  void AssignRequestId(std::string_view incoming);
  std::string_view request_id() const { return std::string_view(id_, id_len_); }

  RouteLabel route = RouteLabel::kOther;
  std::string user;        // authenticated account; empty = anonymous or not (yet) known
  std::string repository;  // when the request is about one
  std::string_view action;  // pull | push | delete | catalog | token | metrics (static strings)

  // The fields every request-scoped log line carries.
  log::RequestFields LogFields() const { return log::RequestFields{request_id(), user, repository, action}; }

 private:
  char id_[kMaxIdLength];
  uint8_t id_len_ = 0;
};

}  // namespace berth::http
