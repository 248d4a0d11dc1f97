// Unit tests for auth/acl.h: first-match ACL evaluation, the anonymous rule,
// type/ip/service conditions, IpRange and IntersectActions.
#include "auth/acl.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace berth::auth {
namespace {

using Actions = std::set<std::string>;

Pattern P(const std::string& text) {
  auto p = Pattern::Compile(text);
  if (!p.ok()) ADD_FAILURE() << "pattern '" << text << "': " << p.status().message();
  return std::move(p).value();  // throws (failing the test) when invalid
}

IpRange R(const std::string& text) {
  auto r = IpRange::Parse(text);
  if (!r.ok()) ADD_FAILURE() << "ip '" << text << "': " << r.status().message();
  return std::move(r).value();
}

// Builds an AclEntry; the account "" means `account: ""` (anonymous only).
class E {
 public:
  E& Account(const std::string& a) {
    if (a.empty()) {
      e_.anonymous_only = true;
    } else {
      e_.account = P(a);
    }
    return *this;
  }
  E& Name(const std::string& n) {
    e_.name = P(n);
    return *this;
  }
  E& Type(const std::string& t) {
    e_.type = t;
    return *this;
  }
  E& Ip(const std::string& ip) {
    e_.ips.push_back(R(ip));
    return *this;
  }
  E& Service(const std::string& s) {
    e_.service = P(s);
    return *this;
  }
  E& Allow(Actions a) {
    e_.actions = std::move(a);
    return *this;
  }
  operator AclEntry() const { return e_; }  // NOLINT

