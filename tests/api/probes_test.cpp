// /healthz and /readyz answer without credentials, even with token auth on.
#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

class ProbesTest : public ServerSuite<ProbesTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;  // the secure default: probes must still answer
    return o;
  }
};

TEST_F(ProbesTest, HealthzAnswersWithoutCredentials) {
  auto r = Do(client(), "GET", "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(ProbesTest, ReadyzChecksStorage) {
  auto r = Do(client(), "GET", "/readyz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(ProbesTest, RegistryStillNeedsCredentials) { EXPECT_EQ(Do(client(), "GET", "/v2/").status, 401u); }

}  // namespace
}  // namespace berth::apitest
