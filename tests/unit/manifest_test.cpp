#include "oci/manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "oci/media_types.h"

namespace berth::oci {
namespace {

using nlohmann::json;

std::string Hex(char c) { return std::string(64, c); }
std::string D(char c) { return "sha256:" + Hex(c); }

const std::string kConfigType = "application/vnd.oci.image.config.v1+json";
const std::string kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
const std::string kDockerConfigType = "application/vnd.docker.container.image.v1+json";
const std::string kDockerLayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const std::string kEmptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

json Desc(const std::string& media_type, const std::string& digest, int64_t size) {
  return json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

json OciImage() {
  return json{{"schemaVersion", 2},
              {"mediaType", std::string(media::kOciManifest)},
              {"config", Desc(kConfigType, D('c'), 123)},
              {"layers", json::array({Desc(kLayerType, D('1'), 1000), Desc(kLayerType, D('2'), 2000)})}};
}

json OciIndex() {
  json m1 = Desc(std::string(media::kOciManifest), D('a'), 500);
  m1["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  json m2 = Desc(std::string(media::kOciManifest), D('b'), 600);
  m2["platform"] = {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}};
  return json{{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)}, {"manifests", {m1, m2}}};
}

Result<Manifest> Parse(const json& j, std::string_view content_type = "") {
  return ParseManifest(j.dump(), content_type);
}

// Expects an InvalidArgument rejection.
void ExpectInvalid(const std::string& body, std::string_view content_type = "") {
  auto m = ParseManifest(body, content_type);
  ASSERT_FALSE(m.ok()) << "accepted: " << body.substr(0, 300);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << m.status().message();
  EXPECT_FALSE(m.status().message().empty());
}
void ExpectInvalid(const json& j, std::string_view content_type = "") { ExpectInvalid(j.dump(), content_type); }

// Regression: nlohmann::json skips a UTF-8 BOM, so such a manifest was stored,
// although Go clients cannot parse it.
TEST(ManifestTest, RejectsByteOrderMark) {
  ExpectInvalid("\xEF\xBB\xBF" + OciImage().dump(), media::kOciManifest);
  ExpectInvalid(" \xEF\xBB\xBF" + OciImage().dump(), media::kOciManifest);
}

TEST(ManifestTest, ParsesOciImageManifest) {
  json j = OciImage();
  j["annotations"] = {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}};
  auto m = Parse(j, media::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config.has_value());
  EXPECT_EQ(m->config->media_type, kConfigType);
  EXPECT_EQ(m->config->digest.str(), D('c'));
  EXPECT_EQ(m->config->size, 123);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].media_type, kLayerType);
  EXPECT_EQ(m->layers[0].digest.str(), D('1'));
  EXPECT_EQ(m->layers[0].size, 1000);
  EXPECT_EQ(m->layers[1].digest.str(), D('2'));
  EXPECT_EQ(m->layers[1].size, 2000);
  EXPECT_FALSE(m->layers[0].has_urls);
  EXPECT_TRUE(m->manifests.empty());
  EXPECT_FALSE(m->subject.has_value());
  EXPECT_EQ(m->annotations["org.opencontainers.image.created"], "2024-01-01T00:00:00Z");
  // No artifactType: the config media type stands in for it.
  EXPECT_EQ(m->artifact_type, kConfigType);
}

TEST(ManifestTest, ParsesOciImageManifestWithoutContentType) {
  auto m = Parse(OciImage(), "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kOciManifest);
}

TEST(ManifestTest, InfersOciImageManifestWithoutMediaTypeField) {
  json j = OciImage();
  j.erase("mediaType");
  auto m = Parse(j, "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_FALSE(m->is_index);
  // The Content-Type alone decides when the field is absent.
  auto h = Parse(j, media::kOciManifest);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->media_type, media::kOciManifest);
}

TEST(ManifestTest, AcceptsEmptyLayersArray) {
  json j = OciImage();
  j["layers"] = json::array();
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->layers.empty());
}

TEST(ManifestTest, ParsesOciIndex) {
  auto m = Parse(OciIndex(), media::kOciIndex);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kOciIndex);
  EXPECT_TRUE(m->is_index);
  EXPECT_FALSE(m->config.has_value());
  EXPECT_TRUE(m->layers.empty());
  ASSERT_EQ(m->manifests.size(), 2u);
  EXPECT_EQ(m->manifests[0].media_type, media::kOciManifest);
  EXPECT_EQ(m->manifests[0].digest.str(), D('a'));
  EXPECT_EQ(m->manifests[0].size, 500);
  EXPECT_EQ(m->manifests[1].digest.str(), D('b'));
  EXPECT_EQ(m->manifests[1].size, 600);
  EXPECT_EQ(m->artifact_type, "");
}

