// Unit tests for auth/auth_service.h (Authorize, access and refresh tokens),
// auth/credentials.h, auth/login_throttle.h and auth/bootstrap.h.
#include "auth/auth_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "auth/bootstrap.h"
#include "auth/credentials.h"
#include "auth/jwt.h"
#include "auth/login_throttle.h"
#include "auth/password.h"
#include "temp_dir.h"

namespace berth::auth {
namespace {

using Actions = std::set<std::string>;

constexpr int64_t kNow = 1'800'000'000;

std::shared_ptr<const SigningKey> Key() {
  static const std::shared_ptr<const SigningKey> k = [] {
    auto r = SigningKey::Generate(KeyType::kEc);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return *r;
  }();
  return k;
}

std::shared_ptr<const SigningKey> OtherKey() {
  static const std::shared_ptr<const SigningKey> k = [] {
    auto r = SigningKey::Generate(KeyType::kEc);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return *r;
  }();
  return k;
}

std::string Hash(const std::string& password) {
  auto h = HashPassword(password, 4);
  if (!h.ok()) throw std::runtime_error(h.status().message());
  return *h;
}

Pattern P(const std::string& text) { return Pattern::Compile(text).value(); }

AclEntry Entry(const std::string& account, const std::string& name, Actions actions) {
  AclEntry e;
  e.account = P(account);
  e.name = P(name);
  e.actions = std::move(actions);
  return e;
}

std::shared_ptr<const AuthPolicy> Policy(UserTable users) {
  auto p = std::make_shared<AuthPolicy>();
  p->users = std::move(users);
  p->acl = Acl({
      Entry("admin", "*", {"*"}),
      Entry("developer", "myorg/backend-*", {"pull", "push"}),
      Entry("developer", "myorg/frontend", {"pull"}),
  });
  return p;
}

AuthSettings Settings() {
  AuthSettings s;
  s.service = "registry.example";
  s.issuer = "berth-test";
  s.expiration = 300;
  s.refresh_expiration = 3600;
  s.leeway = 60;
  return s;
}

class AuthServiceTest : public ::testing::Test {
 protected:
  AuthServiceTest()
      : users_{{"alice", Hash("alice-pw")}, {"developer", Hash("dev-pw")}, {"admin", Hash("admin-pw")}},
        policy_(Policy(users_)),
        auth_(Settings(), Key(), policy_) {}

  UserTable users_;
  std::shared_ptr<const AuthPolicy> policy_;
  AuthService auth_;
};

Scope S(const std::string& type, const std::string& name, Actions actions) {
  return Scope{type, name, std::move(actions)};
}

TEST_F(AuthServiceTest, PolicyAccessors) {
  EXPECT_EQ(auth_.policy(), policy_);
  auto other = Policy({});
  auth_.SetPolicy(other);
  EXPECT_EQ(auth_.policy(), other);
  EXPECT_EQ(auth_.settings().service, "registry.example");
  EXPECT_EQ(auth_.keys()->current().kid(), Key()->kid());
}

TEST_F(AuthServiceTest, AuthorizeGrantsTheIntersectionPerScope) {
  const std::vector<Scope> requested = {
      S("repository", "myorg/backend-api", {"pull", "push", "delete"}),
      S("repository", "myorg/frontend", {"pull", "push"}),
      S("registry", "catalog", {"*"}),
      S("repository", "MyOrg/Backend-api", {"pull"}),  // invalid name (upper case)
      S("repository", "myorg//app", {"pull"}),         // invalid name
      S("repository", "myorg/../app", {"pull"}),       // invalid name
      S("repository", "", {"pull"}),                   // invalid name
      S("registry", "other", {"*"}),                   // registry scopes only exist for the catalog
      S("plugin", "myorg/backend-api", {"pull"}),      // unknown type
      S("repository", "myorg/backend-api/sub", {"pull"}),
  };
  struct Case {
    const char* account;
    std::vector<Actions> granted;
  };
  const Case cases[] = {
      {"developer", {{"pull", "push"}, {"pull"}, {}, {}, {}, {}, {}, {}, {}, {}}},
      {"admin", {{"pull", "push", "delete"}, {"pull", "push"}, {"*"}, {}, {}, {}, {}, {}, {}, {"pull"}}},
      {"alice", {{}, {}, {}, {}, {}, {}, {}, {}, {}, {}}},
      {"", {{}, {}, {}, {}, {}, {}, {}, {}, {}, {}}},
  };
  for (const auto& c : cases) {
    auto out = auth_.Authorize(*policy_, c.account, "192.0.2.1", "registry.example", requested);
    ASSERT_EQ(out.size(), requested.size()) << c.account;
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].type, requested[i].type) << c.account << " #" << i;
      EXPECT_EQ(out[i].name, requested[i].name) << c.account << " #" << i;
      EXPECT_EQ(out[i].actions, c.granted[i]) << c.account << " " << requested[i].str();
    }
  }
  EXPECT_TRUE(auth_.Authorize(*policy_, "admin", "192.0.2.1", "registry.example", {}).empty());
}