 private:
  AclEntry e_;
};

AccessRequest Repo(const std::string& account, const std::string& name, const std::string& ip = "192.0.2.1",
                   const std::string& service = "berth") {
  return AccessRequest{account, "repository", name, ip, service};
}

AccessRequest Catalog(const std::string& account, const std::string& ip = "192.0.2.1") {
  return AccessRequest{account, "registry", "catalog", ip, "berth"};
}

// ---------------------------------------------------------------------------
// First match, default deny

TEST(AclTest, EmptyAclDeniesEverything) {
  Acl acl;
  EXPECT_TRUE(acl.empty());
  auto d = acl.Authorize(Repo("admin", "myorg/app"), {"pull"});
  EXPECT_EQ(d.entry, -1);
  EXPECT_EQ(d.granted, Actions{});
}

TEST(AclTest, NoMatchingEntryIsDeny) {
  Acl acl({E().Account("alice").Name("myorg/*").Allow({"pull", "push"})});
  auto d = acl.Authorize(Repo("bob", "myorg/app"), {"pull"});
  EXPECT_EQ(d.entry, -1);
  EXPECT_EQ(d.granted, Actions{});
  d = acl.Authorize(Repo("alice", "other/app"), {"pull"});
  EXPECT_EQ(d.entry, -1);
  EXPECT_EQ(d.granted, Actions{});
}

TEST(AclTest, FirstMatchingEntryDecidesAndEmptyActionsDeny) {
  Acl acl({
      E().Account("alice").Name("myorg/secret").Allow({}),  // explicit deny
      E().Account("alice").Name("myorg/*").Allow({"pull", "push"}),
      E().Account("*").Name("**").Allow({"*"}),  // never reached for alice's myorg/ repos
  });
  ASSERT_EQ(acl.entries().size(), 3u);
  auto d = acl.Authorize(Repo("alice", "myorg/secret"), {"pull"});
  EXPECT_EQ(d.entry, 0);
  EXPECT_EQ(d.granted, Actions{});
  d = acl.Authorize(Repo("alice", "myorg/app"), {"pull", "push", "delete"});
  EXPECT_EQ(d.entry, 1);
  EXPECT_EQ(d.granted, (Actions{"pull", "push"}));
  // A later, broader entry is not consulted once an earlier one matched.
  d = acl.Authorize(Repo("alice", "myorg/app"), {"delete"});
  EXPECT_EQ(d.entry, 1);
  EXPECT_EQ(d.granted, Actions{});
  d = acl.Authorize(Repo("alice", "elsewhere/app"), {"delete"});
  EXPECT_EQ(d.entry, 2);
  EXPECT_EQ(d.granted, Actions{"delete"});

  // The same entries the other way round: the allow comes first and wins.
  Acl reversed({
      E().Account("alice").Name("myorg/*").Allow({"pull", "push"}),
      E().Account("alice").Name("myorg/secret").Allow({}),
  });
  d = reversed.Authorize(Repo("alice", "myorg/secret"), {"pull"});
  EXPECT_EQ(d.entry, 0);
  EXPECT_EQ(d.granted, Actions{"pull"});
}

// ---------------------------------------------------------------------------
// Anonymous

TEST(AclTest, AnonymousOnlyMatchedByAnonymousEntries) {
  Acl acl({
      E().Account("*").Name("*").Allow({"*"}),  // any signed-in user
      E().Name("*").Allow({"*"}),               // no account condition: still signed-in users only
      E().Account("").Name("public/**").Allow({"pull"}),
  });
  auto d = acl.Authorize(Repo("", "myorg/app"), {"pull"});
  EXPECT_EQ(d.entry, -1);
  EXPECT_EQ(d.granted, Actions{});
  d = acl.Authorize(Repo("", "public/tools/app"), {"pull", "push"});
  EXPECT_EQ(d.entry, 2);
  EXPECT_EQ(d.granted, Actions{"pull"});
  d = acl.Authorize(Catalog(""), {"*"});
  EXPECT_EQ(d.entry, -1);
  EXPECT_EQ(d.granted, Actions{});

  // A signed-in user is matched by '*' and never by the anonymous entry.
  d = acl.Authorize(Repo("alice", "public/tools/app"), {"push"});
  EXPECT_EQ(d.entry, 0);
  EXPECT_EQ(d.granted, Actions{"push"});
}

TEST(AclTest, AnonymousEntryDoesNotMatchSignedInUsers) {
  Acl acl({E().Account("").Name("*").Allow({"pull"})});
  EXPECT_EQ(acl.Authorize(Repo("alice", "app"), {"pull"}).entry, -1);
  EXPECT_EQ(acl.Authorize(Repo("", "app"), {"pull"}).entry, 0);
  EXPECT_EQ(acl.Authorize(Repo("", "app"), {"pull"}).granted, Actions{"pull"});
}

TEST(AclTest, AccountPatterns) {
  Acl acl({
      E().Account("ci-*").Name("*").Allow({"pull"}),
      E().Account("/ops-[0-9]+/").Name("*").Allow({"push"}),
  });
  EXPECT_EQ(acl.Authorize(Repo("ci-runner", "app"), {"pull"}).entry, 0);
  EXPECT_EQ(acl.Authorize(Repo("ops-12", "app"), {"push"}).entry, 1);
  EXPECT_EQ(acl.Authorize(Repo("ops-12", "app"), {"push"}).granted, Actions{"push"});
  EXPECT_EQ(acl.Authorize(Repo("ops-x", "app"), {"push"}).entry, -1);
  EXPECT_EQ(acl.Authorize(Repo("xci-runner", "app"), {"pull"}).entry, -1);
}

// ---------------------------------------------------------------------------
// type

TEST(AclTest, TypeCondition) {
  Acl acl({
      E().Account("alice").Type("repository").Name("*").Allow({"*"}),
      E().Account("alice").Type("registry").Name("catalog").Allow({"*"}),
  });
  auto d = acl.Authorize(Repo("alice", "catalog"), {"pull"});
  EXPECT_EQ(d.entry, 0);
  d = acl.Authorize(Catalog("alice"), {"*"});
  EXPECT_EQ(d.entry, 1);
  EXPECT_EQ(d.granted, Actions{"*"});
}

TEST(AclTest, CatalogNeedsAnEntry) {
  Acl repo_only({E().Account("dev").Type("repository").Name("*").Allow({"*"})});
  auto d = repo_only.Authorize(Catalog("dev"), {"*"});
  EXPECT_EQ(d.entry, -1);
  EXPECT_EQ(d.granted, Actions{});

  // `name: "*"`, actions ["*"], no type: admin gets registry:catalog:*.
  Acl admin({E().Account("admin").Name("*").Allow({"*"})});
  d = admin.Authorize(Catalog("admin"), {"*"});
  EXPECT_EQ(d.entry, 0);
  EXPECT_EQ(d.granted, Actions{"*"});
  d = admin.Authorize(Catalog("dev"), {"*"});
  EXPECT_EQ(d.entry, -1);

  // pull,push only: asking for "*" on the catalog grants nothing.
  Acl limited({E().Account("dev").Name("*").Allow({"pull", "push"})});
  d = limited.Authorize(Catalog("dev"), {"*"});
  EXPECT_EQ(d.entry, 0);
  EXPECT_EQ(d.granted, Actions{});
}

// ---------------------------------------------------------------------------
// ip

struct IpCase {
  const char* range;
  const char* client;
  bool contained;
};

std::ostream& operator<<(std::ostream& os, const IpCase& c) {
  return os << "'" << c.range << "' " << (c.contained ? "contains" : "does not contain") << " '" << c.client << "'";
}

class AclIpRangeTest : public ::testing::TestWithParam<IpCase> {};

TEST_P(AclIpRangeTest, Contains) {
  const IpCase& c = GetParam();
  auto r = IpRange::Parse(c.range);
  ASSERT_TRUE(r.ok()) << c.range << ": " << r.status().message();
  EXPECT_EQ(r->Contains(c.client), c.contained) << c.range << " contains '" << c.client << "'";
}

INSTANTIATE_TEST_SUITE_P(
    AclIp, AclIpRangeTest,
    ::testing::Values(IpCase{"10.0.0.0/8", "10.1.2.3", true}, IpCase{"10.0.0.0/8", "10.255.255.255", true},
                      IpCase{"10.0.0.0/8", "11.0.0.0", false}, IpCase{"10.0.0.0/8", "9.255.255.255", false},
                      IpCase{"10.0.0.0/8", "::ffff:10.1.2.3", true}, IpCase{"10.0.0.0/8", "::ffff:11.1.2.3", false},
                      IpCase{"10.0.0.0/8", "not-an-ip", false}, IpCase{"10.0.0.0/8", "", false},
                      IpCase{"10.0.0.0/8", "10.1.2", false}, IpCase{"10.0.0.0/8", "10.1.2.3:5000", false},
                      IpCase{"10.0.0.0/8", "10.1.2.3/8", false}, IpCase{"10.0.0.0/8", "::1", false},
                      IpCase{"10.0.0.0/9", "10.127.255.255", true}, IpCase{"10.0.0.0/9", "10.128.0.0", false},
                      IpCase{"192.168.1.0/24", "192.168.1.255", true}, IpCase{"192.168.1.0/24", "192.168.2.0", false},
                      IpCase{"192.168.1.7", "192.168.1.7", true}, IpCase{"192.168.1.7", "192.168.1.8", false},
                      IpCase{"192.168.1.7/32", "192.168.1.7", true}, IpCase{"0.0.0.0/0", "203.0.113.9", true},
                      IpCase{"0.0.0.0/0", "2001:db8::1", false}, IpCase{"2001:db8::1", "2001:db8::1", true},
                      IpCase{"2001:db8::1", "2001:db8:0:0:0:0:0:1", true}, IpCase{"2001:db8::1", "2001:db8::2", false},
                      IpCase{"2001:db8::1", "10.0.0.1", false}, IpCase{"2001:db8::/32", "2001:db8:ffff::1", true},
                      IpCase{"2001:db8::/32", "2001:db9::1", false}, IpCase{"::1", "::1", true},
                      IpCase{"::1", "127.0.0.1", false}, IpCase{"::/0", "2001:db8::1", true},
                      IpCase{"::ffff:10.0.0.0/104", "10.9.9.9", true}));

TEST(AclTest, IpRangeParseErrors) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.0/ 8", "::1/129", "bogus",
                          "", "10.0.0", "256.0.0.1", "/8", "10.0.0.0/8/8"}) {
    auto r = IpRange::Parse(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  for (const char* good : {"10.0.0.0/0", "10.0.0.0/32", "::/0", "::1/128", "fe80::/10", "127.0.0.1"}) {
    EXPECT_TRUE(IpRange::Parse(good).ok()) << good;
  }
}

TEST(AclTest, IpCondition) {
  Acl acl({
      E().Account("ci").Name("*").Ip("10.0.0.0/8").Ip("2001:db8::1").Allow({"push"}),
      E().Account("ci").Name("*").Allow({"pull"}),
  });
  struct Case {
    const char* ip;
    int entry;
  };
  for (const Case& c : {Case{"10.1.2.3", 0}, Case{"::ffff:10.1.2.3", 0}, Case{"2001:db8::1", 0}, Case{"192.0.2.1", 1},
                        Case{"2001:db8::2", 1}, Case{"garbage", 1}, Case{"", 1}}) {
    auto d = acl.Authorize(Repo("ci", "app", c.ip), {"pull", "push"});
    EXPECT_EQ(d.entry, c.entry) << c.ip;
    EXPECT_EQ(d.granted, c.entry == 0 ? Actions{"push"} : Actions{"pull"}) << c.ip;
  }
}

// ---------------------------------------------------------------------------
// service

TEST(AclTest, ServiceCondition) {
  Acl acl({
      E().Account("alice").Name("*").Service("berth").Allow({"push"}),
      E().Account("alice").Name("*").Service("/mirror-.*/").Allow({"pull"}),
  });
  EXPECT_EQ(acl.Authorize(Repo("alice", "app", "192.0.2.1", "berth"), {"push"}).entry, 0);
  EXPECT_EQ(acl.Authorize(Repo("alice", "app", "192.0.2.1", "mirror-eu"), {"push", "pull"}).entry, 1);
  EXPECT_EQ(acl.Authorize(Repo("alice", "app", "192.0.2.1", "mirror-eu"), {"push", "pull"}).granted, Actions{"pull"});
  EXPECT_EQ(acl.Authorize(Repo("alice", "app", "192.0.2.1", "other"), {"push"}).entry, -1);
  EXPECT_EQ(acl.Authorize(Repo("alice", "app", "192.0.2.1", ""), {"push"}).entry, -1);
}

// ---------------------------------------------------------------------------
// IntersectActions

TEST(AclTest, IntersectActions) {
  struct Case {
    Actions requested, allowed, granted;
  };
  const Case cases[] = {
      {{"pull"}, {"*"}, {"pull"}},
      {{"pull", "push", "delete"}, {"*"}, {"pull", "push", "delete"}},
      {{"*"}, {"*"}, {"*"}},
      {{"*"}, {"pull", "push", "delete"}, {}},
      {{"*"}, {"pull"}, {}},
      {{"pull", "push"}, {"pull"}, {"pull"}},
      {{"pull", "push", "delete"}, {"push", "delete"}, {"push", "delete"}},
      {{"delete"}, {"pull", "push"}, {}},
      {{"pull"}, {}, {}},
      {{}, {"*"}, {}},
      {{}, {"pull"}, {}},
      {{"pull", "*"}, {"pull"}, {"pull"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(IntersectActions(c.requested, c.allowed), c.granted)
        << ::testing::PrintToString(c.requested) << " vs " << ::testing::PrintToString(c.allowed);
  }
}

// ---------------------------------------------------------------------------
// The example configuration, as a table of (user, type, name, action) -> allowed.

struct ExampleRow {
  const char* user;
  const char* type;
  const char* name;
  const char* action;
  bool allowed;
};

std::ostream& operator<<(std::ostream& os, const ExampleRow& r) {
  return os << "'" << r.user << "' " << r.type << ":" << r.name << ":" << r.action << " -> "
            << (r.allowed ? "allowed" : "denied");
}

Acl ExampleAcl() {
  return Acl({
      // The example.
      E().Account("admin").Name("*").Allow({"*"}),
      E().Account("developer").Name("myorg/backend-*").Allow({"pull", "push"}),
      E().Account("developer").Name("myorg/frontend").Allow({"pull"}),
      // More: regex, double wildcard, personal namespace, anonymous pulls.
      E().Account("/ci-[a-z]+/").Name("/builds\\/[a-z]+-[0-9]+/").Allow({"push", "pull"}),
      E().Account("auditor").Name("**").Type("repository").Allow({"pull"}),
      E().Account("*").Name("${account}/**").Allow({"*"}),
      E().Account("").Name("public/**").Allow({"pull"}),
  });
}

class AclExampleTest : public ::testing::TestWithParam<ExampleRow> {};

TEST_P(AclExampleTest, Decides) {
  static const Acl acl = ExampleAcl();
  const ExampleRow& r = GetParam();
  AccessRequest req{r.user, r.type, r.name, "192.0.2.1", "berth"};
  auto d = acl.Authorize(req, {r.action});
  EXPECT_EQ(d.granted, r.allowed ? Actions{r.action} : Actions{}) << r << " (entry " << d.entry << ")";
}

INSTANTIATE_TEST_SUITE_P(AclExample, AclExampleTest,
                         ::testing::Values(
                             // admin: everything, everywhere
                             ExampleRow{"admin", "repository", "myorg/backend-api", "push", true},
                             ExampleRow{"admin", "repository", "myorg/backend-api/sub", "delete", true},
                             ExampleRow{"admin", "repository", "alpine", "push", true},
                             ExampleRow{"admin", "repository", "a/b/c/d", "*", true},
                             ExampleRow{"admin", "registry", "catalog", "*", true},
                             // developer: backend pull+push, frontend pull, nothing else
                             ExampleRow{"developer", "repository", "myorg/backend-api", "pull", true},
                             ExampleRow{"developer", "repository", "myorg/backend-api", "push", true},
                             ExampleRow{"developer", "repository", "myorg/backend-api", "delete", false},
                             ExampleRow{"developer", "repository", "myorg/backend-api", "*", false},
                             ExampleRow{"developer", "repository", "myorg/backend-", "pull", true},
                             ExampleRow{"developer", "repository", "myorg/backend-api/sub", "pull", false},
                             ExampleRow{"developer", "repository", "myorg/backend", "pull", false},
                             ExampleRow{"developer", "repository", "backend-api", "pull", false},
                             ExampleRow{"developer", "repository", "myorg/frontend", "pull", true},
                             ExampleRow{"developer", "repository", "myorg/frontend", "push", false},
                             ExampleRow{"developer", "repository", "myorg/frontend/sub", "pull", false},
                             ExampleRow{"developer", "repository", "myorg/frontend-x", "pull", false},
                             ExampleRow{"developer", "repository", "myorg", "pull", false},
                             ExampleRow{"developer", "registry", "catalog", "*", false},
                             // personal namespace (developer falls through to it)
                             ExampleRow{"developer", "repository", "developer/tool", "push", true},
                             ExampleRow{"developer", "repository", "developer/a/b", "delete", true},
                             ExampleRow{"developer", "repository", "developer", "pull", false},
                             ExampleRow{"alice", "repository", "alice/app", "push", true},
                             ExampleRow{"alice", "repository", "bob/app", "pull", false},
                             ExampleRow{"alice", "repository", "alice", "pull", false},
                             ExampleRow{"alice", "repository", "alicex/app", "pull", false},
                             ExampleRow{"alice", "repository", "myorg/backend-api", "pull", false},
                             ExampleRow{"alice", "registry", "catalog", "*", false},
                             // regex entry
                             ExampleRow{"ci-runner", "repository", "builds/app-42", "push", true},
                             ExampleRow{"ci-runner", "repository", "builds/app-", "push", false},
                             ExampleRow{"ci-runner", "repository", "x/builds/app-42", "push", false},
                             ExampleRow{"ci-runner", "repository", "builds/app-42/sub", "push", false},
                             ExampleRow{"ci-runner", "repository", "builds/app-42", "delete", false},
                             ExampleRow{"ci-7", "repository", "builds/app-42", "push", false},
                             ExampleRow{"xci-runner", "repository", "builds/app-42", "push", false},
                             // double wildcard with type
                             ExampleRow{"auditor", "repository", "a/b/c/d", "pull", true},
                             ExampleRow{"auditor", "repository", "alpine", "pull", true},
                             ExampleRow{"auditor", "repository", "alpine", "push", false},
                             ExampleRow{"auditor", "registry", "catalog", "pull", false},
                             // anonymous
                             ExampleRow{"", "repository", "public/app", "pull", true},
                             ExampleRow{"", "repository", "public/a/b", "pull", true},
                             ExampleRow{"", "repository", "public/app", "push", false},
                             ExampleRow{"", "repository", "public", "pull", false},
                             ExampleRow{"", "repository", "myorg/frontend", "pull", false},
                             ExampleRow{"", "repository", "alpine", "pull", false},
                             ExampleRow{"", "registry", "catalog", "*", false}));

}  // namespace
}  // namespace berth::auth