TEST(ManifestTest, InfersIndexWithoutMediaTypeField) {
  json j = OciIndex();
  j.erase("mediaType");
  auto m = Parse(j, "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kOciIndex);
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(m->manifests.size(), 2u);
}

TEST(ManifestTest, AcceptsEmptyIndex) {
  json j{{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)}, {"manifests", json::array()}};
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->is_index);
  EXPECT_TRUE(m->manifests.empty());
}

TEST(ManifestTest, ParsesIndexArtifactType) {
  json j = OciIndex();
  j["artifactType"] = "application/vnd.example.bundle";
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, "application/vnd.example.bundle");
}

TEST(ManifestTest, ParsesDockerSchema2Manifest) {
  json j{{"schemaVersion", 2},
         {"mediaType", std::string(media::kDockerManifest)},
         {"config", Desc(kDockerConfigType, D('c'), 1469)},
         {"layers", json::array({Desc(kDockerLayerType, D('d'), 2811969)})}};
  auto m = Parse(j, media::kDockerManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kDockerManifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_TRUE(m->config.has_value());
  EXPECT_EQ(m->config->media_type, kDockerConfigType);
  EXPECT_EQ(m->config->size, 1469);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest.str(), D('d'));
  EXPECT_EQ(m->layers[0].size, 2811969);
  // Pushed without Content-Type: the mediaType field decides.
  auto n = Parse(j, "");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->media_type, media::kDockerManifest);
}

TEST(ManifestTest, ParsesDockerManifestList) {
  json m1 = Desc(std::string(media::kDockerManifest), D('a'), 528);
  m1["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  json j{{"schemaVersion", 2}, {"mediaType", std::string(media::kDockerManifestList)}, {"manifests", {m1}}};
  auto m = Parse(j, media::kDockerManifestList);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kDockerManifestList);
  EXPECT_TRUE(m->is_index);
  ASSERT_EQ(m->manifests.size(), 1u);
  EXPECT_EQ(m->manifests[0].media_type, media::kDockerManifest);
  EXPECT_EQ(m->manifests[0].digest.str(), D('a'));
  EXPECT_EQ(m->manifests[0].size, 528);
}

TEST(ManifestTest, ParsesDockerForeignLayerUrls) {
  json layer = Desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", D('f'), 42);
  layer["urls"] = {"https://example.com/layer.tar.gz"};
  json j{{"schemaVersion", 2},
         {"mediaType", std::string(media::kDockerManifest)},
         {"config", Desc(kDockerConfigType, D('c'), 10)},
         {"layers", {layer, Desc(kDockerLayerType, D('d'), 1)}}};
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_TRUE(m->layers[0].has_urls);
  EXPECT_FALSE(m->layers[1].has_urls);
  // An empty urls array does not make a layer foreign.
  j["layers"][0]["urls"] = json::array();
  auto e = Parse(j);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_FALSE(e->layers[0].has_urls);
}

TEST(ManifestTest, ParsesOciArtifact) {
  json j{{"schemaVersion", 2},
         {"mediaType", std::string(media::kOciManifest)},
         {"artifactType", "application/vnd.example.sbom.v1+json"},
         {"config", Desc(std::string(media::kOciEmptyConfig), kEmptyDigest, 2)},
         {"layers", json::array({Desc("application/spdx+json", D('5'), 77)})}};
  auto m = Parse(j, media::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, "application/vnd.example.sbom.v1+json");
  ASSERT_TRUE(m->config.has_value());
  EXPECT_EQ(m->config->media_type, media::kOciEmptyConfig);
  EXPECT_EQ(m->config->digest.str(), kEmptyDigest);
  EXPECT_EQ(m->config->size, 2);
}

TEST(ManifestTest, ArtifactTypeFallsBackToConfigMediaType) {
  json j{{"schemaVersion", 2},
         {"mediaType", std::string(media::kOciManifest)},
         {"config", Desc("application/vnd.example.signature.config+json", D('c'), 2)},
         {"layers", json::array()}};
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, "application/vnd.example.signature.config+json");
}

