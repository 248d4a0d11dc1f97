// Unit tests for access tokens: the store (auth/token_store.h) on a migrated
// SQLite metadata database (create, verify, list, revoke, expiry, last use,
// hostile tokens), token scopes and how they narrow a grant, and AuthService
// granting the intersection of a token's scopes and its user's ACL.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>
#include <string>

#include "auth/auth_service.h"
#include "auth/token_store.h"
#include "metadata/schema.h"
#include "metadata/sqlite_db.h"
#include "temp_dir.h"

namespace berth::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = metadata::SqlitePool::Open({dir_.path() + "/metadata.db"});
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    pool_ = *pool;
    auto m = metadata::Migrate(*pool_);
    ASSERT_TRUE(m.ok()) << m.status().message();
    store_ = std::make_unique<TokenStore>(pool_);
  }
  std::string HashInDb(const std::string& id) {
    auto conn = pool_->Acquire();
    const metadata::Value params[] = {id};
    auto r = (*conn)->Execute("SELECT secret_sha256 FROM access_tokens WHERE public_id = $1", params);
    return r.ok() && !r->rows.empty() ? r->rows[0].Text(0) : "";
  }

  testing_util::TempDir dir_{"berth-tokens"};
  std::shared_ptr<metadata::SqlitePool> pool_;
  std::unique_ptr<TokenStore> store_;
};

TEST_F(TokenStoreTest, CreatesAVerifiableTokenWithARecognisablePrefix) {
  auto c = store_->Create("ci", "build pipeline", {"repository:myorg/*:pull,push"}, kNow + 3600, kNow);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token.rfind("berth_pat_" + c->record.id + "_", 0), 0u) << c->token;
  EXPECT_EQ(c->record.id.size(), 16u);
  EXPECT_GE(c->token.size(), 10u + 16 + 1 + 43);
  auto v = store_->Verify(c->token, kNow + 10);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->user, "ci");
  EXPECT_EQ(v->label, "build pipeline");
  EXPECT_EQ(v->scopes, (std::vector<std::string>{"repository:myorg/*:pull,push"}));
  // Only a hash is stored: neither the token nor its secret is in the database.
  const std::string stored = HashInDb(c->record.id);
  EXPECT_EQ(stored.size(), 64u);
  EXPECT_EQ(c->token.find(stored), std::string::npos);
  EXPECT_TRUE(IsAccessToken(c->token));
  EXPECT_FALSE(IsAccessToken("hunter2"));
}

TEST_F(TokenStoreTest, RefusesWrongAndMalformedTokensAlike) {
  auto c = store_->Create("ci", "x", {}, std::nullopt, kNow);
  ASSERT_TRUE(c.ok());
  std::string wrong = c->token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {wrong, std::string("berth_pat_"), std::string("berth_pat_0123456789abcdef_"), c->token + "x",
        std::string("berth_pat_0123456789abcdef_") + std::string(43, 'a'), c->token.substr(0, c->token.size() - 1),
        std::string("berth_pat_") + "ZZZZ" + c->token.substr(14), std::string("nope")}) {
    auto v = store_->Verify(bad, kNow);
    EXPECT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(TokenStoreTest, ExpiryAndRevocationCountAtOnce) {
  auto c = store_->Create("ci", "short", {}, kNow + 60, kNow);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(store_->Verify(c->token, kNow + 59).ok());
  EXPECT_FALSE(store_->Verify(c->token, kNow + 60).ok());
  EXPECT_FALSE(store_->Lookup(c->record.id, kNow + 60).ok());
  auto d = store_->Create("ci", "revoked", {}, std::nullopt, kNow);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(store_->Lookup(d->record.id, kNow).ok());
  ASSERT_TRUE(store_->Revoke(d->record.id, kNow + 5).ok());
  EXPECT_FALSE(store_->Verify(d->token, kNow + 6).ok());
  EXPECT_FALSE(store_->Lookup(d->record.id, kNow + 6).ok());
  ASSERT_TRUE(store_->Revoke(d->record.id, kNow + 50).ok());  // again: keeps the first time
  auto list = store_->List("ci");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const auto& t : *list) {
    if (t.id == d->record.id) {
      EXPECT_EQ(t.revoked_at, kNow + 5);
    }
  }
  EXPECT_TRUE(store_->Revoke("0000000000000000", kNow).IsNotFound());
  EXPECT_FALSE(store_->Create("ci", "past", {}, kNow - 1, kNow).ok());
}

