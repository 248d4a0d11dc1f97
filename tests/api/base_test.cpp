// GET /v2/: API version check.
#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

class BaseTest : public ServerSuite<BaseTest> {};

TEST_F(BaseTest, GetV2Returns200WithApiVersionHeader) {
  auto r = Do(client(), "GET", "/v2/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  json body = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(body.is_object()) << r.body;
}

TEST_F(BaseTest, HeadV2Returns200WithoutBody) {
  auto r = Do(client(), "HEAD", "/v2/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_TRUE(r.body.empty());
}

TEST_F(BaseTest, V2WithoutTrailingSlashIsTheBaseEndpoint) {
  auto r = Do(client(), "GET", "/v2");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST_F(BaseTest, ErrorResponsesAlsoCarryApiVersionHeader) {
  auto r = Do(client(), "GET", "/v2/base/missing/manifests/latest");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(ErrorCode(r), "MANIFEST_UNKNOWN");
}

TEST_F(BaseTest, ManyRequestsOnOneClientConnection) {
  for (int i = 0; i < 50; ++i) {
    auto r = Do(client(), i % 2 ? "HEAD" : "GET", "/v2/");
    ASSERT_EQ(r.status, 200u) << "request " << i;
  }
}

}  // namespace
}  // namespace berth::apitest
