// Unit tests for the auth parts of the config: server.public_url, auth.*,
// users and acl as config/config.h reads them and auth/access_rules.h compiles
// them, and the errors (with file:line) for what is wrong in them.
#include <gtest/gtest.h>

#include <string>

#include "auth/access_rules.h"
#include "auth/acl.h"
#include "auth/password.h"
#include "config/config.h"

namespace berth::config {
namespace {

using Actions = std::set<std::string>;

// `htpasswd -nbB -C 5 alice secret`
constexpr const char* kHash = "$2y$05$PD5RJWAJDFta.pDIjEAQ5.9cFuEpCYhfv0aJqa3q1gzOxO4wxDrTq";
// crypt('secret', '$2b$05$abcdefghijklmnopqrstuu') (libxcrypt)
constexpr const char* kHash2b = "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";

const std::string kFullExample = std::string(R"(version: 0.1
server:
  addr: ":5000"
  public_url: "https://registry.example.com/"
storage:
  filesystem:
    rootdirectory: /var/lib/berth
auth:
  mode: token
  token:
    service: registry.example.com
    issuer: berth-auth
    key: /etc/berth/token-key.pem
    key_type: ec
    expiration: 900
    refresh_expiration: 86400
users:
  admin:
    password: ")") + kHash + R"("
  developer:
    password: ")" + kHash2b + R"("
acl:
  - account: admin
    name: "*"
    actions: ["*"]
    comment: admins can do everything
  - account: developer
    name: "myorg/backend-*"
    actions: [pull, push]
  - account: developer
    name: myorg/frontend
    actions: [pull]
  - account: ""
    name: "public/**"
    actions: [pull]
  - account: "/ci-[a-z]+/"
    name: "${account}/**"
    type: repository
    ip: ["10.0.0.0/8", "2001:db8::1"]
    service: registry.example.com
    actions: [push, delete]
  - account: "*"
    actions: []
    comment: everyone else, nothing
)";

// The config parsed and its users and ACL compiled, as app/load_config.h does.
struct Parsed {
  Config config;
  auth::AccessRules rules;
};

Result<Parsed> ParseAndCompile(const std::string& yaml) {
  auto c = ParseConfig(yaml, "auth.yaml");
  if (!c.ok()) return c.status();
  auto rules = auth::CompileAccessRules(*c);
  if (!rules.ok()) return rules.status();
  return Parsed{std::move(*c), std::move(*rules)};
}

Parsed Parse(const std::string& yaml) {
  auto c = ParseAndCompile(yaml);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : Parsed{};
}

// Expects an error located at `line` of auth.yaml, whose message contains `what`.
void ExpectError(const std::string& yaml, int line, const std::string& what) {
  auto c = ParseAndCompile(yaml);
  ASSERT_FALSE(c.ok()) << "accepted:\n" << yaml;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  const std::string m = c.status().message();
  const std::string where = "auth.yaml:" + std::to_string(line) + ":";
  EXPECT_EQ(m.rfind(where, 0), 0u) << "'" << m << "' does not start with '" << where << "'";
  EXPECT_NE(m.find(what), std::string::npos) << "'" << m << "' lacks '" << what << "'";
}

TEST(AuthConfigTest, FullExampleParses) {
  const Parsed c = Parse(kFullExample);
  EXPECT_EQ(c.config.server.public_url, "https://registry.example.com");  // trailing '/' dropped
  EXPECT_EQ(c.config.storage.filesystem_root, "/var/lib/berth");
  EXPECT_EQ(c.config.auth.mode, "token");
  EXPECT_EQ(c.config.auth.token.service, "registry.example.com");
  EXPECT_EQ(c.config.auth.token.issuer, "berth-auth");
  EXPECT_EQ(c.config.auth.token.key, "/etc/berth/token-key.pem");
  EXPECT_EQ(c.config.auth.token.key_type, "ec");
  EXPECT_EQ(c.config.auth.token.expiration, 900);
  EXPECT_EQ(c.config.auth.token.refresh_expiration, 86400);
  EXPECT_EQ(TokenKeyPath(c.config), "/etc/berth/token-key.pem");

  ASSERT_EQ(c.rules.users.size(), 2u);
  EXPECT_EQ(c.rules.users.at("admin"), kHash);
  EXPECT_EQ(c.rules.users.at("developer"), kHash2b);
  EXPECT_TRUE(auth::VerifyPassword("secret", c.rules.users.at("admin")));

  ASSERT_EQ(c.rules.acl.size(), 6u);
  const auto& admin = c.rules.acl[0];
  ASSERT_TRUE(admin.account.has_value());
  EXPECT_EQ(admin.account->text(), "admin");
  EXPECT_FALSE(admin.anonymous_only);
  ASSERT_TRUE(admin.name.has_value());
  EXPECT_EQ(admin.name->text(), "*");
  EXPECT_FALSE(admin.type.has_value());
  EXPECT_TRUE(admin.ips.empty());
  EXPECT_FALSE(admin.service.has_value());
  EXPECT_EQ(admin.actions, Actions{"*"});
  EXPECT_EQ(admin.comment, "admins can do everything");
  EXPECT_EQ(admin.line, 23);

  EXPECT_EQ(c.rules.acl[1].account->text(), "developer");
  EXPECT_EQ(c.rules.acl[1].name->text(), "myorg/backend-*");
  EXPECT_EQ(c.rules.acl[1].actions, (Actions{"pull", "push"}));
  EXPECT_EQ(c.rules.acl[1].line, 27);
  EXPECT_EQ(c.rules.acl[2].name->text(), "myorg/frontend");
  EXPECT_EQ(c.rules.acl[2].actions, Actions{"pull"});

  const auto& anon = c.rules.acl[3];
  EXPECT_TRUE(anon.anonymous_only);
  EXPECT_FALSE(anon.account.has_value());
  EXPECT_EQ(anon.name->text(), "public/**");

  const auto& ci = c.rules.acl[4];
  ASSERT_TRUE(ci.account.has_value());
  EXPECT_TRUE(ci.account->is_regex());
  EXPECT_EQ(ci.name->text(), "${account}/**");
  ASSERT_TRUE(ci.type.has_value());
  EXPECT_EQ(*ci.type, "repository");
  ASSERT_EQ(ci.ips.size(), 2u);
  EXPECT_TRUE(ci.ips[0].Contains("10.1.2.3"));
  EXPECT_FALSE(ci.ips[0].Contains("11.1.2.3"));
  EXPECT_TRUE(ci.ips[1].Contains("2001:db8::1"));
  ASSERT_TRUE(ci.service.has_value());
  EXPECT_EQ(ci.service->text(), "registry.example.com");
  EXPECT_EQ(ci.actions, (Actions{"push", "delete"}));

  const auto& rest = c.rules.acl[5];
  EXPECT_EQ(rest.account->text(), "*");
  EXPECT_FALSE(rest.name.has_value());
  EXPECT_TRUE(rest.actions.empty());
  EXPECT_EQ(rest.comment, "everyone else, nothing");

  // The parsed ACL behaves as written.
  auth::Acl acl(c.rules.acl);
  auto ask = [&](const std::string& account, const std::string& name, const std::string& action,
                 const std::string& ip = "192.0.2.1") {
    return acl.Authorize({account, "repository", name, ip, "registry.example.com"}, {action}).granted;
  };
  EXPECT_EQ(ask("admin", "anything/at/all", "delete"), Actions{"delete"});
  EXPECT_EQ(ask("developer", "myorg/backend-api", "push"), Actions{"push"});
  EXPECT_EQ(ask("developer", "myorg/backend-api/sub", "pull"), Actions{});
  EXPECT_EQ(ask("developer", "myorg/frontend", "pull"), Actions{"pull"});
  EXPECT_EQ(ask("developer", "myorg/frontend", "push"), Actions{});
  EXPECT_EQ(ask("", "public/tools", "pull"), Actions{"pull"});
  EXPECT_EQ(ask("", "myorg/frontend", "pull"), Actions{});
  EXPECT_EQ(ask("ci-bot", "ci-bot/build", "push", "10.4.4.4"), Actions{"push"});
  EXPECT_EQ(ask("ci-bot", "ci-bot/build", "push", "192.0.2.1"), Actions{});
  EXPECT_EQ(ask("ci-bot", "other/build", "push", "10.4.4.4"), Actions{});
  EXPECT_EQ(ask("mallory", "public/tools", "pull"), Actions{});
  EXPECT_EQ(acl.Authorize({"admin", "registry", "catalog", "192.0.2.1", "x"}, {"*"}).granted, Actions{"*"});
}

// The ACL of docs/auth.md, verbatim.
TEST(AuthConfigTest, DocsAclExample) {
  const Parsed c = Parse(R"(acl:
  - account: "admin"            # a glob over the user name
    name: "*"                   # a glob over the repository name
    actions: ["*"]
  - account: "developer"
    name: "myorg/backend-*"
    actions: ["pull", "push"]
  - account: ""                 # the anonymous user
    name: "public/**"
    actions: ["pull"]
  - account: "/^ci-[0-9]+$/"    # a regular expression
    name: "${account}/**"       # personal namespace
    ip: ["10.0.0.0/8"]
    actions: ["pull", "push"]
    comment: "CI runners push to their own namespace from the office network"
)");
  ASSERT_EQ(c.rules.acl.size(), 4u);
  EXPECT_EQ(c.rules.acl[3].line, 11);
  EXPECT_EQ(c.rules.acl[3].comment, "CI runners push to their own namespace from the office network");
  auth::Acl acl(c.rules.acl);
  struct Row {
    const char* user;
    const char* name;
    const char* ip;
    const char* action;
    bool allowed;
  };
  const Row rows[] = {
      {"admin", "x/y/z", "192.0.2.1", "delete", true},
      {"developer", "myorg/backend-api", "192.0.2.1", "push", true},
      {"developer", "myorg/backend-api/sub", "192.0.2.1", "pull", false},
      {"developer", "myorg/frontend", "192.0.2.1", "pull", false},
      {"", "public/a/b", "192.0.2.1", "pull", true},
      {"", "public/a/b", "192.0.2.1", "push", false},
      {"ci-12", "ci-12/app", "10.1.1.1", "push", true},
      {"ci-12", "ci-12/app", "::ffff:10.1.1.1", "push", true},
      {"ci-12", "ci-12/app", "192.0.2.1", "push", false},
      {"ci-12", "ci-13/app", "10.1.1.1", "push", false},
      {"ci-12", "ci-12/app", "10.1.1.1", "delete", false},
      {"ci-x", "ci-x/app", "10.1.1.1", "pull", false},
  };
  for (const Row& r : rows) {
    auto granted = acl.Authorize({r.user, "repository", r.name, r.ip, "berth"}, {r.action}).granted;
    EXPECT_EQ(granted, r.allowed ? Actions{r.action} : Actions{})
        << "'" << r.user << "' " << r.name << " " << r.action << " from " << r.ip;
  }
}

TEST(AuthConfigTest, AuthDefaults) {
  const Parsed c = Parse("");
  EXPECT_EQ(c.config.auth.mode, "token");
  EXPECT_EQ(c.config.auth.token.service, "berth");
  EXPECT_EQ(c.config.auth.token.issuer, "berth");
  EXPECT_EQ(c.config.auth.token.key, "");
  EXPECT_EQ(c.config.auth.token.key_type, "rsa");
  EXPECT_EQ(c.config.auth.token.expiration, 300);
  EXPECT_EQ(c.config.auth.token.refresh_expiration, 30LL * 24 * 3600);
  EXPECT_EQ(c.config.server.public_url, "");
  EXPECT_TRUE(c.rules.users.empty());
  EXPECT_TRUE(c.rules.acl.empty());
  const Parsed none = Parse("auth:\n  mode: none\n");
  EXPECT_EQ(none.config.auth.mode, "none");
  const Parsed http = Parse("server:\n  public_url: http://localhost:5000\n");
  EXPECT_EQ(http.config.server.public_url, "http://localhost:5000");
}

TEST(AuthConfigTest, TokenKeyPathDefault) {
  EXPECT_EQ(TokenKeyPath(DefaultConfig()), "./data/token-key.pem");
  EXPECT_EQ(TokenKeyPath(Parse("storage:\n  filesystem:\n    rootdirectory: /srv/berth\n").config),
            "/srv/berth/token-key.pem");
  EXPECT_EQ(TokenKeyPath(Parse("storage:\n  filesystem:\n    rootdirectory: /srv/berth//\n").config),
            "/srv/berth/token-key.pem");
  EXPECT_EQ(
      TokenKeyPath(
          Parse("storage:\n  filesystem:\n    rootdirectory: /srv/berth\nauth:\n  token:\n    key: /k.pem\n").config),
      "/k.pem");
}

TEST(AuthConfigTest, EmptyAccountMeansAnonymousOnly) {
  const Parsed c = Parse(
      "acl:\n"
      "  - account: \"\"\n"
      "    actions: [pull]\n"
      "  - account: ''\n"
      "    actions: [pull]\n"
      "  - name: x\n"
      "    actions: [pull]\n"
      "  - account: ~\n"
      "    actions: [pull]\n");
  ASSERT_EQ(c.rules.acl.size(), 4u);
  EXPECT_TRUE(c.rules.acl[0].anonymous_only);
  EXPECT_FALSE(c.rules.acl[0].account.has_value());
  EXPECT_TRUE(c.rules.acl[1].anonymous_only);
  EXPECT_FALSE(c.rules.acl[1].account.has_value());
  EXPECT_FALSE(c.rules.acl[2].anonymous_only);  // absent: any signed-in user
  EXPECT_FALSE(c.rules.acl[2].account.has_value());
  EXPECT_FALSE(c.rules.acl[3].anonymous_only);  // null is absent, not ""
  EXPECT_FALSE(c.rules.acl[3].account.has_value());
  EXPECT_EQ(c.rules.acl[0].line, 2);
  EXPECT_EQ(c.rules.acl[2].line, 6);
}

TEST(AuthConfigTest, IpAsSingleStringOrList) {
  const Parsed c = Parse(
      "acl:\n"
      "  - ip: 192.168.0.0/16\n"
      "    actions: [pull]\n"
      "  - ip: [\"::1\", 127.0.0.1]\n"
      "    actions: [\"*\", pull, push, delete]\n");
  ASSERT_EQ(c.rules.acl.size(), 2u);
  ASSERT_EQ(c.rules.acl[0].ips.size(), 1u);
  EXPECT_TRUE(c.rules.acl[0].ips[0].Contains("192.168.44.1"));
  EXPECT_FALSE(c.rules.acl[0].ips[0].Contains("192.169.0.1"));
  ASSERT_EQ(c.rules.acl[1].ips.size(), 2u);
  EXPECT_TRUE(c.rules.acl[1].ips[0].Contains("::1"));
  EXPECT_TRUE(c.rules.acl[1].ips[1].Contains("127.0.0.1"));
  EXPECT_EQ(c.rules.acl[1].actions, (Actions{"*", "pull", "push", "delete"}));
}

// config/ keeps users and acl as written, with where each value stands; what
// only auth/ can judge (bcrypt hashes, patterns) it reports at those positions.
TEST(AuthConfigTest, ConfigKeepsUsersAndAclAsWritten) {
  auto c = ParseConfig(
      "users:\n"
      "  alice:\n"
      "    password: secret\n"
      "acl:\n"
      "  - account: \"/ci-[a-z]+/\"\n"
      "    name: \"[abc\"\n"
      "    actions: [pull]\n",
      "auth.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->users.size(), 1u);
  EXPECT_EQ(c->users[0].name, "alice");
  EXPECT_EQ(c->users[0].password, "secret");
  EXPECT_EQ(c->users[0].password_pos.line, 3);
  ASSERT_EQ(c->acl.size(), 1u);
  EXPECT_EQ(c->acl[0].account, "/ci-[a-z]+/");
  EXPECT_EQ(c->acl[0].name, "[abc");
  EXPECT_FALSE(c->acl[0].service.has_value());
  EXPECT_EQ(c->acl[0].line, 5);
  EXPECT_EQ(c->acl[0].account_pos.line, 5);
  EXPECT_EQ(c->acl[0].name_pos.line, 6);
  EXPECT_EQ(c->acl[0].name_pos.column, 11);

  auto rules = auth::CompileAccessRules(*c);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message().rfind("auth.yaml:3:15: users.alice.password must be a bcrypt hash", 0), 0u)
      << rules.status().message();
  c->users.clear();
  rules = auth::CompileAccessRules(*c);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message().rfind("auth.yaml:6:11: acl[0].name: ", 0), 0u) << rules.status().message();
}

