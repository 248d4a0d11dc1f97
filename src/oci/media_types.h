// Media types Berth recognises for manifests (everything else is opaque blob content).
#pragma once

#include <string_view>

namespace berth::oci::media {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciEmptyConfig = "application/vnd.oci.empty.v1+json";

inline bool IsIndex(std::string_view t) { return t == kOciIndex || t == kDockerManifestList; }
inline bool IsImageManifest(std::string_view t) { return t == kOciManifest || t == kDockerManifest; }
inline bool IsManifest(std::string_view t) { return IsIndex(t) || IsImageManifest(t); }

// "type/subtype; param=x" -> "type/subtype", trimmed and lower-cased is not needed:
// registries compare media types exactly.
inline std::string_view StripParameters(std::string_view t) {
  auto semi = t.find(';');
  if (semi != std::string_view::npos) t = t.substr(0, semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return t;
}

}  // namespace berth::oci::media