// OCI distribution-spec v1.1, "Listing Referrers": "If the artifactType is empty or
// missing in the image manifest, the value of artifactType MUST be set to the config
// descriptor mediaType value." An empty string must fall back like a missing key.
TEST(ManifestTest, EmptyArtifactTypeFallsBackToConfigMediaType) {
  json j{{"schemaVersion", 2},
         {"mediaType", std::string(media::kOciManifest)},
         {"artifactType", ""},
         {"config", Desc("application/vnd.example.signature.config+json", D('c'), 2)},
         {"layers", json::array()}};
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, "application/vnd.example.signature.config+json");
}

TEST(ManifestTest, EmptyArtifactTypeOnIndexStaysEmpty) {
  // "If the artifactType is empty or missing in an index, the artifactType MUST be omitted."
  json j = OciIndex();
  j["artifactType"] = "";
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, "");
}

TEST(ManifestTest, ExtractsSubject) {
  json j = OciImage();
  json subject = Desc(std::string(media::kOciManifest), D('e'), 7682);
  subject["annotations"] = {{"k", "v"}};
  j["subject"] = subject;
  j["artifactType"] = "application/vnd.example.sig";
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->media_type, media::kOciManifest);
  EXPECT_EQ(m->subject->digest.str(), D('e'));
  EXPECT_EQ(m->subject->size, 7682);
  EXPECT_EQ(m->subject->annotations["k"], "v");
  EXPECT_EQ(m->artifact_type, "application/vnd.example.sig");
}

TEST(ManifestTest, ExtractsSubjectOfIndex) {
  json j = OciIndex();
  j["subject"] = Desc(std::string(media::kOciIndex), D('9'), 12);
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest.str(), D('9'));
  EXPECT_EQ(m->subject->media_type, media::kOciIndex);
}

TEST(ManifestTest, RejectsInvalidSubject) {
  json j = OciImage();
  j["subject"] = Desc(std::string(media::kOciManifest), "sha256:1234", 1);
  ExpectInvalid(j);
  j["subject"] = "sha256:" + Hex('e');
  ExpectInvalid(j);
}

TEST(ManifestTest, DescriptorFieldsAreParsed) {
  json j = OciImage();
  j["layers"][0]["artifactType"] = "application/x-thing";
  j["layers"][0]["annotations"] = {{"org.opencontainers.image.title", "a.txt"}};
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->layers[0].artifact_type, "application/x-thing");
  EXPECT_EQ(m->layers[0].annotations["org.opencontainers.image.title"], "a.txt");
  EXPECT_TRUE(m->layers[1].annotations.is_null());
}

TEST(ManifestTest, AcceptsSha512Descriptors) {
  json j = OciImage();
  j["layers"][0]["digest"] = "sha512:" + std::string(128, 'a');
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->layers[0].digest.algorithm(), DigestAlgorithm::kSha512);
}

TEST(ManifestTest, AcceptsZeroSizeAndLargeSize) {
  json j = OciImage();
  j["layers"][0]["size"] = 0;
  j["layers"][1]["size"] = int64_t{1} << 40;
  auto m = Parse(j);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->layers[0].size, 0);
  EXPECT_EQ(m->layers[1].size, int64_t{1} << 40);
}

TEST(ManifestTest, AcceptsContentTypeWithParameters) {
  auto m = Parse(OciImage(), "application/vnd.oci.image.manifest.v1+json; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  auto n = Parse(OciIndex(), "application/vnd.oci.image.index.v1+json;charset=utf-8");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->media_type, media::kOciIndex);
  EXPECT_TRUE(n->is_index);
  auto w = Parse(OciImage(), "  application/vnd.oci.image.manifest.v1+json  ");
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->media_type, media::kOciManifest);
}

TEST(ManifestTest, RejectsMalformedJson) {
  ExpectInvalid(std::string(""));
  ExpectInvalid(std::string("{"));
  ExpectInvalid(std::string("{\"schemaVersion\": 2,}"));
  ExpectInvalid(std::string("not json"));
  ExpectInvalid(OciImage().dump() + "garbage");
  ExpectInvalid(std::string("\xff\xfe"));
}

TEST(ManifestTest, RejectsNonObject) {
  ExpectInvalid(std::string("[]"));
  ExpectInvalid(std::string("[{\"schemaVersion\":2}]"));
  ExpectInvalid(std::string("2"));
  ExpectInvalid(std::string("\"manifest\""));
  ExpectInvalid(std::string("null"));
  ExpectInvalid(std::string("true"));
}

