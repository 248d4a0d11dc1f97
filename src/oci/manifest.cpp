#include "oci/manifest.h"

#include "oci/media_types.h"

namespace berth::oci {
namespace {

using nlohmann::json;

Result<Descriptor> ParseDescriptor(const json& j, std::string_view where) {
  std::string w(where);
  if (!j.is_object()) return Status::Invalid(w + ": descriptor is not an object");
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) return Status::Invalid(w + ": descriptor has no mediaType");
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return Status::Invalid(w + ": descriptor has no digest");
  auto digest = Digest::Parse(dg->get_ref<const std::string&>());
  if (!digest.ok()) return Status::Invalid(w + ": " + digest.status().message());
  d.digest = *digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0) {
    return Status::Invalid(w + ": descriptor size must be a non-negative integer");
  }
  d.size = sz->get<int64_t>();
  if (auto at = j.find("artifactType"); at != j.end()) {
    if (!at->is_string()) return Status::Invalid(w + ": artifactType must be a string");
    d.artifact_type = at->get<std::string>();
  }
  if (auto an = j.find("annotations"); an != j.end()) {
    if (!an->is_object()) return Status::Invalid(w + ": annotations must be an object");
    d.annotations = *an;
  }
  if (auto urls = j.find("urls"); urls != j.end()) {
    if (!urls->is_array()) return Status::Invalid(w + ": urls must be an array");
    d.has_urls = !urls->empty();
  }
  return d;
}

Status ParseDescriptorArray(const json& doc, const char* key, std::vector<Descriptor>& out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::Ok();
  if (!it->is_array()) return Status::Invalid(std::string(key) + " must be an array");
  size_t i = 0;
  for (const auto& el : *it) {
    auto d = ParseDescriptor(el, std::string(key) + "[" + std::to_string(i++) + "]");
    if (!d.ok()) return d.status();
    out.push_back(std::move(*d));
  }
  return Status::Ok();
}

std::string InferMediaType(const json& doc) {
  if (auto mt = doc.find("mediaType"); mt != doc.end() && mt->is_string()) return mt->get<std::string>();
  return doc.contains("manifests") ? std::string(media::kOciIndex) : std::string(media::kOciManifest);
}

}  // namespace

bool JsonTooDeep(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Result<Manifest> ParseManifest(std::string_view body, std::string_view content_type) {
  if (body.size() > kMaxManifestBytes) return Status::Invalid("manifest is larger than 4 MiB");
  if (JsonTooDeep(body, kMaxJsonDepth)) return Status::Invalid("manifest JSON is nested too deeply");
  // nlohmann::json skips a UTF-8 byte order mark, but other clients (Go's
  // encoding/json) refuse it: such a manifest would be stored yet unusable.
  if (body.substr(0, 3) == "\xEF\xBB\xBF") return Status::Invalid("manifest starts with a byte order mark");
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Invalid("manifest is not valid JSON");
  if (!doc.is_object()) return Status::Invalid("manifest is not a JSON object");

  auto sv = doc.find("schemaVersion");
  if (sv == doc.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2) {
    return Status::Invalid("schemaVersion must be 2");
  }
  std::string field_type;
  if (auto mt = doc.find("mediaType"); mt != doc.end()) {
    if (!mt->is_string()) return Status::Invalid("mediaType must be a string");
    field_type = mt->get<std::string>();
  }
  std::string header_type(media::StripParameters(content_type));
  if (!header_type.empty() && !field_type.empty() && header_type != field_type) {
    return Status::Invalid("mediaType '" + field_type + "' disagrees with Content-Type '" + header_type + "'");
  }
  const bool has_manifests = doc.contains("manifests");
  const bool has_image_parts = doc.contains("layers") || doc.contains("config");
  if (has_manifests && has_image_parts) {
    return Status::Invalid("a manifest cannot have both 'manifests' and 'layers'/'config'");
  }

  Manifest m;
  m.media_type = !header_type.empty() ? header_type : !field_type.empty() ? field_type : InferMediaType(doc);
  if (!media::IsManifest(m.media_type)) {
    return Status::Invalid("unsupported manifest media type '" + m.media_type + "'");
  }
  m.is_index = media::IsIndex(m.media_type);
  if (m.media_type == media::kDockerManifest || m.media_type == media::kDockerManifestList) {
    if (field_type.empty()) return Status::Invalid("Docker schema 2 manifests must carry mediaType");
  }

  if (m.is_index) {
    if (has_image_parts) return Status::Invalid("an index cannot have 'layers' or 'config'");
    if (!has_manifests) return Status::Invalid("an index needs a 'manifests' array");
    if (Status s = ParseDescriptorArray(doc, "manifests", m.manifests); !s.ok()) return s;
  } else {
    if (has_manifests) return Status::Invalid("an image manifest cannot have 'manifests'");
    auto cfg = doc.find("config");
    if (cfg == doc.end()) return Status::Invalid("an image manifest needs a 'config' descriptor");
    auto c = ParseDescriptor(*cfg, "config");
    if (!c.ok()) return c.status();
    m.config = std::move(*c);
    auto layers = doc.find("layers");
    if (layers == doc.end()) return Status::Invalid("an image manifest needs a 'layers' array");
    if (Status s = ParseDescriptorArray(doc, "layers", m.layers); !s.ok()) return s;
  }
  if (auto subj = doc.find("subject"); subj != doc.end()) {
    auto s = ParseDescriptor(*subj, "subject");
    if (!s.ok()) return s.status();
    m.subject = std::move(*s);
  }
  if (auto at = doc.find("artifactType"); at != doc.end()) {
    if (!at->is_string()) return Status::Invalid("artifactType must be a string");
    m.artifact_type = at->get<std::string>();
  }
  // The spec: an image manifest with an empty or missing artifactType is
  // listed by the referrers API under its config media type.
  if (m.artifact_type.empty() && m.config) m.artifact_type = m.config->media_type;
  if (auto an = doc.find("annotations"); an != doc.end()) {
    if (!an->is_object()) return Status::Invalid("annotations must be an object");
    m.annotations = *an;
  }
  return m;
}

std::string DetectManifestMediaType(std::string_view body) {
  if (JsonTooDeep(body, kMaxJsonDepth)) return std::string(media::kOciManifest);
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (!doc.is_object()) return std::string(media::kOciManifest);
  return InferMediaType(doc);
}

}  // namespace berth::oci
