// GET /v2/<name>/referrers/<digest>[?artifactType=]
#include <nlohmann/json.hpp>

#include "oci/media_types.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {

Task<void> RegistryApi::ListReferrers(Exchange& ex, const RouteMatch& m) {
  auto referrers = manifests_.Referrers(m.name, *m.digest);
  if (!referrers.ok()) {
    co_await ex.Send(StorageErrorResponse(referrers.status()));
    co_return;
  }
  const bool filtered = HasQueryParam(ex, "artifactType");
  const std::string artifact_type = QueryParam(ex, "artifactType");
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& d : *referrers) {
    if (filtered && d.artifact_type != artifact_type) continue;
    nlohmann::json j = {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
    if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
    if (!d.annotations.is_null()) j["annotations"] = d.annotations;
    manifests.push_back(std::move(j));
  }
  http::Response r(200);
  r.Set("Content-Type", std::string(oci::media::kOciIndex));
  if (filtered) r.Set("OCI-Filters-Applied", "artifactType");
  r.body = nlohmann::json{{"schemaVersion", 2}, {"mediaType", oci::media::kOciIndex}, {"manifests", manifests}}.dump();
  co_await ex.Send(std::move(r));
}

}  // namespace berth::registry