TEST(ManifestTest, RejectsWrongSchemaVersion) {
  json j = OciImage();
  j["schemaVersion"] = 1;
  ExpectInvalid(j);
  j["schemaVersion"] = 3;
  ExpectInvalid(j);
  j["schemaVersion"] = "2";
  ExpectInvalid(j);
  j["schemaVersion"] = 2.0;
  ExpectInvalid(j);
  j.erase("schemaVersion");
  ExpectInvalid(j);
  // A Docker schema 1 manifest.
  ExpectInvalid(json{{"schemaVersion", 1}, {"name", "a"}, {"tag", "latest"}, {"fsLayers", json::array()}},
                "application/vnd.docker.distribution.manifest.v1+prettyjws");
}

TEST(ManifestTest, RejectsMediaTypeDisagreeingWithContentType) {
  ExpectInvalid(OciImage(), media::kOciIndex);
  ExpectInvalid(OciImage(), media::kDockerManifest);
  ExpectInvalid(OciIndex(), media::kOciManifest);
  ExpectInvalid(OciImage(), "application/json");
  auto m = Parse(OciImage(), media::kDockerManifest);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(std::string(media::kDockerManifest)), std::string::npos) << m.status().message();
}

TEST(ManifestTest, RejectsNonStringMediaType) {
  json j = OciImage();
  j["mediaType"] = 5;
  ExpectInvalid(j);
  j["mediaType"] = nullptr;
  ExpectInvalid(j);
}

TEST(ManifestTest, RejectsBothManifestsAndLayers) {
  json j = OciImage();
  j["manifests"] = OciIndex()["manifests"];
  ExpectInvalid(j);
  ExpectInvalid(j, media::kOciManifest);
  ExpectInvalid(j, media::kOciIndex);
  j.erase("mediaType");
  ExpectInvalid(j);
}

TEST(ManifestTest, RejectsIndexWithConfigOrLayers) {
  json j = OciIndex();
  j["config"] = Desc(kConfigType, D('c'), 1);
  ExpectInvalid(j);
  json k = OciIndex();
  k["layers"] = json::array();
  ExpectInvalid(k);
  // An index (by Content-Type) carrying only image parts.
  json l = OciImage();
  l.erase("mediaType");
  ExpectInvalid(l, media::kOciIndex);
}

TEST(ManifestTest, RejectsIndexWithoutManifests) {
  ExpectInvalid(json{{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)}});
  ExpectInvalid(json{{"schemaVersion", 2}}, media::kOciIndex);
  ExpectInvalid(json{{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)}, {"manifests", {}}});
  ExpectInvalid(
      json{{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)}, {"manifests", json::object()}});
}

TEST(ManifestTest, RejectsImageManifestWithManifests) {
  json j = OciIndex();
  j.erase("mediaType");
  ExpectInvalid(j, media::kOciManifest);
}

TEST(ManifestTest, RejectsMissingConfig) {
  json j = OciImage();
  j.erase("config");
  ExpectInvalid(j);
  j["config"] = nullptr;
  ExpectInvalid(j);
  j["config"] = "sha256:" + Hex('c');
  ExpectInvalid(j);
}

TEST(ManifestTest, RejectsMissingOrNonArrayLayers) {
  json j = OciImage();
  j.erase("layers");
  ExpectInvalid(j);
  j["layers"] = json::object();
  ExpectInvalid(j);
  j["layers"] = Desc(kLayerType, D('1'), 1);
  ExpectInvalid(j);
  j["layers"] = json::array({"sha256:" + Hex('1')});
  ExpectInvalid(j);
}

TEST(ManifestTest, RejectsBadDescriptorDigest) {
  for (const std::string& bad : {std::string("sha256:abc"), "sha256:" + std::string(64, 'A'),
                                 "md5:" + std::string(32, '0'), std::string(""), Hex('1')}) {
    json j = OciImage();
    j["layers"][1]["digest"] = bad;
    ExpectInvalid(j);
    json k = OciImage();
    k["config"]["digest"] = bad;
    ExpectInvalid(k);
    json i = OciIndex();
    i["manifests"][0]["digest"] = bad;
    ExpectInvalid(i);
  }
  json j = OciImage();
  j["layers"][0].erase("digest");
  ExpectInvalid(j);
  j["layers"][0]["digest"] = 12;
  ExpectInvalid(j);
}

