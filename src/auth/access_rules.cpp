#include "auth/access_rules.h"

#include <optional>
#include <string>

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
    if (!IsBcryptHash(u.password)) {
      return config::ErrorAt(
          cfg.source, u.password_pos,
          "users." + u.name +
              ".password must be a bcrypt hash ($2y$, $2b$ or $2a$; make one with `berth hash-password`)");
    }
    rules.users[u.name] = u.password;
  }
  int index = 0;
  for (const config::AclEntryConfig& c : cfg.acl) {
    const std::string path = "acl[" + std::to_string(index++) + "]";
    AclEntry e;
    if (c.account && c.account->empty()) {
      e.anonymous_only = true;  // account: ""
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