// ---------------------------------------------------------------------------
// Errors, each with file:line

TEST(AuthConfigTest, UserPasswordNotABcryptHash) {
  ExpectError(
      "users:\n"
      "  alice:\n"
      "    password: secret\n",
      3, "users.alice.password must be a bcrypt hash");
  ExpectError(
      "users:\n"
      "  alice:\n"
      "    password: \"$apr1$abcdefgh$0123456789012345678901\"\n",
      3, "users.alice.password must be a bcrypt hash");
  // A valid first user, then one whose hash is truncated.
  ExpectError(std::string("users:\n  alice:\n    password: \"") + kHash + "\"\n  bob:\n    password: \"" +
                  std::string(kHash).substr(0, 59) + "\"\n",
              5, "users.bob.password must be a bcrypt hash");
  // No password at all.
  ExpectError("users:\n  alice: {}\n", 2, "users.alice.password must be a bcrypt hash");
}

TEST(AuthConfigTest, BadUserEntries) {
  ExpectError("users:\n  alice:\n    pass: x\n", 3, "unknown key 'pass' in users.alice");
  ExpectError(std::string("users:\n  \"a:b\":\n    password: \"") + kHash + "\"\n", 2, "user name 'a:b'");
  ExpectError("users:\n  - alice\n", 2, "users must be a mapping");
}

