// Unit tests for auth/access_controller.h and auth/token_service.h: what the
// access checks and the token server decide, as values, without any HTTP.
#include "auth/access_controller.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "auth/ldap/directory.h"
#include "auth/login_throttle.h"
#include "auth/signing_key.h"
#include "util/base64.h"
#include "auth/password.h"
#include "auth/token_service.h"

namespace berth::auth {
namespace {

namespace asio = boost::asio;

// Runs a coroutine to completion on a private io_context.
template <class T>
T RunTask(http::Task<T> task) {
  asio::io_context ioc;
  auto future = asio::co_spawn(ioc, std::move(task), asio::use_future);
  ioc.run();
  return future.get();
}

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + Base64UrlEncode(user + ":" + password);
}

Scope S(const std::string& type, const std::string& name, std::set<std::string> actions) {
  return Scope{type, name, std::move(actions)};
}

class AccessDecisionTest : public ::testing::Test {
 protected:
  AccessDecisionTest() {
    auto key = SigningKey::Generate(KeyType::kEc);
    if (!key.ok()) throw std::runtime_error(key.status().message());
    auto policy = std::make_shared<AuthPolicy>();
    policy->users["alice"] = HashPassword("secret", 4).value();
    AclEntry e;
    e.account = Pattern::Compile("alice").value();
    e.name = Pattern::Compile("alice/*").value();
    e.actions = {"pull", "push"};
    policy->acl = Acl({e});
    AuthSettings settings;
    settings.service = "registry.test";
    auth_ = std::make_unique<AuthService>(settings, *key, policy);
    AccessOptions options;
    options.trusted_proxies = {IpRange::Parse("10.0.0.0/8").value()};
    access_ = std::make_unique<AccessController>(*auth_, options, pool_);
    request_.host = "registry.local:5000";
    request_.remote_address = "127.0.0.1";
  }

  AccessDecision Authorize(const std::vector<Scope>& needed) { return RunTask(access_->Authorize(request_, needed)); }

  std::string Token(const std::vector<Scope>& grants) {
    return auth_->IssueAccessToken("alice", "registry.test", grants, UnixNow()).value().token;
  }

  asio::thread_pool pool_{1};
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<AccessController> access_;
  // Sets the Authorization header (`request_` holds a view of it).
  void SetAuthorization(std::string value) {
    authorization_ = std::move(value);
    request_.authorization = authorization_;
  }

  ClientRequest request_;
  std::string authorization_;
};

TEST_F(AccessDecisionTest, NoCredentialsIsAChallengeNamingRealmServiceAndScope) {
  const AccessDecision d = Authorize({S("repository", "alice/app", {"push"})});
  const auto* c = std::get_if<Challenge>(&d);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, Challenge::Reason::kNoCredentials);
  EXPECT_EQ(c->realm, "http://registry.local:5000/v2/token");
  EXPECT_EQ(c->service, "registry.test");
  EXPECT_EQ(c->error, "");
  EXPECT_EQ(c->account, "");
  // A push scope asks for pull too.
  EXPECT_EQ(c->HeaderValue(),
            "Bearer realm=\"http://registry.local:5000/v2/token\",service=\"registry.test\","
            "scope=\"repository:alice/app:pull,push\"");
}

TEST_F(AccessDecisionTest, BasicCredentialsWithTheScopeAreGranted) {
  SetAuthorization(Basic("alice", "secret"));
  const AccessDecision d = Authorize({S("repository", "alice/app", {"pull"})});
  const auto* id = std::get_if<Identity>(&d);
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->account(), "alice");
  EXPECT_TRUE(id->Can("repository", "alice/other", "push"));
  EXPECT_FALSE(id->Can("repository", "bob/app", "pull"));
}

TEST_F(AccessDecisionTest, WrongPasswordIsAChallenge) {
  SetAuthorization(Basic("alice", "wrong"));
  const AccessDecision d = Authorize({S("repository", "alice/app", {"pull"})});
  const auto* c = std::get_if<Challenge>(&d);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, Challenge::Reason::kBadCredentials);
  EXPECT_EQ(c->account, "");
}

