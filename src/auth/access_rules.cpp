#include "auth/access_rules.h"

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <string>

#include "auth/ldap/filter.h"
#include "auth/password.h"
#include "auth/pattern.h"

namespace berth::auth {
namespace {

// Compiles one pattern condition of an acl entry (absent stays absent).
Status CompileCondition(const config::Config& cfg, const std::string& path, const char* key,
                        const std::optional<std::string>& text, config::SourcePos pos, std::optional<Pattern>* out) {
  if (!text) return Status::Ok();
  auto p = Pattern::Compile(*text);
  if (!p.ok()) return config::ErrorAt(cfg.source, pos, path + "." + key + ": " + p.status().message());
  *out = std::move(*p);
  return Status::Ok();
}

}  // namespace

Result<AccessRules> CompileAccessRules(const config::Config& cfg) {
  AccessRules rules;
  for (const config::UserConfig& u : cfg.users) {
    if (u.robot) {
      rules.users[u.name] = std::string(kRobotHash);
      continue;
    }
    if (!IsBcryptHash(u.password)) {
      return config::ErrorAt(
          cfg.source, u.password_pos,
          "users." + u.name +
              ".password must be a bcrypt hash ($2y$, $2b$ or $2a$; make one with `berth hash-password`)");
    }
    rules.users[u.name] = u.password;
  }
  // Group members without the directory must be YAML users (a typo would
  // silently grant nothing); with a directory they may be its users too.
  const bool directory = cfg.auth.ldap.enabled;
  std::map<std::string, std::set<std::string, std::less<>>> groups;
  for (const config::GroupConfig& g : cfg.groups) {
    auto& members = groups[g.name];
    for (size_t i = 0; i < g.members.size(); ++i) {
      if (!directory && rules.users.count(g.members[i]) == 0) {
        return config::ErrorAt(cfg.source, g.member_pos[i],
                               "groups." + g.name + ": '" + g.members[i] + "' is not a user (none under users:)");
      }
      members.insert(g.members[i]);
    }
  }
  if (directory) {
    // The filters must parse whatever a user name or DN is substituted (escaped) into them.
    const std::map<std::string, std::string> sample{{"username", "x"}, {"dn", "cn=x"}};
    const config::LdapConfig& l = cfg.auth.ldap;
    for (auto [key, text, pos] : {std::tuple{"user_filter", &l.user_filter, l.user_filter_pos},
                                  std::tuple{"group_filter", &l.group_filter, l.group_filter_pos}}) {
      if (auto f = ldap::EncodeFilter(ldap::ExpandFilter(*text, sample)); !f.ok()) {
        return config::ErrorAt(cfg.source, pos.line > 0 ? pos : l.pos,
                               std::string("auth.ldap.") + key + ": " + f.status().message());
      }
    }
  }
  int index = 0;
  for (const config::AclEntryConfig& c : cfg.acl) {
    const std::string path = "acl[" + std::to_string(index++) + "]";
    AclEntry e;
    if (c.account && c.account->empty()) {
      e.anonymous_only = true;  // account: ""
    } else if (c.account && c.account->front() == '@') {
      const std::string group = c.account->substr(1);
      auto g = groups.find(group);
      if (g == groups.end() && !directory) {
        return config::ErrorAt(cfg.source, c.account_pos,
                               path + ".account: no group '" + group + "' (define it under groups:)");
      }
      e.group = group;
      if (g != groups.end()) e.group_members = g->second;
    } else if (Status s = CompileCondition(cfg, path, "account", c.account, c.account_pos, &e.account); !s.ok()) {
      return s;
    }
    if (Status s = CompileCondition(cfg, path, "name", c.name, c.name_pos, &e.name); !s.ok()) return s;
    if (Status s = CompileCondition(cfg, path, "service", c.service, c.service_pos, &e.service); !s.ok()) return s;
    e.type = c.type;
    e.ips = c.ips;
    e.actions = c.actions;
    e.comment = c.comment;
    e.line = c.line;
    rules.acl.push_back(std::move(e));
  }
  return rules;
}

}  // namespace berth::auth
