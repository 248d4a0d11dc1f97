#include "oci/name.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::oci {
namespace {

using namespace std::string_literals;

TEST(RepositoryNameTest, AcceptsValidNames) {
  for (const char* name : {"a", "a/b/c", "library/ubuntu", "a.b_c__d-e--f", "0", "a0/1b", "my-org/my.app_x", "a-----b",
                           "a__b/c.d/e-f", "x/y/z/w/v"}) {
    EXPECT_TRUE(IsValidRepositoryName(name)) << name;
  }
}

TEST(RepositoryNameTest, AcceptsMaximumLength) {
  std::string name(kMaxNameLength, 'a');
  ASSERT_EQ(name.size(), 255u);
  EXPECT_TRUE(IsValidRepositoryName(name));
  // The limit is on the whole name, components included.
  std::string nested = std::string(127, 'b') + "/" + std::string(127, 'c');
  ASSERT_EQ(nested.size(), 255u);
  EXPECT_TRUE(IsValidRepositoryName(nested));
}

TEST(RepositoryNameTest, RejectsTooLong) {
  EXPECT_FALSE(IsValidRepositoryName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(128, 'b') + "/" + std::string(127, 'c')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(10000, 'a')));
}

TEST(RepositoryNameTest, RejectsInvalidNames) {
  for (const char* name : {"",
                           "A",
                           "Library/ubuntu",
                           "library/Ubuntu",
                           "a//b",
                           "/a",
                           "a/",
                           "/",
                           "//",
                           "..",
                           ".",
                           "a/../b",
                           "a/./b",
                           "../a",
                           "a/..",
                           "%2e%2e",
                           "a%2fb",
                           "a b",
                           " a",
                           "a ",
                           "_a",
                           "a_",
                           "a___b",
                           ".a",
                           "a.",
                           "a..b",
                           "-a",
                           "a-",
                           "a._b",
                           "a_.b",
                           "a.-b",
                           "a-.b",
                           "a/_uploads",
                           "a/_manifests",
                           "_layers",
                           "a/b/",
                           "a:b",
                           "a@b",
                           "a+b",
                           "a\\b",
                           "a\tb",
                           "a\nb",
                           "é"}) {
    EXPECT_FALSE(IsValidRepositoryName(name)) << "'" << name << "'";
  }
}

TEST(RepositoryNameTest, RejectsNulByte) {
  EXPECT_FALSE(IsValidRepositoryName("a\0b"s));
  EXPECT_FALSE(IsValidRepositoryName("a/b\0"s));
  EXPECT_FALSE(IsValidRepositoryName("\0"s));
}

TEST(TagTest, AcceptsValidTags) {
  for (const char* tag : {"latest", "v1.0.0", "1.0", "Latest", "UPPER", "_private", "a", "0", "v1-rc.1_build", "a..b",
                          "a--b", "a__b", "x.", "x-"}) {
    EXPECT_TRUE(IsValidTag(tag)) << tag;
  }
}

TEST(TagTest, LengthLimit) {
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
  EXPECT_TRUE(IsValidTag("_" + std::string(127, '.')));
  EXPECT_FALSE(IsValidTag("_" + std::string(128, '.')));
}

TEST(TagTest, RejectsInvalidTags) {
  for (const char* tag : {"", "-a", ".a", "-", ".", "a:b", "a/b", "a b", "a@b", "a+b", "a%20b", "é"}) {
    EXPECT_FALSE(IsValidTag(tag)) << "'" << tag << "'";
  }
  EXPECT_FALSE(IsValidTag("a\0b"s));
}

TEST(ReferenceTest, ParsesTag) {
  auto r = Reference::Parse("v1.2.3");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->is_digest());
  EXPECT_EQ(r->tag, "v1.2.3");
  EXPECT_TRUE(r->digest.empty());
  EXPECT_EQ(r->str(), "v1.2.3");
}

TEST(ReferenceTest, ParsesSha256Digest) {
  const std::string text = "sha256:" + std::string(64, 'f');
  auto r = Reference::Parse(text);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_digest());
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest.algorithm(), DigestAlgorithm::kSha256);
  EXPECT_EQ(r->digest.hex(), std::string(64, 'f'));
  EXPECT_EQ(r->str(), text);
}

TEST(ReferenceTest, ParsesSha512Digest) {
  const std::string text = "sha512:" + std::string(128, '1');
  auto r = Reference::Parse(text);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_digest());
  EXPECT_EQ(r->digest.algorithm(), DigestAlgorithm::kSha512);
  EXPECT_EQ(r->str(), text);
}

TEST(ReferenceTest, RejectsBadDigest) {
  EXPECT_FALSE(Reference::Parse("sha256:abc").ok());
  EXPECT_FALSE(Reference::Parse("sha256:" + std::string(64, 'G')).ok());
  EXPECT_FALSE(Reference::Parse("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(Reference::Parse("md5:" + std::string(32, 'a')).ok());
  EXPECT_FALSE(Reference::Parse("sha256:").ok());
  EXPECT_FALSE(Reference::Parse(":").ok());
  // Anything with ':' is a digest, so "name:tag" is not a tag.
  EXPECT_FALSE(Reference::Parse("latest:1").ok());
}

TEST(ReferenceTest, RejectsBadTag) {
  EXPECT_FALSE(Reference::Parse("").ok());
  EXPECT_FALSE(Reference::Parse("-latest").ok());
  EXPECT_FALSE(Reference::Parse(".latest").ok());
  EXPECT_FALSE(Reference::Parse(std::string(129, 'a')).ok());
  EXPECT_FALSE(Reference::Parse("a/b").ok());
  auto r = Reference::Parse("bad tag");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::oci
