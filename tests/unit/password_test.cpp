// Unit tests for auth/password.h: bcrypt verification of htpasswd-made hashes,
// hashing, and the constant-time comparison.
#include "auth/password.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::auth {
namespace {

// Made with `htpasswd -nbB -C 5 alice secret` (apache2-utils 2.4.71).
constexpr const char* kAliceSecret2y = "$2y$05$PD5RJWAJDFta.pDIjEAQ5.9cFuEpCYhfv0aJqa3q1gzOxO4wxDrTq";
// `htpasswd -nbB -C 4 bob 'p@ss w0rd!'`
constexpr const char* kBobPassword2y = "$2y$04$Orc0VvgViHB/cCXYcb4hou8ocpqx31.JtIdzTAbxRka/UASb8sdBS";
// `htpasswd -nbB -C 4 carol ''` (empty password)
constexpr const char* kCarolEmpty2y = "$2y$04$OTup29n.eiA8UQxRi8fq3e8wo/QsYaHGKYO2te4LnCA9nL8F1gtl2";
// Python's crypt module (libxcrypt): crypt('secret', '$2b$05$abcdefghijklmnopqrstuu') and the
// same for $2a$ with another salt; the $2y$ form of the first one has the same checksum.
constexpr const char* kSecret2b = "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";
constexpr const char* kSecret2a = "$2a$05$ABCDEFGHIJKLMNOPQRSTUu6etqWyiSjMSF4tl3grqWcjDUkRhrNJe";
constexpr const char* kSecret2ySameSalt = "$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";

TEST(PasswordTest, VerifiesHtpasswdHashes) {
  EXPECT_TRUE(VerifyPassword("secret", kAliceSecret2y));
  EXPECT_TRUE(VerifyPassword("p@ss w0rd!", kBobPassword2y));
  EXPECT_TRUE(VerifyPassword("", kCarolEmpty2y));
}

TEST(PasswordTest, Verifies2bAnd2aHashes) {
  EXPECT_TRUE(VerifyPassword("secret", kSecret2b));
  EXPECT_TRUE(VerifyPassword("secret", kSecret2a));
  EXPECT_TRUE(VerifyPassword("secret", kSecret2ySameSalt));
  EXPECT_FALSE(VerifyPassword("Secret", kSecret2b));
  EXPECT_FALSE(VerifyPassword("Secret", kSecret2a));
}

TEST(PasswordTest, WrongPasswordsAreRefused) {
  EXPECT_FALSE(VerifyPassword("Secret", kAliceSecret2y));
  EXPECT_FALSE(VerifyPassword("secret ", kAliceSecret2y));
  EXPECT_FALSE(VerifyPassword("secre", kAliceSecret2y));
  EXPECT_FALSE(VerifyPassword("", kAliceSecret2y));
  EXPECT_FALSE(VerifyPassword("p@ss w0rd", kBobPassword2y));
  EXPECT_FALSE(VerifyPassword(" ", kCarolEmpty2y));
  EXPECT_FALSE(VerifyPassword("secret", kBobPassword2y));
  // An embedded NUL must not truncate the password to "secret".
  EXPECT_FALSE(VerifyPassword(std::string("secret\0x", 8), kAliceSecret2y));
}

TEST(PasswordTest, MalformedHashesAreRefused) {
  const std::string good = kAliceSecret2y;
  std::string bad_checksum = good;
  bad_checksum.back() = bad_checksum.back() == 'q' ? 'r' : 'q';
  std::string bad_char = good;
  bad_char[20] = '!';
  std::string high_cost = good;
  high_cost[4] = '3';
  high_cost[5] = '9';
  std::string low_cost = good;
  low_cost[4] = '0';
  low_cost[5] = '3';
  for (const std::string& bad :
       {std::string(), std::string("secret"), good.substr(0, 59), good + "x", std::string("$2x") + good.substr(3),
        std::string("$2$") + good.substr(3), std::string("$1$") + good.substr(3), std::string("x") + good.substr(1),
        bad_checksum, bad_char, high_cost, low_cost, std::string("$2y$5$") + good.substr(7),
        std::string("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="), std::string("$apr1$abcdefgh$0123456789012345678901"),
        std::string(60, '$'), std::string("*0"), std::string("$2y$05$") + std::string(53, '.')}) {
    EXPECT_FALSE(VerifyPassword("secret", bad)) << "'" << bad << "'";
  }
}

TEST(PasswordTest, IsBcryptHash) {
  EXPECT_TRUE(IsBcryptHash(kAliceSecret2y));
  EXPECT_TRUE(IsBcryptHash(kSecret2b));
  EXPECT_TRUE(IsBcryptHash(kSecret2a));
  const std::string good = kAliceSecret2y;
  EXPECT_FALSE(IsBcryptHash(""));
  EXPECT_FALSE(IsBcryptHash("secret"));
  EXPECT_FALSE(IsBcryptHash(good.substr(0, 59)));
  EXPECT_FALSE(IsBcryptHash(good + "x"));
  EXPECT_FALSE(IsBcryptHash("$2x" + good.substr(3)));
  EXPECT_FALSE(IsBcryptHash("$1y" + good.substr(3)));
  EXPECT_FALSE(IsBcryptHash("#2y" + good.substr(3)));
  EXPECT_FALSE(IsBcryptHash("$2y#" + good.substr(4)));
  EXPECT_FALSE(IsBcryptHash("$2y$a5" + good.substr(6)));
  EXPECT_FALSE(IsBcryptHash("$2y$0a" + good.substr(6)));
  EXPECT_FALSE(IsBcryptHash("$2y$45" + good.substr(6)));
  EXPECT_FALSE(IsBcryptHash("$2y$05#" + good.substr(7)));
  EXPECT_FALSE(IsBcryptHash("$apr1$abcdefgh$0123456789012345678901"));
}

TEST(PasswordTest, HashRoundTrip) {
  auto h = HashPassword("correct horse", 4);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->size(), 60u);
  EXPECT_EQ(h->substr(0, 7), "$2y$04$");
  EXPECT_TRUE(IsBcryptHash(*h));
  EXPECT_TRUE(VerifyPassword("correct horse", *h));
  EXPECT_FALSE(VerifyPassword("correct horse ", *h));
  EXPECT_FALSE(VerifyPassword("", *h));

