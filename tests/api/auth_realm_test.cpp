// The token realm in 401 challenges: public_url when set, otherwise built from
// the request, with X-Forwarded-Proto/-Host believed only from trusted proxies.
#include "api_helpers.h"
#include "auth/password.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

std::string UsersAndAcl() {
  auto hash = auth::HashPassword("pw", 4);
  return "users:\n  alice: {password: \"" + *hash + "\"}\n" +
         "acl:\n  - {account: \"alice\", name: \"*\", actions: [\"*\"]}\n";
}

class TrustedProxyRealmTest : public ServerSuite<TrustedProxyRealmTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = UsersAndAcl() + "auth: {token: {service: \"svc.test\"}}\n";
    o.server_extra = "  trusted_proxies: [\"127.0.0.0/8\"]\n";
    return o;
  }
};

TEST_F(TrustedProxyRealmTest, ForwardedHeadersFromATrustedProxyShapeTheRealm) {
  auto r = Do(client(), "GET", "/v2/", {{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "registry.example.com"}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("WWW-Authenticate"),
            "Bearer realm=\"https://registry.example.com/v2/token\",service=\"svc.test\"");
}

TEST_F(TrustedProxyRealmTest, HostileForwardedHostIsNotEchoed) {
  auto r = Do(client(), "GET", "/v2/", {{"X-Forwarded-Host", "evil\",x=\"y"}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"http://localhost/v2/token\",service=\"svc.test\"");
}

class UntrustedProxyRealmTest : public ServerSuite<UntrustedProxyRealmTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = UsersAndAcl() + "auth: {token: {service: \"svc.test\"}}\n";
    return o;
  }
};

TEST_F(UntrustedProxyRealmTest, ForwardedHeadersFromAnUntrustedPeerAreIgnored) {
  // (The client sends Host: 127.0.0.1:<port> itself.)
  auto r = Do(client(), "GET", "/v2/team/app/tags/list",
              {{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "attacker.example"}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"http://127.0.0.1:" + std::to_string(server().port()) +
                                              "/v2/token\",service=\"svc.test\",scope=\"repository:team/app:pull\"");
  EXPECT_EQ(ErrorCode(r), "UNAUTHORIZED");
}

class PublicUrlRealmTest : public ServerSuite<PublicUrlRealmTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = UsersAndAcl() + "auth: {token: {service: \"svc.test\"}}\n";
    o.server_extra = "  public_url: \"https://reg.example.com/\"\n";
    return o;
  }
};

TEST_F(PublicUrlRealmTest, PublicUrlWins) {
  auto r = Do(client(), "POST", "/v2/team/app/blobs/uploads/");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(
      r.header("WWW-Authenticate"),
      "Bearer realm=\"https://reg.example.com/v2/token\",service=\"svc.test\",scope=\"repository:team/app:pull,push\"");
}

}  // namespace
}  // namespace berth::apitest
