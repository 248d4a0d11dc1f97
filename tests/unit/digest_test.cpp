#include "oci/digest.h"

#include <gtest/gtest.h>

namespace berth::oci {

TEST(DigestTest, ParsesSha256) {
  const std::string text = "sha256:" + std::string(64, 'a');
  auto d = Digest::Parse(text);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha256);
  EXPECT_EQ(d->str(), text);
}

TEST(DigestTest, RejectsMalformed) {
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(63, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(Digest::Parse("md5:" + std::string(32, 'a')).ok());
  EXPECT_FALSE(Digest::Parse(std::string(64, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha512:" + std::string(64, 'a')).ok());
  EXPECT_TRUE(Digest::Parse("sha512:" + std::string(128, '0')).ok());
}

TEST(DigestTest, HashesKnownVectors) {
  EXPECT_EQ(DigestOf("").str(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(DigestOf("abc").str(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(DigestOf("abc", DigestAlgorithm::kSha512).hex().substr(0, 16), "ddaf35a193617aba");
}

TEST(DigestTest, IncrementalEqualsOneShotAndCanContinue) {
  Hasher h;
  h.Update("a");
  EXPECT_EQ(h.Current(), DigestOf("a"));
  h.Update("bc");
  EXPECT_EQ(h.Current(), DigestOf("abc"));
}

}  // namespace berth::oci
