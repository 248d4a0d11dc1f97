// storage.redirect: GET blob answers 307 to the storage's presigned URL when the
// driver has one (S3), and is served directly otherwise (filesystem). The S3
// half needs BERTH_TEST_S3_* (ctest's s3.api_redirect provides a Ceph RGW).
#include <cstdlib>

#include "api_helpers.h"
#include "test_server.h"
#include "util/random.h"

namespace berth::apitest {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

class RedirectFilesystemTest : public ServerSuite<RedirectFilesystemTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.storage_extra = "  redirect: {enabled: true}\n";
    return o;
  }
};

TEST_F(RedirectFilesystemTest, FilesystemHasNoRedirectsAndServesBytes) {
  const std::string content = RandomBytes(5000, 11);
  const std::string digest = PushBlob(client(), "redir/fs", content);
  auto r = Do(client(), "GET", "/v2/redir/fs/blobs/" + digest);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(r.body == content);
}

class RedirectS3Test : public ServerSuite<RedirectS3Test> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    if (Env("BERTH_TEST_S3_ENDPOINT").empty()) return o;  // every test skips
    const std::string root = "/api-redirect-" + RandomHex(4);
    o.storage_backend = "  s3:\n    endpoint: \"" + Env("BERTH_TEST_S3_ENDPOINT") + "\"\n    bucket: \"" +
                        Env("BERTH_TEST_S3_BUCKET") + "\"\n    accesskey: \"" + Env("BERTH_TEST_S3_ACCESS_KEY") +
                        "\"\n    secretkey: \"" + Env("BERTH_TEST_S3_SECRET_KEY") +
                        "\"\n    forcepathstyle: true\n    rootdirectory: \"" + root + "\"\n";
    o.storage_extra = "  redirect: {enabled: true}\n";
    return o;
  }
  void SetUp() override {
    if (Env("BERTH_TEST_S3_ENDPOINT").empty()) GTEST_SKIP() << "BERTH_TEST_S3_ENDPOINT not set";
    ServerSuite<RedirectS3Test>::SetUp();
  }
};

TEST_F(RedirectS3Test, GetRedirectsToPresignedUrlHeadDoesNot) {
  const std::string content = RandomBytes(70000, 12);
  const std::string digest = PushBlob(client(), "redir/s3", content);
  auto r = Do(client(), "GET", "/v2/redir/s3/blobs/" + digest);
  ASSERT_EQ(r.status, 307u) << r.body;
  EXPECT_EQ(r.header("Docker-Content-Digest"), digest);
  const std::string location = r.header("Location");
  const std::string endpoint = Env("BERTH_TEST_S3_ENDPOINT");
  ASSERT_EQ(location.rfind(endpoint + "/", 0), 0u) << location;
  EXPECT_NE(location.find("X-Amz-Expires=1200"), std::string::npos) << location;
  EXPECT_NE(location.find("X-Amz-Signature="), std::string::npos) << location;
  // The presigned URL serves the blob to a client without any S3 credentials.
  const std::string hostport = endpoint.substr(endpoint.find("://") + 3);
  const auto colon = hostport.rfind(':');
  http::HttpClient s3("127.0.0.1", static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
  auto direct = s3.Request("GET", location.substr(endpoint.size()));
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  EXPECT_EQ(direct->status, 200u);
  EXPECT_TRUE(direct->body == content);
  // HEAD is answered by the registry itself.
  auto h = Do(client(), "HEAD", "/v2/redir/s3/blobs/" + digest);
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(h.header("Content-Length"), std::to_string(content.size()));
  // Unknown blobs stay 404.
  auto missing = Do(client(), "GET", "/v2/redir/s3/blobs/sha256:" + std::string(64, '0'));
  EXPECT_EQ(missing.status, 404u);
}

}  // namespace
}  // namespace berth::apitest
