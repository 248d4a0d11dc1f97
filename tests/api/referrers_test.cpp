// GET /v2/<name>/referrers/<digest>[?artifactType=] and the subject field of manifests.
#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

json Body(const ClientResponse& r) { return json::parse(r.body, nullptr, /*allow_exceptions=*/false); }

class ReferrersTest : public ServerSuite<ReferrersTest> {
 protected:
  // An artifact manifest (empty config) in `repo` whose subject is `subject`.
  struct Referrer {
    std::string body;
    std::string digest;
  };
  Referrer PushReferrer(const std::string& repo, const Image& subject, const std::string& artifact_type,
                        const std::string& payload, json annotations = nullptr, bool with_artifact_type = true,
                        std::string_view config_type = kOciEmpty) {
    const std::string config = "{}";
    PushBlob(client(), repo, config);
    const std::string payload_digest = PushBlob(client(), repo, payload);
    json m = {{"schemaVersion", 2},
              {"mediaType", kOciManifest},
              {"config", Descriptor(config_type, Sha256(config), config.size())},
              {"layers", {Descriptor("application/vnd.example.payload", payload_digest, payload.size())}},
              {"subject", Descriptor(kOciManifest, subject.digest, subject.body.size())}};
    if (with_artifact_type) m["artifactType"] = artifact_type;
    if (!annotations.is_null()) m["annotations"] = annotations;
    Referrer r{m.dump(), ""};
    r.digest = Sha256(r.body);
    auto put = PutManifest(client(), repo, r.digest, r.body);
    EXPECT_EQ(put.status, 201u) << put.body;
    EXPECT_EQ(put.header("OCI-Subject"), subject.digest);
    return r;
  }
};

TEST_F(ReferrersTest, PutWithSubjectReturnsOciSubjectAndIsListed) {
  Image subject = PushImage(client(), "ref/basic", "v1", "subject");
  json annotations = {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}, {"com.example.k", "v"}};
  Referrer sbom = PushReferrer("ref/basic", subject, "application/vnd.example.sbom.v1", "sbom", annotations);

  auto r = Do(client(), "GET", "/v2/ref/basic/referrers/" + subject.digest);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Type"), kOciIndex);
  EXPECT_EQ(r.header("OCI-Filters-Applied"), "");
  json body = Body(r);
  EXPECT_EQ(body["schemaVersion"], 2);
  EXPECT_EQ(body["mediaType"], kOciIndex);
  ASSERT_EQ(body["manifests"].size(), 1u) << r.body;
  const json& d = body["manifests"][0];
  EXPECT_EQ(d["mediaType"], kOciManifest);
  EXPECT_EQ(d["digest"], sbom.digest);
  EXPECT_EQ(d["size"], sbom.body.size());
  EXPECT_EQ(d["artifactType"], "application/vnd.example.sbom.v1");
  EXPECT_EQ(d["annotations"], annotations);
}

TEST_F(ReferrersTest, ArtifactTypeFilter) {
  Image subject = PushImage(client(), "ref/filter", "v1", "filter-subject");
  Referrer sbom = PushReferrer("ref/filter", subject, "application/vnd.example.sbom.v1", "sbom-1");
  Referrer sig = PushReferrer("ref/filter", subject, "application/vnd.example.signature.v1", "sig-1");

  auto all = Do(client(), "GET", "/v2/ref/filter/referrers/" + subject.digest);
  EXPECT_EQ(Body(all)["manifests"].size(), 2u);

  auto r = Do(client(), "GET",
              "/v2/ref/filter/referrers/" + subject.digest + "?artifactType=application/vnd.example.signature.v1");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("OCI-Filters-Applied"), "artifactType");
  EXPECT_EQ(r.header("Content-Type"), kOciIndex);
  json m = Body(r)["manifests"];
  ASSERT_EQ(m.size(), 1u) << r.body;
  EXPECT_EQ(m[0]["digest"], sig.digest);

  auto none = Do(client(), "GET", "/v2/ref/filter/referrers/" + subject.digest + "?artifactType=application/none");
  EXPECT_EQ(none.status, 200u);
  EXPECT_EQ(none.header("OCI-Filters-Applied"), "artifactType");
  EXPECT_EQ(Body(none)["manifests"], json::array());
}

TEST_F(ReferrersTest, FilterValueIsPercentDecoded) {
  Image subject = PushImage(client(), "ref/encoded", "v1", "encoded-subject");
  Referrer r1 = PushReferrer("ref/encoded", subject, "application/vnd.example+json", "plus");
  auto r = Do(client(), "GET",
              "/v2/ref/encoded/referrers/" + subject.digest + "?artifactType=application%2Fvnd.example%2Bjson");
  ASSERT_EQ(r.status, 200u);
  json m = Body(r)["manifests"];
  ASSERT_EQ(m.size(), 1u) << r.body;
  EXPECT_EQ(m[0]["digest"], r1.digest);
}

