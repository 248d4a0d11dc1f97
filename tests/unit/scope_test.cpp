// Unit tests for auth/scope.h: parsing token scopes.
#include "auth/scope.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace berth::auth {
namespace {

using Actions = std::set<std::string>;

Scope MustParse(const std::string& text) {
  auto s = ParseScope(text);
  EXPECT_TRUE(s.ok()) << "'" << text << "': " << s.status().message();
  return s.ok() ? *s : Scope{};
}

TEST(ScopeTest, RepositoryPullPush) {
  Scope s = MustParse("repository:myorg/app:pull,push");
  EXPECT_EQ(s.type, "repository");
  EXPECT_EQ(s.name, "myorg/app");
  EXPECT_EQ(s.actions, (Actions{"pull", "push"}));
  EXPECT_EQ(s.str(), "repository:myorg/app:pull,push");
}

TEST(ScopeTest, RegistryCatalogStar) {
  Scope s = MustParse("registry:catalog:*");
  EXPECT_EQ(s.type, "registry");
  EXPECT_EQ(s.name, "catalog");
  EXPECT_EQ(s.actions, Actions{"*"});
  EXPECT_EQ(s.str(), "registry:catalog:*");
}

TEST(ScopeTest, ResourceClassIsDropped) {
  Scope s = MustParse("repository(plugin):name:pull");
  EXPECT_EQ(s.type, "repository");
  EXPECT_EQ(s.name, "name");
  EXPECT_EQ(s.actions, Actions{"pull"});
}

TEST(ScopeTest, NameBetweenFirstAndLastColon) {
  Scope s = MustParse("repository:host:5000/app:pull");
  EXPECT_EQ(s.type, "repository");
  EXPECT_EQ(s.name, "host:5000/app");
  EXPECT_EQ(s.actions, Actions{"pull"});

  s = MustParse("repository:a:b:c:push,delete");
  EXPECT_EQ(s.name, "a:b:c");
  EXPECT_EQ(s.actions, (Actions{"push", "delete"}));
}

TEST(ScopeTest, ActionsAreASetAndEmptyItemsAreSkipped) {
  Scope s = MustParse("repository:app:push,pull,pull");
  EXPECT_EQ(s.actions, (Actions{"pull", "push"}));
  EXPECT_EQ(s.str(), "repository:app:pull,push");
  s = MustParse("repository:app:,pull,,");
  EXPECT_EQ(s.actions, Actions{"pull"});
  s = MustParse("repository:app:");
  EXPECT_EQ(s.type, "repository");
  EXPECT_EQ(s.name, "app");
  EXPECT_EQ(s.actions, Actions{});
  EXPECT_EQ(s.str(), "repository:app:");
}

TEST(ScopeTest, UnknownTypesParse) {
  Scope s = MustParse("something:else:pull");
  EXPECT_EQ(s.type, "something");
  EXPECT_EQ(s.name, "else");
  EXPECT_EQ(s.actions, Actions{"pull"});
}

TEST(ScopeTest, Malformed) {
  for (const char* bad : {"", "repository", "repository:", "repository:app", ":x:pull", "repository::pull", "::", ":",
                          "repository(plugin:app:pull", "(plugin):app:pull"}) {
    auto s = ParseScope(bad);
    EXPECT_FALSE(s.ok()) << "'" << bad << "' parsed as " << (s.ok() ? s->str() : "");
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(ScopeTest, TooLong) {
  std::string name(1024, 'a');
  EXPECT_FALSE(ParseScope("repository:" + name + ":pull").ok());
  std::string ok_name(1024 - std::string("repository::pull").size(), 'a');
  EXPECT_TRUE(ParseScope("repository:" + ok_name + ":pull").ok());
}

TEST(ScopeTest, ListWithSeveralSpaces) {
  auto list = ParseScopeList("  repository:a/b:pull   registry:catalog:*  repository:c:push,pull ");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0], (Scope{"repository", "a/b", {"pull"}}));
  EXPECT_EQ((*list)[1], (Scope{"registry", "catalog", {"*"}}));
  EXPECT_EQ((*list)[2], (Scope{"repository", "c", {"pull", "push"}}));
}

TEST(ScopeTest, ListEdgeCases) {
  auto empty = ParseScopeList("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto spaces = ParseScopeList("    ");
  ASSERT_TRUE(spaces.ok());
  EXPECT_TRUE(spaces->empty());
  auto one = ParseScopeList("repository:x:pull");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].name, "x");
  // One bad item fails the whole list.
  EXPECT_FALSE(ParseScopeList("repository:x:pull bad repository:y:pull").ok());
  EXPECT_FALSE(ParseScopeList("repository:x:pull :y:pull").ok());
}

}  // namespace
}  // namespace berth::auth
