// Unit tests for the native LDAP client (src/auth/ldap/): BER encoding and
// decoding (ber.h), filters and their escaping (filter.h), URLs and response
// decoding (client.h); and, against the slapd of the "ldap" ctest fixture
// (tests/tools/slapd.sh, BERTH_TEST_LDAP_* in the environment), the client
// over StartTLS and the Directory's logins, groups, cache and outage. Those
// (LdapLive.*) skip without the fixture; ctest runs them as ldap.client.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "auth/ldap/ber.h"
#include "auth/ldap/client.h"
#include "auth/ldap/directory.h"
#include "auth/ldap/filter.h"

namespace berth::auth::ldap {
namespace {

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

TEST(LdapBer, EncodesLengthsIntegersAndStrings) {
  EXPECT_EQ(Hex(ber::Length(0)), "00");
  EXPECT_EQ(Hex(ber::Length(127)), "7f");
  EXPECT_EQ(Hex(ber::Length(128)), "8180");
  EXPECT_EQ(Hex(ber::Length(300)), "82012c");
  EXPECT_EQ(Hex(ber::Integer(0)), "020100");
  EXPECT_EQ(Hex(ber::Integer(3)), "020103");
  EXPECT_EQ(Hex(ber::Integer(127)), "02017f");
  EXPECT_EQ(Hex(ber::Integer(128)), "02020080");
  EXPECT_EQ(Hex(ber::Integer(256)), "02020100");
  EXPECT_EQ(Hex(ber::Integer(-1)), "0201ff");
  EXPECT_EQ(Hex(ber::Integer(-129)), "0202ff7f");
  EXPECT_EQ(Hex(ber::Integer(2, ber::kEnumerated)), "0a0102");
  EXPECT_EQ(Hex(ber::OctetString("ab")), "04026162");
  EXPECT_EQ(Hex(ber::Boolean(false)), "010100");
  EXPECT_EQ(Hex(ber::Boolean(true)), "0101ff");
  const std::string big(200, 'x');
  EXPECT_EQ(Hex(ber::OctetString(big)).substr(0, 6), "0481c8");
}

TEST(LdapBer, DecodesWhatItEncodes) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{127}, int64_t{128}, int64_t{-1}, int64_t{-128}, int64_t{-129},
                    int64_t{65535}, int64_t{1} << 40, INT64_MAX, INT64_MIN}) {
    const std::string encoded = ber::Integer(v);
    ber::Reader r(encoded);
    auto e = r.Expect(ber::kInteger, "n");
    ASSERT_TRUE(e.ok()) << v;
    auto back = ber::DecodeInteger(e->content);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, v);
    EXPECT_TRUE(r.done());
  }
  const std::string seq = ber::Tlv(ber::kSequence, ber::Integer(7) + ber::OctetString(std::string(1000, 'q')));
  ber::Reader outer(seq);
  auto s = outer.Expect(ber::kSequence, "seq");
  ASSERT_TRUE(s.ok());
  ber::Reader inner(s->content);
  ASSERT_TRUE(inner.Expect(ber::kInteger, "id").ok());
  auto str = inner.Expect(ber::kOctetString, "s");
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(str->content.size(), 1000u);
  EXPECT_TRUE(inner.done());
}

TEST(LdapBer, RefusesMalformedInput) {
  const std::string cases[] = {
      std::string("\x04\x05"
                  "abc",
                  5),  // truncated value
      std::string("\x04\x80"
                  "abc\0\0",
                  7),                                  // indefinite length
      std::string("\x04\x85\x01\x00\x00\x00\x00", 7),  // 5 length bytes
      std::string("\x1f\x01\x00", 3),                  // high tag number
      std::string("\x04", 1),                          // no length
      std::string("\x04\x82\x01", 3),                  // length bytes missing
  };
  for (const auto& c : cases) {
    ber::Reader r(c);
    EXPECT_FALSE(r.Next().ok()) << Hex(c);
  }
  EXPECT_FALSE(ber::DecodeInteger("").ok());
  EXPECT_FALSE(ber::DecodeInteger(std::string(9, '\x01')).ok());
  const std::string x = ber::OctetString("x");
  ber::Reader wrong(x);
  EXPECT_FALSE(wrong.Expect(ber::kInteger, "n").ok());
}

