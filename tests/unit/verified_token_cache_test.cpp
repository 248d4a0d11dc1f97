// Unit tests for auth/verified_token_cache.h.
#include "auth/verified_token_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::auth {
namespace {

VerifiedToken Token(const std::string& subject, int64_t nbf, int64_t exp) {
  VerifiedToken t;
  t.subject = subject;
  t.access.push_back(Scope{"repository", "a/b", {"pull"}});
  t.not_before = nbf;
  t.expires = exp;
  return t;
}

TEST(VerifiedTokenCacheTest, HitReturnsWhatWasVerified) {
  VerifiedTokenCache cache(8, 60);
  cache.Insert("tok", 1, Token("alice", 1000, 1300));
  auto hit = cache.Find("tok", 1, 1100);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->subject, "alice");
  ASSERT_EQ(hit->access.size(), 1u);
  EXPECT_EQ(hit->access[0].name, "a/b");
  EXPECT_FALSE(cache.Find("other", 1, 1100).has_value());
}

TEST(VerifiedTokenCacheTest, ExpiryAndNotBeforeAreCheckedOnEveryLookup) {
  VerifiedTokenCache cache(8, 60);
  cache.Insert("tok", 1, Token("alice", 1000, 1300));
  EXPECT_TRUE(cache.Find("tok", 1, 1360).has_value());   // within the leeway
  EXPECT_FALSE(cache.Find("tok", 1, 1361).has_value());  // expired: dropped
  EXPECT_EQ(cache.size(), 0u);
  cache.Insert("tok", 1, Token("alice", 1000, 1300));
  EXPECT_FALSE(cache.Find("tok", 1, 939).has_value());  // not yet valid
}

TEST(VerifiedTokenCacheTest, AnotherKeyRingGenerationMisses) {
  VerifiedTokenCache cache(8, 60);
  cache.Insert("tok", 1, Token("alice", 1000, 1300));
  EXPECT_FALSE(cache.Find("tok", 2, 1100).has_value());
  EXPECT_FALSE(cache.Find("tok", 1, 1100).has_value());  // (and it is gone)
}

TEST(VerifiedTokenCacheTest, BoundedLeastRecentlyUsedGoesFirst) {
  VerifiedTokenCache cache(3, 60);
  cache.Insert("a", 1, Token("a", 0, 5000));
  cache.Insert("b", 1, Token("b", 0, 5000));
  cache.Insert("c", 1, Token("c", 0, 5000));
  ASSERT_TRUE(cache.Find("a", 1, 100).has_value());  // a is now the most recent
  cache.Insert("d", 1, Token("d", 0, 5000));         // evicts b
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.Find("a", 1, 100).has_value());
  EXPECT_FALSE(cache.Find("b", 1, 100).has_value());
  EXPECT_TRUE(cache.Find("c", 1, 100).has_value());
  EXPECT_TRUE(cache.Find("d", 1, 100).has_value());
  for (int i = 0; i < 1000; ++i) cache.Insert("t" + std::to_string(i), 1, Token("x", 0, 5000));
  EXPECT_EQ(cache.size(), 3u);
}

TEST(VerifiedTokenCacheTest, InsertingAgainReplaces) {
  VerifiedTokenCache cache(3, 60);
  cache.Insert("a", 1, Token("old", 0, 5000));
  cache.Insert("a", 2, Token("new", 0, 5000));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find("a", 2, 100)->subject, "new");
}

}  // namespace
}  // namespace berth::auth

namespace berth::auth {
namespace {

TEST(VerifiedTokenCacheTest, OnlyTheExactTokenHits) {
  VerifiedTokenCache cache(8, 60);
  cache.Insert("header.payload.signature", 1, Token("alice", 0, 5000));
  EXPECT_FALSE(cache.Find("header.payloae.signature", 1, 100).has_value());
  EXPECT_FALSE(cache.Find("header.payload.signaturf", 1, 100).has_value());
  EXPECT_FALSE(cache.Find("header.payload.signature ", 1, 100).has_value());
  EXPECT_TRUE(cache.Find("header.payload.signature", 1, 100).has_value());
}

TEST(VerifiedTokenCacheTest, OversizedTokensAreNotCached) {
  VerifiedTokenCache cache(8, 60);
  const std::string big(VerifiedTokenCache::kMaxCachedTokenBytes + 1, 'x');
  cache.Insert(big, 1, Token("alice", 0, 5000));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Find(big, 1, 100).has_value());
}

}  // namespace
}  // namespace berth::auth
