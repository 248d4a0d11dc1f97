// S3Client set-up without network: endpoint validation and addressing style,
// seen through presigned URLs (which need no connection).
#include "storage/s3/s3_client.h"

#include <gtest/gtest.h>

namespace berth::storage::s3 {
namespace {

std::string Presigned(const std::string& endpoint, const std::string& bucket, bool path_style,
                      const std::string& key = "dir/a b.txt") {
  ClientOptions o;
  o.endpoint = endpoint;
  o.bucket = bucket;
  o.force_path_style = path_style;
  o.credentials = {"AK", "SK"};
  auto c = S3Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? (*c)->PresignGet(key, 1200) : "";
}

TEST(S3ClientTest, AddressingStyles) {
  EXPECT_EQ(Presigned("http://127.0.0.1:7480", "reg", true).rfind("http://127.0.0.1:7480/reg/dir/a%20b.txt?", 0), 0u);
  // An IP address cannot carry the bucket in the host name: path style regardless.
  EXPECT_EQ(Presigned("http://127.0.0.1:7480/", "reg", false).rfind("http://127.0.0.1:7480/reg/dir/", 0), 0u);
  EXPECT_EQ(Presigned("https://s3.example.com", "reg", false).rfind("https://reg.s3.example.com/dir/a%20b.txt?", 0),
            0u);
  EXPECT_EQ(Presigned("https://s3.example.com:8443", "reg", false).rfind("https://reg.s3.example.com:8443/dir/", 0),
            0u);
  // Dotted bucket names over HTTPS would not match the *.host certificate.
  EXPECT_EQ(Presigned("https://s3.example.com", "my.reg", false).rfind("https://s3.example.com/my.reg/dir/", 0), 0u);
  // Empty endpoint: AWS in the region.
  EXPECT_EQ(Presigned("", "reg", false).rfind("https://reg.s3.us-east-1.amazonaws.com/", 0), 0u);
  const std::string url = Presigned("http://127.0.0.1:7480", "reg", true);
  EXPECT_NE(url.find("X-Amz-Expires=1200"), std::string::npos);
  EXPECT_NE(url.find("X-Amz-Credential=AK%2F"), std::string::npos);
  EXPECT_EQ(url.find("SK"), std::string::npos);  // never the secret
}

TEST(S3ClientTest, RejectsBadEndpoints) {
  for (const char* bad : {"ftp://host", "http://host/path", "http://user:pw@host", "not a url", "http://host?x=1"}) {
    ClientOptions o;
    o.endpoint = bad;
    o.bucket = "reg";
    auto c = S3Client::Create(o);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  ClientOptions o;
  o.endpoint = "http://127.0.0.1:1";
  auto c = S3Client::Create(o);  // no bucket
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace berth::storage::s3
