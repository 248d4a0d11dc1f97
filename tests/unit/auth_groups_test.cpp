// Unit tests for groups: the YAML's `groups:` (config/config.h), ACL entries
// with `account: "@group"` compiled by auth/access_rules.h, and the ACL table
// deciding with YAML groups and with groups a directory gave the user; and the
// auth.ldap part of the config (its checks and error positions).
#include <gtest/gtest.h>

#include <string>

#include "auth/access_rules.h"
#include "auth/acl.h"
#include "config/config.h"

namespace berth::auth {
namespace {

using Groups = std::set<std::string, std::less<>>;

// `htpasswd -nbB -C 5 alice secret`
constexpr const char* kHash = "$2y$05$PD5RJWAJDFta.pDIjEAQ5.9cFuEpCYhfv0aJqa3q1gzOxO4wxDrTq";

std::string UsersYaml() {
  return std::string("users:\n") + "  alice: {password: \"" + kHash + "\"}\n" + "  bob: {password: \"" + kHash +
         "\"}\n" + "  carol: {password: \"" + kHash + "\"}\n";
}

Result<AccessRules> Compile(const std::string& yaml) {
  auto cfg = config::ParseConfig(yaml, "c.yaml");
  if (!cfg.ok()) return cfg.status();
  return CompileAccessRules(*cfg);
}

std::set<std::string> Granted(const Acl& acl, const std::string& user, const std::string& repo,
                              const std::string& action, const Groups* directory_groups = nullptr) {
  AccessRequest req{user, "repository", repo, "127.0.0.1", "berth"};
  req.groups = directory_groups;
  return acl.Authorize(req, {action}).granted;
}

const std::string kTeams = UsersYaml() + R"(groups:
  developers: [alice, bob]
  ops:
    - carol
  nobody:
acl:
  - account: "@developers"
    name: "myorg/**"
    actions: [pull, push]
  - account: "@ops"
    name: "*"
    actions: [pull]
  - account: carol
    name: "carol/*"
    actions: ["*"]
)";

TEST(AuthGroups, ParsesGroupsInFileOrder) {
  auto cfg = config::ParseConfig(kTeams, "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  ASSERT_EQ(cfg->groups.size(), 3u);
  EXPECT_EQ(cfg->groups[0].name, "developers");
  EXPECT_EQ(cfg->groups[0].members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(cfg->groups[1].members, (std::vector<std::string>{"carol"}));
  EXPECT_TRUE(cfg->groups[2].members.empty());
  EXPECT_EQ(cfg->groups[0].pos.line, 6);
}

TEST(AuthGroups, GroupEntriesMatchTheirMembersOnly) {
  auto rules = Compile(kTeams);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  Acl acl(rules->acl);
  EXPECT_EQ(Granted(acl, "alice", "myorg/app", "push"), std::set<std::string>{"push"});
  EXPECT_EQ(Granted(acl, "bob", "myorg/a/b", "pull"), std::set<std::string>{"pull"});
  EXPECT_TRUE(Granted(acl, "alice", "other", "pull").empty());  // no entry for alice there
  EXPECT_TRUE(Granted(acl, "carol", "myorg/app", "push").empty());
  EXPECT_EQ(Granted(acl, "carol", "myorg/app", "pull"), std::set<std::string>{"pull"});  // ops
  // First match decides: @ops grants carol only pull on her own namespace too.
  EXPECT_TRUE(Granted(acl, "carol", "carol/x", "push").empty());
  EXPECT_TRUE(Granted(acl, "", "myorg/app", "pull").empty());  // anonymous is never in a group
  AccessRequest req{"alice", "repository", "myorg/app", "127.0.0.1", "berth"};
  auto d = acl.Authorize(req, {"pull"});
  ASSERT_EQ(d.entry, 0);
  ASSERT_TRUE(acl.entries()[0].group.has_value());
  EXPECT_EQ(*acl.entries()[0].group, "developers");
}

TEST(AuthGroups, DirectoryGroupsOfTheRequestMatchToo) {
  auto rules = Compile(kTeams);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  Acl acl(rules->acl);
  const Groups dev{"developers"};
  const Groups unrelated{"marketing"};
  EXPECT_EQ(Granted(acl, "dave", "myorg/app", "push", &dev), std::set<std::string>{"push"});
  EXPECT_TRUE(Granted(acl, "dave", "myorg/app", "push", &unrelated).empty());
  EXPECT_TRUE(Granted(acl, "dave", "myorg/app", "push").empty());
  // The anonymous user stays out even when handed a group.
  EXPECT_TRUE(Granted(acl, "", "myorg/app", "pull", &dev).empty());
}

TEST(AuthGroups, AGroupEntryStillChecksItsOtherConditions) {
  auto rules = Compile(UsersYaml() + R"(groups:
  developers: [alice]
acl:
  - account: "@developers"
    name: "myorg/*"
    ip: 10.0.0.0/8
    actions: [push]
)");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  Acl acl(rules->acl);
  EXPECT_TRUE(Granted(acl, "alice", "myorg/app", "push").empty());  // from 127.0.0.1
  AccessRequest req{"alice", "repository", "myorg/app", "10.1.2.3", "berth"};
  EXPECT_EQ(acl.Authorize(req, {"push"}).granted, std::set<std::string>{"push"});
}

TEST(AuthGroups, UnknownGroupInTheAclIsAnErrorWithItsPosition) {
  auto rules = Compile(UsersYaml() + R"(acl:
  - account: "@developers"
    actions: [pull]
)");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message(), "c.yaml:6:14: acl[0].account: no group 'developers' (define it under groups:)");
}

TEST(AuthGroups, MemberThatIsNoUserIsAnErrorWithItsPosition) {
  auto rules = Compile(UsersYaml() + R"(groups:
  developers: [alice, alcie]
acl: []
)");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message(), "c.yaml:6:23: groups.developers: 'alcie' is not a user (none under users:)");
}

TEST(AuthGroups, MalformedGroupsAreConfigErrors) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"groups: [a, b]\n", "c.yaml:1:9: groups must be a mapping of group name to a list of user names"},
      {"groups:\n  dev: alice\n", "c.yaml:2:8: groups.dev must be a list of user names"},
      {"groups:\n  dev: [[alice]]\n", "c.yaml:2:9: groups.dev must contain user names"},
      {"groups:\n  \"@dev\": [alice]\n",
       "c.yaml:2:3: group name '@dev' must be 1-128 characters, not starting with '@', without control characters"},
      {"groups:\n  dev: [alice]\n  dev: [bob]\n", ""},  // yaml-cpp or we refuse the duplicate
  };
  for (const auto& c : cases) {
    auto cfg = config::ParseConfig(c.yaml, "c.yaml");
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    if (!c.error.empty()) {
      EXPECT_EQ(cfg.status().message(), c.error) << c.yaml;
    }
  }
}

}  // namespace
}  // namespace berth::auth