  // A fresh salt every time.
  auto h2 = HashPassword("correct horse", 4);
  ASSERT_TRUE(h2.ok());
  EXPECT_NE(*h, *h2);
  EXPECT_TRUE(VerifyPassword("correct horse", *h2));

  auto h5 = HashPassword("", 5);
  ASSERT_TRUE(h5.ok());
  EXPECT_EQ(h5->substr(0, 7), "$2y$05$");
  EXPECT_TRUE(VerifyPassword("", *h5));
  EXPECT_FALSE(VerifyPassword("x", *h5));
}

TEST(PasswordTest, HashCostBounds) {
  for (int bad : {-1, 0, 3, 32, 100}) {
    auto h = HashPassword("pw", bad);
    EXPECT_FALSE(h.ok()) << "cost " << bad;
    if (!h.ok()) {
      EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
    }
  }
  auto h = HashPassword("pw", 4);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->substr(0, 7), "$2y$04$");
}

TEST(PasswordTest, HashRefusesLongAndNulPasswords) {
  const std::string p72(72, 'x');
  auto ok = HashPassword(p72, 4);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(VerifyPassword(p72, *ok));
  EXPECT_FALSE(VerifyPassword(std::string(71, 'x'), *ok));

  auto too_long = HashPassword(std::string(73, 'x'), 4);
  EXPECT_FALSE(too_long.ok());
  if (!too_long.ok()) {
    EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(HashPassword(std::string(1000, 'x'), 4).ok());

  auto nul = HashPassword(std::string("ab\0cd", 5), 4);
  EXPECT_FALSE(nul.ok());
  if (!nul.ok()) {
    EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(PasswordTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "xbc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_FALSE(ConstantTimeEquals(kAliceSecret2y, kSecret2b));
}

}  // namespace
}  // namespace berth::auth