TEST_F(AuthServiceTest, AccessTokenRoundTrip) {
  const std::vector<Scope> grants = {S("repository", "myorg/backend-api", {"pull", "push"}),
                                     S("registry", "catalog", {"*"}), S("repository", "myorg/empty", {})};
  auto issued = auth_.IssueAccessToken("developer", "registry.example", grants, kNow);
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  EXPECT_EQ(issued->expires_in, 300);
  EXPECT_EQ(issued->issued_at, "2027-01-15T08:00:00Z");

  std::string subject = "unset";
  auto held = auth_.VerifyAccessToken(issued->token, kNow, &subject);
  ASSERT_TRUE(held.ok()) << held.status().message();
  EXPECT_EQ(*held, grants);
  EXPECT_EQ(subject, "developer");
  // The subject pointer is optional.
  EXPECT_TRUE(auth_.VerifyAccessToken(issued->token, kNow + 10, nullptr).ok());

  // The claims are the registry's standard ones.
  auto claims = VerifyJwt(*Key(), issued->token, {"berth-test", "registry.example", kNow, 60});
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ((*claims)["iss"], "berth-test");
  EXPECT_EQ((*claims)["sub"], "developer");
  EXPECT_EQ((*claims)["aud"], "registry.example");
  EXPECT_EQ((*claims)["exp"], kNow + 300);
  EXPECT_EQ((*claims)["nbf"], kNow);
  EXPECT_EQ((*claims)["iat"], kNow);
  EXPECT_TRUE((*claims)["jti"].is_string());
  EXPECT_FALSE((*claims)["jti"].get<std::string>().empty());
  EXPECT_FALSE(claims->contains("berth_use"));

  // Each token gets its own jti.
  auto again = auth_.IssueAccessToken("developer", "registry.example", grants, kNow);
  ASSERT_TRUE(again.ok());
  auto claims2 = VerifyJwt(*Key(), again->token, {"berth-test", "registry.example", kNow, 60});
  ASSERT_TRUE(claims2.ok());
  EXPECT_NE((*claims)["jti"], (*claims2)["jti"]);
}

TEST_F(AuthServiceTest, AnonymousAccessToken) {
  auto issued = auth_.IssueAccessToken("", "registry.example", {S("repository", "public/app", {"pull"})}, kNow);
  ASSERT_TRUE(issued.ok());
  std::string subject = "unset";
  auto held = auth_.VerifyAccessToken(issued->token, kNow, &subject);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(subject, "");
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0], S("repository", "public/app", {"pull"}));
}

TEST_F(AuthServiceTest, AccessTokenExpires) {
  auto issued = auth_.IssueAccessToken("alice", "registry.example", {}, kNow);
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(auth_.VerifyAccessToken(issued->token, kNow + 300 + 60, nullptr).ok());
  EXPECT_FALSE(auth_.VerifyAccessToken(issued->token, kNow + 300 + 61, nullptr).ok());
  EXPECT_FALSE(auth_.VerifyAccessToken(issued->token, kNow - 61, nullptr).ok());  // nbf
  auto held = auth_.VerifyAccessToken(issued->token, kNow, nullptr);
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
}

TEST_F(AuthServiceTest, AccessTokenForAnotherAudienceRefused) {
  auto issued = auth_.IssueAccessToken("admin", "other.example", {S("repository", "a", {"pull"})}, kNow);
  ASSERT_TRUE(issued.ok());
  std::string subject = "unset";
  auto held = auth_.VerifyAccessToken(issued->token, kNow, &subject);
  EXPECT_FALSE(held.ok());
  EXPECT_EQ(subject, "unset");
}

