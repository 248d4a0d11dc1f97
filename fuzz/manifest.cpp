// Fuzz target: OCI/Docker manifest and index validation (src/oci/manifest.h).
// First byte picks the Content-Type the client claims; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/manifest.h"
#include "oci/media_types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr std::string_view kTypes[] = {berth::oci::media::kOciManifest, berth::oci::media::kOciIndex,
                                                berth::oci::media::kDockerManifest,
                                                berth::oci::media::kDockerManifestList, ""};
  std::string_view content_type = kTypes[data[0] % 5];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)berth::oci::JsonTooDeep(body, berth::oci::kMaxJsonDepth);
  (void)berth::oci::DetectManifestMediaType(body);
  auto m = berth::oci::ParseManifest(body, content_type);
  if (m.ok()) {
    // A manifest that parsed must describe itself consistently.
    for (const auto& d : m->layers) (void)d.digest.str();
    for (const auto& d : m->manifests) (void)d.digest.str();
    if (m->config) (void)m->config->digest.str();
  }
  return 0;
}