TEST(AuthConfigTest, UnknownAclKey) {
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    name: \"*\"\n"
      "    actions: [pull]\n"
      "  - account: bob\n"
      "    name: \"*\"\n"
      "    repo: x\n"
      "    actions: [pull]\n",
      7, "unknown key 'repo' in acl[1]");
}

TEST(AuthConfigTest, BadAction) {
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    name: \"*\"\n"
      "    actions: [pull, write]\n",
      4, "acl[0].actions: 'write' is not one of pull, push, delete, admin, *");
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    actions:\n"
      "      - pull\n"
      "      - PUSH\n",
      5, "'PUSH' is not one of");
  // actions must be a list, and must be there.
  ExpectError("acl:\n  - account: alice\n    actions: pull\n", 3, "acl[0].actions must be a list");
  ExpectError("acl:\n  - account: alice\n    name: x\n", 2, "acl[0].actions must be a list");
}

TEST(AuthConfigTest, BadIp) {
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    ip: 10.0.0.0/33\n"
      "    actions: [pull]\n",
      3, "acl[0].ip: ");
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    ip: [\"10.0.0.0/8\", \"not-an-ip\"]\n"
      "    actions: [pull]\n",
      3, "acl[0].ip: ");
  ExpectError("server:\n  trusted_proxies: [\"10.0.0.0/33\"]\n", 2, "server.trusted_proxies");
}