TEST(LdapBer, FrameLengthTellsWhenAMessageIsComplete) {
  const std::string msg = ber::Tlv(ber::kSequence, std::string(300, 'z'));
  EXPECT_EQ(*ber::FrameLength(""), 0u);
  EXPECT_EQ(*ber::FrameLength(msg.substr(0, 1)), 0u);
  EXPECT_EQ(*ber::FrameLength(msg.substr(0, 2)), 0u);  // long form, length bytes still missing
  EXPECT_EQ(*ber::FrameLength(msg.substr(0, 4)), msg.size());
  EXPECT_EQ(*ber::FrameLength(msg), msg.size());
  EXPECT_FALSE(ber::FrameLength(std::string("\x30\x84\x7f\xff\xff\xff", 6)).ok());  // 2 GiB announced
  EXPECT_FALSE(ber::FrameLength(std::string("\x30\x80", 2)).ok());
}

TEST(LdapFilter, EscapesEverySpecialCharacter) {
  EXPECT_EQ(EscapeFilterValue("alice"), "alice");
  EXPECT_EQ(EscapeFilterValue("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(EscapeFilterValue(std::string("a\\b\0c", 5)), "a\\5cb\\00c");
  EXPECT_EQ(EscapeFilterValue("l\xc3\xa9on"), "l\xc3\xa9on");  // UTF-8 stays
  EXPECT_EQ(ExpandFilter("(&(objectClass=person)(uid={username}))", {{"username", "*"}}),
            "(&(objectClass=person)(uid=\\2a))");
  EXPECT_EQ(ExpandFilter("(member={dn})", {{"dn", "cn=a\\,b,dc=x"}}), "(member=cn=a\\5c,b,dc=x)");
  EXPECT_EQ(ExpandFilter("(uid={other})", {{"username", "x"}}), "(uid={other})");
}

TEST(LdapFilter, EncodesEqualityPresenceAndBooleans) {
  // (uid=alice): equalityMatch [3] { "uid", "alice" }
  EXPECT_EQ(Hex(*EncodeFilter("(uid=alice)")),
            "a30c"
            "0403756964"
            "0405616c696365");
  // (objectClass=*): present [7] "objectClass"
  EXPECT_EQ(Hex(*EncodeFilter("(objectClass=*)")), "870b6f626a656374436c617373");
  auto both = EncodeFilter("(&(uid=a)(!(cn=b))(|(x=1)(y=2)))");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(static_cast<uint8_t>((*both)[0]), 0xa0);
  // An escaped value becomes its octets: the user name "*" is compared, never a wildcard.
  auto star = EncodeFilter(ExpandFilter("(uid={username})", {{"username", "*)(uid=*"}}));
  ASSERT_TRUE(star.ok());
  EXPECT_EQ(*star, ber::Tlv(0xa3, ber::OctetString("uid") + ber::OctetString("*)(uid=*")));
}

TEST(LdapFilter, RefusesWhatItDoesNotSupport) {
  for (const char* bad : {"", "uid=alice", "(uid=al*)", "(uid>=1)", "(uid~=a)", "(&)", "(uid=a", "(uid=a))", "(=a)",
                          "(uid=\\zz)", "(uid=\\4)", "(uid=a(b)", "(cn:dn:=x)"}) {
    EXPECT_FALSE(EncodeFilter(bad).ok()) << bad;
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "(!";
  deep += "(a=b)";
  for (int i = 0; i < 40; ++i) deep += ")";
  EXPECT_FALSE(EncodeFilter(deep).ok());
}

TEST(LdapClientDecode, UrlsAndResults) {
  auto u = ParseLdapUrl("ldaps://ldap.example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 636);
  u = ParseLdapUrl("ldap://127.0.0.1:3389/");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 3389);
  u = ParseLdapUrl("ldap://[::1]:10389");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  for (const char* bad : {"http://x", "ldap://", "ldap://h:0", "ldap://h:99999", "ldap://h/dc=x", "ldap://u@h"}) {
    EXPECT_FALSE(ParseLdapUrl(bad).ok()) << bad;
  }
  int code = -1;
  std::string diagnostic;
  const std::string result =
      ber::Integer(49, ber::kEnumerated) + ber::OctetString("") + ber::OctetString("invalid credentials");
  ASSERT_TRUE(DecodeResult(result, &code, &diagnostic).ok());
  EXPECT_EQ(code, 49);
  EXPECT_EQ(diagnostic, "invalid credentials");
  EXPECT_FALSE(DecodeResult(ber::Integer(0, ber::kEnumerated), &code, &diagnostic).ok());
  const std::string entry =
      ber::OctetString("uid=a,dc=x") +
      ber::Tlv(ber::kSequence, ber::Tlv(ber::kSequence, ber::OctetString("memberOf") +
                                                            ber::Tlv(ber::kSet, ber::OctetString("cn=g1,dc=x") +
                                                                                    ber::OctetString("cn=g2,dc=x"))));
  auto e = DecodeSearchEntry(entry);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->dn, "uid=a,dc=x");
  EXPECT_EQ(e->attributes["memberof"], (std::vector<std::string>{"cn=g1,dc=x", "cn=g2,dc=x"}));
}

// ---- the login cache, with a directory that answers without a network ----

// Every login succeeds, with one group named after the user; counts the lookups.
class FakeDirectory : public Directory {
 public:
  using Directory::Directory;
  mutable int lookups = 0;

 protected:
  Login Lookup(std::string_view user, std::string_view, GroupSet* groups) const override {
    ++lookups;
    groups->insert(std::string(user) + "-group");
    return {Outcome::kOk, ""};
  }
};

// A cached login always comes with its user's groups: the two caches are
// evicted together, so a hit never lets a user in without their groups
// (the ACL's "@group" entries would silently stop matching).
TEST(LdapDirectoryCache, ACachedLoginKeepsItsGroups) {
  DirectoryOptions o;
  o.max_cached_logins = 2;
  FakeDirectory d(o);
  // alice with two passwords fills the logins (2) before the groups (1).
  const std::pair<const char*, const char*> logins[] = {
      {"alice", "pw1"}, {"alice", "pw2"}, {"bob", "pw"}, {"carol", "pw"}, {"bob", "pw"},   {"alice", "pw2"},
      {"carol", "pw"},  {"dave", "pw"},   {"bob", "pw"}, {"dave", "pw"},  {"alice", "pw1"}};
  for (const auto& [user, password] : logins) {
    ASSERT_EQ(d.Authenticate(user, password).outcome, Directory::Outcome::kOk);
    auto groups = d.CachedGroups(user);
    ASSERT_NE(groups, nullptr) << user << " logged in (lookups: " << d.lookups << ") but has no groups";
    EXPECT_EQ(*groups, GroupSet{std::string(user) + "-group"});
  }
  // And the cache still saves lookups: a repeated login right after is a hit.
  const int before = d.lookups;
  ASSERT_EQ(d.Authenticate("alice", "pw1").outcome, Directory::Outcome::kOk);
  EXPECT_EQ(d.lookups, before);
}

// ---- against the fixture's slapd ----

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

class LdapLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("BERTH_TEST_LDAP_URL").empty()) GTEST_SKIP() << "no LDAP server (run the ldap.* ctest fixture)";
  }
  config::LdapConfig Config() const {
    config::LdapConfig c;
    c.enabled = true;
    c.url = Env("BERTH_TEST_LDAP_URL");
    c.start_tls = true;
    c.ca_file = Env("BERTH_TEST_LDAP_CA_FILE");
    c.bind_dn = Env("BERTH_TEST_LDAP_BIND_DN");
    c.bind_password_file = Env("BERTH_TEST_LDAP_BIND_PASSWORD_FILE");
    c.user_base = "ou=people," + Env("BERTH_TEST_LDAP_SUFFIX");
    c.group_base = "ou=groups," + Env("BERTH_TEST_LDAP_SUFFIX");
    c.cache_seconds = 1;
    return c;
  }
};

