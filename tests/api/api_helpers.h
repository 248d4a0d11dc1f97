// Helpers shared by the HTTP API tests: requests that report transport errors
// as test failures, error-body decoding, digests, and pushing blobs/manifests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.h"

namespace berth::apitest {

using http::ClientResponse;
using http::Headers;
using http::HttpClient;
using nlohmann::json;

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

// The error codes the distribution spec allows in an error body.
bool IsSpecErrorCode(std::string_view code);

// A blocking TCP socket connected to 127.0.0.1:port (close-on-exec), or -1.
// rcvbuf > 0 sets SO_RCVBUF first (a small one makes the server wait for room).
int ConnectLoopback(uint16_t port, int rcvbuf = 0);

// Sends a request; a transport failure is a test failure and yields status 0.
ClientResponse Do(HttpClient& c, std::string_view method, std::string_view target, const Headers& headers = {},
                  std::string_view body = {});

// errors[0].code of a spec error body, or a "<...>" description of what is wrong with the body.
std::string ErrorCode(const ClientResponse& r);

// `prefix` followed by `n` copies of `c`.
std::string Repeat(std::string_view prefix, size_t n, char c);

// "sha256:<hex>" / "sha512:<hex>" of `data`.
std::string Sha256(std::string_view data);
std::string Sha512(std::string_view data);

// Deterministic pseudo-random bytes (xorshift), the same for the same seed.
std::string RandomBytes(size_t n, uint64_t seed);

// Pushes `content` with a single POST ?digest= and expects 201. Returns the digest.
std::string PushBlob(HttpClient& c, const std::string& repo, std::string_view content);

// Starts an upload (POST, expects 202) and returns its Location ("" on failure).
std::string StartUpload(HttpClient& c, const std::string& repo);

// Appends "?digest=" or "&digest=" to an upload location.
std::string WithDigest(const std::string& location, const std::string& digest);

json Descriptor(std::string_view media_type, const std::string& digest, size_t size);

// An OCI image manifest (as JSON) with the given config and layers (content strings).
struct Image {
  std::string config;
  std::vector<std::string> layers;
  json manifest;
  std::string body;    // manifest.dump()
  std::string digest;  // sha256 of body
};
// Builds an image from `seed`; when push_blobs, its config and layers are pushed to `repo`.
Image MakeImage(HttpClient& c, const std::string& repo, const std::string& seed, bool push_blobs = true,
                std::string_view manifest_type = kOciManifest);

// PUT /v2/<repo>/manifests/<ref> with the given Content-Type.
ClientResponse PutManifest(HttpClient& c, const std::string& repo, const std::string& ref, std::string_view body,
                           std::string_view content_type = kOciManifest);

// Builds and pushes an image tagged `tag` (expects 201). Returns it.
Image PushImage(HttpClient& c, const std::string& repo, const std::string& tag, const std::string& seed);

}  // namespace berth::apitest
