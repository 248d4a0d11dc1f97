// policies: (docs/policies.md): the config's parsing and validation, the
// compiled PolicySet (first match wins), and the retention rule engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "config/config.h"
#include "policy/policy_set.h"
#include "policy/retention.h"

namespace berth::policy {
namespace {

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' lacks '" << (needle) << "'"

std::shared_ptr<const PolicySet> Compile(const std::string& yaml) {
  auto cfg = config::ParseConfig(yaml, "p.yaml");
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  if (!cfg.ok()) return std::make_shared<PolicySet>();
  auto set = PolicySet::Compile(*cfg);
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : std::make_shared<PolicySet>();
}

std::string ErrorOf(const std::string& yaml) {
  auto cfg = config::ParseConfig(yaml, "p.yaml");
  if (!cfg.ok()) return cfg.status().message();
  auto set = PolicySet::Compile(*cfg);
  EXPECT_FALSE(set.ok()) << "accepted:\n" << yaml;
  return set.ok() ? "" : set.status().message();
}

constexpr const char* kExample = R"(
policies:
  - name: "myorg/**"
    immutable_tags: ["v*", "release-*"]
    retention:
      keep_tags: ["latest", "main", "v*"]
      keep_last: 10
      keep_pushed_within: 30d
      keep_pulled_within: 90d
    quota: {bytes: 50GiB}
  - name: "scratch/*"
    retention: {keep_last: 0}
  - name: "*"
)";

TEST(PolicyConfig, ParsesTheIssueExample) {
  auto cfg = config::ParseConfig(kExample, "p.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  ASSERT_EQ(cfg->policies.size(), 3u);
  const auto& p = cfg->policies[0];
  EXPECT_EQ(p.name, "myorg/**");
  EXPECT_EQ(p.immutable_tags, (std::vector<std::string>{"v*", "release-*"}));
  ASSERT_TRUE(p.retention);
  EXPECT_EQ(p.retention->keep_last, 10);
  EXPECT_EQ(p.retention->keep_pushed_within_s, 30 * 86400);
  EXPECT_EQ(p.retention->keep_pulled_within_s, 90 * 86400);
  EXPECT_EQ(p.quota_bytes, 50LL << 30);
  EXPECT_FALSE(cfg->policies[2].retention);
  EXPECT_FALSE(cfg->policies[2].quota_bytes);
}

TEST(PolicyConfig, SizesAndDurations) {
  EXPECT_EQ(*config::ParseSize("1024"), 1024);
  EXPECT_EQ(*config::ParseSize("1KiB"), 1024);
  EXPECT_EQ(*config::ParseSize("500MB"), 500'000'000);
  EXPECT_EQ(*config::ParseSize("1.5GiB"), 3LL << 29);
  EXPECT_EQ(*config::ParseSize("2 TiB"), 2LL << 40);
  for (const char* bad : {"", "GiB", "1.GiB", "-1", "1XB", "1e9", "99999999999999999TiB"}) {
    EXPECT_FALSE(config::ParseSize(bad).ok()) << bad;
  }
  EXPECT_EQ(*config::ParseDays("90d"), 90 * 86400);
  EXPECT_EQ(*config::ParseDays("1d12h"), 36 * 3600);
  EXPECT_EQ(*config::ParseDays("45s"), 45);
  for (const char* bad : {"", "d", "10", "1w", "0s", "-1d"}) EXPECT_FALSE(config::ParseDays(bad).ok()) << bad;
  EXPECT_EQ(config::FormatSize(512), "512 B");
  EXPECT_EQ(config::FormatSize(200LL << 20), "200 MiB");
  EXPECT_EQ(config::FormatSize(50LL << 30), "50 GiB");
  EXPECT_EQ(config::FormatSize((50LL << 30) - (100LL << 20)), "49.9 GiB");
}

TEST(PolicyConfig, ErrorsNameFileLineColumn) {
  EXPECT_CONTAINS(ErrorOf("policies:\n  - {name: \"a/*\", quota: {bytes: lots}}\n"), "p.yaml:2:");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - {name: \"a/*\", quota: {bytes: lots}}\n"), "quota.bytes must be");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - name: \"a/*\"\n    retention: {keep_pushed_within: 3w}\n"),
                  "p.yaml:3:37: policies[0].retention.keep_pushed_within must be a duration");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - name: \"a/*\"\n    retention: {keep: 1}\n"), "unknown key 'keep'");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - {immutable_tags: [v1]}\n"), "policies[0].name must be");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - name: \"a/[b\"\n"), "p.yaml:2:11: policies[0].name:");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - name: \"a/*\"\n    immutable_tags: [\"v[\"]\n"),
                  "p.yaml:3:22: policies[0].immutable_tags:");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - name: \"${account}/*\"\n"), "placeholders");
  EXPECT_CONTAINS(ErrorOf("policies:\n  - name: \"a/*\"\n    retention: {keep_last: -1}\n"), "keep_last must be");
  EXPECT_CONTAINS(ErrorOf("policies: {name: x}\n"), "policies must be a list");
}