TEST_F(AccessDecisionTest, AScopeTheAclRefusesIsDeniedAndNamesTheAccount) {
  SetAuthorization(Basic("alice", "secret"));
  const AccessDecision d = Authorize({S("repository", "bob/app", {"pull"})});
  const auto* c = std::get_if<Challenge>(&d);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, Challenge::Reason::kDenied);
  EXPECT_EQ(c->account, "alice");
  EXPECT_EQ(c->error, "");  // Basic: no token whose scope could be insufficient
}

TEST_F(AccessDecisionTest, BearerTokensAreCheckedForTheirScopes) {
  SetAuthorization("Bearer " + Token({S("repository", "alice/app", {"pull"})}));
  EXPECT_TRUE(std::holds_alternative<Identity>(Authorize({S("repository", "alice/app", {"pull"})})));
  const AccessDecision d = Authorize({S("repository", "alice/app", {"push"})});
  const auto* c = std::get_if<Challenge>(&d);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, Challenge::Reason::kDenied);
  EXPECT_EQ(c->error, "insufficient_scope");
  EXPECT_NE(c->HeaderValue().find(",error=\"insufficient_scope\""), std::string::npos);

  SetAuthorization("Bearer not-a-token");
  const AccessDecision bad = Authorize({});
  const auto* invalid = std::get_if<Challenge>(&bad);
  ASSERT_NE(invalid, nullptr);
  EXPECT_EQ(invalid->reason, Challenge::Reason::kInvalidToken);
  EXPECT_EQ(invalid->error, "invalid_token");
}

TEST_F(AccessDecisionTest, EmptyNeedsAnyValidCredentials) {
  EXPECT_TRUE(std::holds_alternative<Challenge>(Authorize({})));
  SetAuthorization(Basic("alice", "secret"));
  EXPECT_TRUE(std::holds_alternative<Identity>(Authorize({})));
}

TEST_F(AccessDecisionTest, RepeatedFailuresAreThrottled) {
  for (int i = 0; i < LoginThrottle::kRefuseAfter; ++i) auth_->throttle().RecordFailure("127.0.0.1", "alice");
  SetAuthorization(Basic("alice", "secret"));
  const AccessDecision d = Authorize({});
  const auto* t = std::get_if<Throttle>(&d);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->retry_after, LoginThrottle::kWindow);
}

// Concurrent wrong guesses from one address: each reserves a throttle slot
// before its (blocking) check, so no more than kRefuseAfter are ever checked;
// the rest wait for a slot and are then refused.
TEST_F(AccessDecisionTest, ConcurrentGuessesAreThrottledBeforeTheirOutcome) {
  constexpr int kGuesses = LoginThrottle::kRefuseAfter + 5;
  // CheckLogin takes references: everything it is given outlives the run.
  const std::string ip = "192.0.2.7", user = "alice";
  std::vector<std::string> passwords;
  for (int i = 0; i < kGuesses; ++i) passwords.push_back("wrong-" + std::to_string(i));
  asio::io_context ioc;
  std::vector<std::future<AccessController::Login>> results;
  for (int i = 0; i < kGuesses; ++i) {
    http::Task<AccessController::Login> guess = access_->CheckLogin(ip, user, passwords[i]);
    results.push_back(asio::co_spawn(ioc, std::move(guess), asio::use_future));
  }
  ioc.run();
  int checked = 0, throttled = 0;
  for (auto& r : results) {
    const AccessController::Login login = r.get();
    checked += login == AccessController::Login::kBad ? 1 : 0;
    throttled += login == AccessController::Login::kThrottled ? 1 : 0;
  }
  EXPECT_EQ(checked, LoginThrottle::kRefuseAfter);
  EXPECT_EQ(throttled, kGuesses - LoginThrottle::kRefuseAfter);
}

// A directory whose every lookup hangs until released (then refuses).
class HangingDirectory : public ldap::Directory {
 public:
  explicit HangingDirectory(std::shared_future<void> gate) : ldap::Directory(ldap::DirectoryOptions{}), gate_(gate) {}

