// Manifests: GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>.
#include <filesystem>
#include <fstream>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

class ManifestTest : public ServerSuite<ManifestTest> {};

TEST_F(ManifestTest, PutByTagThenGetByTagAndDigest) {
  Image img = MakeImage(client(), "man/basic", "basic");
  auto put = PutManifest(client(), "man/basic", "v1", img.body);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), img.digest);
  EXPECT_EQ(put.header("Location"), "/v2/man/basic/manifests/" + img.digest);
  EXPECT_EQ(put.header("OCI-Subject"), "");

  for (const std::string& ref : {std::string("v1"), img.digest}) {
    auto g = Do(client(), "GET", "/v2/man/basic/manifests/" + ref, {{"Accept", std::string(kOciManifest)}});
    EXPECT_EQ(g.status, 200u) << ref;
    EXPECT_EQ(g.body, img.body) << ref;
    EXPECT_EQ(g.header("Content-Type"), kOciManifest) << ref;
    EXPECT_EQ(g.header("Docker-Content-Digest"), img.digest) << ref;
    EXPECT_EQ(g.header("Content-Length"), std::to_string(img.body.size())) << ref;
  }
  // The Location is pullable.
  EXPECT_EQ(Do(client(), "GET", put.header("Location")).body, img.body);
}

TEST_F(ManifestTest, StoresExactBytes) {
  // Unusual but valid formatting must be preserved byte for byte.
  Image img = MakeImage(client(), "man/exact", "exact");
  std::string body = "{\n  \"schemaVersion\" :   2,\n\t\"mediaType\": \"" + std::string(kOciManifest) +
                     "\",\n  \"config\": " + img.manifest["config"].dump(2) +
                     ",\n  \"layers\": " + img.manifest["layers"].dump() +
                     ",\n  \"annotations\": {\"x\": \"\\u00e9\"}\n}\n";
  auto put = PutManifest(client(), "man/exact", "pretty", body);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), Sha256(body));
  auto g = Do(client(), "GET", "/v2/man/exact/manifests/pretty");
  EXPECT_EQ(g.body, body);
}

TEST_F(ManifestTest, HeadReturnsHeadersWithoutBody) {
  Image img = PushImage(client(), "man/head", "v1", "head");
  for (const std::string& ref : {std::string("v1"), img.digest}) {
    auto h = Do(client(), "HEAD", "/v2/man/head/manifests/" + ref);
    EXPECT_EQ(h.status, 200u) << ref;
    EXPECT_EQ(h.header("Content-Type"), kOciManifest);
    EXPECT_EQ(h.header("Docker-Content-Digest"), img.digest);
    EXPECT_EQ(h.header("Content-Length"), std::to_string(img.body.size()));
    EXPECT_TRUE(h.body.empty());
  }
  auto missing = Do(client(), "HEAD", "/v2/man/head/manifests/nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_TRUE(missing.body.empty());
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u);  // connection still in sync
}

TEST_F(ManifestTest, PutByDigest) {
  Image img = MakeImage(client(), "man/bydigest", "bydigest");
  auto put = PutManifest(client(), "man/bydigest", img.digest, img.body);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), img.digest);
  EXPECT_EQ(put.header("Location"), "/v2/man/bydigest/manifests/" + img.digest);
  EXPECT_EQ(Do(client(), "GET", "/v2/man/bydigest/manifests/" + img.digest).body, img.body);
  // No tag was created.
  auto tags = Do(client(), "GET", "/v2/man/bydigest/tags/list");
  EXPECT_EQ(tags.status, 200u);
  EXPECT_EQ(json::parse(tags.body, nullptr, false).value("tags", json::array()), json::array());
}

TEST_F(ManifestTest, PutBySha512Digest) {
  Image img = MakeImage(client(), "man/sha512", "sha512");
  const std::string digest = Sha512(img.body);
  auto put = PutManifest(client(), "man/sha512", digest, img.body);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  auto g = Do(client(), "GET", "/v2/man/sha512/manifests/" + digest);
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(g.body, img.body);
}

TEST_F(ManifestTest, PutWithWrongDigestInUrl) {
  Image img = MakeImage(client(), "man/wrongdigest", "wrongdigest");
  const std::string wrong = Sha256("not the manifest");
  auto put = PutManifest(client(), "man/wrongdigest", wrong, img.body);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "DIGEST_INVALID");
  EXPECT_EQ(Do(client(), "GET", "/v2/man/wrongdigest/manifests/" + wrong).status, 404u);
  EXPECT_EQ(Do(client(), "GET", "/v2/man/wrongdigest/manifests/" + img.digest).status, 404u);
}