TEST(PolicySet, FirstMatchWinsAndPrefixes) {
  auto set = Compile(kExample);
  ASSERT_EQ(set->policies().size(), 3u);
  EXPECT_EQ(set->Match("myorg/app"), &set->policies()[0]);
  EXPECT_EQ(set->Match("myorg/team/app"), &set->policies()[0]);
  EXPECT_EQ(set->Match("scratch/x"), &set->policies()[1]);
  EXPECT_EQ(set->Match("scratch/x/y"), &set->policies()[2]);  // '*' alone matches every name
  EXPECT_EQ(set->policies()[0].name_prefix, "myorg/");
  EXPECT_EQ(set->policies()[2].name_prefix, "");
  EXPECT_NE(set->policies()[0].ImmutableRule("v1.2"), nullptr);
  EXPECT_EQ(set->policies()[0].ImmutableRule("latest"), nullptr);
  EXPECT_EQ(set->policies()[0].Label(), "policies[0] \"myorg/**\"");
  EXPECT_EQ(Compile("policies: []\n")->Match("a"), nullptr);
}

// ------------------------------------------------------------ retention ---

constexpr int64_t kDay = 86400'000;
constexpr int64_t kNow = 1000 * kDay;

struct Repo {
  RepositoryState state;
  Repo& Tag(const std::string& name, const std::string& digest, int64_t pushed_days_ago) {
    state.tags.push_back({name, digest, kNow - pushed_days_ago * kDay});
    bool known = false;
    for (const auto& m : state.manifests) known = known || m.digest == digest;
    if (!known) Manifest(digest, pushed_days_ago);
    return *this;
  }
  Repo& Manifest(const std::string& digest, int64_t pushed_days_ago, std::optional<int64_t> pulled_days_ago = {},
                 std::string subject = "", std::vector<std::string> children = {}) {
    for (auto& m : state.manifests) {
      if (m.digest == digest) {
        if (pulled_days_ago) m.last_pulled_at = kNow - *pulled_days_ago * kDay;
        if (!subject.empty()) m.subject = subject;
        if (!children.empty()) m.children = children;
        return *this;
      }
    }
    ManifestNode m{digest, kNow - pushed_days_ago * kDay, std::nullopt, std::move(subject), std::move(children)};
    if (pulled_days_ago) m.last_pulled_at = kNow - *pulled_days_ago * kDay;
    state.manifests.push_back(std::move(m));
    return *this;
  }
};

// "tag:rule" for each tag, in name order ("-" before the rule when removed).
std::string Decisions(const RetentionPlan& plan) {
  std::string out;
  for (const auto& d : plan.tags) {
    if (!out.empty()) out += " ";
    out += d.tag + ":" + (d.keep ? "" : "-") + RuleName(d.rule);
  }
  return out;
}

std::string Removed(const RetentionPlan& plan) {
  std::string out;
  for (const auto& d : plan.manifests) out += (out.empty() ? "" : " ") + d;
  return out;
}

const Policy& Only(const std::shared_ptr<const PolicySet>& set) { return set->policies()[0]; }

