// RequestContext: what is known about one request beyond its bytes — its id,
// who made it, which repository and action it is about, and which kind of
// endpoint it hit (the bounded `route` label of the metrics and logs). The server
// creates it with the Exchange; handlers fill it in as they learn things; the
// access log, audit lines and metrics read it when the request ends.
// Plain value owned by one Exchange; used by one coroutine at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/log.h"

namespace berth::http {

// The bounded label a request is counted and logged under: the kind of
// endpoint it hit, never a raw path, so the metrics' label values stay few.
// The handler sets it from its route table; the server knows no route names.
// `index` is dense and small (0: no route) so counters can be fixed arrays;
// `name` points at a static string.
struct RouteLabel {
  uint8_t index = 0;
  std::string_view name = "other";
};

// True for an incoming X-Request-Id worth keeping: 1-64 of [A-Za-z0-9._-].
bool IsSaneRequestId(std::string_view id);

class RequestContext {
 public:
  static constexpr size_t kMaxIdLength = 64;

  // Keeps `incoming` (an X-Request-Id header) when sane, otherwise makes a fresh
  // random 16-hex-digit id. No allocation.
  void AssignRequestId(std::string_view incoming);
  std::string_view request_id() const { return std::string_view(id_, id_len_); }

  RouteLabel route;
  std::string user;         // authenticated account; empty = anonymous or not (yet) known
  std::string repository;   // when the request is about one
  std::string_view action;  // what the request does, as the handler names it (a static string)

  // The fields every request-scoped log line carries.
  log::RequestFields LogFields() const { return log::RequestFields{request_id(), user, repository, action}; }

 private:
  char id_[kMaxIdLength];
  uint8_t id_len_ = 0;
};

}  // namespace berth::http
