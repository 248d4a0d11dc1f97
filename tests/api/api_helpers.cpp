#include "api_helpers.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "oci/digest.h"

namespace berth::apitest {

int ConnectLoopback(uint16_t port, int rcvbuf) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);  // before connect: sets the window
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool IsSpecErrorCode(std::string_view code) {
  static constexpr std::array<std::string_view, 14> kCodes = {
      "BLOB_UNKNOWN",          "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
      "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID",    "MANIFEST_UNKNOWN",    "NAME_INVALID",
      "NAME_UNKNOWN",          "SIZE_INVALID",        "UNAUTHORIZED",        "DENIED",
      "UNSUPPORTED",           "TOOMANYREQUESTS"};
  for (auto c : kCodes) {
    if (c == code) return true;
  }
  return false;
}

ClientResponse Do(HttpClient& c, std::string_view method, std::string_view target, const Headers& headers,
                  std::string_view body) {
  auto r = c.Request(method, target, headers, body);
  if (!r.ok()) {
    ADD_FAILURE() << method << " " << target << ": " << r.status().message();
    return ClientResponse{};
  }
  return std::move(r).value();
}

std::string ErrorCode(const ClientResponse& r) {
  json doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::string("<body is not JSON: ").append(r.body, 0, 200).append(">");
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() || doc["errors"].empty()) {
    return std::string("<no errors array: ").append(r.body, 0, 200).append(">");
  }
  const json& e = doc["errors"][0];
  if (!e.is_object() || !e.contains("code") || !e["code"].is_string()) return "<errors[0] has no code>";
  return e["code"].get<std::string>();
}

std::string Repeat(std::string_view prefix, size_t n, char c) {
  std::string s(prefix);
  s.append(n, c);
  return s;
}

std::string Sha256(std::string_view data) { return oci::DigestOf(data).str(); }
std::string Sha512(std::string_view data) { return oci::DigestOf(data, oci::DigestAlgorithm::kSha512).str(); }

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

std::string PushBlob(HttpClient& c, const std::string& repo, std::string_view content) {
  const std::string digest = Sha256(content);
  auto r = Do(c, "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest,
              {{"Content-Type", "application/octet-stream"}}, content);
  EXPECT_EQ(r.status, 201u) << "pushing blob " << digest << " to " << repo << ": " << r.body;
  return digest;
}

std::string StartUpload(HttpClient& c, const std::string& repo) {
  auto r = Do(c, "POST", "/v2/" + repo + "/blobs/uploads/");
  EXPECT_EQ(r.status, 202u) << r.body;
  std::string loc = r.header("Location");
  EXPECT_FALSE(loc.empty()) << "POST upload without Location";
  return loc;
}

std::string WithDigest(const std::string& location, const std::string& digest) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
}

json Descriptor(std::string_view media_type, const std::string& digest, size_t size) {
  return json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

Image MakeImage(HttpClient& c, const std::string& repo, const std::string& seed, bool push_blobs,
                std::string_view manifest_type) {
  const bool docker = manifest_type == kDockerManifest;
  Image img;
  img.config = json{{"architecture", "amd64"}, {"os", "linux"}, {"seed", seed}}.dump();
  img.layers = {"layer-one-" + seed, "layer-two-" + seed};
  json layers = json::array();
  for (const auto& l : img.layers) layers.push_back(Descriptor(docker ? kDockerLayer : kOciLayer, Sha256(l), l.size()));
  img.manifest = {{"schemaVersion", 2},
                  {"mediaType", manifest_type},
                  {"config", Descriptor(docker ? kDockerConfig : kOciConfig, Sha256(img.config), img.config.size())},
                  {"layers", layers}};
  img.body = img.manifest.dump();
  img.digest = Sha256(img.body);
  if (push_blobs) {
    PushBlob(c, repo, img.config);
    for (const auto& l : img.layers) PushBlob(c, repo, l);
  }
  return img;
}

ClientResponse PutManifest(HttpClient& c, const std::string& repo, const std::string& ref, std::string_view body,
                           std::string_view content_type) {
  Headers h;
  if (!content_type.empty()) h.emplace_back("Content-Type", std::string(content_type));
  return Do(c, "PUT", "/v2/" + repo + "/manifests/" + ref, h, body);
}

Image PushImage(HttpClient& c, const std::string& repo, const std::string& tag, const std::string& seed) {
  Image img = MakeImage(c, repo, seed);
  auto r = PutManifest(c, repo, tag, img.body);
  EXPECT_EQ(r.status, 201u) << "pushing manifest " << repo << ":" << tag << ": " << r.body;
  return img;
}

}  // namespace berth::apitest
