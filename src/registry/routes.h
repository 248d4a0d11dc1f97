// The route table: every endpoint Berth serves, one Route each (router.h says
// what an entry holds). Adding an endpoint is adding an entry in routes.cpp and
// its handler (a RegistryApi member with the RouteHandler signature).
// Immutable; thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "http/request_context.h"
#include "registry/router.h"

namespace berth::registry {

std::span<const Route> RegistryRoutes();

// The values of the metrics' `route` label, by index: "other" (no route), then
// each route's label in table order, once.
std::span<const std::string_view> RouteLabelNames();

// A route's label (its index into RouteLabelNames).
http::RouteLabel RouteLabelOf(const Route& route);

}  // namespace berth::registry