TEST_F(LdapLive, StartTlsBindAndSearch) {
  auto url = ParseLdapUrl(Env("BERTH_TEST_LDAP_URL"));
  ASSERT_TRUE(url.ok());
  ClientOptions o;
  o.url = *url;
  o.start_tls = true;
  o.ca_file = Env("BERTH_TEST_LDAP_CA_FILE");
  auto c = LdapClient::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE((*c)->encrypted());
  int code = -1;
  EXPECT_FALSE((*c)->Bind("uid=alice,ou=people," + Env("BERTH_TEST_LDAP_SUFFIX"), "wrong", &code).ok());
  EXPECT_EQ(code, kResultInvalidCredentials);
  ASSERT_TRUE((*c)->Bind("uid=alice,ou=people," + Env("BERTH_TEST_LDAP_SUFFIX"), "alicepw").ok());
  auto found = (*c)->Search("ou=groups," + Env("BERTH_TEST_LDAP_SUFFIX"), SearchScope::kSubtree,
                            "(member=uid=alice,ou=people," + Env("BERTH_TEST_LDAP_SUFFIX") + ")", {"cn"});
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->size(), 2u);
  auto none = (*c)->Search("ou=nowhere," + Env("BERTH_TEST_LDAP_SUFFIX"), SearchScope::kSubtree, "(cn=x)", {"cn"});
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
  auto too_many = (*c)->Search(Env("BERTH_TEST_LDAP_SUFFIX"), SearchScope::kSubtree, "(objectClass=*)", {"1.1"}, 2);
  EXPECT_FALSE(too_many.ok());
  EXPECT_TRUE((*c)->healthy());
}