namespace berth::auth {
namespace {

TEST(AuthLdapConfig, ParsesAndChecksAuthLdap) {
  auto cfg = config::ParseConfig(R"(auth:
  ldap:
    url: ldap://127.0.0.1:3389
    start_tls: true
    bind_dn: cn=admin,dc=x
    bind_password_file: /run/secret
    user_base: ou=people,dc=x
    group_base: ou=groups,dc=x
    cache_seconds: 5
)",
                                 "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  const config::LdapConfig& l = cfg->auth.ldap;
  EXPECT_TRUE(l.enabled);
  EXPECT_TRUE(l.start_tls);
  EXPECT_EQ(l.user_filter, "(uid={username})");
  EXPECT_EQ(l.group_filter, "(member={dn})");
  EXPECT_EQ(l.cache_seconds, 5);
  EXPECT_EQ(l.timeout_seconds, 5);

  struct Case {
    std::string ldap;
    std::string error;
  };
  const Case cases[] = {
      {"{user_base: dc=x}", "c.yaml:2:9: auth.ldap.url is required"},
      {"{url: http://x, user_base: dc=x}", "c.yaml:2:15: auth.ldap.url must start with ldap:// or ldaps://"},
      {"{url: ldap://x}", "c.yaml:2:9: auth.ldap.user_base is required"},
      {"{url: ldaps://x, user_base: dc=x, start_tls: true}",
       "c.yaml:2:54: auth.ldap.start_tls is for ldap:// urls (ldaps:// is TLS from the start)"},
      {"{url: ldap://x, user_base: dc=x, user_filter: \"(uid=bob)\"}",
       "c.yaml:2:55: auth.ldap.user_filter must contain {username}"},
      {"{url: ldap://x, user_base: dc=x, bind_dn: cn=a}",
       "c.yaml:2:9: auth.ldap.bind_dn and bind_password_file go together"},
      {"{url: ldap://x, user_base: dc=x, group_base: dc=g, member_of: memberOf}",
       "c.yaml:2:71: auth.ldap: group_base (a group search) and member_of are exclusive"},
      {"{url: ldap://x, user_base: dc=x, cache_seconds: 0}",
       "c.yaml:2:57: auth.ldap.cache_seconds must be an integer from 1 to 3600"},
      {"{url: ldap://x, user_base: dc=x, tls: true}", ""},
      // Cleartext binds only when asked for by name; nothing unused or contradictory with it.
      {"{url: ldap://x, user_base: dc=x}",
       "c.yaml:2:15: auth.ldap.url: ldap:// without start_tls sends every password in cleartext; set start_tls: "
       "true or use ldaps:// (or insecure_plaintext: true to accept it)"},
      {"{url: ldap://x, user_base: dc=x, start_tls: false}",
       "c.yaml:2:15: auth.ldap.url: ldap:// without start_tls sends every password in cleartext; set start_tls: "
       "true or use ldaps:// (or insecure_plaintext: true to accept it)"},
      {"{url: ldap://x, user_base: dc=x, insecure_plaintext: true, ca_file: /ca.pem}",
       "c.yaml:2:77: auth.ldap.ca_file is unused without TLS (set start_tls: true or use ldaps://)"},
      {"{url: ldaps://x, user_base: dc=x, insecure_plaintext: true}",
       "c.yaml:2:63: auth.ldap.insecure_plaintext is only for ldap:// without start_tls (this connection is TLS)"},
      {"{url: ldap://x, user_base: dc=x, start_tls: true, insecure_plaintext: true}",
       "c.yaml:2:79: auth.ldap.insecure_plaintext is only for ldap:// without start_tls (this connection is TLS)"},
      {"{url: ldap://x, user_base: dc=x, insecure_plaintext: maybe}", ""},
  };
  for (const auto& c : cases) {
    auto bad = config::ParseConfig("auth:\n  ldap: " + c.ldap + "\n", "c.yaml");
    ASSERT_FALSE(bad.ok()) << c.ldap;
    if (!c.error.empty()) {
      EXPECT_EQ(bad.status().message(), c.error) << c.ldap;
    }
  }
  // What is accepted: TLS either way, or cleartext by name.
  for (const std::string ok : {"{url: ldaps://x, user_base: dc=x, ca_file: /ca.pem}",
                               "{url: ldap://x, user_base: dc=x, start_tls: true, ca_file: /ca.pem}",
                               "{url: ldap://x, user_base: dc=x, insecure_plaintext: true}"}) {
    auto good = config::ParseConfig("auth:\n  ldap: " + ok + "\n", "c.yaml");
    ASSERT_TRUE(good.ok()) << ok << ": " << good.status().message();
    EXPECT_EQ(good->auth.ldap.insecure_plaintext, ok.find("insecure_plaintext") != std::string::npos) << ok;
  }
}

TEST(AuthLdapConfig, FiltersAreCompiledAndDirectoryGroupsAllowed) {
  auto rules = Compile(R"(auth:
  ldap:
    url: ldap://x
    start_tls: true
    user_base: dc=x
    user_filter: "(uid={username}"
)");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message().rfind("c.yaml:6:18: auth.ldap.user_filter: LDAP filter: expected ')'", 0), 0u)
      << rules.status().message();
  // With a directory, a group may come from it only, and members need not be YAML users.
  rules = Compile(R"(auth:
  ldap: {url: ldap://x, start_tls: true, user_base: dc=x}
groups:
  ops: [someone-in-ldap]
acl:
  - account: "@developers"
    actions: [pull]
  - account: "@ops"
    actions: [pull]
)");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  EXPECT_TRUE(rules->acl[0].group_members.empty());
  EXPECT_EQ(rules->acl[1].group_members.count("someone-in-ldap"), 1u);
}

}  // namespace
}  // namespace berth::auth