TEST_F(ManifestTest, MissingLayerIsManifestBlobUnknown) {
  Image img = MakeImage(client(), "man/missing", "missing", /*push_blobs=*/false);
  PushBlob(client(), "man/missing", img.config);  // config only, no layers
  auto put = PutManifest(client(), "man/missing", "v1", img.body);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(Do(client(), "GET", "/v2/man/missing/manifests/v1").status, 404u);
}

TEST_F(ManifestTest, MissingConfigIsManifestBlobUnknown) {
  Image img = MakeImage(client(), "man/missingcfg", "missingcfg", /*push_blobs=*/false);
  for (const auto& l : img.layers) PushBlob(client(), "man/missingcfg", l);
  auto put = PutManifest(client(), "man/missingcfg", "v1", img.body);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(ManifestTest, BlobsOfAnotherRepositoryDoNotCount) {
  Image img = MakeImage(client(), "man/blobs-elsewhere", "elsewhere");
  auto put = PutManifest(client(), "man/blobs-here", "v1", img.body);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(ManifestTest, MalformedJsonIsManifestInvalid) {
  for (const std::string& body : {std::string("{\"schemaVersion\": 2, "), std::string("not json at all"),
                                  std::string("[1,2,3]"), std::string(""), std::string(100, '[')}) {
    auto put = PutManifest(client(), "man/malformed", "v1", body);
    EXPECT_EQ(put.status, 400u) << body;
    EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID") << body;
  }
}

TEST_F(ManifestTest, WrongSchemaVersionIsManifestInvalid) {
  Image img = MakeImage(client(), "man/schema", "schema");
  json m = img.manifest;
  m["schemaVersion"] = 1;
  auto put = PutManifest(client(), "man/schema", "v1", m.dump());
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
}

TEST_F(ManifestTest, MediaTypeDifferentFromContentTypeIsManifestInvalid) {
  Image img = MakeImage(client(), "man/mismatch", "mismatch");
  auto put = PutManifest(client(), "man/mismatch", "v1", img.body, kDockerManifest);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
  auto put2 = PutManifest(client(), "man/mismatch", "v1", img.body, kOciIndex);
  EXPECT_EQ(put2.status, 400u);
  EXPECT_EQ(ErrorCode(put2), "MANIFEST_INVALID");
}

TEST_F(ManifestTest, ManifestsAndLayersTogetherIsManifestInvalid) {
  Image img = MakeImage(client(), "man/both", "both");
  json m = img.manifest;
  m["manifests"] = json::array({Descriptor(kOciManifest, img.digest, img.body.size())});
  auto put = PutManifest(client(), "man/both", "v1", m.dump());
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
  m["mediaType"] = kOciIndex;
  auto put2 = PutManifest(client(), "man/both", "v1", m.dump(), kOciIndex);
  EXPECT_EQ(put2.status, 400u);
  EXPECT_EQ(ErrorCode(put2), "MANIFEST_INVALID");
}

TEST_F(ManifestTest, UnsupportedMediaTypeIsManifestInvalid) {
  Image img = MakeImage(client(), "man/weirdtype", "weirdtype");
  json m = img.manifest;
  m["mediaType"] = "application/vnd.example.not-a-manifest";
  auto put = PutManifest(client(), "man/weirdtype", "v1", m.dump(), "application/vnd.example.not-a-manifest");
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
}

TEST_F(ManifestTest, OversizedManifestIsRejected) {
  Image img = MakeImage(client(), "man/huge", "huge");
  json m = img.manifest;
  m["annotations"] = {{"padding", std::string(4 * 1024 * 1024 + 100, 'a')}};
  const std::string body = m.dump();
  ASSERT_GT(body.size(), 4u * 1024 * 1024);
  auto put = PutManifest(client(), "man/huge", "v1", body);
  EXPECT_TRUE(put.status == 413u || put.status == 400u) << put.status;
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
  EXPECT_EQ(Do(client(), "GET", "/v2/man/huge/manifests/v1").status, 404u);
}

TEST_F(ManifestTest, OversizedChunkedManifestIsRejected) {
  // Same limit without a Content-Length to check up front.
  Image img = MakeImage(client(), "man/huge-chunked", "hugechunked");
  json m = img.manifest;
  m["annotations"] = {{"padding", std::string(4 * 1024 * 1024 + 100, 'b')}};
  const std::string body = m.dump();
  size_t off = 0;
  auto put =
      client().RequestStream("PUT", "/v2/man/huge-chunked/manifests/v1", {{"Content-Type", std::string(kOciManifest)}},
                             -1, [&](char* buf, size_t n) -> size_t {
                               size_t k = std::min(n, body.size() - off);
                               std::copy_n(body.data() + off, k, buf);
                               off += k;
                               return k;
                             });
  ASSERT_TRUE(put.ok()) << put.status().message();
  EXPECT_TRUE(put->status == 413u || put->status == 400u) << put->status;
  EXPECT_EQ(ErrorCode(*put), "MANIFEST_INVALID");
}

TEST_F(ManifestTest, ManifestNearTheLimitIsAccepted) {
  Image img = MakeImage(client(), "man/big", "big");
  json m = img.manifest;
  m["annotations"] = {{"padding", std::string(3 * 1024 * 1024, 'c')}};
  const std::string body = m.dump();
  auto put = PutManifest(client(), "man/big", "v1", body);
  EXPECT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(Do(client(), "GET", "/v2/man/big/manifests/v1").body, body);
}

TEST_F(ManifestTest, OciIndex) {
  Image amd = PushImage(client(), "man/index", "amd64", "amd64");
  Image arm = PushImage(client(), "man/index", "arm64", "arm64");
  json index = {
      {"schemaVersion", 2},
      {"mediaType", kOciIndex},
      {"manifests",
       {Descriptor(kOciManifest, amd.digest, amd.body.size()), Descriptor(kOciManifest, arm.digest, arm.body.size())}}};
  index["manifests"][0]["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  index["manifests"][1]["platform"] = {{"architecture", "arm64"}, {"os", "linux"}};
  const std::string body = index.dump();
  auto put = PutManifest(client(), "man/index", "multi", body, kOciIndex);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), Sha256(body));
  auto g = Do(client(), "GET", "/v2/man/index/manifests/multi");
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.header("Content-Type"), kOciIndex);
  EXPECT_EQ(g.body, body);
}