TEST_F(TokenStoreTest, ListsByUserAndNotesLastUseAtMostOnceAMinute) {
  auto a = store_->Create("alice", "a", {}, std::nullopt, kNow);
  auto b = store_->Create("bob", "b", {"registry:catalog:*"}, std::nullopt, kNow + 1);
  ASSERT_TRUE(a.ok() && b.ok());
  auto all = store_->List("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].user, "bob");  // newest first
  EXPECT_FALSE((*all)[0].last_used_at.has_value());
  ASSERT_TRUE(store_->Verify(a->token, kNow + 100).ok());
  ASSERT_TRUE(store_->Verify(a->token, kNow + 130).ok());  // within the minute: not written
  auto alice = store_->List("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_EQ(alice->size(), 1u);
  EXPECT_EQ((*alice)[0].last_used_at, kNow + 100);
  ASSERT_TRUE(store_->Verify(a->token, kNow + 161).ok());
  EXPECT_EQ((*store_->List("alice"))[0].last_used_at, kNow + 161);
}

TEST_F(TokenStoreTest, RefusesBadScopesAndLabels) {
  for (const char* bad :
       {"repository:a", "repository::pull", "repo:a:pull", "repository:a:fly", "repository:a:", "repository:[a:pull"}) {
    EXPECT_FALSE(store_->Create("ci", "x", {bad}, std::nullopt, kNow).ok()) << bad;
  }
  EXPECT_FALSE(store_->Create("ci", "", {}, std::nullopt, kNow).ok());
  EXPECT_FALSE(store_->Create("", "x", {}, std::nullopt, kNow).ok());
  EXPECT_TRUE(store_->List("").value().empty());
}

TEST_F(TokenStoreTest, OpensItsPoolLazilyAndRetries) {
  int opened = 0;
  bool fail = true;
  auto pool = pool_;
  TokenStore lazy(TokenStore::PoolOpener([&]() -> Result<std::shared_ptr<metadata::Pool>> {
    ++opened;
    if (fail) return Status::Unavailable("database down");
    return std::shared_ptr<metadata::Pool>(pool);
  }));
  EXPECT_EQ(opened, 0);
  auto down = lazy.Verify("berth_pat_0123456789abcdef_x", kNow);
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  fail = false;
  EXPECT_TRUE(lazy.List("").ok());
  EXPECT_TRUE(lazy.List("").ok());
  EXPECT_EQ(opened, 2);
}

TEST_F(TokenStoreTest, ConcurrentVerifiesOpenThePoolOnceAndSeeARevocation) {
  auto c = store_->Create("ci", "x", {}, std::nullopt, kNow);
  ASSERT_TRUE(c.ok());
  std::atomic<int> opened{0};
  auto pool = pool_;
  TokenStore lazy(TokenStore::PoolOpener([&]() -> Result<std::shared_ptr<metadata::Pool>> {
    ++opened;
    return std::shared_ptr<metadata::Pool>(pool);
  }));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (lazy.Verify(c->token, kNow + t * 100 + i).ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(ok.load(), 80);
  ASSERT_TRUE(lazy.Revoke(c->record.id, kNow + 1000).ok());
  EXPECT_FALSE(store_->Verify(c->token, kNow + 1001).ok());  // another store on the same database sees it
}

TEST(TokenScopes, NarrowTheAclGrant) {
  TokenLimit limit;
  limit.scopes.push_back(*TokenScope::Parse("repository:myorg/*:pull,push"));
  limit.scopes.push_back(*TokenScope::Parse("repository:public/**:pull"));
  const std::set<std::string> all{"pull", "push", "delete"};
  EXPECT_EQ(limit.Narrow(Scope{"repository", "myorg/app", {}}, all), (std::set<std::string>{"pull", "push"}));
  EXPECT_EQ(limit.Narrow(Scope{"repository", "myorg/app/sub", {}}, all), std::set<std::string>{});
  EXPECT_EQ(limit.Narrow(Scope{"repository", "public/a/b", {}}, all), std::set<std::string>{"pull"});
  EXPECT_EQ(limit.Narrow(Scope{"repository", "myorg/app", {}}, {"pull"}), std::set<std::string>{"pull"});
  EXPECT_EQ(limit.Narrow(Scope{"registry", "catalog", {}}, {"*"}), std::set<std::string>{});
  TokenLimit none;
  EXPECT_EQ(none.Narrow(Scope{"repository", "x", {}}, all), all);
  EXPECT_EQ(TokenScope::Parse("registry:catalog:*")->str(), "registry:catalog:*");
}

TEST(TokenScopes, AuthServiceGrantsTheIntersectionOfTokenAndAcl) {
  auto key = SigningKey::Generate(KeyType::kEc);
  ASSERT_TRUE(key.ok());
  auto policy = std::make_shared<AuthPolicy>();
  AclEntry e;
  e.account = *Pattern::Compile("ci");
  e.name = *Pattern::Compile("myorg/**");
  e.actions = {"pull", "push", "delete"};
  policy->acl = Acl({e});
  AuthService auth(AuthSettings{}, *key, policy);
  TokenLimit limit;
  limit.scopes.push_back(*TokenScope::Parse("repository:myorg/app:pull,push"));
  limit.scopes.push_back(*TokenScope::Parse("repository:other/*:pull"));
  auto g = auth.Authorize(*policy, "ci", "127.0.0.1", "berth",
                          {Scope{"repository", "myorg/app", {"pull", "push", "delete"}},
                           Scope{"repository", "myorg/lib", {"pull"}}, Scope{"repository", "other/x", {"pull"}}},
                          &limit);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].actions, (std::set<std::string>{"pull", "push"}));  // no delete: the token does not have it
  EXPECT_TRUE(g[1].actions.empty());                                 // the token does not name myorg/lib
  EXPECT_TRUE(g[2].actions.empty());                                 // the ACL does not grant other/x
  // Access tokens issued from it end when it does.
  auto issued = auth.IssueAccessToken("ci", "berth", g, kNow, kNow + 30);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->expires_in, 30);
}

