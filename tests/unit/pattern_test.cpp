// Unit tests for auth/pattern.h: the glob matcher, regex patterns and the
// ${account}/${name} placeholders of ACL conditions.
#include "auth/pattern.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace berth::auth {
namespace {

struct GlobCase {
  const char* pattern;
  const char* value;
  bool match;
};

std::ostream& operator<<(std::ostream& os, const GlobCase& c) {
  return os << "GlobMatch(\"" << c.pattern << "\", \"" << c.value << "\") should be " << (c.match ? "true" : "false");
}

class PatternGlobTest : public ::testing::TestWithParam<GlobCase> {};

TEST_P(PatternGlobTest, Matches) {
  const GlobCase& c = GetParam();
  EXPECT_EQ(GlobMatch(c.pattern, c.value), c.match) << c;
  // A compiled glob pattern (no placeholders) answers the same.
  auto p = Pattern::Compile(c.pattern);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(p->is_regex());
  EXPECT_EQ(p->Matches(c.value), c.match) << "Pattern::Matches " << c;
}

INSTANTIATE_TEST_SUITE_P(
    PatternGlob, PatternGlobTest,
    ::testing::Values(
        // literals
        GlobCase{"myorg/app", "myorg/app", true}, GlobCase{"myorg/app", "myorg/ap", false},
        GlobCase{"myorg/app", "myorg/appx", false}, GlobCase{"", "", true}, GlobCase{"", "a", false},
        GlobCase{"a", "", false},
        // '*' stays within one segment
        GlobCase{"myorg/backend-*", "myorg/backend-api", true}, GlobCase{"myorg/backend-*", "myorg/backend-", true},
        GlobCase{"myorg/backend-*", "myorg/backend-api/sub", false},
        GlobCase{"myorg/backend-*", "myorg/frontend", false},
        GlobCase{"myorg/backend-*", "other/myorg/backend-api", false}, GlobCase{"myorg/*", "myorg/app", true},
        GlobCase{"myorg/*", "myorg/team/app", false}, GlobCase{"myorg/*", "myorg", false},
        GlobCase{"*/app", "team/app", true}, GlobCase{"*/app", "a/b/app", false}, GlobCase{"a*c", "abc", true},
        GlobCase{"a*c", "ac", true}, GlobCase{"a*c", "a/c", false}, GlobCase{"*-api", "backend-api", true},
        // '*' alone matches everything, nested names and the empty string included
        GlobCase{"*", "a/b/c", true}, GlobCase{"*", "", true}, GlobCase{"*", "myorg/app", true},
        GlobCase{"*", "/", true},
        // '**' crosses '/'
        GlobCase{"a/**", "a/b/c", true}, GlobCase{"a/**", "a/b", true}, GlobCase{"a/**", "a", false},
        GlobCase{"a/**", "ab/c", false}, GlobCase{"a/**", "b/a/c", false}, GlobCase{"**", "a/b/c", true},
        GlobCase{"**", "", true}, GlobCase{"**/x", "a/b/x", true}, GlobCase{"**/x", "a/x", true},
        GlobCase{"**/x", "a/b/xy", false}, GlobCase{"**/x", "x/a", false}, GlobCase{"a/**/z", "a/b/c/z", true},
        GlobCase{"a/**/z", "a/z/y", false},
        // '***' is the same as '**'
        GlobCase{"a/***", "a/b/c", true}, GlobCase{"a/***", "a", false}, GlobCase{"***", "x/y/z", true},
        GlobCase{"***/x", "a/b/x", true},
        // '?' is one character other than '/'
        GlobCase{"a?c", "abc", true}, GlobCase{"a?c", "ac", false}, GlobCase{"a?c", "abbc", false},
        GlobCase{"a?c", "a/c", false}, GlobCase{"??", "ab", true}, GlobCase{"??", "a", false},
        // classes
        GlobCase{"[abc]x", "ax", true}, GlobCase{"[abc]x", "cx", true}, GlobCase{"[abc]x", "dx", false},
        GlobCase{"[a-z]1", "q1", true}, GlobCase{"[a-z]1", "Q1", false}, GlobCase{"[a-z]1", "-1", false},
        GlobCase{"[0-9a-f]", "e", true}, GlobCase{"[0-9a-f]", "g", false}, GlobCase{"[!a]b", "xb", true},
        GlobCase{"[!a]b", "ab", false}, GlobCase{"[^a]b", "xb", true}, GlobCase{"[^a]b", "ab", false},
        GlobCase{"[]a]", "]", true}, GlobCase{"[]a]", "a", true}, GlobCase{"[a-]", "-", true},
        GlobCase{"[a-]", "b", false},
        // classes never match '/'
        GlobCase{"a[/]b", "a/b", false}, GlobCase{"a[!x]b", "a/b", false}, GlobCase{"a[^x]b", "a/b", false},
        GlobCase{"a[--0]b", "a/b", false}, GlobCase{"a[--0]b", "a.b", true}, GlobCase{"a[!a-z]b", "a/b", false},
        // escapes
        GlobCase{"a\\*", "a*", true}, GlobCase{"a\\*", "ab", false}, GlobCase{"a\\*", "a", false},
        GlobCase{"\\?", "?", true}, GlobCase{"\\?", "x", false}, GlobCase{"\\[x]", "[x]", true},
        GlobCase{"\\[x]", "x", false}, GlobCase{"a\\\\b", "a\\b", true}, GlobCase{"\\a", "a", true},
        GlobCase{"[\\]]", "]", true}));

TEST(PatternTest, PathologicalGlobIsFast) {
  const std::string value(200, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*b", value));
  EXPECT_FALSE(GlobMatch("**a**a**a**a**a**a**b", value));
  EXPECT_TRUE(GlobMatch("*a*a*a*a*a*a*", value));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::milliseconds(100));
}

TEST(PatternTest, InvalidGlobNeverMatches) {
  EXPECT_FALSE(GlobMatch("[abc", "[abc"));
  EXPECT_FALSE(GlobMatch("[abc", "a"));
  EXPECT_FALSE(GlobMatch("abc\\", "abc\\"));
  EXPECT_FALSE(GlobMatch("abc\\", "abc"));
}

TEST(PatternTest, ValidateGlob) {
  EXPECT_TRUE(ValidateGlob("myorg/*").ok());
  EXPECT_TRUE(ValidateGlob("[a-z]?\\*").ok());
  EXPECT_FALSE(ValidateGlob("[abc").ok());
  EXPECT_FALSE(ValidateGlob("abc\\").ok());
  EXPECT_FALSE(ValidateGlob("[]").ok());
  EXPECT_FALSE(ValidateGlob("[z-a]").ok());
}

TEST(PatternTest, CompileErrors) {
  for (const char* bad : {"[abc", "myorg/[abc", "abc\\", "${unknown}", "${account", "a/${name}/${nope}", "/(/", "/[a/",
                          "/a{2,1}/", "/${unknown}/"}) {
    auto p = Pattern::Compile(bad);
    EXPECT_FALSE(p.ok()) << "'" << bad << "' compiled";
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  for (const char* good : {"*", "", "/", "myorg/**", "${account}/**", "/${account}-.*/", "//", "/.*/", "${name}"}) {
    auto p = Pattern::Compile(good);
    EXPECT_TRUE(p.ok()) << "'" << good << "': " << p.status().message();
    if (p.ok()) {
      EXPECT_EQ(p->text(), good);
    }
  }
}

TEST(PatternTest, RegexIsAnchored) {
  auto backend = Pattern::Compile("/backend/");
  ASSERT_TRUE(backend.ok());
  EXPECT_TRUE(backend->is_regex());
  EXPECT_FALSE(backend->Matches("myorg/backend-api"));
  EXPECT_FALSE(backend->Matches("backend-api"));
  EXPECT_FALSE(backend->Matches("xbackend"));
  EXPECT_TRUE(backend->Matches("backend"));

  auto any_backend = Pattern::Compile("/.*backend.*/");
  ASSERT_TRUE(any_backend.ok());
  EXPECT_TRUE(any_backend->Matches("myorg/backend-api"));
  EXPECT_TRUE(any_backend->Matches("backend"));
  EXPECT_FALSE(any_backend->Matches("myorg/frontend"));

  auto alt = Pattern::Compile("/a|b/");
  ASSERT_TRUE(alt.ok());
  EXPECT_TRUE(alt->Matches("a"));
  EXPECT_TRUE(alt->Matches("b"));
  EXPECT_FALSE(alt->Matches("ab"));
  EXPECT_FALSE(alt->Matches("xa"));

  auto empty = Pattern::Compile("//");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->is_regex());
  EXPECT_TRUE(empty->Matches(""));
  EXPECT_FALSE(empty->Matches("a"));

  // A single '/' is a literal glob, not an (empty) regex.
  auto slash = Pattern::Compile("/");
  ASSERT_TRUE(slash.ok());
  EXPECT_FALSE(slash->is_regex());
  EXPECT_TRUE(slash->Matches("/"));
  EXPECT_FALSE(slash->Matches(""));
}

TEST(PatternTest, AccountPlaceholderGlob) {
  auto p = Pattern::Compile("${account}/**");
  ASSERT_TRUE(p.ok());
  const PatternVars alice{"alice", ""};
  EXPECT_TRUE(p->Matches("alice/app", alice));
  EXPECT_TRUE(p->Matches("alice/team/app", alice));
  EXPECT_FALSE(p->Matches("bob/app", alice));
  EXPECT_FALSE(p->Matches("alice", alice));
  EXPECT_FALSE(p->Matches("alicex/app", alice));
  EXPECT_FALSE(p->Matches("xalice/app", alice));
  EXPECT_TRUE(p->Matches("bob/app", PatternVars{"bob", ""}));
}

TEST(PatternTest, NamePlaceholder) {
  auto p = Pattern::Compile("${name}");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Matches("team", PatternVars{"", "team"}));
  EXPECT_FALSE(p->Matches("team", PatternVars{"", "other"}));
  auto r = Pattern::Compile("/${name}-admins/");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Matches("team-admins", PatternVars{"", "team"}));
  EXPECT_FALSE(r->Matches("team-admins", PatternVars{"", "other"}));
}

