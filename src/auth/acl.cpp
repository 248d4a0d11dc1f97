#include "auth/acl.h"

namespace berth::auth {

std::set<std::string> IntersectActions(const std::set<std::string>& requested, const std::set<std::string>& allowed) {
  if (allowed.count("*") != 0) return requested;
  std::set<std::string> out;
  for (const auto& a : requested) {
    if (allowed.count(a) != 0) out.insert(a);
  }
  return out;
}

bool Acl::EntryMatches(const AclEntry& e, const AccessRequest& req) const {
  const PatternVars vars{req.account, req.name};
  if (req.account.empty()) {
    if (!e.anonymous_only) return false;
  } else {
    if (e.anonymous_only) return false;
    if (e.account && !e.account->Matches(req.account, vars)) return false;
    if (e.group && e.group_members.count(req.account) == 0 &&
        (req.groups == nullptr || req.groups->count(*e.group) == 0)) {
      return false;
    }
  }
  if (e.type && *e.type != req.type) return false;
  if (e.name && !e.name->Matches(req.name, vars)) return false;
  if (e.service && !e.service->Matches(req.service, vars)) return false;
  if (!e.ips.empty()) {
    bool any = false;
    for (const auto& r : e.ips) any = any || r.Contains(req.ip);
    if (!any) return false;
  }
  return true;
}

AclDecision Acl::Authorize(const AccessRequest& req, const std::set<std::string>& requested) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (EntryMatches(entries_[i], req)) {
      return AclDecision{static_cast<int>(i), IntersectActions(requested, entries_[i].actions)};
    }
  }
  return AclDecision{};
}

}  // namespace berth::auth