// The access JWT issued from an access token carries its limit: what the
// bearer sees beyond the token's own scopes (the catalog) stays narrowed.
TEST(TokenScopes, AccessJwtsCarryTheAccessTokenLimit) {
  auto key = SigningKey::Generate(KeyType::kEc);
  ASSERT_TRUE(key.ok());
  auto policy = std::make_shared<AuthPolicy>();
  AuthSettings settings;
  settings.service = "berth";
  AuthService auth(settings, *key, policy);
  const TokenLimit limit = TokenLimit::FromTexts("0123456789abcdef", {"repository:myorg/app:pull"}, 0);
  const int64_t now = UnixNow();
  auto issued = auth.IssueAccessToken("ci", "berth", {Scope{"registry", "catalog", {}}}, now, 0, &limit);
  ASSERT_TRUE(issued.ok());
  for (int pass = 0; pass < 2; ++pass) {  // the full check, then the verified-token cache
    std::shared_ptr<const TokenLimit> carried;
    auto held = auth.VerifyAccessToken(issued->token, now, nullptr, &carried);
    ASSERT_TRUE(held.ok()) << held.status().message();
    ASSERT_NE(carried, nullptr) << "pass " << pass;
    EXPECT_EQ(carried->token_id, "0123456789abcdef");
    EXPECT_EQ(carried->ScopeTexts(), limit.ScopeTexts());
    EXPECT_EQ(carried->Narrow(Scope{"repository", "myorg/app", {"pull"}}, {"pull", "push"}),
              (std::set<std::string>{"pull"}));
    EXPECT_TRUE(carried->Narrow(Scope{"repository", "myorg/other", {"pull"}}, {"pull"}).empty());
  }
  // A password login's JWT carries none.
  auto plain = auth.IssueAccessToken("ci", "berth", {}, now);
  ASSERT_TRUE(plain.ok());
  std::shared_ptr<const TokenLimit> none = std::make_shared<const TokenLimit>();
  ASSERT_TRUE(auth.VerifyAccessToken(plain->token, now, nullptr, &none).ok());
  EXPECT_EQ(none, nullptr);
  // A scope text that does not parse never widens: it allows nothing.
  const TokenLimit broken = TokenLimit::FromTexts("x", {"bogus"}, 0);
  EXPECT_TRUE(broken.Narrow(Scope{"repository", "myorg/app", {"pull"}}, {"pull"}).empty());
}

// A database that answers with an error (not only one that cannot be
// reached) is unavailable: never taken for a wrong token.
TEST_F(TokenStoreTest, DatabaseErrorsAreUnavailableNotAWrongToken) {
  auto c = store_->Create("ci", "pipeline", {}, std::nullopt, kNow);
  ASSERT_TRUE(c.ok()) << c.status().message();
  {
    auto conn = pool_->Acquire();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Execute("DROP TABLE access_tokens", {}).ok());
  }
  auto verified = store_->Verify(c->token, kNow);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), StatusCode::kUnavailable) << verified.status().message();
  auto looked_up = store_->Lookup(c->record.id, kNow);
  ASSERT_FALSE(looked_up.ok());
  EXPECT_EQ(looked_up.status().code(), StatusCode::kUnavailable) << looked_up.status().message();
  // A pool that fails to open with another code is unavailable too.
  TokenStore broken(TokenStore::PoolOpener(
      []() -> Result<std::shared_ptr<metadata::Pool>> { return Status::IoError("disk I/O error"); }));
  EXPECT_EQ(broken.Verify(c->token, kNow).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(broken.Lookup(c->record.id, kNow).status().code(), StatusCode::kUnavailable);
  // A malformed token is still refused as invalid without asking the database.
  EXPECT_EQ(broken.Verify("berth_pat_nope", kNow).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::auth