// Hostile account values are inserted escaped: they only ever match themselves.
TEST(PatternTest, HostileAccountValuesAreLiteralInGlobs) {
  auto p = Pattern::Compile("${account}/**");
  ASSERT_TRUE(p.ok());
  struct Case {
    const char* account;
    const char* value;
    bool match;
  };
  const Case cases[] = {
      {"a*", "a*/app", true},   {"a*", "abc/app", false},   {"a*", "a/app", false},    {"..", "../app", true},
      {"..", "ab/app", false},  {"a/b", "a/b/app", true},   {"a/b", "a/x/app", false}, {".*", ".*/app", true},
      {".*", "abc/app", false}, {"[x]", "[x]/app", true},   {"[x]", "x/app", false},   {"?", "?/app", true},
      {"?", "a/app", false},    {"**", "**/app", true},     {"**", "a/b/app", false},  {"a\\", "a\\/app", true},
      {"a\\", "a/app", false},  {"[!x]", "[!x]/app", true}, {"[!x]", "y/app", false},  {"\\*", "\\*/app", true},
      {"\\*", "*/app", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(p->Matches(c.value, PatternVars{c.account, ""}), c.match)
        << "account '" << c.account << "' value '" << c.value << "'";
  }
  // The placeholder alone, with account "*": must not become the match-everything glob.
  auto alone = Pattern::Compile("${account}");
  ASSERT_TRUE(alone.ok());
  EXPECT_TRUE(alone->Matches("*", PatternVars{"*", ""}));
  EXPECT_FALSE(alone->Matches("bob", PatternVars{"*", ""}));
  EXPECT_FALSE(alone->Matches("a/b", PatternVars{"*", ""}));
  EXPECT_FALSE(alone->Matches("", PatternVars{"*", ""}));
}

TEST(PatternTest, HostileAccountValuesAreLiteralInRegexes) {
  auto p = Pattern::Compile("/${account}-.*/");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->is_regex());
  struct Case {
    const char* account;
    const char* value;
    bool match;
  };
  const Case cases[] = {
      {"alice", "alice-app", true}, {"alice", "bob-app", false}, {"alice", "alice", false}, {"a*", "a*-x", true},
      {"a*", "aaa-x", false},       {"a*", "-x", false},         {"..", "..-x", true},      {"..", "ab-x", false},
      {"a/b", "a/b-x", true},       {"a/b", "a/c-x", false},     {".*", ".*-x", true},      {".*", "anything-x", false},
      {".*", "-x", false},          {"[x]", "[x]-y", true},      {"[x]", "x-y", false},     {"a|b", "a|b-x", true},
      {"a|b", "a", false},          {"a|b", "b-x", false},       {"(a)", "(a)-x", true},    {"(a)", "a-x", false},
      {"a+", "a+-x", true},         {"a+", "aa-x", false},       {"^a$", "^a$-x", true},    {"{2}", "{2}-x", true},
      {"a\\", "a\\-x", true},       {"a\\", "a-x", false},       {"-", "--x", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(p->Matches(c.value, PatternVars{c.account, ""}), c.match)
        << "account '" << c.account << "' value '" << c.value << "'";
  }
}

// BUG: regex patterns run std::regex_match, whose libstdc++ executor recurses once
// per input character; a long value overflows the stack and kills the process
// (SIGSEGV at ~30,000 characters here). The token endpoint passes the client's
// `service` parameter (unbounded, up to the 64 KiB header limit, anonymous GET)
// to every reached ACL entry's `service` pattern, so an ACL with a regex service
// condition lets anyone crash the registry. Matching must not crash, whatever the
// value's length (a death test, so enabling it cannot take the test binary down).
TEST(PatternTest, RegexOnLongValueDoesNotCrash) {
  auto p = Pattern::Compile("/mirror-.*/");
  ASSERT_TRUE(p.ok());
  const std::string value = "mirror-" + std::string(100000, 'a');
  EXPECT_EXIT(
      {
        (void)p->Matches(value);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(PatternTest, CompiledPatternIsReusable) {
  auto p = Pattern::Compile("/team-[0-9]+/");
  ASSERT_TRUE(p.ok());
  Pattern copy = *p;
  EXPECT_TRUE(copy.Matches("team-42"));
  EXPECT_FALSE(copy.Matches("team-"));
  EXPECT_TRUE(p->Matches("team-1"));
}

}  // namespace
}  // namespace berth::auth

namespace berth::auth {
namespace {

// Found by fuzz/acl_pattern: backtracking regexes take exponential time on crafted names.
TEST(PatternRegexSafetyTest, NestedQuantifiersAreRefused) {
  for (const char* bad : {"/(a*)+t/", "/(a+)+/", "/(a|aa)*/", "/([+a-x]*)+t/", "/((ab)*c)*/", "/(x{1,3})+/"}) {
    EXPECT_FALSE(Pattern::Compile(bad).ok()) << bad;
  }
  for (const char* good : {"/^team-(a|b)$/", "/(ab)+/", "/mirror-.*/", "/[(]+x/", "/\\(a*\\)+/", "/^ci-[0-9]+$/"}) {
    EXPECT_TRUE(Pattern::Compile(good).ok()) << good;
  }
}

// Found by fuzz/acl_pattern (a 10 s timeout): a quantifier stacked on another
// is a nested repetition too (libstdc++ reads a+* as (a+)*).
TEST(PatternRegexSafetyTest, StackedQuantifiersAreRefused) {
  for (const char* bad : {"/a+*/", "/a**/", "/a?*/", "/a{2}*/", "/a*?+/", "/x+{2,}/",
                          "/:+a+****************a+//a/*a*********a+//a/*a*****/"}) {
    EXPECT_FALSE(Pattern::Compile(bad).ok()) << bad;
  }
  for (const char* good : {"/a*?b/", "/a+?/", "/a??/", "/\\++/", "/[*+]+/", "/x{2,3}y/", "/(?:ab)c/", "/a{2}b+/"}) {
    EXPECT_TRUE(Pattern::Compile(good).ok()) << good;
  }
}

}  // namespace
}  // namespace berth::auth