TEST(ManifestTest, RejectsBadDescriptorSize) {
  json j = OciImage();
  j["layers"][0]["size"] = -1;
  ExpectInvalid(j);
  j["layers"][0]["size"] = "100";
  ExpectInvalid(j);
  j["layers"][0]["size"] = 1.5;
  ExpectInvalid(j);
  j["layers"][0]["size"] = nullptr;
  ExpectInvalid(j);
  j["layers"][0].erase("size");
  ExpectInvalid(j);
  json k = OciImage();
  k["config"]["size"] = -5;
  ExpectInvalid(k);
  json i = OciIndex();
  i["manifests"][1]["size"] = "600";
  ExpectInvalid(i);
  // Larger than int64 cannot be a real size.
  ExpectInvalid(std::string(R"({"schemaVersion":2,"config":{"mediaType":"a/b","digest":")") + D('c') +
                R"(","size":18446744073709551615},"layers":[]})");
}

TEST(ManifestTest, RejectsBadDescriptorMediaType) {
  json j = OciImage();
  j["layers"][0].erase("mediaType");
  ExpectInvalid(j);
  j["layers"][0]["mediaType"] = 3;
  ExpectInvalid(j);
}

TEST(ManifestTest, RejectsBadOptionalFields) {
  json a = OciImage();
  a["artifactType"] = 1;
  ExpectInvalid(a);
  json b = OciImage();
  b["annotations"] = json::array({"x"});
  ExpectInvalid(b);
  json c = OciImage();
  c["layers"][0]["annotations"] = "x";
  ExpectInvalid(c);
  json d = OciImage();
  d["layers"][0]["urls"] = "https://example.com";
  ExpectInvalid(d);
  json e = OciImage();
  e["layers"][0]["artifactType"] = json::object();
  ExpectInvalid(e);
}

TEST(ManifestTest, RejectsDockerTypesWithoutMediaTypeField) {
  json j{{"schemaVersion", 2},
         {"config", Desc(kDockerConfigType, D('c'), 1)},
         {"layers", json::array({Desc(kDockerLayerType, D('d'), 1)})}};
  ExpectInvalid(j, media::kDockerManifest);
  json l{{"schemaVersion", 2}, {"manifests", json::array({Desc(std::string(media::kDockerManifest), D('a'), 1)})}};
  ExpectInvalid(l, media::kDockerManifestList);
  // The same bodies are fine as OCI.
  EXPECT_TRUE(Parse(j, media::kOciManifest).ok());
  EXPECT_TRUE(Parse(l, media::kOciIndex).ok());
}

TEST(ManifestTest, RejectsUnknownMediaType) {
  json j = OciImage();
  j["mediaType"] = "application/vnd.example.unknown+json";
  ExpectInvalid(j);
  ExpectInvalid(j, "application/vnd.example.unknown+json");
  json k = OciImage();
  k.erase("mediaType");
  ExpectInvalid(k, "application/octet-stream");
  ExpectInvalid(k, "application/vnd.docker.distribution.manifest.v1+json");
  // Media types are compared exactly.
  ExpectInvalid(k, "Application/vnd.oci.image.manifest.v1+json");
}

TEST(ManifestTest, SizeLimit) {
  std::string body = OciImage().dump();
  std::string at_limit = body + std::string(kMaxManifestBytes - body.size(), ' ');
  ASSERT_EQ(at_limit.size(), 4u * 1024 * 1024);
  auto ok = ParseManifest(at_limit, media::kOciManifest);
  EXPECT_TRUE(ok.ok()) << ok.status().message();
  ExpectInvalid(at_limit + " ", media::kOciManifest);
  ExpectInvalid(std::string(kMaxManifestBytes + 1, ' '));
}

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ManifestTest, RejectsDeepNesting) {
  ExpectInvalid(Nested(100));
  // A deep array inside an otherwise valid manifest.
  json j = OciImage();
  std::string body = j.dump();
  body.insert(body.size() - 1, ",\"x\":" + Nested(100));
  ASSERT_TRUE(json::accept(body));
  ExpectInvalid(body);
  // 10000 levels must not recurse the parser into a crash.
  ExpectInvalid(std::string(10000, '{'));
  ExpectInvalid(Nested(100000));
}

TEST(ManifestTest, ModerateNestingIsAllowed) {
  json j = OciImage();
  std::string body = j.dump();
  // Depth 1 (manifest) + 1 (annotations) + 30 arrays.
  body.insert(body.size() - 1, ",\"x\":" + Nested(30));
  auto m = ParseManifest(body, "");
  EXPECT_TRUE(m.ok()) << m.status().message();
}