 protected:
  Login Lookup(std::string_view, std::string_view, ldap::GroupSet*) const override {
    gate_.wait_for(std::chrono::seconds(30));
    return {Outcome::kBad, "released"};
  }

 private:
  std::shared_future<void> gate_;
};

// A hanging directory holds only its own threads: the YAML user still logs in
// (bcrypt on the other pool), and beyond the cap a directory login is refused
// at once as unavailable rather than queued.
TEST_F(AccessDecisionTest, AHangingDirectoryNeitherBlocksYamlUsersNorQueuesWithoutBound) {
  std::promise<void> release;
  auto policy = std::make_shared<AuthPolicy>(*auth_->policy());
  policy->directory = std::make_shared<HangingDirectory>(release.get_future().share());
  auth_->SetPolicy(policy);
  constexpr int kLogins = AccessController::kMaxDirectoryLogins + 1;
  std::vector<std::string> users, ips;
  for (int i = 0; i < kLogins; ++i) {
    users.push_back("ldap-user-" + std::to_string(i));
    ips.push_back("198.51.100." + std::to_string(i));
  }
  const std::string password = "pw", alice = "alice", alice_pw = "secret", alice_ip = "192.0.2.50";
  asio::io_context ioc;
  std::vector<std::future<AccessController::Login>> directory_logins;
  for (int i = 0; i < kLogins; ++i) {
    http::Task<AccessController::Login> login = access_->CheckLogin(ips[i], users[i], password);
    directory_logins.push_back(asio::co_spawn(ioc, std::move(login), asio::use_future));
  }
  http::Task<AccessController::Login> yaml_login = access_->CheckLogin(alice_ip, alice, alice_pw);
  std::future<AccessController::Login> yaml = asio::co_spawn(ioc, std::move(yaml_login), asio::use_future);
  std::thread runner([&ioc] { ioc.run(); });
  const bool yaml_answered = yaml.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  int refused_at_once = 0;
  for (auto& f : directory_logins) {
    if (f.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      EXPECT_EQ(f.get(), AccessController::Login::kUnavailable);
      ++refused_at_once;
    }
  }
  release.set_value();
  runner.join();
  ASSERT_TRUE(yaml_answered) << "the YAML user's login waited for the directory";
  EXPECT_EQ(yaml.get(), AccessController::Login::kOk);
  EXPECT_EQ(refused_at_once, 1);
}

TEST_F(AccessDecisionTest, RealmAndClientIpBelieveOnlyTrustedProxies) {
  request_.forwarded_for = "203.0.113.7";
  request_.forwarded_proto = "https";
  request_.forwarded_host = "registry.example";
  EXPECT_EQ(access_->ClientIp(request_), "127.0.0.1");
  EXPECT_EQ(access_->Realm(request_), "http://registry.local:5000/v2/token");
  request_.remote_address = "10.1.2.3";
  EXPECT_EQ(access_->ClientIp(request_), "203.0.113.7");
  EXPECT_EQ(access_->Realm(request_), "https://registry.example/v2/token");
  request_.host = "evil\"host";
  request_.remote_address = "127.0.0.1";
  EXPECT_EQ(access_->Realm(request_), "http://localhost/v2/token");
}

