// proxy/token_cache.h: upstream tokens by scope, expired ones pruned, the size capped.
#include "proxy/token_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::proxy {
namespace {

using std::chrono::seconds;

TEST(ProxyTokenCacheTest, FindsUnexpiredTokenAndDropsExpiredOne) {
  TokenCache cache;
  const auto t0 = TokenCache::Clock::now();
  cache.Insert("repository:a:pull", "tok-a", t0 + seconds(60), t0);
  EXPECT_EQ(cache.Find("repository:a:pull", t0 + seconds(59)), "tok-a");
  EXPECT_EQ(cache.Find("repository:b:pull", t0), std::nullopt);
  EXPECT_EQ(cache.Find("repository:a:pull", t0 + seconds(60)), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ProxyTokenCacheTest, InsertPrunesExpiredEntries) {
  TokenCache cache;
  const auto t0 = TokenCache::Clock::now();
  for (int i = 0; i < 100; ++i) {
    cache.Insert("repository:r" + std::to_string(i) + ":pull", "tok", t0 + seconds(10), t0);
  }
  EXPECT_EQ(cache.size(), 100u);
  // Never looked up again: the next insert after they expired removes them all.
  cache.Insert("repository:new:pull", "tok-new", t0 + seconds(100), t0 + seconds(20));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find("repository:new:pull", t0 + seconds(20)), "tok-new");
}

TEST(ProxyTokenCacheTest, SizeIsCappedDroppingTheFirstToExpire) {
  TokenCache cache(4);
  const auto t0 = TokenCache::Clock::now();
  for (int i = 0; i < 4; ++i) {
    cache.Insert("s" + std::to_string(i), "tok" + std::to_string(i), t0 + seconds(100 + i), t0);
  }
  cache.Insert("s4", "tok4", t0 + seconds(200), t0);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.Find("s0", t0), std::nullopt);  // expired first: dropped
  EXPECT_EQ(cache.Find("s1", t0), "tok1");
  EXPECT_EQ(cache.Find("s4", t0), "tok4");
  // Replacing a scope's token never evicts another.
  cache.Insert("s4", "tok4b", t0 + seconds(300), t0);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.Find("s4", t0), "tok4b");
  EXPECT_EQ(cache.Find("s1", t0), "tok1");
}

TEST(ProxyTokenCacheTest, DefaultCapacityHoldsAThousandScopes) {
  TokenCache cache;
  const auto t0 = TokenCache::Clock::now();
  for (int i = 0; i < 5000; ++i) {
    cache.Insert("repository:r" + std::to_string(i) + ":pull", "tok", t0 + seconds(60 + i), t0);
  }
  EXPECT_EQ(cache.size(), TokenCache::kDefaultCapacity);
  EXPECT_EQ(cache.Find("repository:r4999:pull", t0), "tok");
  EXPECT_EQ(cache.Find("repository:r0:pull", t0), std::nullopt);
}

}  // namespace
}  // namespace berth::proxy