TEST(JsonTooDeepTest, CountsArraysAndObjects) {
  EXPECT_FALSE(JsonTooDeep(Nested(64), 64));
  EXPECT_TRUE(JsonTooDeep(Nested(65), 64));
  EXPECT_TRUE(JsonTooDeep(Nested(100), kMaxJsonDepth));
  EXPECT_FALSE(JsonTooDeep("{}", 1));
  EXPECT_TRUE(JsonTooDeep("{\"a\":{}}", 1));
  EXPECT_TRUE(JsonTooDeep("{\"a\":[]}", 1));
  EXPECT_FALSE(JsonTooDeep("{\"a\":[],\"b\":{}}", 2));
  EXPECT_FALSE(JsonTooDeep("", 0));
  EXPECT_FALSE(JsonTooDeep("1", 0));
  EXPECT_TRUE(JsonTooDeep("[", 0));
  // Siblings do not add up.
  std::string siblings = "[";
  for (int i = 0; i < 1000; ++i) siblings += "[],";
  siblings += "[]]";
  EXPECT_FALSE(JsonTooDeep(siblings, 2));
}

TEST(JsonTooDeepTest, IgnoresBracketsInStrings) {
  EXPECT_FALSE(JsonTooDeep("{\"a\":\"" + std::string(100, '[') + "\"}", 2));
  EXPECT_FALSE(JsonTooDeep("{\"" + std::string(100, '{') + "\":1}", 2));
  // An escaped quote does not end the string.
  EXPECT_FALSE(JsonTooDeep("{\"a\":\"\\\"" + std::string(100, '[') + "\"}", 2));
  // An escaped backslash does: the brackets after it count.
  EXPECT_TRUE(JsonTooDeep("{\"a\":\"\\\\\"," + std::string(5, '[') + "}", 3));
}

TEST(DetectManifestMediaTypeTest, UsesMediaTypeField) {
  EXPECT_EQ(DetectManifestMediaType(OciImage().dump()), media::kOciManifest);
  EXPECT_EQ(DetectManifestMediaType(OciIndex().dump()), media::kOciIndex);
  json d{{"schemaVersion", 2}, {"mediaType", std::string(media::kDockerManifest)}};
  EXPECT_EQ(DetectManifestMediaType(d.dump()), media::kDockerManifest);
  json l{{"schemaVersion", 2}, {"mediaType", std::string(media::kDockerManifestList)}, {"manifests", json::array()}};
  EXPECT_EQ(DetectManifestMediaType(l.dump()), media::kDockerManifestList);
}

TEST(DetectManifestMediaTypeTest, InfersWithoutField) {
  json i = OciIndex();
  i.erase("mediaType");
  EXPECT_EQ(DetectManifestMediaType(i.dump()), media::kOciIndex);
  json m = OciImage();
  m.erase("mediaType");
  EXPECT_EQ(DetectManifestMediaType(m.dump()), media::kOciManifest);
}

TEST(DetectManifestMediaTypeTest, FallsBackToOciManifest) {
  EXPECT_EQ(DetectManifestMediaType(""), media::kOciManifest);
  EXPECT_EQ(DetectManifestMediaType("not json"), media::kOciManifest);
  EXPECT_EQ(DetectManifestMediaType("[]"), media::kOciManifest);
  EXPECT_EQ(DetectManifestMediaType(Nested(1000)), media::kOciManifest);
  EXPECT_EQ(DetectManifestMediaType("{\"mediaType\": 5}"), media::kOciManifest);
}

TEST(MediaTypesTest, Classification) {
  EXPECT_TRUE(media::IsIndex(media::kOciIndex));
  EXPECT_TRUE(media::IsIndex(media::kDockerManifestList));
  EXPECT_FALSE(media::IsIndex(media::kOciManifest));
  EXPECT_TRUE(media::IsImageManifest(media::kOciManifest));
  EXPECT_TRUE(media::IsImageManifest(media::kDockerManifest));
  EXPECT_FALSE(media::IsImageManifest(media::kDockerManifestList));
  EXPECT_FALSE(media::IsManifest(media::kOciEmptyConfig));
  EXPECT_FALSE(media::IsManifest(""));
  EXPECT_EQ(media::StripParameters("a/b; charset=utf-8"), "a/b");
  EXPECT_EQ(media::StripParameters(" a/b ;x=y;z=w"), "a/b");
  EXPECT_EQ(media::StripParameters("a/b"), "a/b");
  EXPECT_EQ(media::StripParameters(""), "");
}

}  // namespace
}  // namespace berth::oci