// A search's whole answer is bounded, not only each message.
TEST_F(LdapLive, SearchAnswersAreCappedInBytes) {
  auto url = ParseLdapUrl(Env("BERTH_TEST_LDAP_URL"));
  ASSERT_TRUE(url.ok());
  ClientOptions o;
  o.url = *url;
  o.start_tls = true;
  o.ca_file = Env("BERTH_TEST_LDAP_CA_FILE");
  auto whole = LdapClient::Connect(o);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  auto all = (*whole)->Search(Env("BERTH_TEST_LDAP_SUFFIX"), SearchScope::kSubtree, "(objectClass=*)", {}, 100);
  ASSERT_TRUE(all.ok()) << all.status().message();  // the control: under the default cap
  ASSERT_GE(all->size(), 5u);
  o.max_search_bytes = 300;  // a few entries' worth
  auto capped = LdapClient::Connect(o);
  ASSERT_TRUE(capped.ok()) << capped.status().message();
  auto over = (*capped)->Search(Env("BERTH_TEST_LDAP_SUFFIX"), SearchScope::kSubtree, "(objectClass=*)", {}, 100);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(over.status().message().find("exceeds 300 bytes"), std::string::npos) << over.status().message();
  EXPECT_FALSE((*capped)->healthy());
}

TEST_F(LdapLive, LdapsFromTheFirstByte) {
  auto url = ParseLdapUrl(Env("BERTH_TEST_LDAPS_URL"));
  ASSERT_TRUE(url.ok()) << Env("BERTH_TEST_LDAPS_URL");
  EXPECT_TRUE(url->tls);
  ClientOptions o;
  o.url = *url;
  o.ca_file = Env("BERTH_TEST_LDAP_CA_FILE");
  auto c = LdapClient::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE((*c)->encrypted());
  EXPECT_TRUE((*c)->Bind("uid=bob,ou=people," + Env("BERTH_TEST_LDAP_SUFFIX"), "bobpw").ok());
  // The same through a Directory configured with the ldaps url.
  config::LdapConfig cfg = Config();
  cfg.url = Env("BERTH_TEST_LDAPS_URL");
  cfg.start_tls = false;
  auto d = Directory::FromConfig(cfg);
  ASSERT_TRUE(d.ok());
  auto login = (*d)->Authenticate("bob", "bobpw");
  EXPECT_EQ(login.outcome, Directory::Outcome::kOk) << login.reason;
  EXPECT_EQ(*(*d)->CachedGroups("bob"), GroupSet{"readers"});
}