TEST(AuthConfigTest, BadPattern) {
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    name: \"[abc\"\n"
      "    actions: [pull]\n",
      3, "acl[0].name: ");
  ExpectError(
      "acl:\n"
      "  - account: \"/(/\"\n"
      "    actions: [pull]\n",
      2, "acl[0].account: ");
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    service: \"${tenant}\"\n"
      "    actions: [pull]\n",
      3, "acl[0].service: ");
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    name: [a, b]\n"
      "    actions: [pull]\n",
      3, "acl[0].name must be a string");
}

TEST(AuthConfigTest, BadType) {
  ExpectError(
      "acl:\n"
      "  - account: alice\n"
      "    type: repo\n"
      "    actions: [pull]\n",
      3, "'repo' is not a valid value for type");
}

TEST(AuthConfigTest, AclNotAList) {
  ExpectError(
      "acl:\n"
      "  account: alice\n"
      "  actions: [pull]\n",
      2, "acl must be a list of entries");
  ExpectError("acl: everyone\n", 1, "acl must be a list of entries");
  ExpectError("acl:\n  - just a string\n", 2, "acl[0] must be a mapping");
}

TEST(AuthConfigTest, BadAuthMode) {
  ExpectError(
      "auth:\n"
      "  mode: maybe\n",
      2, "'maybe' is not a valid value for mode");
  ExpectError("auth:\n  token:\n    key_type: dsa\n", 3, "'dsa' is not a valid value for key_type");
  ExpectError("auth:\n  realm: x\n", 2, "unknown key 'realm' in auth");
  ExpectError("auth:\n  token:\n    audience: x\n", 3, "unknown key 'audience' in auth.token");
}