TEST(Retention, NoPolicyOrNoRetentionKeepsEverything) {
  Repo r;
  r.Tag("a", "d1", 400).Tag("b", "d2", 1);
  EXPECT_EQ(Decisions(PlanRetention(nullptr, r.state, kNow)), "a:no-policy b:no-policy");
  auto set = Compile("policies:\n  - name: \"*\"\n    quota: {bytes: 1GiB}\n");
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Decisions(plan), "a:no-retention b:no-retention");
  EXPECT_EQ(Removed(plan), "");
}

TEST(Retention, EmptyRetentionRemovesEveryTagAndAnEmptyRepositoryIsFine) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {}\n");
  Repo r;
  r.Tag("a", "d1", 400).Tag("b", "d2", 1);
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Decisions(plan), "a:-no-keep-rule b:-no-keep-rule");
  EXPECT_EQ(Removed(plan), "d1 d2");
  EXPECT_EQ(plan.removed_tags(), 2);
  EXPECT_TRUE(PlanRetention(&Only(set), RepositoryState{}, kNow).tags.empty());
}

TEST(Retention, KeepTagsAlone) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {keep_tags: [latest, \"v*\"]}\n");
  Repo r;
  r.Tag("latest", "d1", 400).Tag("v1", "d2", 300).Tag("dev", "d3", 0);
  EXPECT_EQ(Decisions(PlanRetention(&Only(set), r.state, kNow)), "dev:-no-keep-rule latest:keep_tags v1:keep_tags");
}

TEST(Retention, KeepLastAloneWithTiesDecidedByName) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {keep_last: 2}\n");
  Repo r;
  r.Tag("c", "d1", 5).Tag("b", "d2", 5).Tag("a", "d3", 5).Tag("new", "d4", 1);
  // new is newest; then a tie of three at 5 days: a, b (by name) -> only "a" fits.
  EXPECT_EQ(Decisions(PlanRetention(&Only(set), r.state, kNow)),
            "a:keep_last b:-no-keep-rule c:-no-keep-rule new:keep_last");
  // The same every run, whatever order the database returned.
  std::reverse(r.state.tags.begin(), r.state.tags.end());
  EXPECT_EQ(Decisions(PlanRetention(&Only(set), r.state, kNow)),
            "a:keep_last b:-no-keep-rule c:-no-keep-rule new:keep_last");
}

TEST(Retention, PushedAndPulledWithin) {
  auto set = Compile(
      "policies:\n  - name: \"*\"\n    retention: {keep_pushed_within: 7d, keep_pulled_within: 30d}\n");
  Repo r;
  r.Tag("fresh", "d1", 6).Tag("pulled", "d2", 100).Tag("stale", "d3", 100).Tag("old-pull", "d4", 100);
  r.Manifest("d2", 100, 29).Manifest("d4", 100, 31);
  EXPECT_EQ(Decisions(PlanRetention(&Only(set), r.state, kNow)),
            "fresh:keep_pushed_within old-pull:-no-keep-rule pulled:keep_pulled_within stale:-no-keep-rule");
}

TEST(Retention, CombinedRulesFirstDecidingRuleIsReported) {
  auto set = Compile(R"(
policies:
  - name: "myorg/**"
    immutable_tags: ["v*"]
    retention: {keep_tags: [latest, "v*"], keep_last: 1, keep_pushed_within: 30d}
)");
  Repo r;
  r.Tag("v1", "d1", 400).Tag("latest", "d2", 400).Tag("pr-3", "d3", 2).Tag("pr-2", "d4", 10).Tag("pr-1", "d5", 60);
  // v1 is immutable (and in keep_tags): immutable decides; keep_last takes the newest other (pr-3).
  EXPECT_EQ(Decisions(PlanRetention(&Only(set), r.state, kNow)),
            "latest:keep_tags pr-1:-no-keep-rule pr-2:keep_pushed_within pr-3:keep_last v1:immutable_tags");
}

