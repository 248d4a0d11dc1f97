// GET /v2/<name>/referrers/<digest>[?artifactType=], from the metadata database.
#include <nlohmann/json.hpp>

#include "http/blocking.h"
#include "oci/media_types.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {
namespace {

struct ReferrersCall {
  metadata::MetadataStore* meta;
  std::string name;
  std::string subject;
  std::string artifact_type;  // "" = every type

  Result<std::vector<metadata::ReferrerInfo>> operator()() const {
    return meta->ListReferrers(name, subject, artifact_type);
  }
};

}  // namespace

Task<void> RegistryApi::ListReferrers(Exchange& ex, const RouteMatch& m) {
  const bool filtered = HasQueryParam(ex, "artifactType");
  const std::string artifact_type = QueryParam(ex, "artifactType");
  ReferrersCall call{&meta_, m.name, m.digest->str(), artifact_type};
  auto referrers = co_await http::RunBlocking(db_threads_, std::move(call));
  if (!referrers.ok()) {
    co_await ex.Send(MetadataErrorResponse(referrers.status()));
    co_return;
  }
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& d : *referrers) {
    // (`?artifactType=` with no value asks for the referrers without one.)
    if (filtered && d.artifact_type != artifact_type) continue;
    nlohmann::json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
    if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
    if (!d.annotations.empty()) {
      auto annotations = nlohmann::json::parse(d.annotations, nullptr, /*allow_exceptions=*/false);
      if (annotations.is_object()) j["annotations"] = std::move(annotations);
    }
    manifests.push_back(std::move(j));
  }
  http::Response r(200);
  r.Set("Content-Type", std::string(oci::media::kOciIndex));
  if (filtered) r.Set("OCI-Filters-Applied", "artifactType");
  r.body = nlohmann::json{{"schemaVersion", 2}, {"mediaType", oci::media::kOciIndex}, {"manifests", manifests}}.dump();
  co_await ex.Send(std::move(r));
}

}  // namespace berth::registry
