#include "oci/digest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

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

TEST(DigestTest, Sha512KnownVectors) {
  EXPECT_EQ(DigestOf("abc", DigestAlgorithm::kSha512).str(),
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(DigestOf("", DigestAlgorithm::kSha512).str(),
            "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  Digest d = DigestOf("abc", DigestAlgorithm::kSha512);
  EXPECT_EQ(d.algorithm(), DigestAlgorithm::kSha512);
  EXPECT_EQ(d.algorithm_name(), "sha512");
  EXPECT_EQ(d.hex().size(), 128u);
}

TEST(DigestTest, Sha256MillionA) {
  // FIPS 180-2 long-message vector, fed in uneven pieces.
  const std::string block(1000, 'a');
  Hasher h;
  size_t fed = 0;
  for (size_t piece = 1; fed < 1000000; piece = piece * 7 % 997 + 1) {
    size_t n = std::min(piece, 1000000 - fed);
    h.Update(block.data(), n);
    fed += n;
  }
  EXPECT_EQ(h.Current().str(), "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DigestTest, ParsesSha512AndRoundTrips) {
  const std::string hex = DigestOf("abc", DigestAlgorithm::kSha512).hex();
  auto d = Digest::Parse("sha512:" + hex);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha512);
  EXPECT_EQ(d->hex(), hex);
  EXPECT_EQ(*d, DigestOf("abc", DigestAlgorithm::kSha512));
  EXPECT_EQ(d->str(), "sha512:" + hex);
}

TEST(DigestTest, RejectsUppercaseAlgorithm) {
  auto d = Digest::Parse("SHA256:" + std::string(64, 'a'));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnsupported);
  EXPECT_FALSE(Digest::Parse("Sha512:" + std::string(128, 'a')).ok());
}

TEST(DigestTest, RejectsEmptyAndTruncated) {
  EXPECT_FALSE(Digest::Parse("").ok());
  EXPECT_FALSE(Digest::Parse(":").ok());
  EXPECT_FALSE(Digest::Parse("sha256").ok());
  auto only_alg = Digest::Parse("sha256:");
  ASSERT_FALSE(only_alg.ok());
  EXPECT_EQ(only_alg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Digest::Parse("sha512:").ok());
  EXPECT_FALSE(Digest::Parse(":" + std::string(64, 'a')).ok());
  auto no_prefix = Digest::Parse(std::string(64, 'a'));
  ASSERT_FALSE(no_prefix.ok());
  EXPECT_EQ(no_prefix.status().code(), StatusCode::kInvalidArgument);
}

TEST(DigestTest, RejectsWrongLengthsAndCharacters) {
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(65, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha512:" + std::string(127, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha512:" + std::string(129, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(63, 'a') + "g").ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(63, 'a') + " ").ok());
  EXPECT_FALSE(Digest::Parse(" sha256:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(64, 'a') + "\n").ok());
  EXPECT_FALSE(Digest::Parse("sha256::" + std::string(63, 'a')).ok());
  EXPECT_FALSE(Digest::Parse(std::string("sha256:") + std::string(63, 'a') + std::string(1, '\0')).ok());
  EXPECT_FALSE(Digest::Parse("sha384:" + std::string(96, 'a')).ok());
  EXPECT_EQ(Digest::Parse("md5:" + std::string(32, 'a')).status().code(), StatusCode::kUnsupported);
}

TEST(DigestTest, AlgorithmHelpers) {
  EXPECT_EQ(AlgorithmName(DigestAlgorithm::kSha256), "sha256");
  EXPECT_EQ(AlgorithmName(DigestAlgorithm::kSha512), "sha512");
  EXPECT_EQ(HexLength(DigestAlgorithm::kSha256), 64u);
  EXPECT_EQ(HexLength(DigestAlgorithm::kSha512), 128u);
}

TEST(DigestTest, DefaultIsEmptyAndEqualityComparesAlgorithmAndHex) {
  Digest d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.hex(), "");
  EXPECT_FALSE(DigestOf("x").empty());
  EXPECT_EQ(DigestOf("x"), DigestOf("x"));
  EXPECT_NE(DigestOf("x"), DigestOf("y"));
  EXPECT_NE(DigestOf("x"), DigestOf("x", DigestAlgorithm::kSha512));
}

TEST(DigestTest, HasherMoveKeepsState) {
  Hasher a(DigestAlgorithm::kSha512);
  a.Update("ab");
  Hasher b(std::move(a));
  b.Update("c");
  EXPECT_EQ(b.algorithm(), DigestAlgorithm::kSha512);
  EXPECT_EQ(b.Current(), DigestOf("abc", DigestAlgorithm::kSha512));
  Hasher c;
  c = std::move(b);
  EXPECT_EQ(c.Current(), DigestOf("abc", DigestAlgorithm::kSha512));
  // Current() is repeatable and does not disturb the running state.
  EXPECT_EQ(c.Current(), c.Current());
  c.Update(nullptr, 0);
  EXPECT_EQ(c.Current(), DigestOf("abc", DigestAlgorithm::kSha512));
}

TEST(DigestTest, HashesBinaryData) {
  const std::string data("a\0b", 3);
  EXPECT_NE(DigestOf(data), DigestOf("a"));
  Hasher h;
  h.Update(data.data(), data.size());
  EXPECT_EQ(h.Current(), DigestOf(data));
  EXPECT_EQ(DigestOf("The quick brown fox jumps over the lazy dog").str(),
            "sha256:d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
}

// An upload's running hash is saved between requests and resumed elsewhere.
TEST(DigestTest, SavedStateResumesToTheSameDigest) {
  for (auto alg : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    // Lengths around the block sizes (64 and 128) exercise the buffered-bytes field.
    for (size_t split : {0u, 1u, 63u, 64u, 65u, 127u, 128u, 129u, 1000u}) {
      const std::string data(2000, 'q');
      Hasher first(alg);
      first.Update(data.data(), split);
      auto resumed = Hasher::RestoreState(first.SaveState());
      ASSERT_TRUE(resumed.ok()) << resumed.status().message();
      EXPECT_EQ(resumed->algorithm(), alg);
      resumed->Update(data.data() + split, data.size() - split);
      EXPECT_EQ(resumed->Current(), DigestOf(data, alg)) << "split " << split;
    }
  }
}

TEST(DigestTest, CloneIsIndependent) {
  for (auto a : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    Hasher h(a);
    h.Update("hello ");
    Hasher copy = h.Clone();
    h.Update("world");
    copy.Update("there");
    EXPECT_EQ(h.Current(), DigestOf("hello world", a));
    EXPECT_EQ(copy.Current(), DigestOf("hello there", a));
  }
}

TEST(DigestTest, RestoreStateRejectsMalformedInput) {
  Hasher h;
  h.Update("abc");
  const std::string good = h.SaveState();
  EXPECT_TRUE(Hasher::RestoreState(good).ok());
  for (const std::string& bad : {std::string(), std::string("berth-hash-v1 md5\n"), good.substr(0, good.size() - 1),
                                 good + "x", std::string("garbage") + good}) {
    EXPECT_FALSE(Hasher::RestoreState(bad).ok()) << bad.size();
  }
  // A buffered-byte count beyond the block size would make OpenSSL read out of bounds.
  std::string overflow = good;
  overflow[overflow.size() - 8] = static_cast<char>(64);
  EXPECT_FALSE(Hasher::RestoreState(overflow).ok());
}

}  // namespace berth::oci
