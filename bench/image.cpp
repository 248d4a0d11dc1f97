#include "image.h"

#include <nlohmann/json.hpp>

namespace berth::bench {
namespace {

using nlohmann::json;

// GET target into memory and check its digest.
Result<std::string> GetVerified(RegistryClient& client, const std::string& target, const http::Headers& h,
                                const oci::Digest* expected, int64_t* requests) {
  auto r = client.Call("GET", target, h);
  if (!r.ok()) return r.status();
  ++*requests;
  if (r->status != 200) return Unexpected("GET " + target, *r);
  if (expected != nullptr && !(oci::DigestOf(r->body) == *expected)) {
    return Status::IoError("GET " + target + ": digest mismatch");
  }
  return std::move(r->body);
}

}  // namespace

int64_t ImagePlan::bytes() const {
  int64_t n = static_cast<int64_t>(config.size() + manifest.size() + index.size());
  for (const auto& l : layers) n += l.size;
  return n;
}

ImagePlan PlanImage(uint64_t seed, const std::vector<int64_t>& layer_sizes) {
  ImagePlan p;
  json layers = json::array(), diff_ids = json::array();
  for (size_t i = 0; i < layer_sizes.size(); ++i) {
    BlobSpec spec{seed * 1000 + i + 1, layer_sizes[i]};
    oci::Digest d = BlobDigest(spec);
    p.layers.push_back(spec);
    p.layer_digests.push_back(d);
    layers.push_back(
        {{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", d.str()}, {"size", spec.size}});
    diff_ids.push_back(d.str());
  }
  p.config = json{{"architecture", "amd64"},
                  {"os", "linux"},
                  {"config", {{"Labels", {{"berth.bench.seed", std::to_string(seed)}}}}},
                  {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                 .dump();
  p.config_digest = oci::DigestOf(p.config);
  p.manifest = json{
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", p.config_digest.str()},
        {"size", p.config.size()}}},
      {"layers",
       layers}}.dump();
  p.manifest_digest = oci::DigestOf(p.manifest);
  p.index = json{{"schemaVersion", 2},
                 {"mediaType", kOciIndex},
                 {"manifests", json::array({{{"mediaType", kOciManifest},
                                             {"digest", p.manifest_digest.str()},
                                             {"size", p.manifest.size()},
                                             {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}}})}}
                .dump();
  p.index_digest = oci::DigestOf(p.index);
  return p;
}

Status PushImage(RegistryClient& client, const std::string& repo, const ImagePlan& plan, const std::string& tag,
                 const std::string& index_tag) {
  if (Status s = client.PushBlobBytes(repo, plan.config_digest, plan.config); !s.ok()) return s;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    BlobSpec spec = plan.layers[i];
    if (Status s = client.PushBlob(repo, plan.layer_digests[i], spec.size, [spec] { return BlobSource(spec); });
        !s.ok()) {
      return s;
    }
  }
  if (Status s = client.PutManifest(repo, tag, kOciManifest, plan.manifest); !s.ok()) return s;
  if (index_tag.empty()) return Status::Ok();
  return client.PutManifest(repo, index_tag, kOciIndex, plan.index);
}

Status PullImage(RegistryClient& client, const std::string& repo, const std::string& index_tag, int64_t* bytes,
                 int64_t* requests) {
  const std::string prefix = "/v2/" + repo;
  const http::Headers accept{{"Accept", kManifestAccept}};
  auto index_body = GetVerified(client, prefix + "/manifests/" + index_tag, accept, nullptr, requests);
  if (!index_body.ok()) return index_body.status();
  *bytes += static_cast<int64_t>(index_body->size());
  json index = json::parse(*index_body, nullptr, false);
  if (index.is_discarded() || !index.contains("manifests") || index["manifests"].empty()) {
    return Status::IoError("the index has no manifests");
  }
  for (const auto& entry : index["manifests"]) {
    auto md = oci::Digest::Parse(entry.value("digest", ""));
    if (!md.ok()) return md.status();
    auto manifest_body = GetVerified(client, prefix + "/manifests/" + md->str(), accept, &*md, requests);
    if (!manifest_body.ok()) return manifest_body.status();
    *bytes += static_cast<int64_t>(manifest_body->size());
    json manifest = json::parse(*manifest_body, nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("config") || !manifest.contains("layers")) {
      return Status::IoError("the manifest has no config or layers");
    }
    std::vector<json> blobs{manifest["config"]};
    for (const auto& l : manifest["layers"]) blobs.push_back(l);
    for (const auto& desc : blobs) {
      auto d = oci::Digest::Parse(desc.value("digest", ""));
      if (!d.ok()) return d.status();
      const std::string target = prefix + "/blobs/" + d->str();
      oci::Hasher hasher;
      int64_t got = 0;
      auto r = client.CallDownload("GET", target, {}, [&](const char* data, size_t n) {
        hasher.Update(data, n);
        got += static_cast<int64_t>(n);
      });
      if (!r.ok()) return r.status();
      ++*requests;
      if (r->status != 200) return Unexpected("GET " + target, *r);
      if (got != desc.value("size", int64_t{-1})) return Status::IoError("GET " + target + ": wrong size");
      if (!(hasher.Current() == *d)) return Status::IoError("GET " + target + ": digest mismatch");
      *bytes += got;
    }
  }
  return Status::Ok();
}

}  // namespace berth::bench