TEST_F(AuthServiceTest, AccessTokenOfAnotherIssuerOrKeyRefused) {
  AuthSettings other_issuer = Settings();
  other_issuer.issuer = "someone-else";
  AuthService foreign_issuer(other_issuer, Key(), policy_);
  auto t1 = foreign_issuer.IssueAccessToken("admin", "registry.example", {}, kNow);
  ASSERT_TRUE(t1.ok());
  EXPECT_FALSE(auth_.VerifyAccessToken(t1->token, kNow, nullptr).ok());

  AuthService foreign_key(Settings(), OtherKey(), policy_);
  auto t2 = foreign_key.IssueAccessToken("admin", "registry.example", {}, kNow);
  ASSERT_TRUE(t2.ok());
  EXPECT_FALSE(auth_.VerifyAccessToken(t2->token, kNow, nullptr).ok());
  EXPECT_TRUE(foreign_key.VerifyAccessToken(t2->token, kNow, nullptr).ok());  // control
  EXPECT_FALSE(auth_.VerifyAccessToken("garbage", kNow, nullptr).ok());
  EXPECT_FALSE(auth_.VerifyAccessToken("", kNow, nullptr).ok());
}

TEST_F(AuthServiceTest, AccessTokenWithHostileAccessClaimDoesNotThrow) {
  // Signed by our key (so it passes the signature check) but with odd shapes in "access".
  nlohmann::json claims = {{"iss", "berth-test"},
                           {"sub", 42},
                           {"aud", "registry.example"},
                           {"exp", kNow + 300},
                           {"access",
                            {1,
                             "x",
                             nullptr,
                             {{"type", 5}, {"name", "a"}, {"actions", {"pull", 7, nullptr}}},
                             {{"type", "repository"}, {"name", "b"}, {"actions", "pull"}}}}};
  auto token = SignJwt(*Key(), claims);
  ASSERT_TRUE(token.ok());
  std::string subject = "unset";
  auto held = auth_.VerifyAccessToken(*token, kNow, &subject);
  ASSERT_TRUE(held.ok()) << held.status().message();
  EXPECT_EQ(subject, "");
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[0], S("", "a", {"pull"}));
  EXPECT_EQ((*held)[1], S("repository", "b", {}));
}

TEST_F(AuthServiceTest, RefreshTokenRoundTrip) {
  auto refresh = auth_.IssueRefreshToken(*policy_, "alice", "registry.example", kNow);
  ASSERT_TRUE(refresh.ok()) << refresh.status().message();
  auto who = auth_.VerifyRefreshToken(*policy_, *refresh, "registry.example", kNow + 100);
  ASSERT_TRUE(who.ok()) << who.status().message();
  EXPECT_EQ(*who, "alice");
  // Valid until refresh_expiration (+ leeway), not beyond.
  EXPECT_TRUE(auth_.VerifyRefreshToken(*policy_, *refresh, "registry.example", kNow + 3600 + 60).ok());
  EXPECT_FALSE(auth_.VerifyRefreshToken(*policy_, *refresh, "registry.example", kNow + 3600 + 61).ok());
  // Bound to the service it was issued for.
  EXPECT_FALSE(auth_.VerifyRefreshToken(*policy_, *refresh, "other.example", kNow).ok());
  auto other_service = auth_.IssueRefreshToken(*policy_, "alice", "other.example", kNow);
  ASSERT_TRUE(other_service.ok());
  EXPECT_FALSE(auth_.VerifyRefreshToken(*policy_, *other_service, "registry.example", kNow).ok());
  auto ok_other = auth_.VerifyRefreshToken(*policy_, *other_service, "other.example", kNow);
  ASSERT_TRUE(ok_other.ok());
  EXPECT_EQ(*ok_other, "alice");
}

TEST_F(AuthServiceTest, RefreshTokenRevokedByPasswordChange) {
  auto refresh = auth_.IssueRefreshToken(*policy_, "alice", "registry.example", kNow);
  ASSERT_TRUE(refresh.ok());
  UserTable changed = users_;
  changed["alice"] = Hash("new-password");
  auto new_policy = Policy(changed);
  auto r = auth_.VerifyRefreshToken(*new_policy, *refresh, "registry.example", kNow);
  EXPECT_FALSE(r.ok());
  // Even a new hash of the same password revokes it (the binding is to the hash).
  UserTable rehashed = users_;
  rehashed["alice"] = Hash("alice-pw");
  EXPECT_FALSE(auth_.VerifyRefreshToken(*Policy(rehashed), *refresh, "registry.example", kNow).ok());
  // Other users' tokens survive alice's change.
  auto dev = auth_.IssueRefreshToken(*policy_, "developer", "registry.example", kNow);
  ASSERT_TRUE(dev.ok());
  auto dev_who = auth_.VerifyRefreshToken(*new_policy, *dev, "registry.example", kNow);
  ASSERT_TRUE(dev_who.ok()) << dev_who.status().message();
  EXPECT_EQ(*dev_who, "developer");
}