TEST(AuthConfigTest, ExpirationBounds) {
  ExpectError(
      "auth:\n"
      "  token:\n"
      "    expiration: 5\n",
      3, "auth.token.expiration must be an integer from 10 to 86400");
  ExpectError("auth:\n  token:\n    expiration: 86401\n", 3, "auth.token.expiration must be an integer");
  ExpectError("auth:\n  token:\n    expiration: soon\n", 3, "auth.token.expiration must be an integer");
  ExpectError("auth:\n  token:\n    refresh_expiration: 59\n", 3, "auth.token.refresh_expiration must be an integer");
  EXPECT_EQ(Parse("auth:\n  token:\n    expiration: 10\n").config.auth.token.expiration, 10);
  EXPECT_EQ(Parse("auth:\n  token:\n    expiration: 86400\n").config.auth.token.expiration, 86400);
}

TEST(AuthConfigTest, ServiceAndIssuerMustBeClean) {
  auto c = ParseConfig("auth:\n  token:\n    service: 'a\"b'\n", "auth.yaml");
  EXPECT_FALSE(c.ok());
  auto d = ParseConfig("auth:\n  token:\n    issuer: ''\n", "auth.yaml");
  EXPECT_FALSE(d.ok());
}

TEST(AuthConfigTest, PublicUrlNeedsScheme) {
  ExpectError(
      "server:\n"
      "  public_url: registry.example.com\n",
      2, "server.public_url must start with http:// or https://");
  ExpectError("server:\n  public_url: ftp://registry.example.com\n", 2, "server.public_url must start with");
  ExpectError("server:\n  public_url: \"https://a b\"\n", 2, "server.public_url must not contain");
}

}  // namespace
}  // namespace berth::config

