// Router: maps a decoded request path onto a registry API endpoint.
// Repository names contain '/', so routes are matched from the end of the path:
// the last one or two segments name the endpoint, the rest is the repository.
// Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

enum class Endpoint {
  kNotFound,
  kBase,         // /v2/
  kCatalog,      // /v2/_catalog
  kTags,         // /v2/<name>/tags/list
  kManifest,     // /v2/<name>/manifests/<reference>
  kBlob,         // /v2/<name>/blobs/<digest>
  kUploadStart,  // /v2/<name>/blobs/uploads/
  kUpload,       // /v2/<name>/blobs/uploads/<uuid>
  kReferrers,    // /v2/<name>/referrers/<digest>
};

struct Route {
  Endpoint endpoint = Endpoint::kNotFound;
  std::string name;  // repository, unvalidated
  std::string arg;   // reference, digest or upload id, unvalidated
};

// `segments` are the percent-decoded path segments ("/v2/a/b/" -> {"v2","a","b",""}).
Route MatchRoute(const std::vector<std::string>& segments);

}  // namespace berth::registry