TEST_F(ManifestTest, IndexWithMissingChildIsManifestBlobUnknown) {
  Image present = PushImage(client(), "man/index-missing", "present", "present");
  Image absent = MakeImage(client(), "man/index-missing", "absent");  // blobs pushed, manifest not
  json index = {{"schemaVersion", 2},
                {"mediaType", kOciIndex},
                {"manifests",
                 {Descriptor(kOciManifest, present.digest, present.body.size()),
                  Descriptor(kOciManifest, absent.digest, absent.body.size())}}};
  auto put = PutManifest(client(), "man/index-missing", "multi", index.dump(), kOciIndex);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(ManifestTest, DockerSchema2ManifestAndManifestList) {
  Image img = MakeImage(client(), "man/docker", "docker", true, kDockerManifest);
  auto put = PutManifest(client(), "man/docker", "v2", img.body, kDockerManifest);
  ASSERT_EQ(put.status, 201u) << put.body;
  auto g = Do(client(), "GET", "/v2/man/docker/manifests/v2");
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.header("Content-Type"), kDockerManifest);
  EXPECT_EQ(g.body, img.body);

  json list = {{"schemaVersion", 2},
               {"mediaType", kDockerManifestList},
               {"manifests", {Descriptor(kDockerManifest, img.digest, img.body.size())}}};
  list["manifests"][0]["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  const std::string body = list.dump();
  auto put2 = PutManifest(client(), "man/docker", "list", body, kDockerManifestList);
  ASSERT_EQ(put2.status, 201u) << put2.body;
  auto g2 = Do(client(), "GET", "/v2/man/docker/manifests/list");
  EXPECT_EQ(g2.header("Content-Type"), kDockerManifestList);
  EXPECT_EQ(g2.header("Docker-Content-Digest"), Sha256(body));
  EXPECT_EQ(g2.body, body);
}

TEST_F(ManifestTest, ArtifactManifestWithEmptyConfig) {
  const std::string empty = "{}";
  const std::string empty_digest = PushBlob(client(), "man/artifact", empty);
  EXPECT_EQ(empty_digest, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  const std::string payload = "artifact payload";
  const std::string payload_digest = PushBlob(client(), "man/artifact", payload);
  json m = {{"schemaVersion", 2},
            {"mediaType", kOciManifest},
            {"artifactType", "application/vnd.example.thing.v1"},
            {"config", Descriptor(kOciEmpty, empty_digest, 2)},
            {"layers", {Descriptor("application/vnd.example.thing.layer.v1", payload_digest, payload.size())}}};
  const std::string body = m.dump();
  auto put = PutManifest(client(), "man/artifact", "thing", body);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(Do(client(), "GET", "/v2/man/artifact/manifests/thing").body, body);

  // An artifact with no layers at all is also valid.
  json bare = {{"schemaVersion", 2},
               {"mediaType", kOciManifest},
               {"artifactType", "application/vnd.example.bare.v1"},
               {"config", Descriptor(kOciEmpty, empty_digest, 2)},
               {"layers", json::array()}};
  EXPECT_EQ(PutManifest(client(), "man/artifact", "bare", bare.dump()).status, 201u);
}

TEST_F(ManifestTest, RetagAndOverwriteTag) {
  Image a = PushImage(client(), "man/retag", "latest", "a");
  EXPECT_EQ(PutManifest(client(), "man/retag", "stable", a.body).status, 201u);
  Image b = PushImage(client(), "man/retag", "latest", "b");
  EXPECT_EQ(Do(client(), "GET", "/v2/man/retag/manifests/latest").header("Docker-Content-Digest"), b.digest);
  EXPECT_EQ(Do(client(), "GET", "/v2/man/retag/manifests/stable").header("Docker-Content-Digest"), a.digest);
  // The old manifest remains reachable by digest.
  EXPECT_EQ(Do(client(), "GET", "/v2/man/retag/manifests/" + a.digest).status, 200u);
}

TEST_F(ManifestTest, DeleteByTagKeepsManifest) {
  Image img = PushImage(client(), "man/deltag", "v1", "deltag");
  auto d = Do(client(), "DELETE", "/v2/man/deltag/manifests/v1");
  EXPECT_EQ(d.status, 202u) << d.body;
  auto gone = Do(client(), "GET", "/v2/man/deltag/manifests/v1");
  EXPECT_EQ(gone.status, 404u);
  EXPECT_EQ(ErrorCode(gone), "MANIFEST_UNKNOWN");
  EXPECT_EQ(Do(client(), "GET", "/v2/man/deltag/manifests/" + img.digest).status, 200u);
  auto again = Do(client(), "DELETE", "/v2/man/deltag/manifests/v1");
  EXPECT_EQ(again.status, 404u);
  EXPECT_EQ(ErrorCode(again), "MANIFEST_UNKNOWN");
}

TEST_F(ManifestTest, DeleteByDigest) {
  Image img = PushImage(client(), "man/deldigest", "v1", "deldigest");
  EXPECT_EQ(PutManifest(client(), "man/deldigest", "v2", img.body).status, 201u);
  auto d = Do(client(), "DELETE", "/v2/man/deldigest/manifests/" + img.digest);
  EXPECT_EQ(d.status, 202u) << d.body;
  auto g = Do(client(), "GET", "/v2/man/deldigest/manifests/" + img.digest);
  EXPECT_EQ(g.status, 404u);
  EXPECT_EQ(ErrorCode(g), "MANIFEST_UNKNOWN");
  // Tags that pointed at it are gone too.
  for (const char* tag : {"v1", "v2"}) {
    auto t = Do(client(), "GET", std::string("/v2/man/deldigest/manifests/") + tag);
    EXPECT_EQ(t.status, 404u) << tag;
    EXPECT_EQ(ErrorCode(t), "MANIFEST_UNKNOWN") << tag;
  }
  auto tags = Do(client(), "GET", "/v2/man/deldigest/tags/list");
  EXPECT_EQ(tags.status, 200u);
  EXPECT_EQ(json::parse(tags.body, nullptr, false).value("tags", json::array()), json::array());
  auto again = Do(client(), "DELETE", "/v2/man/deldigest/manifests/" + img.digest);
  EXPECT_EQ(again.status, 404u);
  EXPECT_EQ(ErrorCode(again), "MANIFEST_UNKNOWN");
}

TEST_F(ManifestTest, UnknownTagAndDigest) {
  PushImage(client(), "man/unknown", "v1", "unknown");
  auto t = Do(client(), "GET", "/v2/man/unknown/manifests/v404");
  EXPECT_EQ(t.status, 404u);
  EXPECT_EQ(ErrorCode(t), "MANIFEST_UNKNOWN");
  auto d = Do(client(), "GET", "/v2/man/unknown/manifests/" + Sha256("nothing"));
  EXPECT_EQ(d.status, 404u);
  EXPECT_EQ(ErrorCode(d), "MANIFEST_UNKNOWN");
  auto repo = Do(client(), "GET", "/v2/man/no-such-repo/manifests/latest");
  EXPECT_EQ(repo.status, 404u);
}

TEST_F(ManifestTest, ManifestOfAnotherRepositoryIsNotVisible) {
  Image img = PushImage(client(), "man/visible", "v1", "visible");
  auto g = Do(client(), "GET", "/v2/man/invisible/manifests/" + img.digest);
  EXPECT_EQ(g.status, 404u);
  EXPECT_EQ(ErrorCode(g), "MANIFEST_UNKNOWN");
}

TEST_F(ManifestTest, InvalidTagIs400OnWriteAnd404OnRead) {
  Image img = MakeImage(client(), "man/badtag", "badtag");
  auto put = PutManifest(client(), "man/badtag", "-bad", img.body);
  EXPECT_EQ(put.status, 400u);
  EXPECT_TRUE(IsSpecErrorCode(ErrorCode(put))) << put.body;
  // A read of a tag that cannot exist is simply unknown (docs/api.md).
  auto get = Do(client(), "GET", "/v2/man/badtag/manifests/-bad");
  EXPECT_EQ(get.status, 404u);
  EXPECT_EQ(ErrorCode(get), "MANIFEST_UNKNOWN") << get.body;
  const std::string long_tag(129, 'a');
  EXPECT_EQ(PutManifest(client(), "man/badtag", long_tag, img.body).status, 400u);
  // 128 characters is the maximum and fine.
  EXPECT_EQ(PutManifest(client(), "man/badtag", std::string(128, 'a'), img.body).status, 201u);
}

TEST_F(ManifestTest, TagsMayContainUpperCaseDotsAndDashes) {
  Image img = MakeImage(client(), "man/tagchars", "tagchars");
  for (const char* tag : {"V1.2.3-rc_1", "_underscore", "9"}) {
    EXPECT_EQ(PutManifest(client(), "man/tagchars", tag, img.body).status, 201u) << tag;
    EXPECT_EQ(Do(client(), "GET", std::string("/v2/man/tagchars/manifests/") + tag).status, 200u) << tag;
  }
}

// Storage ahead of the database (an upload whose row was never written: a
// crash or an outage between the two): a client told by a blob HEAD that the
// blobs exist PUTs the manifest, and the PUT records the links storage holds
// (under the repository's lock, docs/gc.md) instead of refusing them.
TEST_F(ManifestTest, PutRecordsBlobsStorageHoldsLinkedButTheDatabaseLacks) {
  Image img = MakeImage(client(), "man/ahead", "ahead", /*push_blobs=*/false);
  const std::filesystem::path v2 = server().data_dir() + "/docker/registry/v2";
  std::vector<std::string> contents = img.layers;
  contents.push_back(img.config);
  for (const std::string& content : contents) {
    const std::string digest = Sha256(content);
    const std::string hex = digest.substr(7);
    const std::filesystem::path blob = v2 / "blobs/sha256" / hex.substr(0, 2) / hex;
    const std::filesystem::path link = v2 / "repositories/man/ahead/_layers/sha256" / hex;
    std::filesystem::create_directories(blob);
    std::filesystem::create_directories(link);
    std::ofstream(blob / "data", std::ios::binary) << content;
    std::ofstream(link / "link", std::ios::binary) << digest;
    EXPECT_EQ(Do(client(), "HEAD", "/v2/man/ahead/blobs/" + digest).status, 200u);
  }
  auto put = PutManifest(client(), "man/ahead", "v1", img.body);
  ASSERT_EQ(put.status, 201u) << put.body;
  auto tags = Do(client(), "GET", "/v2/man/ahead/tags/list");
  EXPECT_EQ(tags.status, 200u);
  EXPECT_NE(tags.body.find("\"v1\""), std::string::npos) << tags.body;
}

}  // namespace
}  // namespace berth::apitest