TEST_F(AuthServiceTest, RefreshTokenForUnknownUser) {
  auto none = auth_.IssueRefreshToken(*policy_, "mallory", "registry.example", kNow);
  EXPECT_FALSE(none.ok());
  EXPECT_FALSE(auth_.IssueRefreshToken(*policy_, "", "registry.example", kNow).ok());

  auto refresh = auth_.IssueRefreshToken(*policy_, "alice", "registry.example", kNow);
  ASSERT_TRUE(refresh.ok());
  UserTable without_alice = users_;
  without_alice.erase("alice");
  EXPECT_FALSE(auth_.VerifyRefreshToken(*Policy(without_alice), *refresh, "registry.example", kNow).ok());
}

TEST_F(AuthServiceTest, RefreshAndAccessTokensAreNotInterchangeable) {
  auto refresh = auth_.IssueRefreshToken(*policy_, "admin", "registry.example", kNow);
  ASSERT_TRUE(refresh.ok());
  std::string subject = "unset";
  auto as_access = auth_.VerifyAccessToken(*refresh, kNow, &subject);
  EXPECT_FALSE(as_access.ok());
  EXPECT_EQ(subject, "unset");

  auto access = auth_.IssueAccessToken("admin", "registry.example", {S("registry", "catalog", {"*"})}, kNow);
  ASSERT_TRUE(access.ok());
  EXPECT_FALSE(auth_.VerifyRefreshToken(*policy_, access->token, "registry.example", kNow).ok());
}

std::shared_ptr<const KeyRing> Ring(std::shared_ptr<const SigningKey> current,
                                    std::vector<std::shared_ptr<const SigningKey>> accepted = {}) {
  auto r = KeyRing::Make(std::move(current), std::move(accepted));
  if (!r.ok()) throw std::runtime_error(r.status().message());
  return *r;
}

// Key() -> OtherKey(): tokens of the old key stay valid while it is accepted,
// and fail at once when it is retired.
TEST_F(AuthServiceTest, RotationKeepsThenRetiresTheOldKeysAccessTokens) {
  const std::vector<Scope> grants = {S("registry", "catalog", {"*"})};
  auto old_token = auth_.IssueAccessToken("admin", "registry.example", grants, kNow);
  ASSERT_TRUE(old_token.ok());
  ASSERT_TRUE(auth_.VerifyAccessToken(old_token->token, kNow, nullptr).ok());

  auto rotated = Ring(OtherKey(), {Key()});
  auth_.SetKeys(rotated);
  EXPECT_EQ(auth_.keys(), rotated);
  auto old_ok = auth_.VerifyAccessToken(old_token->token, kNow, nullptr);
  EXPECT_TRUE(old_ok.ok()) << old_ok.status().message();
  auto new_token = auth_.IssueAccessToken("admin", "registry.example", grants, kNow);
  ASSERT_TRUE(new_token.ok());
  // Signed by the new key: the accepted old key alone does not verify it.
  EXPECT_TRUE(VerifyJwt(*OtherKey(), new_token->token, {"berth-test", "registry.example", kNow}).ok());
  EXPECT_FALSE(VerifyJwt(*Key(), new_token->token, {"berth-test", "registry.example", kNow}).ok());
  EXPECT_TRUE(auth_.VerifyAccessToken(new_token->token, kNow, nullptr).ok());

  auth_.SetKeys(Ring(OtherKey()));  // the old key retired
  EXPECT_FALSE(auth_.VerifyAccessToken(old_token->token, kNow, nullptr).ok());
  EXPECT_TRUE(auth_.VerifyAccessToken(new_token->token, kNow, nullptr).ok());
}

TEST_F(AuthServiceTest, RotationKeepsThenRetiresTheOldKeysRefreshTokens) {
  auto old_refresh = auth_.IssueRefreshToken(*policy_, "alice", "registry.example", kNow);
  ASSERT_TRUE(old_refresh.ok());
  auth_.SetKeys(Ring(OtherKey(), {Key()}));
  auto who = auth_.VerifyRefreshToken(*policy_, *old_refresh, "registry.example", kNow);
  ASSERT_TRUE(who.ok()) << who.status().message();
  EXPECT_EQ(*who, "alice");
  auto new_refresh = auth_.IssueRefreshToken(*policy_, "alice", "registry.example", kNow);
  ASSERT_TRUE(new_refresh.ok());

  auth_.SetKeys(Ring(OtherKey()));
  EXPECT_FALSE(auth_.VerifyRefreshToken(*policy_, *old_refresh, "registry.example", kNow).ok());
  EXPECT_TRUE(auth_.VerifyRefreshToken(*policy_, *new_refresh, "registry.example", kNow).ok());
}

