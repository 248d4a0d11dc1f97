#include "policy/policy_set.h"

namespace berth::policy {
namespace {

Result<auth::Pattern> CompileAt(const config::Config& cfg, config::SourcePos pos, const std::string& where,
                                const std::string& text) {
  // ${account} and ${name} belong to access requests; a policy has neither.
  if (text.find("${") != std::string::npos) {
    return config::ErrorAt(cfg.source, pos, where + ": placeholders like ${name} are not allowed in policies");
  }
  auto p = auth::Pattern::Compile(text);
  if (!p.ok()) return config::ErrorAt(cfg.source, pos, where + ": " + p.status().message());
  return std::move(*p);
}

// The literal start of a glob: every value it matches begins with it.
std::string LiteralPrefix(const auth::Pattern& p) {
  if (p.is_regex()) return "";
  const std::string& t = p.text();
  return t.substr(0, t.find_first_of("*?[\\$"));
}

}  // namespace

std::string Policy::Label() const { return "policies[" + std::to_string(index) + "] \"" + name.text() + "\""; }

const auth::Pattern* Policy::ImmutableRule(std::string_view tag) const {
  for (const auto& p : immutable_tags) {
    if (p.Matches(tag)) return &p;
  }
  return nullptr;
}

Result<std::shared_ptr<const PolicySet>> PolicySet::Compile(const config::Config& cfg) {
  std::vector<Policy> out;
  for (size_t i = 0; i < cfg.policies.size(); ++i) {
    const config::PolicyConfig& c = cfg.policies[i];
    const std::string path = "policies[" + std::to_string(i) + "]";
    auto name = CompileAt(cfg, c.name_pos, path + ".name", c.name);
    if (!name.ok()) return name.status();
    Policy p{static_cast<int>(i), c.line, std::move(*name), "", {}, std::nullopt, c.quota_bytes};
    p.name_prefix = LiteralPrefix(p.name);
    for (size_t j = 0; j < c.immutable_tags.size(); ++j) {
      auto t = CompileAt(cfg, c.immutable_tags_pos[j], path + ".immutable_tags", c.immutable_tags[j]);
      if (!t.ok()) return t.status();
      p.immutable_tags.push_back(std::move(*t));
    }
    if (c.retention) {
      RetentionRules r;
      for (size_t j = 0; j < c.retention->keep_tags.size(); ++j) {
        auto t = CompileAt(cfg, c.retention->keep_tags_pos[j], path + ".retention.keep_tags",
                           c.retention->keep_tags[j]);
        if (!t.ok()) return t.status();
        r.keep_tags.push_back(std::move(*t));
      }
      r.keep_last = c.retention->keep_last;
      if (c.retention->keep_pushed_within_s) r.keep_pushed_within_ms = *c.retention->keep_pushed_within_s * 1000;
      if (c.retention->keep_pulled_within_s) r.keep_pulled_within_ms = *c.retention->keep_pulled_within_s * 1000;
      p.retention = std::move(r);
    }
    out.push_back(std::move(p));
  }
  return std::shared_ptr<const PolicySet>(std::make_shared<PolicySet>(std::move(out)));
}

const Policy* PolicySet::Match(std::string_view repository) const {
  for (const Policy& p : policies_) {
    if (p.name.Matches(repository)) return &p;
  }
  return nullptr;
}

}  // namespace berth::policy
