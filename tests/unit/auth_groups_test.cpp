// Unit tests for groups: the YAML's `groups:` (config/config.h), ACL entries
// with `account: "@group"` compiled by auth/access_rules.h, and the ACL table
// deciding with YAML groups and with groups a directory gave the user.
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
