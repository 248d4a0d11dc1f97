// Unit tests for util/base64.h.
#include "util/base64.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Base64Test, StandardRoundTripWithPadding) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(*d, s);
  }
}

TEST(Base64Test, UrlAlphabetWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Base64Test, DecodersAreStrict) {
  EXPECT_FALSE(Base64Decode("Zg=").ok());       // length
  EXPECT_FALSE(Base64Decode("-_8=").ok());      // URL alphabet in standard base64
  EXPECT_FALSE(Base64Decode("Zm9v!A==").ok());  // outside the alphabet
  EXPECT_FALSE(Base64UrlDecode("+/8").ok());    // standard alphabet in base64url
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());     // non-canonical trailing bits
  EXPECT_FALSE(Base64UrlDecode("Z").ok());      // impossible length
}

}  // namespace
}  // namespace berth
