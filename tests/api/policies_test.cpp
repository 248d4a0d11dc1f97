// policies: (docs/policies.md) at the registry's doors: immutable tags and quotas.
#include <fstream>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

class PoliciesTest : public ServerSuite<PoliciesTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.extra_config = R"(policies:
  - name: "imm/**"
    immutable_tags: ["v*", "release-*"]
  - name: "quota/**"
    quota: {bytes: 3000}
)";
    return o;
  }
};

std::string Message(const ClientResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("errors") || j["errors"].empty()) return "<" + r.body + ">";
  return j["errors"][0].value("message", "");
}

TEST_F(PoliciesTest, ImmutableTagTakesTheSameDigestAgainButNoOther) {
  Image a = PushImage(client(), "imm/app", "v1", "imm-a");
  // A pipeline's re-run pushes the same digest: fine.
  auto again = PutManifest(client(), "imm/app", "v1", a.body);
  EXPECT_EQ(again.status, 201u) << again.body;
  Image b = MakeImage(client(), "imm/app", "imm-b");
  auto moved = PutManifest(client(), "imm/app", "v1", b.body);
  EXPECT_EQ(moved.status, 403u) << moved.body;
  EXPECT_EQ(ErrorCode(moved), "DENIED");
  EXPECT_NE(Message(moved).find("tag \"v1\" of imm/app is immutable"), std::string::npos) << Message(moved);
  EXPECT_NE(Message(moved).find("immutable_tags \"v*\""), std::string::npos) << Message(moved);
  EXPECT_EQ(moved.header("WWW-Authenticate"), "");
  // Still a.
  auto head = Do(client(), "HEAD", "/v2/imm/app/manifests/v1", {{"Accept", std::string(kOciManifest)}});
  EXPECT_EQ(head.header("Docker-Content-Digest"), a.digest);
  // A new immutable tag may be created; a mutable one moves freely.
  EXPECT_EQ(PutManifest(client(), "imm/app", "v2", b.body).status, 201u);
  EXPECT_EQ(PutManifest(client(), "imm/app", "latest", a.body).status, 201u);
  EXPECT_EQ(PutManifest(client(), "imm/app", "latest", b.body).status, 201u);
  // Pushing by digest never moves a tag.
  EXPECT_EQ(PutManifest(client(), "imm/app", b.digest, b.body).status, 201u);
}

TEST_F(PoliciesTest, ImmutableTagCannotBeDeletedNorItsManifest) {
  Image a = PushImage(client(), "imm/del", "release-1", "imm-del-a");
  auto del = Do(client(), "DELETE", "/v2/imm/del/manifests/release-1");
  EXPECT_EQ(del.status, 403u) << del.body;
  EXPECT_EQ(ErrorCode(del), "DENIED");
  EXPECT_NE(Message(del).find("cannot be deleted"), std::string::npos) << Message(del);
  auto by_digest = Do(client(), "DELETE", "/v2/imm/del/manifests/" + a.digest);
  EXPECT_EQ(by_digest.status, 403u) << by_digest.body;
  EXPECT_EQ(Do(client(), "GET", "/v2/imm/del/manifests/release-1", {{"Accept", std::string(kOciManifest)}}).status,
            200u);
  // A mutable tag is deleted as always; an unknown immutable one is simply unknown.
  EXPECT_EQ(PutManifest(client(), "imm/del", "dev", a.body).status, 201u);
  EXPECT_EQ(Do(client(), "DELETE", "/v2/imm/del/manifests/dev").status, 202u);
  EXPECT_EQ(Do(client(), "DELETE", "/v2/imm/del/manifests/v9").status, 404u);
  // Other repositories have no such rule.
  Image c = PushImage(client(), "free/app", "v1", "free-a");
  EXPECT_EQ(Do(client(), "DELETE", "/v2/free/app/manifests/v1").status, 202u);
}

ClientResponse Metrics(HttpClient& c) { return Do(c, "GET", "/metrics"); }

TEST_F(PoliciesTest, QuotaRefusesEarlyCountsSharedBlobsOnceAndNotRefusedBytes) {
  const std::string first = RandomBytes(2000, 1);
  PushBlob(client(), "quota/a", first);
  // The same blob into another repository of the namespace adds nothing.
  PushBlob(client(), "quota/b", first);
  // A monolithic upload announces its size: refused before its body is read.
  const std::string second = RandomBytes(2000, 2);
  auto mono = Do(client(), "POST", "/v2/quota/a/blobs/uploads/?digest=" + Sha256(second),
                 {{"Content-Type", "application/octet-stream"}}, second);
  EXPECT_EQ(mono.status, 403u) << mono.body;
  EXPECT_EQ(ErrorCode(mono), "DENIED");
  EXPECT_EQ(Message(mono), "quota exceeded for quota/**: 2 KiB of 2.9 KiB used, this upload needs 2 KiB");
  // A chunk with a length likewise.
  client_ = server().Client();
  const std::string loc = StartUpload(client(), "quota/a");
  auto patch = Do(client(), "PATCH", loc, {{"Content-Type", "application/octet-stream"}}, second);
  EXPECT_EQ(patch.status, 403u) << patch.body;
  // Chunks within the quota, then a last chunk in the PUT: refused when the
  // upload completes (1100 more bytes), before the blob becomes visible.
  client_ = server().Client();
  const std::string third = RandomBytes(1100, 4);
  const std::string loc2 = StartUpload(client(), "quota/c");
  auto part = Do(client(), "PATCH", loc2, {{"Content-Type", "application/octet-stream"}}, third.substr(0, 500));
  ASSERT_EQ(part.status, 202u) << part.body;
  auto put = Do(client(), "PUT", WithDigest(part.header("Location"), Sha256(third)),
                {{"Content-Type", "application/octet-stream"}}, third.substr(500));
  EXPECT_EQ(put.status, 403u) << put.body;
  EXPECT_EQ(Message(put), "quota exceeded for quota/**: 2 KiB of 2.9 KiB used, this upload needs 1.1 KiB");
  client_ = server().Client();
  EXPECT_EQ(Do(client(), "HEAD", "/v2/quota/c/blobs/" + Sha256(third)).status, 404u);
  // Usage is unchanged: 2000 bytes.
  auto m = Metrics(client());
  ASSERT_EQ(m.status, 200u);
  EXPECT_NE(m.body.find("berth_quota_used_bytes{policy=\"quota/**\"} 2000\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("berth_quota_limit_bytes{policy=\"quota/**\"} 3000\n"), std::string::npos) << m.body;
  // What fits still goes in.
  PushBlob(client(), "quota/a", RandomBytes(900, 3));
}

}  // namespace
}  // namespace berth::apitest
