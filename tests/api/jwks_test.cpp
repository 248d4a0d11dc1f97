// GET /.well-known/jwks.json: the token keys as a JWKS, and the bundle and
// JWKS files Berth publishes next to its key at start.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class JwksTest : public ServerSuite<JwksTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    return o;
  }
};

TEST_F(JwksTest, ServesTheRingAsPublished) {
  auto r = Do(client(), "GET", "/.well-known/jwks.json");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Cache-Control"), "max-age=300");
  const auto jwks = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(jwks.is_object()) << r.body;
  ASSERT_TRUE(jwks["keys"].is_array());
  ASSERT_EQ(jwks["keys"].size(), 1u);
  const auto& key = jwks["keys"][0];
  EXPECT_EQ(key.value("kty", ""), "RSA");
  EXPECT_EQ(key.value("alg", ""), "RS256");
  EXPECT_EQ(key.value("use", ""), "sig");
  EXPECT_FALSE(key.value("kid", "").empty());
  EXPECT_FALSE(key.contains("d"));  // never the private part

  // The same keys in the published file; the bundle holds the certificate.
  const std::string jwks_file = server().data_dir() + "/token-jwks.json";
  EXPECT_EQ(nlohmann::json::parse(ReadAll(jwks_file), nullptr, false), jwks);
  const std::string bundle = ReadAll(server().data_dir() + "/token-bundle.pem");
  EXPECT_EQ(bundle, ReadAll(server().data_dir() + "/token-key.crt"));
  struct stat st {};
  ASSERT_EQ(::stat(jwks_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ASSERT_EQ(::stat((server().data_dir() + "/token-bundle.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(JwksTest, HeadAndOtherMethods) {
  auto head = Do(client(), "HEAD", "/.well-known/jwks.json");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("Content-Type"), "application/json");
  auto post = Do(client(), "POST", "/.well-known/jwks.json");
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.header("Allow"), "GET, HEAD");
}

class JwksWithoutAuthTest : public ServerSuite<JwksWithoutAuthTest> {};

TEST_F(JwksWithoutAuthTest, NotServedWhenAuthIsOff) {
  auto r = Do(client(), "GET", "/.well-known/jwks.json");
  EXPECT_EQ(r.status, 404u);
}

}  // namespace
}  // namespace berth::apitest