// A mount reads its source when it may: a token that never named it is
// challenged for both scopes; one that names it without pull, or Basic, passes
// (the handler then opens an upload instead of mounting).
TEST_F(AccessDecisionTest, WantedScopesAreChallengedForOnlyWhenTheTokenNeverNamedThem) {
  const std::vector<Scope> needed = {S("repository", "alice/dst", {"push"})};
  const std::vector<Scope> wanted = {S("repository", "bob/src", {"pull"})};
  SetAuthorization("Bearer " + Token({S("repository", "alice/dst", {"pull", "push"})}));
  const AccessDecision d = RunTask(access_->Authorize(request_, needed, wanted));
  const auto* c = std::get_if<Challenge>(&d);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, Challenge::Reason::kDenied);
  EXPECT_EQ(c->HeaderValue(),
            "Bearer realm=\"http://registry.local:5000/v2/token\",service=\"registry.test\","
            "scope=\"repository:alice/dst:pull,push repository:bob/src:pull\",error=\"insufficient_scope\"");

  // The token server considered bob/src and granted nothing: no second challenge.
  SetAuthorization("Bearer " + Token({S("repository", "alice/dst", {"pull", "push"}), S("repository", "bob/src", {})}));
  const AccessDecision named = RunTask(access_->Authorize(request_, needed, wanted));
  const auto* id = std::get_if<Identity>(&named);
  ASSERT_NE(id, nullptr);
  EXPECT_FALSE(id->Can("repository", "bob/src", "pull"));

  // Basic: the ACL answers the handler's question directly.
  SetAuthorization(Basic("alice", "secret"));
  EXPECT_TRUE(std::holds_alternative<Identity>(RunTask(access_->Authorize(request_, needed, wanted))));
  // Without credentials the challenge names everything at once.
  SetAuthorization("");
  const AccessDecision none = RunTask(access_->Authorize(request_, needed, wanted));
  ASSERT_TRUE(std::holds_alternative<Challenge>(none));
  EXPECT_EQ(std::get<Challenge>(none).scopes.size(), 2u);
}

TEST_F(AccessDecisionTest, TheCatalogViewShowsWhatTheAccountMayPull) {
  const Identity alice = Identity::FromToken("alice", {S("registry", "catalog", {})});
  const auto view = access_->CatalogViewOf(alice, request_);
  EXPECT_FALSE(view.all());
  EXPECT_TRUE(view.Shows("alice/app"));
  EXPECT_FALSE(view.Shows("bob/app"));
  EXPECT_FALSE(view.Shows("alice/app/nested"));  // alice/* stays within one segment
  const Identity anonymous = Identity::FromToken("", {});
  EXPECT_FALSE(access_->CatalogViewOf(anonymous, request_).Shows("alice/app"));
  const Identity admin = Identity::FromToken("admin", {S("registry", "catalog", {"*"})});
  const auto all = access_->CatalogViewOf(admin, request_);
  EXPECT_TRUE(all.all());
  EXPECT_TRUE(all.Shows("bob/app"));
}

class TokenServiceTest : public AccessDecisionTest {
 protected:
  TokenServiceTest() : tokens_(*access_) {}

  std::optional<TokenRefusal> Query(const std::string& target, std::string_view authorization, TokenRequest* out) {
    auto url = boost::urls::parse_origin_form(target);
    return tokens_.ParseQuery(url->params(), authorization, out);
  }

  std::optional<TokenRefusal> Authenticate(const TokenRequest& req, TokenAccount* who) {
    return RunTask(tokens_.Authenticate(req, "127.0.0.1", log::RequestFields{}, who));
  }

  TokenService tokens_;
};

TEST_F(TokenServiceTest, ParsesAQueryWithBasicCredentials) {
  TokenRequest req;
  ASSERT_FALSE(Query("/v2/token?scope=repository:alice/a:pull%20repository:alice/b:push&scope=registry:catalog:*",
                     Basic("alice", "secret"), &req));
  EXPECT_FALSE(req.is_post);
  EXPECT_EQ(req.service, "registry.test");  // defaulted
  ASSERT_EQ(req.scopes.size(), 3u);
  EXPECT_EQ(req.scopes[1], S("repository", "alice/b", {"push"}));
  EXPECT_TRUE(req.has_password);
  EXPECT_EQ(req.user, "alice");
}

TEST_F(TokenServiceTest, ParseRefusalsSayWhy) {
  TokenRequest a, b, c;
  EXPECT_EQ(Query("/v2/token", "Basic !!!", &a)->error, TokenError::kMalformedCredentials);
  EXPECT_TRUE(Query("/v2/token", "Basic !!!", &a)->IsCredentialFailure());
  EXPECT_EQ(Query("/v2/token?service=a%22b", "", &b)->error, TokenError::kInvalidService);
  EXPECT_EQ(Query("/v2/token?scope=nonsense", "", &c)->error, TokenError::kInvalidScope);
  EXPECT_FALSE(Query("/v2/token?scope=nonsense", "", &c)->IsCredentialFailure());
}