// The next key accepted before it becomes current (a rotation across replicas).
TEST_F(AuthServiceTest, NextKeyAcceptedBeforeItSigns) {
  AuthService other(Settings(), OtherKey(), policy_);  // a replica already rotated
  auto from_other = other.IssueAccessToken("admin", "registry.example", {}, kNow);
  ASSERT_TRUE(from_other.ok());
  EXPECT_FALSE(auth_.VerifyAccessToken(from_other->token, kNow, nullptr).ok());
  auto verifier = SigningKey::FromCertificatePem(OtherKey()->certificate_pem());
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  auth_.SetKeys(Ring(Key(), {*verifier}));
  EXPECT_TRUE(auth_.VerifyAccessToken(from_other->token, kNow, nullptr).ok());
  auto mine = auth_.IssueAccessToken("admin", "registry.example", {}, kNow);
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(VerifyJwt(*Key(), mine->token, {"berth-test", "registry.example", kNow}).ok());
}

TEST(AuthServiceTimeTest, Rfc3339) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Rfc3339(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(Rfc3339(1800000000), "2027-01-15T08:00:00Z");
  const int64_t now = UnixNow();
  EXPECT_GT(now, 1'700'000'000);
  EXPECT_LT(now, 4'000'000'000);
}

// ---------------------------------------------------------------------------
// CredentialVerifier

TEST(AuthServiceCredentialsTest, VerifyAndCache) {
  const UserTable users = {{"alice", Hash("secret")}, {"bob", Hash("hunter2")}};
  CredentialVerifier v;
  EXPECT_FALSE(v.IsCached(users, "alice", "secret"));
  EXPECT_TRUE(v.Verify(users, "alice", "secret"));
  EXPECT_TRUE(v.IsCached(users, "alice", "secret"));
  EXPECT_TRUE(v.Verify(users, "alice", "secret"));  // from the cache

  EXPECT_FALSE(v.Verify(users, "alice", "wrong"));
  EXPECT_FALSE(v.IsCached(users, "alice", "wrong"));
  EXPECT_FALSE(v.Verify(users, "alice", "hunter2"));  // bob's password
  EXPECT_FALSE(v.IsCached(users, "bob", "secret"));
  EXPECT_FALSE(v.Verify(users, "bob", "secret"));
  EXPECT_FALSE(v.Verify(users, "alice", ""));
  EXPECT_FALSE(v.Verify(users, "Alice", "secret"));
  EXPECT_TRUE(v.Verify(users, "bob", "hunter2"));
  EXPECT_TRUE(v.IsCached(users, "bob", "hunter2"));
  // A cached success for one user is not one for another.
  EXPECT_FALSE(v.IsCached(users, "bob", "secret"));
}

TEST(AuthServiceCredentialsTest, UnknownUser) {
  const UserTable users = {{"alice", Hash("secret")}};
  CredentialVerifier v;
  EXPECT_FALSE(v.Verify(users, "mallory", "secret"));
  EXPECT_FALSE(v.IsCached(users, "mallory", "secret"));
  EXPECT_FALSE(v.Verify(users, "", ""));
  EXPECT_FALSE(v.Verify({}, "alice", "secret"));
}

TEST(AuthServiceCredentialsTest, ChangedHashInvalidatesCache) {
  const UserTable before = {{"alice", Hash("secret")}};
  CredentialVerifier v;
  ASSERT_TRUE(v.Verify(before, "alice", "secret"));
  ASSERT_TRUE(v.IsCached(before, "alice", "secret"));
  const UserTable after = {{"alice", Hash("new-secret")}};
  EXPECT_FALSE(v.IsCached(after, "alice", "secret"));
  EXPECT_FALSE(v.Verify(after, "alice", "secret"));
  EXPECT_TRUE(v.Verify(after, "alice", "new-secret"));
  // Removing the user removes its cached success.
  EXPECT_FALSE(v.IsCached({}, "alice", "secret"));
  EXPECT_FALSE(v.Verify({}, "alice", "secret"));
}

// credentials.h: "Unknown users are checked against a dummy hash so timing does
// not reveal whether a user exists." The dummy hash has the bcrypt cost most
// configured users have (CredentialVerifier::DummyHash), so with `htpasswd -nbB`
// users (cost 5) an unknown user costs what a wrong password does (it used to be
// cost 10 always: ~65 ms against ~2 ms, which let user names be enumerated).
// Disabled on purpose, not broken: it compares wall times, which a loaded or
// shared machine (or a sanitizer build) distorts, so it has no place in the
// suite. It is a measurement to run by hand, on an idle machine:
//   build/tests/berth_unit_tests --gtest_also_run_disabled_tests --gtest_filter='*UnknownUserTakes*'
TEST(AuthServiceCredentialsTest, DISABLED_UnknownUserTakesAsLongAsAKnownUser) {
  // `htpasswd -nbB alice secret` (default cost: 5).
  const UserTable users = {{"alice", "$2y$05$PD5RJWAJDFta.pDIjEAQ5.9cFuEpCYhfv0aJqa3q1gzOxO4wxDrTq"}};
  CredentialVerifier v;
  using Clock = std::chrono::steady_clock;
  auto fastest = [&](const char* user) {
    Clock::duration best = Clock::duration::max();
    for (int i = 0; i < 5; ++i) {
      auto start = Clock::now();
      EXPECT_FALSE(v.Verify(users, user, "wrong password"));
      best = std::min(best, Clock::now() - start);
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(best).count();
  };
  const auto known = fastest("alice");
  const auto unknown = fastest("mallory");
  EXPECT_LT(unknown, 3 * known + 2000) << "unknown user " << unknown << " us, known user " << known << " us";
  EXPECT_LT(known, 3 * unknown + 2000) << "unknown user " << unknown << " us, known user " << known << " us";
}

// ---------------------------------------------------------------------------
// LoginThrottle

TEST(AuthServiceThrottleTest, SlowsThenRefusesThenResets) {
  LoginThrottle t;
  for (int i = 0; i < LoginThrottle::kSlowAfter; ++i) {
    auto v = t.Check("192.0.2.1", "alice");
    EXPECT_FALSE(v.refuse) << i;
    EXPECT_EQ(v.delay.count(), 0) << i;
    t.RecordFailure("192.0.2.1", "alice");
  }
  // kSlowAfter failures: delayed, not refused; the delay grows.
  std::chrono::milliseconds previous{0};
  for (int i = LoginThrottle::kSlowAfter; i < LoginThrottle::kRefuseAfter; ++i) {
    auto v = t.Check("192.0.2.1", "alice");
    EXPECT_FALSE(v.refuse) << i;
    EXPECT_GT(v.delay, previous) << i;
    previous = v.delay;
    t.RecordFailure("192.0.2.1", "alice");
  }
  auto refused = t.Check("192.0.2.1", "alice");
  EXPECT_TRUE(refused.refuse);
  t.RecordSuccess("192.0.2.1", "alice");
  auto after = t.Check("192.0.2.1", "alice");
  EXPECT_FALSE(after.refuse);
  EXPECT_EQ(after.delay.count(), 0);
}

TEST(AuthServiceThrottleTest, ExactDelays) {
  LoginThrottle t;
  for (int i = 0; i < 5; ++i) t.RecordFailure("ip", "u");
  EXPECT_EQ(t.Check("ip", "u").delay, std::chrono::milliseconds(250));
  t.RecordFailure("ip", "u");
  EXPECT_EQ(t.Check("ip", "u").delay, std::chrono::milliseconds(500));
  for (int i = 0; i < 3; ++i) t.RecordFailure("ip", "u");
  EXPECT_EQ(t.Check("ip", "u").delay, std::chrono::milliseconds(1250));
  EXPECT_FALSE(t.Check("ip", "u").refuse);
  t.RecordFailure("ip", "u");
  EXPECT_TRUE(t.Check("ip", "u").refuse);
}

// Attempts in flight hold slots: concurrent guesses cannot all pass the check
// before the first failure is recorded.
TEST(AuthServiceThrottleTest, AttemptsInFlightReserveTheirSlots) {
  LoginThrottle t;
  std::vector<std::unique_ptr<LoginThrottle::Reservation>> held;
  for (int i = 0; i < LoginThrottle::kRefuseAfter; ++i) {
    auto v = t.Reserve("192.0.2.1", "alice");
    ASSERT_FALSE(v.refuse || v.busy) << i;
    EXPECT_EQ(v.delay.count(), 0) << i;  // in flight is not (yet) failed: no delay for a burst of logins
    held.push_back(std::make_unique<LoginThrottle::Reservation>(t, "192.0.2.1", "alice"));
  }
  // Every slot of the address and of the user is taken: wait, not refused.
  const std::pair<const char*, const char*> full[] = {
      {"192.0.2.1", "alice"}, {"192.0.2.2", "alice"}, {"192.0.2.1", "bob"}};
  for (const auto& [ip, user] : full) {
    auto v = t.Reserve(ip, user);
    EXPECT_TRUE(v.busy) << ip << " " << user;
    EXPECT_FALSE(v.refuse) << ip << " " << user;
  }
  {
    auto elsewhere = t.Reserve("192.0.2.2", "bob");  // neither counter involved
    EXPECT_FALSE(elsewhere.busy || elsewhere.refuse);
    LoginThrottle::Reservation release(t, "192.0.2.2", "bob");
  }
  // They all fail: the failures are counted before their slots free, so no gap lets one more in.
  while (!held.empty()) {
    t.RecordFailure("192.0.2.1", "alice");
    held.pop_back();
    const auto v = t.Reserve("192.0.2.1", "alice");
    if (!held.empty()) {
      EXPECT_TRUE(v.busy) << held.size();
    } else {
      EXPECT_TRUE(v.refuse);
    }
  }
  EXPECT_TRUE(t.Check("192.0.2.1", "alice").refuse);
  EXPECT_TRUE(t.Check("192.0.2.9", "alice").refuse);
  EXPECT_FALSE(t.Check("192.0.2.9", "bob").refuse);

  // A success among attempts in flight resets the failures, not the others' slots.
  LoginThrottle s;
  for (int i = 0; i < 3; ++i) s.RecordFailure("198.51.100.1", "carol");
  std::vector<std::unique_ptr<LoginThrottle::Reservation>> carol;
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(s.Reserve("198.51.100.1", "carol").busy);
    carol.push_back(std::make_unique<LoginThrottle::Reservation>(s, "198.51.100.1", "carol"));
  }
  s.RecordSuccess("198.51.100.1", "carol");
  carol.pop_back();
  int more = 0;
  std::vector<std::unique_ptr<LoginThrottle::Reservation>> extra;
  while (more < 2 * LoginThrottle::kRefuseAfter && !s.Reserve("198.51.100.1", "carol").busy) {
    extra.push_back(std::make_unique<LoginThrottle::Reservation>(s, "198.51.100.1", "carol"));
    ++more;
  }
  EXPECT_EQ(more, LoginThrottle::kRefuseAfter - 1);  // the one still in flight holds its slot
  extra.clear();
  carol.clear();
  EXPECT_EQ(s.Check("198.51.100.1", "carol").delay.count(), 0);
  EXPECT_FALSE(s.Reserve("198.51.100.1", "carol").busy);
}

TEST(AuthServiceThrottleTest, CountsPerUserAndPerAddress) {
  LoginThrottle t;
  // One user attacked from many addresses.
  for (int i = 0; i < LoginThrottle::kRefuseAfter; ++i) t.RecordFailure("10.0.0." + std::to_string(i), "bob");
  EXPECT_TRUE(t.Check("10.9.9.9", "bob").refuse);
  EXPECT_FALSE(t.Check("10.9.9.9", "carol").refuse);
  EXPECT_EQ(t.Check("10.9.9.9", "carol").delay.count(), 0);
  // Many users tried from one address.
  for (int i = 0; i < LoginThrottle::kRefuseAfter; ++i) t.RecordFailure("203.0.113.5", "user" + std::to_string(i));
  EXPECT_TRUE(t.Check("203.0.113.5", "someone-new").refuse);
  EXPECT_TRUE(t.Check("203.0.113.5", "").refuse);
  EXPECT_FALSE(t.Check("203.0.113.6", "someone-new").refuse);
  // Anonymous attempts count per address only.
  LoginThrottle anon;
  for (int i = 0; i < LoginThrottle::kSlowAfter; ++i) anon.RecordFailure("198.51.100.1", "");
  EXPECT_GT(anon.Check("198.51.100.1", "").delay.count(), 0);
  EXPECT_EQ(anon.Check("198.51.100.2", "").delay.count(), 0);
}

// ---------------------------------------------------------------------------
// MakePolicy (bootstrap admin)

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AuthServiceBootstrapTest, CreatesAdminOnceAndAnnouncesOnce) {
  testing_util::TempDir dir("berth-boot");
  const std::string file = BootstrapPasswordFile(dir.path());
  EXPECT_EQ(file, dir.path() + "/berth-admin.htpasswd");
  EXPECT_EQ(BootstrapPasswordFile(dir.path() + "/"), file);

  std::vector<std::string> announced;
  auto announce = [&](const std::string& s) { announced.push_back(s); };
  auto first = MakePolicy({}, {}, dir.path(), announce);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(announced.size(), 1u);

  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const std::string content = ReadAll(file);
  EXPECT_TRUE(std::regex_match(content, std::regex(R"(admin:\$2y\$\d\d\$[./A-Za-z0-9]{53}\n)"))) << content;
  const std::string hash = content.substr(6, 60);
  EXPECT_TRUE(VerifyPassword(announced[0], hash)) << "announced '" << announced[0] << "'";
  EXPECT_GE(announced[0].size(), 16u);

  const AuthPolicy& p = **first;
  ASSERT_EQ(p.users.size(), 1u);
  EXPECT_EQ(p.users.at("admin"), hash);
  // admin may do everything; nobody else (anonymous included) anything.
  AccessRequest admin_repo{"admin", "repository", "any/repo", "192.0.2.1", "berth"};
  EXPECT_EQ(p.acl.Authorize(admin_repo, {"pull", "push", "delete"}).granted, (Actions{"pull", "push", "delete"}));
  AccessRequest admin_catalog{"admin", "registry", "catalog", "192.0.2.1", "berth"};
  EXPECT_EQ(p.acl.Authorize(admin_catalog, {"*"}).granted, Actions{"*"});
  AccessRequest anon{"", "repository", "any/repo", "192.0.2.1", "berth"};
  EXPECT_EQ(p.acl.Authorize(anon, {"pull"}).granted, Actions{});
  AccessRequest other{"bob", "repository", "any/repo", "192.0.2.1", "berth"};
  EXPECT_EQ(p.acl.Authorize(other, {"pull"}).granted, Actions{});

  // Second start: reads the file, no new password, nothing announced.
  auto second = MakePolicy({}, {}, dir.path(), announce);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(announced.size(), 1u);
  EXPECT_EQ((*second)->users.at("admin"), hash);
  EXPECT_EQ(ReadAll(file), content);
}

TEST(AuthServiceBootstrapTest, CreatesTheDataDirectory) {
  testing_util::TempDir dir("berth-boot");
  const std::string root = dir.path() + "/data";
  int calls = 0;
  auto p = MakePolicy({}, {}, root, [&](const std::string&) { ++calls; });
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(std::filesystem::exists(root + "/berth-admin.htpasswd"));
}

TEST(AuthServiceBootstrapTest, ConfiguredUsersAreReturnedUnchanged) {
  testing_util::TempDir dir("berth-boot");
  const UserTable users = {{"alice", Hash("a")}, {"bob", Hash("b")}};
  std::vector<AclEntry> acl = {Entry("alice", "alice/**", {"*"}), Entry("*", "public/*", {"pull"})};
  int calls = 0;
  auto p = MakePolicy(users, acl, dir.path(), [&](const std::string&) { ++calls; });
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ((*p)->users, users);
  ASSERT_EQ((*p)->acl.entries().size(), 2u);
  EXPECT_EQ((*p)->acl.entries()[0].account->text(), "alice");
  EXPECT_EQ((*p)->acl.entries()[1].name->text(), "public/*");
  EXPECT_FALSE(std::filesystem::exists(BootstrapPasswordFile(dir.path())));

  // Users without an ACL, or an ACL without users: no bootstrap either.
  auto only_users = MakePolicy(users, {}, dir.path(), [&](const std::string&) { ++calls; });
  ASSERT_TRUE(only_users.ok());
  EXPECT_EQ((*only_users)->users, users);
  EXPECT_TRUE((*only_users)->acl.empty());
  auto only_acl = MakePolicy({}, acl, dir.path(), [&](const std::string&) { ++calls; });
  ASSERT_TRUE(only_acl.ok());
  EXPECT_TRUE((*only_acl)->users.empty());
  EXPECT_EQ((*only_acl)->acl.entries().size(), 2u);
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(std::filesystem::exists(BootstrapPasswordFile(dir.path())));
}

TEST(AuthServiceBootstrapTest, CorruptPasswordFileIsAnError) {
  testing_util::TempDir dir("berth-boot");
  const std::string file = BootstrapPasswordFile(dir.path());
  for (const std::string& bad :
       {std::string(""), std::string("admin:notahash\n"), std::string("root:") + Hash("x") + "\n"}) {
    {
      std::ofstream out(file, std::ios::trunc);
      out << bad;
    }
    int calls = 0;
    auto p = MakePolicy({}, {}, dir.path(), [&](const std::string&) { ++calls; });
    EXPECT_FALSE(p.ok()) << "'" << bad << "'";
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(ReadAll(file), bad);  // left alone
  }
}

}  // namespace
}  // namespace berth::auth
