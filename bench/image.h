// Whole images for manifest-get and image-push-pull: a config blob, layers
// (generated blobs), an OCI image manifest and an OCI index referencing it,
// all with their digests known before anything is sent.
#pragma once

#include <string>
#include <vector>

#include "generator.h"
#include "registry_client.h"

namespace berth::bench {

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct ImagePlan {
  std::string config;
  oci::Digest config_digest;
  std::vector<BlobSpec> layers;
  std::vector<oci::Digest> layer_digests;
  std::string manifest;
  oci::Digest manifest_digest;
  std::string index;
  oci::Digest index_digest;
  int64_t bytes() const;  // everything a push sends
};

// Layers of the given sizes; the seed makes the image unique.
ImagePlan PlanImage(uint64_t seed, const std::vector<int64_t>& layer_sizes);

// Blobs, then the manifest as `tag`, then (unless index_tag is empty) the index as `index_tag`.
Status PushImage(RegistryClient& client, const std::string& repo, const ImagePlan& plan, const std::string& tag,
                 const std::string& index_tag);

// GET the index by tag, the manifest it names, the config and every layer;
// checks every digest. Adds the bytes read to *bytes and the requests to *requests.
Status PullImage(RegistryClient& client, const std::string& repo, const std::string& index_tag, int64_t* bytes,
                 int64_t* requests);

}  // namespace berth::bench