TEST_F(ReferrersTest, ImageManifestFallsBackToConfigMediaType) {
  Image subject = PushImage(client(), "ref/fallback", "v1", "fallback-subject");
  PushReferrer("ref/fallback", subject, "", "fallback", nullptr, /*with_artifact_type=*/false,
               "application/vnd.example.config.v1+json");
  auto r = Do(client(), "GET", "/v2/ref/fallback/referrers/" + subject.digest);
  json m = Body(r)["manifests"];
  ASSERT_EQ(m.size(), 1u) << r.body;
  EXPECT_EQ(m[0]["artifactType"], "application/vnd.example.config.v1+json");
}

TEST_F(ReferrersTest, NoReferrersIsEmptyIndex) {
  Image subject = PushImage(client(), "ref/none", "v1", "lonely");
  for (const std::string& digest : {subject.digest, Sha256("no such manifest")}) {
    auto r = Do(client(), "GET", "/v2/ref/none/referrers/" + digest);
    EXPECT_EQ(r.status, 200u) << digest;
    EXPECT_EQ(r.header("Content-Type"), kOciIndex);
    json body = Body(r);
    EXPECT_EQ(body["schemaVersion"], 2);
    EXPECT_EQ(body["mediaType"], kOciIndex);
    EXPECT_TRUE(body["manifests"].is_array());
    EXPECT_EQ(body["manifests"].size(), 0u);
  }
}

TEST_F(ReferrersTest, ReferrerMayBePushedBeforeItsSubject) {
  Image subject = MakeImage(client(), "ref/order", "later-subject");  // blobs only, manifest not yet pushed
  Referrer sig = PushReferrer("ref/order", subject, "application/vnd.example.signature.v1", "early");
  auto before = Do(client(), "GET", "/v2/ref/order/referrers/" + subject.digest);
  EXPECT_EQ(before.status, 200u);
  ASSERT_EQ(PutManifest(client(), "ref/order", "v1", subject.body).status, 201u);
  auto after = Do(client(), "GET", "/v2/ref/order/referrers/" + subject.digest);
  json m = Body(after)["manifests"];
  ASSERT_EQ(m.size(), 1u) << after.body;
  EXPECT_EQ(m[0]["digest"], sig.digest);
}

TEST_F(ReferrersTest, ReferrersAreScopedToTheRepository) {
  Image subject = PushImage(client(), "ref/scope-a", "v1", "scoped");
  PushReferrer("ref/scope-a", subject, "application/vnd.example.sbom.v1", "scoped-sbom");
  auto other = Do(client(), "GET", "/v2/ref/scope-b/referrers/" + subject.digest);
  EXPECT_EQ(other.status, 200u);
  EXPECT_EQ(Body(other)["manifests"], json::array());
}

TEST_F(ReferrersTest, DeletedReferrerIsNotListed) {
  Image subject = PushImage(client(), "ref/delete", "v1", "delete-subject");
  Referrer a = PushReferrer("ref/delete", subject, "application/vnd.example.a", "a");
  Referrer b = PushReferrer("ref/delete", subject, "application/vnd.example.b", "b");
  ASSERT_EQ(Do(client(), "DELETE", "/v2/ref/delete/manifests/" + a.digest).status, 202u);
  json m = Body(Do(client(), "GET", "/v2/ref/delete/referrers/" + subject.digest))["manifests"];
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["digest"], b.digest);
}

TEST_F(ReferrersTest, IndexWithSubject) {
  Image subject = PushImage(client(), "ref/index", "v1", "index-subject");
  Image child = PushImage(client(), "ref/index", "child", "index-child");
  json index = {{"schemaVersion", 2},
                {"mediaType", kOciIndex},
                {"artifactType", "application/vnd.example.index-artifact"},
                {"manifests", {Descriptor(kOciManifest, child.digest, child.body.size())}},
                {"subject", Descriptor(kOciManifest, subject.digest, subject.body.size())}};
  const std::string body = index.dump();
  auto put = PutManifest(client(), "ref/index", Sha256(body), body, kOciIndex);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("OCI-Subject"), subject.digest);
  json m = Body(Do(client(), "GET", "/v2/ref/index/referrers/" + subject.digest))["manifests"];
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["mediaType"], kOciIndex);
  EXPECT_EQ(m[0]["artifactType"], "application/vnd.example.index-artifact");
}

TEST_F(ReferrersTest, BadDigestIsDigestInvalid) {
  for (const std::string& bad :
       {std::string("sha256:abc"), std::string("latest"), Repeat("md5:", 32, 'a'), Repeat("sha256:", 64, 'G')}) {
    auto r = Do(client(), "GET", "/v2/ref/bad/referrers/" + bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_EQ(ErrorCode(r), "DIGEST_INVALID") << bad;
  }
}

}  // namespace
}  // namespace berth::apitest
