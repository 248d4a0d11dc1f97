#include <gtest/gtest.h>

#include <string>

#include "util/listen_address.h"

namespace berth {
namespace {

struct Parsed {
  Status status;
  std::string host = "<unset>";
  uint16_t port = 4242;
};

Parsed Parse(std::string_view addr) {
  Parsed p;
  p.status = ParseListenAddress(addr, &p.host, &p.port);
  return p;
}

void ExpectAddress(std::string_view addr, const std::string& host, uint16_t port) {
  Parsed p = Parse(addr);
  ASSERT_TRUE(p.status.ok()) << "'" << addr << "': " << p.status.message();
  EXPECT_EQ(p.host, host) << "'" << addr << "'";
  EXPECT_EQ(p.port, port) << "'" << addr << "'";
}

void ExpectInvalid(std::string_view addr) {
  Parsed p = Parse(addr);
  EXPECT_FALSE(p.status.ok()) << "'" << addr << "' accepted as host '" << p.host << "' port " << p.port;
  EXPECT_EQ(p.status.code(), StatusCode::kInvalidArgument) << "'" << addr << "'";
}

TEST(ListenAddressTest, PortOnly) {
  ExpectAddress(":5000", "", 5000);
  ExpectAddress(":0", "", 0);
  ExpectAddress(":1", "", 1);
  ExpectAddress(":65535", "", 65535);
  ExpectAddress(":443", "", 443);
}

TEST(ListenAddressTest, Ipv4) {
  ExpectAddress("127.0.0.1:0", "127.0.0.1", 0);
  ExpectAddress("127.0.0.1:5000", "127.0.0.1", 5000);
  ExpectAddress("0.0.0.0:80", "0.0.0.0", 80);
  ExpectAddress("192.168.1.20:8080", "192.168.1.20", 8080);
}

TEST(ListenAddressTest, Ipv6InBrackets) {
  ExpectAddress("[::1]:5000", "::1", 5000);
  ExpectAddress("[::]:5000", "::", 5000);
  ExpectAddress("[2001:db8::1]:443", "2001:db8::1", 443);
}

TEST(ListenAddressTest, LocalhostMeansIpv4Loopback) {
  ExpectAddress("localhost:80", "127.0.0.1", 80);
  ExpectAddress("localhost:0", "127.0.0.1", 0);
}

TEST(ListenAddressTest, RejectsHostNames) {
  ExpectInvalid("host.example:80");
  ExpectInvalid("example:80");
  ExpectInvalid("LOCALHOST.:80");
  ExpectInvalid("256.0.0.1:80");
  ExpectInvalid("1.2.3:80");
}

TEST(ListenAddressTest, RejectsMissingPort) {
  ExpectInvalid("5000");
  ExpectInvalid("");
  ExpectInvalid(":");
  ExpectInvalid("127.0.0.1");
  ExpectInvalid("127.0.0.1:");
  ExpectInvalid("localhost");
  ExpectInvalid("[::1]");
  ExpectInvalid("[::1]:");
}

TEST(ListenAddressTest, RejectsBadPort) {
  ExpectInvalid(":99999");
  ExpectInvalid(":65536");
  ExpectInvalid(":4294967296");
  ExpectInvalid(":18446744073709551616");
  ExpectInvalid(":abc");
  ExpectInvalid(":50a");
  ExpectInvalid(":-1");
  ExpectInvalid(":+80");
  ExpectInvalid(": 80");
  ExpectInvalid(":80 ");
  ExpectInvalid(":0x50");
  ExpectInvalid("127.0.0.1:http");
}

TEST(ListenAddressTest, RejectsBrokenBrackets) {
  ExpectInvalid("[::1:5000");
  ExpectInvalid("::1]:5000");
  ExpectInvalid("[]:5000x");
  ExpectInvalid("[fe80::zz]:80");
}

TEST(ListenAddressTest, OutputsUntouchedOnError) {
  Parsed p = Parse("host.example:80");
  ASSERT_FALSE(p.status.ok());
  EXPECT_EQ(p.host, "<unset>");
  EXPECT_EQ(p.port, 4242);
  EXPECT_NE(p.status.message().find("host.example"), std::string::npos) << p.status.message();
  Parsed q = Parse(":99999");
  ASSERT_FALSE(q.status.ok());
  EXPECT_NE(q.status.message().find("99999"), std::string::npos) << q.status.message();
}

}  // namespace
}  // namespace berth