namespace berth::config {
namespace {

TEST(AuthConfigTest, RotationKeysDefaultNextToTheKey) {
  const Parsed c = Parse("storage:\n  filesystem:\n    rootdirectory: /var/lib/berth/\n");
  EXPECT_TRUE(c.config.auth.token.previous_keys.empty());
  EXPECT_EQ(TokenBundlePath(c.config), "/var/lib/berth/token-bundle.pem");
  EXPECT_EQ(TokenJwksPath(c.config), "/var/lib/berth/token-jwks.json");
  const Parsed k = Parse("auth:\n  token:\n    key: /etc/berth/keys/b.pem\n");
  EXPECT_EQ(TokenBundlePath(k.config), "/etc/berth/keys/token-bundle.pem");
  EXPECT_EQ(TokenJwksPath(k.config), "/etc/berth/keys/token-jwks.json");
  const Parsed rel = Parse("auth:\n  token:\n    key: b.pem\n");
  EXPECT_EQ(TokenBundlePath(rel.config), "token-bundle.pem");
}

TEST(AuthConfigTest, RotationKeys) {
  const Parsed c = Parse(
      "auth:\n"
      "  token:\n"
      "    key: /k/b.pem\n"
      "    previous_keys: [/k/a.crt, /k/next.pem]\n"
      "    bundle: /pub/bundle.pem\n"
      "    jwks_file: /pub/jwks.json\n");
  EXPECT_EQ(c.config.auth.token.previous_keys, (std::vector<std::string>{"/k/a.crt", "/k/next.pem"}));
  EXPECT_EQ(TokenBundlePath(c.config), "/pub/bundle.pem");
  EXPECT_EQ(TokenJwksPath(c.config), "/pub/jwks.json");
  EXPECT_EQ(Parse("auth:\n  token:\n    previous_keys: /k/a.crt\n").config.auth.token.previous_keys,
            (std::vector<std::string>{"/k/a.crt"}));
  ExpectError("auth:\n  token:\n    previous_keys: {a: b}\n", 3,
              "auth.token.previous_keys must be a string or a list of strings");
  ExpectError("auth:\n  token:\n    previous_keys: [[a]]\n", 3, "auth.token.previous_keys must contain strings");
  ExpectError("auth:\n  token:\n    previous_keys: ['']\n", 3, "auth.token.previous_keys: an empty path");
  ExpectError("auth:\n  token:\n    bundle: [a]\n", 3, "auth.token.bundle");
}

}  // namespace
}  // namespace berth::config