TEST_F(TokenServiceTest, ParsesAFormWithPlusAsSpace) {
  TokenRequest req;
  ASSERT_FALSE(tokens_.ParseForm(
      "grant_type=password&username=alice&password=se+cret&scope=repository:alice/a:pull+repository:alice/b:pull"
      "&access_type=offline",
      &req));
  EXPECT_TRUE(req.is_post);
  EXPECT_EQ(req.password, "se cret");
  EXPECT_EQ(req.scopes.size(), 2u);
  EXPECT_TRUE(req.offline);
}

TEST_F(TokenServiceTest, AuthenticatesThenGrantsWhatTheAclAllowsAndSigns) {
  TokenRequest req;
  ASSERT_FALSE(Query("/v2/token?scope=repository:alice/a:pull,push&scope=repository:bob/b:pull&offline_token=true",
                     Basic("alice", "secret"), &req));
  TokenAccount who;
  ASSERT_FALSE(Authenticate(req, &who));
  EXPECT_EQ(who.account, "alice");
  EXPECT_TRUE(who.may_refresh);
  const TokenGrant grant = tokens_.Grant(req, who, "127.0.0.1");
  EXPECT_FALSE(grant.all_granted);  // bob/b refused
  EXPECT_EQ(grant.str(), "repository:alice/a:pull,push");
  auto signed_tokens = tokens_.Sign(req, who, grant);
  ASSERT_TRUE(signed_tokens.ok()) << signed_tokens.status().message();
  EXPECT_FALSE(signed_tokens->access.token.empty());
  EXPECT_FALSE(signed_tokens->refresh.empty());
  std::string subject;
  auto held = auth_->VerifyAccessToken(signed_tokens->access.token, UnixNow(), &subject);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(subject, "alice");
}

TEST_F(TokenServiceTest, AuthenticationRefusalsAreValues) {
  TokenRequest bad;
  ASSERT_FALSE(Query("/v2/token", Basic("alice", "wrong"), &bad));
  TokenAccount who;
  auto refused = Authenticate(bad, &who);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, TokenError::kBadCredentials);
  EXPECT_EQ(refused->attempted_user, "alice");
  EXPECT_TRUE(refused->IsCredentialFailure());

  TokenRequest anonymous_as_alice;
  ASSERT_FALSE(Query("/v2/token?account=alice", "", &anonymous_as_alice));
  refused = Authenticate(anonymous_as_alice, &who);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, TokenError::kAccountMismatch);
  EXPECT_FALSE(refused->IsCredentialFailure());

  TokenRequest grant_type;
  ASSERT_FALSE(tokens_.ParseForm("grant_type=client_credentials", &grant_type));
  refused = Authenticate(grant_type, &who);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, TokenError::kUnsupportedGrantType);

  TokenRequest refresh;
  ASSERT_FALSE(tokens_.ParseForm("grant_type=refresh_token&refresh_token=forged", &refresh));
  refused = Authenticate(refresh, &who);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, TokenError::kInvalidRefreshToken);
}

TEST_F(TokenServiceTest, AnonymousGetsWhatTheAclGivesAnonymous) {
  TokenRequest req;
  ASSERT_FALSE(Query("/v2/token?scope=repository:alice/a:pull", "", &req));
  TokenAccount who;
  ASSERT_FALSE(Authenticate(req, &who));
  EXPECT_EQ(who.account, "");
  EXPECT_FALSE(who.may_refresh);
  const TokenGrant grant = tokens_.Grant(req, who, "127.0.0.1");
  EXPECT_FALSE(grant.all_granted);
  EXPECT_EQ(grant.str(), "");
}

}  // namespace
}  // namespace berth::auth
