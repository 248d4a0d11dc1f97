// The web UI's sessions (ui/session_store.h): opaque ids, expiry, removal,
// the bound on live sessions, and password fingerprints.
#include "ui/session_store.h"

#include <gtest/gtest.h>

namespace berth::ui {
namespace {

TEST(UiSessionStore, CreatesOpaqueIdsAndFindsTheirSessionUntilExpiry) {
  SessionStore store(3600);
  Session s;
  s.user = "alice";
  const std::string id = store.Create(s, 1000);
  ASSERT_EQ(id.size(), 64u);
  auto found = store.Find(id, 1001);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user, "alice");
  EXPECT_EQ(found->csrf.size(), 64u);
  EXPECT_NE(found->csrf, id);
  EXPECT_EQ(found->expires_at, 1000 + 3600);
  EXPECT_FALSE(store.Find(id, 1000 + 3600));  // expired, and forgotten
  EXPECT_EQ(store.size(), 0u);
}

TEST(UiSessionStore, UnknownMalformedAndRemovedIdsFindNothing) {
  SessionStore store(3600);
  const std::string id = store.Create(Session{}, 0);
  const std::string other = store.Create(Session{}, 0);
  EXPECT_NE(id, other);
  EXPECT_FALSE(store.Find("", 1));
  EXPECT_FALSE(store.Find(std::string(64, '0'), 1));
  EXPECT_FALSE(store.Find(id + "x", 1));
  store.Remove(id);
  EXPECT_FALSE(store.Find(id, 1));
  EXPECT_TRUE(store.Find(other, 1));
}

TEST(UiSessionStore, KeepsAtMostMaxSessionsDroppingTheOldest) {
  SessionStore store(100, 3);
  const std::string first = store.Create(Session{}, 0);
  const std::string second = store.Create(Session{}, 1);
  const std::string third = store.Create(Session{}, 2);
  const std::string fourth = store.Create(Session{}, 3);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.Find(first, 4));
  EXPECT_TRUE(store.Find(second, 4));
  EXPECT_TRUE(store.Find(fourth, 4));
}

TEST(UiSessionStore, FingerprintsDifferPerPasswordHashAndAreNotTheHash) {
  SessionStore store(100);
  const std::string a = store.PasswordFingerprint("$2y$05$aaaa");
  EXPECT_EQ(a, store.PasswordFingerprint("$2y$05$aaaa"));
  EXPECT_NE(a, store.PasswordFingerprint("$2y$05$aaab"));
  EXPECT_EQ(a.find("aaaa"), std::string::npos);
  // Another process (another key) fingerprints differently.
  SessionStore other(100);
  EXPECT_NE(a, other.PasswordFingerprint("$2y$05$aaaa"));
}

}  // namespace
}  // namespace berth::ui