TEST(Retention, ImmutableTagsAreNeverRemovedEvenWithoutKeepRules) {
  auto set = Compile("policies:\n  - name: \"*\"\n    immutable_tags: [\"release-*\"]\n    retention: {}\n");
  Repo r;
  r.Tag("release-1", "d1", 900).Tag("tmp", "d2", 900);
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Decisions(plan), "release-1:immutable_tags tmp:-no-keep-rule");
  EXPECT_EQ(Removed(plan), "d2");
}

TEST(Retention, TagsSharingADigestKeepTheManifest) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {keep_tags: [stable]}\n");
  Repo r;
  r.Tag("stable", "d1", 100).Tag("build-7", "d1", 100).Tag("build-6", "d2", 100).Tag("build-5", "d2", 100);
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Decisions(plan), "build-5:-no-keep-rule build-6:-no-keep-rule build-7:-no-keep-rule stable:keep_tags");
  EXPECT_EQ(Removed(plan), "d2");  // d1 stays: a kept tag needs it
}

TEST(Retention, IndexesTakeTheirUntaggedChildrenButNotWhatAKeptIndexNeeds) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {keep_tags: [keep]}\n");
  Repo r;
  r.Tag("old", "idx1", 100).Tag("keep", "idx2", 100);
  r.Manifest("idx1", 100, {}, "", {"amd64", "arm64"});
  r.Manifest("idx2", 100, {}, "", {"arm64", "s390x"});
  r.Manifest("amd64", 100).Manifest("arm64", 100).Manifest("s390x", 100);
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Decisions(plan), "keep:keep_tags old:-no-keep-rule");
  EXPECT_EQ(Removed(plan), "idx1 amd64");  // arm64 is a child of the kept index
}

TEST(Retention, ATaggedChildOfAKeptIndexStays) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {keep_tags: [multi]}\n");
  Repo r;
  r.Tag("multi", "idx", 100).Tag("amd64-only", "amd64", 100);
  r.Manifest("idx", 100, {}, "", {"amd64"});
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Decisions(plan), "amd64-only:-no-keep-rule multi:keep_tags");
  EXPECT_EQ(Removed(plan), "");  // the tag goes; the manifest stays for the index
}

TEST(Retention, ReferrersFollowTheirSubject) {
  auto set = Compile("policies:\n  - name: \"*\"\n    retention: {keep_tags: [keep]}\n");
  Repo r;
  r.Tag("keep", "img1", 100).Tag("old", "img2", 100);
  // Tagged referrers (the tag schema fallback, sha256-<hex>): of a kept subject they stay, of a removed one they go.
  r.Tag("sha256-img1", "sig1", 100).Tag("sha256-img2", "sig2", 100);
  r.Manifest("sig1", 100, {}, "img1").Manifest("sig2", 100, {}, "img2");
  auto plan = PlanRetention(&Only(set), r.state, kNow);
  EXPECT_EQ(Removed(plan), "img2 sig2");
  EXPECT_EQ(Decisions(plan),
            "keep:keep_tags old:-no-keep-rule sha256-img1:-no-keep-rule sha256-img2:-no-keep-rule");
}

// The engine's share of the target (a dry run over 100,000 tags in <= 2 s):
// the database's reads are one query per table.
TEST(Retention, HundredThousandTagsArePlannedQuickly) {
  auto set = Compile(R"(
policies:
  - name: "*"
    immutable_tags: ["v*"]
    retention: {keep_tags: [latest], keep_last: 1000, keep_pushed_within: 30d, keep_pulled_within: 90d}
)");
  RepositoryState state;
  for (int i = 0; i < 100'000; ++i) {
    const std::string digest = "sha256:" + std::to_string(i % 50'000);
    state.tags.push_back({"build-" + std::to_string(i), digest, kNow - (i % 400) * kDay});
    if (i < 50'000) state.manifests.push_back({digest, kNow - (i % 400) * kDay, std::nullopt, "", {}});
  }
  const auto start = std::chrono::steady_clock::now();
  auto plan = PlanRetention(&Only(set), state, kNow);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(plan.tags.size(), 100'000u);
  EXPECT_GT(plan.removed_tags(), 0);
  EXPECT_LT(ms, 2000) << "planning 100,000 tags took " << ms << " ms";
}

}  // namespace
}  // namespace berth::policy
