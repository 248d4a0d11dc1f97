// proxy/challenge.h: parsing an upstream's WWW-Authenticate.
#include "proxy/challenge.h"

#include <gtest/gtest.h>

namespace berth::proxy {
namespace {

TEST(ProxyChallengeTest, DockerHubBearer) {
  auto c = ParseChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c->param("service"), "registry.docker.io");
  EXPECT_EQ(c->param("scope"), "repository:library/alpine:pull");
  EXPECT_EQ(c->param("error"), "");
}

TEST(ProxyChallengeTest, SpacesCaseTokensAndEscapes) {
  auto c = ParseChallenge(R"(  BEARER Realm = "http://h/t\"x" , service=berth ,error="insufficient_scope")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->param("realm"), "http://h/t\"x");
  EXPECT_EQ(c->param("service"), "berth");
  EXPECT_EQ(c->param("error"), "insufficient_scope");
}

TEST(ProxyChallengeTest, Basic) {
  auto c = ParseChallenge(R"(Basic realm="Registry Realm")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->param("realm"), "Registry Realm");
  auto bare = ParseChallenge("Basic");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->scheme, "basic");
  EXPECT_TRUE(bare->params.empty());
}

TEST(ProxyChallengeTest, SeveralChallengesPreferBearer) {
  auto c = ParseChallenge(R"(Basic realm="x", Bearer realm="https://a/token", service="s")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->param("realm"), "https://a/token");
  EXPECT_EQ(c->param("service"), "s");
  auto first = ParseChallenge(R"(Negotiate, Basic realm="x")");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->scheme, "negotiate");
}

TEST(ProxyChallengeTest, Malformed) {
  EXPECT_FALSE(ParseChallenge(""));
  EXPECT_FALSE(ParseChallenge("   "));
  EXPECT_FALSE(ParseChallenge(R"(Bearer realm="unterminated)"));
  EXPECT_FALSE(ParseChallenge(R"(Bearer realm="a" junk="b" "c")"));
  EXPECT_FALSE(ParseChallenge("=x"));
}

}  // namespace
}  // namespace berth::proxy
