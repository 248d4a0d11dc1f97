// The `proxy:` section of the config (src/config/config.cpp ParseProxy).
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace berth::config {
namespace {

std::string Error(const std::string& yaml) {
  auto c = ParseConfig(yaml, "source.yaml");
  EXPECT_FALSE(c.ok()) << "accepted:\n" << yaml;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  return c.status().message();
}

TEST(ProxyConfigTest, NoneByDefault) { EXPECT_TRUE(DefaultConfig().proxy.empty()); }

TEST(ProxyConfigTest, ParsesEveryKey) {
  auto c = ParseConfig(R"(proxy:
  - prefix: docker.io/
    url: https://registry-1.docker.io/
    username: bob
    password_file: /run/secrets/hub
    tag_ttl: 10m
    mirror: true
    max_fills: 4
  - prefix: ghcr.io/
    url: http://127.0.0.1:5001
    username: alice
    password: s3cret
    ca_file: /etc/ca.pem
)",
                       "source.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->proxy.size(), 2u);
  const auto& hub = c->proxy[0];
  EXPECT_EQ(hub.prefix, "docker.io/");
  EXPECT_EQ(hub.url, "https://registry-1.docker.io");  // the trailing '/' is dropped
  EXPECT_EQ(hub.username, "bob");
  EXPECT_EQ(hub.password_file, "/run/secrets/hub");
  EXPECT_EQ(hub.tag_ttl_s, 600);
  EXPECT_TRUE(hub.mirror);
  EXPECT_EQ(hub.max_fills, 4);
  EXPECT_EQ(hub.pos.line, 2);
  const auto& gh = c->proxy[1];
  EXPECT_EQ(gh.url, "http://127.0.0.1:5001");
  EXPECT_EQ(gh.password, "s3cret");
  EXPECT_EQ(gh.ca_file, "/etc/ca.pem");
  EXPECT_EQ(gh.tag_ttl_s, 300);  // the default: 5 minutes
  EXPECT_FALSE(gh.mirror);
  EXPECT_EQ(gh.max_fills, 32);  // the default
}

TEST(ProxyConfigTest, PrefixMustBeARepositoryPrefix) {
  for (const char* bad : {"docker.io", "Docker.io/", "/x/", "a//", "a/-b/", "a..b/", "", "a b/"}) {
    const std::string yaml = std::string("proxy:\n  - prefix: \"") + bad + "\"\n    url: https://r.example\n";
    EXPECT_NE(Error(yaml).find("source.yaml:2:"), std::string::npos) << bad;
  }
  for (const char* good : {"docker.io/", "a/b-c/", "quay.io/vendor__x/"}) {
    const std::string yaml = std::string("proxy:\n  - prefix: ") + good + "\n    url: https://r.example\n";
    EXPECT_TRUE(ParseConfig(yaml, "s").ok()) << good;
  }
}

TEST(ProxyConfigTest, PrefixesMustNotOverlap) {
  const std::string msg = Error(R"(proxy:
  - prefix: docker.io/
    url: https://a.example
  - prefix: docker.io/library/
    url: https://b.example
)");
  EXPECT_NE(msg.find("source.yaml:4:13: proxy[1].prefix 'docker.io/library/' overlaps proxy[0]"), std::string::npos)
      << msg;
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a'}\n  - {prefix: a/, url: 'https://b'}\n").find("overlaps"),
            std::string::npos);
}

TEST(ProxyConfigTest, UrlMustBeSchemeHostPort) {
  for (const char* bad : {"ftp://x", "https://", "https://x/v2", "https://u:p@x", "x.example", "https://x:0",
                          "https://x:99999", "https://x:a", "https://:80", "https://x?y"}) {
    const std::string yaml = std::string("proxy:\n  - prefix: a/\n    url: \"") + bad + "\"\n";
    EXPECT_NE(Error(yaml).find("url must be http(s)://host[:port]"), std::string::npos) << bad;
  }
  for (const char* good : {"https://x", "http://127.0.0.1:5000", "https://[::1]:443", "https://[::1]"}) {
    const std::string yaml = std::string("proxy:\n  - prefix: a/\n    url: \"") + good + "\"\n";
    EXPECT_TRUE(ParseConfig(yaml, "s").ok()) << good;
  }
}

TEST(ProxyConfigTest, OtherMistakes) {
  EXPECT_NE(Error("proxy: {prefix: a/}\n").find("proxy must be a list"), std::string::npos);
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a', colour: red}\n").find("unknown key 'colour'"),
            std::string::npos);
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a', username: u, password: p, password_file: f}\n")
                .find("exclusive"),
            std::string::npos);
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a', password: p}\n").find("needs a username"),
            std::string::npos);
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a', tag_ttl: 5}\n").find("duration"), std::string::npos);
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a', mirror: true}\n  - {prefix: b/, url: 'https://b', "
                  "mirror: true}\n")
                .find("only one upstream can be the mirror"),
            std::string::npos);
  EXPECT_NE(Error("proxy:\n  - {prefix: a/, url: 'https://a', max_fills: 0}\n").find("max_fills"), std::string::npos);
}

}  // namespace
}  // namespace berth::config
