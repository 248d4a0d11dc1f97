#include "http/security_headers.h"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

TEST(SecurityHeadersTest, EveryResponseGetsNosniffNoReferrerAndTheApiPolicy) {
  const std::string h = SecurityHeaderLines({});
  EXPECT_NE(h.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_NE(h.find("Referrer-Policy: no-referrer\r\n"), std::string::npos);
  EXPECT_NE(h.find("Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"), std::string::npos);
  EXPECT_EQ(h.find("Strict-Transport-Security"), std::string::npos) << "no HSTS on plain HTTP";
}

TEST(SecurityHeadersTest, HstsOnlyWhenBerthTerminatesTls) {
  EXPECT_NE(SecurityHeaderLines({.tls = true}).find("Strict-Transport-Security: max-age=31536000\r\n"),
            std::string::npos);
  EXPECT_NE(SecurityHeaderLines({.tls = true, .hsts_max_age = 600, .hsts_include_subdomains = true})
                .find("Strict-Transport-Security: max-age=600; includeSubDomains\r\n"),
            std::string::npos);
  EXPECT_EQ(SecurityHeaderLines({.tls = true, .hsts_max_age = 0}).find("Strict-Transport-Security"), std::string::npos);
}

}  // namespace
}  // namespace berth::http
