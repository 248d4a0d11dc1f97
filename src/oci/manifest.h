// Parsing and validation of image manifests and indexes (OCI and Docker schema 2).
// Only what the registry needs is extracted: the media type, the descriptors a
// manifest references (which must exist before it is accepted) and its subject.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/digest.h"
#include "util/status.h"

namespace berth::oci {

// Manifests larger than this are refused (the limit CNCF distribution and the spec suggest).
inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;
// Deeper JSON nesting than this is refused before parsing.
inline constexpr int kMaxJsonDepth = 64;

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::string artifact_type;
  nlohmann::json annotations;  // null when absent
  bool has_urls = false;       // foreign/non-distributable layer: content lives elsewhere
};

struct Manifest {
  std::string media_type;  // effective media type (header, field or inferred)
  bool is_index = false;
  std::optional<Descriptor> config;   // image manifests
  std::vector<Descriptor> layers;     // image manifests
  std::vector<Descriptor> manifests;  // indexes
  std::optional<Descriptor> subject;
  std::string artifact_type;  // artifactType, or the config media type for artifacts
  nlohmann::json annotations;
};

// Validates `body` as a manifest pushed with Content-Type `content_type` (may be empty).
// Errors are Status::Invalid with a message fit for MANIFEST_INVALID.
Result<Manifest> ParseManifest(std::string_view body, std::string_view content_type);

// The media type of an already stored manifest (its mediaType field, or inferred).
std::string DetectManifestMediaType(std::string_view body);

// True when the JSON text nests arrays/objects deeper than max_depth.
bool JsonTooDeep(std::string_view body, int max_depth);

}  // namespace berth::oci
