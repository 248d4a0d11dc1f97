// The path patterns of the route table (src/registry/routes.cpp) in a Router,
// for the fuzz targets: the table itself names RegistryApi's handlers, which
// the parser-only fuzz build does not link. Matching needs only the patterns.
#pragma once

#include <string_view>

#include "registry/router.h"

namespace berth::fuzz {

inline const registry::Router& TableRouter() {
  static const registry::Route kRoutes[] = {
      {.label = "base", .paths = {"/v2/", "/v2"}},
      {.label = "catalog", .paths = {"/v2/_catalog"}},
      {.label = "tags", .paths = {"/v2/{name}/tags/list"}},
      {.label = "manifest", .paths = {"/v2/{name}/manifests/{reference}"}},
      {.label = "blob", .paths = {"/v2/{name}/blobs/{digest}"}},
      {.label = "upload", .paths = {"/v2/{name}/blobs/uploads/", "/v2/{name}/blobs/uploads"}},
      {.label = "upload", .paths = {"/v2/{name}/blobs/uploads/{uuid}"}},
      {.label = "referrers", .paths = {"/v2/{name}/referrers/{digest}"}},
      {.label = "token", .paths = {"/v2/token", "/token"}},
      {.label = "metrics", .paths = {"/metrics"}},
      {.label = "healthz", .paths = {"/healthz"}},
      {.label = "readyz", .paths = {"/readyz"}},
  };
  static const registry::Router router = [] {
    registry::Router r;
    uint8_t i = 0;
    for (const auto& route : kRoutes) r.Add(route, http::RouteLabel{++i, route.label});
    return r;
  }();
  return router;
}

}  // namespace berth::fuzz
