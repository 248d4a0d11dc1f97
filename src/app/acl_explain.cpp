// berth acl explain (see commands.h).
#include <iostream>
#include <set>
#include <vector>

#include "app/commands.h"
#include "app/load_config.h"
#include "auth/acl.h"

namespace berth::app {
namespace {

std::string DescribeEntry(const auth::AclEntry& e) {
  std::string s = "account=";
  if (e.group) {
    s += "@" + *e.group;
  } else {
    s += e.anonymous_only ? "\"\" (anonymous)" : e.account ? e.account->text() : "(any signed-in user)";
  }
  s += " name=" + (e.name ? e.name->text() : std::string("(any)"));
  if (e.type) s += " type=" + *e.type;
  if (e.service) s += " service=" + e.service->text();
  if (!e.ips.empty()) s += " ip=(" + std::to_string(e.ips.size()) + " ranges)";
  s += " actions=[";
  bool first = true;
  for (const auto& a : e.actions) {
    s += (first ? "" : ",") + a;
    first = false;
  }
  s += "]";
  if (!e.comment.empty()) s += " # " + e.comment;
  return s;
}

}  // namespace

int AclExplain(const AclQuery& q) {
  auto loaded = LoadConfig(q.config_path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().message() << "\n";
    return 1;
  }
  const config::Config& cfg = loaded->config;
  auth::Acl acl(loaded->access.acl);
  if (cfg.users.empty() && cfg.acl.empty()) {
    std::cout << "no users and no acl: the bootstrap default applies (admin may do everything, nobody else anything)\n";
    return 0;
  }
  const std::string service = q.service.empty() ? cfg.auth.token.service : q.service;
  const bool catalog = q.repo == "catalog" || q.repo == "_catalog";
  std::vector<std::string> actions =
      q.action.empty() ? std::vector<std::string>{"pull", "push", "delete"} : std::vector<std::string>{q.action};
  if (catalog && q.action.empty()) actions = {"*"};
  const std::set<std::string, std::less<>> directory_groups(q.groups.begin(), q.groups.end());
  int status = 1;
  for (const auto& a : actions) {
    auth::AccessRequest req{q.user, catalog ? "registry" : "repository", catalog ? "catalog" : q.repo, q.ip, service};
    req.groups = &directory_groups;
    auto d = acl.Authorize(req, {a});
    std::cout << (q.user.empty() ? "(anonymous)" : q.user) << " " << a << " " << (catalog ? "registry:catalog" : q.repo)
              << ": " << (d.granted.empty() ? "DENIED" : "ALLOWED");
    if (d.entry < 0) {
      std::cout << " (no entry matches: deny by default)\n";
    } else {
      const auto& e = acl.entries()[static_cast<size_t>(d.entry)];
      std::cout << " by acl[" << d.entry << "] (" << q.config_path << ":" << e.line << ")";
      if (e.group) {
        const bool from_yaml = e.group_members.count(q.user) != 0;
        std::cout << " as a member of group " << *e.group << (from_yaml ? " (groups:)" : " (directory)");
      }
      std::cout << ": " << DescribeEntry(e) << "\n";
    }
    if (!d.granted.empty()) status = 0;
  }
  return status;
}

}  // namespace berth::app