TEST_F(LdapLive, TlsIsVerified) {
  auto url = ParseLdapUrl(Env("BERTH_TEST_LDAP_URL"));
  ASSERT_TRUE(url.ok());
  ClientOptions o;
  o.url = *url;
  o.start_tls = true;
  o.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // not the test CA
  auto c = LdapClient::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("TLS handshake failed"), std::string::npos) << c.status().message();
}

TEST_F(LdapLive, DirectoryLogsInWithGroupsAndRefusesBadPasswords) {
  auto d = Directory::FromConfig(Config());
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto ok = (*d)->Authenticate("alice", "alicepw");
  ASSERT_EQ(ok.outcome, Directory::Outcome::kOk) << ok.reason;
  auto groups = (*d)->CachedGroups("alice");
  ASSERT_NE(groups, nullptr);
  EXPECT_EQ(*groups, (GroupSet{"developers", "readers"}));
  EXPECT_EQ((*d)->Authenticate("alice", "wrong").outcome, Directory::Outcome::kBad);
  EXPECT_EQ((*d)->Authenticate("alice", "").outcome, Directory::Outcome::kBad);
  EXPECT_EQ((*d)->Authenticate("nobody", "x").outcome, Directory::Outcome::kBad);
  EXPECT_EQ((*d)->Authenticate("*", "alicepw").outcome, Directory::Outcome::kBad);  // never a wildcard
  // The directory matches these to alice; the account name must be its exact spelling.
  EXPECT_EQ((*d)->Authenticate("ALICE", "alicepw").outcome, Directory::Outcome::kBad);
  EXPECT_EQ((*d)->Authenticate("alice ", "alicepw").outcome, Directory::Outcome::kBad);
  auto carol = (*d)->Authenticate("carol", "carolpw");
  ASSERT_EQ(carol.outcome, Directory::Outcome::kOk) << carol.reason;
  ASSERT_NE((*d)->CachedGroups("carol"), nullptr);
  EXPECT_TRUE((*d)->CachedGroups("carol")->empty());
  // The cache (1 s here) lapses: the groups are gone until the next login.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ((*d)->CachedGroups("alice"), nullptr);
}

TEST_F(LdapLive, MemberOfModeAndUnreachableDirectory) {
  config::LdapConfig c = Config();
  // slapd without the memberof overlay has no memberOf: no groups, login still fine.
  c.group_base.clear();
  c.member_of = "memberOf";
  auto d = Directory::FromConfig(c);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->Authenticate("bob", "bobpw").outcome, Directory::Outcome::kOk);
  c = Config();
  c.url = "ldap://127.0.0.1:1";
  auto down = Directory::FromConfig(c);
  ASSERT_TRUE(down.ok());
  auto r = (*down)->Authenticate("alice", "alicepw");
  EXPECT_EQ(r.outcome, Directory::Outcome::kUnavailable);
  EXPECT_NE(r.reason.find("cannot connect"), std::string::npos) << r.reason;
  c = Config();
  std::ofstream(testing::TempDir() + "/wrong-bind") << "nope\n";
  c.bind_password_file = testing::TempDir() + "/wrong-bind";
  auto bad_service = Directory::FromConfig(c);
  ASSERT_TRUE(bad_service.ok());
  EXPECT_EQ((*bad_service)->Authenticate("alice", "alicepw").outcome, Directory::Outcome::kUnavailable);
}

}  // namespace
}  // namespace berth::auth::ldap
