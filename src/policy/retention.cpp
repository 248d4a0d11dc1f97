#include "policy/retention.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace berth::policy {
namespace {

std::string Age(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s >= 86400) return std::to_string(s / 86400) + "d";
  if (s >= 3600) return std::to_string(s / 3600) + "h";
  if (s >= 60) return std::to_string(s / 60) + "m";
  return std::to_string(std::max<int64_t>(s, 0)) + "s";
}

}  // namespace

const char* RuleName(Rule rule) {
  switch (rule) {
    case Rule::kNoPolicy: return "no-policy";
    case Rule::kNoRetention: return "no-retention";
    case Rule::kImmutable: return "immutable_tags";
    case Rule::kKeepTags: return "keep_tags";
    case Rule::kKeepLast: return "keep_last";
    case Rule::kPushedWithin: return "keep_pushed_within";
    case Rule::kPulledWithin: return "keep_pulled_within";
    case Rule::kNoKeepRule: return "no-keep-rule";
  }
  return "?";
}

int64_t RetentionPlan::removed_tags() const {
  return std::count_if(tags.begin(), tags.end(), [](const TagDecision& d) { return !d.keep; });
}

RetentionPlan PlanRetention(const Policy* policy, const RepositoryState& state, int64_t now_ms) {
  RetentionPlan plan;
  std::vector<const TagRecord*> tags;
  tags.reserve(state.tags.size());
  for (const auto& t : state.tags) tags.push_back(&t);
  std::sort(tags.begin(), tags.end(), [](const TagRecord* a, const TagRecord* b) { return a->name < b->name; });
  plan.tags.reserve(tags.size());
  for (const TagRecord* t : tags) plan.tags.push_back(TagDecision{t->name, t->digest, true, Rule::kNoPolicy, ""});
  if (policy == nullptr) return plan;
  if (!policy->retention) {
    for (auto& d : plan.tags) d.rule = Rule::kNoRetention;
    return plan;
  }
  const RetentionRules& rules = *policy->retention;
  std::unordered_map<std::string_view, const ManifestNode*> manifests;
  manifests.reserve(state.manifests.size());
  for (const auto& m : state.manifests) manifests.emplace(m.digest, &m);

  // 1. immutable_tags and keep_tags: by name.
  std::vector<size_t> others;  // what keep_last ranks
  for (size_t i = 0; i < plan.tags.size(); ++i) {
    TagDecision& d = plan.tags[i];
    if (const auth::Pattern* p = policy->ImmutableRule(d.tag)) {
      d.rule = Rule::kImmutable;
      d.detail = "matches \"" + p->text() + "\"";
      continue;
    }
    const auto kept = std::find_if(rules.keep_tags.begin(), rules.keep_tags.end(),
                                   [&](const auth::Pattern& p) { return p.Matches(d.tag); });
    if (kept != rules.keep_tags.end()) {
      d.rule = Rule::kKeepTags;
      d.detail = "matches \"" + kept->text() + "\"";
      continue;
    }
    others.push_back(i);
  }
  // 2. keep_last: the newest of the others; ties by name (plan.tags is in name order: a stable sort keeps it).
  std::stable_sort(others.begin(), others.end(),
                   [&](size_t a, size_t b) { return tags[a]->pushed_at > tags[b]->pushed_at; });
  const int64_t keep_last = rules.keep_last.value_or(0);
  for (size_t rank = 0; rank < others.size(); ++rank) {
    const size_t i = others[rank];
    TagDecision& d = plan.tags[i];
    if (static_cast<int64_t>(rank) < keep_last) {
      d.rule = Rule::kKeepLast;
      d.detail = "#" + std::to_string(rank + 1) + " most recently pushed of " + std::to_string(keep_last);
      continue;
    }
    const int64_t pushed_age = now_ms - tags[i]->pushed_at;
    if (rules.keep_pushed_within_ms && pushed_age <= *rules.keep_pushed_within_ms) {
      d.rule = Rule::kPushedWithin;
      d.detail = "pushed " + Age(pushed_age) + " ago";
      continue;
    }
    auto m = manifests.find(d.digest);
    const std::optional<int64_t> pulled =
        m == manifests.end() ? std::nullopt : m->second->last_pulled_at;
    if (rules.keep_pulled_within_ms && pulled && now_ms - *pulled <= *rules.keep_pulled_within_ms) {
      d.rule = Rule::kPulledWithin;
      d.detail = "pulled " + Age(now_ms - *pulled) + " ago";
      continue;
    }
    d.keep = false;
    d.rule = Rule::kNoKeepRule;
    d.detail = "pushed " + Age(pushed_age) + " ago" + (pulled ? ", pulled " + Age(now_ms - *pulled) + " ago" : ", never pulled");
  }

  // 3. The manifests that go: those whose every tag goes, with their untagged
  // children; then, to a fixpoint, drop any that something staying needs.
  std::unordered_set<std::string_view> kept_digests, tagged;
  for (const auto& d : plan.tags) {
    tagged.insert(d.digest);
    if (d.keep) kept_digests.insert(d.digest);
  }
  std::vector<std::string_view> order;  // parents before their children
  std::unordered_set<std::string_view> removing;
  for (const auto& d : plan.tags) {
    if (d.keep || kept_digests.count(d.digest) != 0 || manifests.count(d.digest) == 0) continue;
    if (removing.insert(d.digest).second) order.push_back(d.digest);
  }
  for (size_t i = 0; i < order.size(); ++i) {  // grows while walking: untagged descendants
    auto m = manifests.find(order[i]);
    if (m == manifests.end()) continue;
    for (const auto& child : m->second->children) {
      if (tagged.count(child) != 0 || manifests.count(child) == 0) continue;
      if (removing.insert(child).second) order.push_back(manifests.find(child)->first);
    }
  }
  bool changed = !removing.empty();
  while (changed) {
    changed = false;
    std::unordered_set<std::string_view> needed;
    for (const auto& m : state.manifests) {
      const bool stays = removing.count(m.digest) == 0;
      if (stays) {
        for (const auto& child : m.children) needed.insert(child);
      }
      // A referrer whose subject stays is needed by it.
      if (!m.subject.empty() && removing.count(m.subject) == 0) needed.insert(m.digest);
    }
    for (auto it = removing.begin(); it != removing.end();) {
      if (needed.count(*it) != 0) {
        it = removing.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  for (std::string_view d : order) {
    if (removing.count(d) != 0) plan.manifests.emplace_back(d);
  }
  return plan;
}

}  // namespace berth::policy
