// Policies at the registry's doors (docs/policies.md): immutable tags (checked
// under the repository's write lock, with the tag as it is at that instant)
// and quotas (checked before an upload's bytes or a manifest become visible).
#include "http/blocking.h"
#include "observability/metrics.h"
#include "util/log.h"
#include "policy/quota.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {

std::shared_ptr<const policy::PolicySet> RegistryApi::Policies() const {
  if (policies_ == nullptr) return std::make_shared<policy::PolicySet>();
  return policies_->Get();
}

metadata::MetadataStore::TagGuard RegistryApi::ImmutableTagGuard(const std::string& name, const std::string& digest,
                                                                 std::shared_ptr<std::string> refusal) const {
  std::shared_ptr<const policy::PolicySet> set = Policies();
  const policy::Policy* p = set->Match(name);
  if (p == nullptr || p->immutable_tags.empty()) return nullptr;
  // The refusal's message goes out through `refusal`; the status only stops the write.
  auto refuse = [refusal](std::string message) {
    *refusal = std::move(message);
    return Status(StatusCode::kAlreadyExists, *refusal);
  };
  return [set, p, name, digest, refuse](const std::vector<metadata::TagInfo>& tags) -> Status {
    for (const metadata::TagInfo& tag : tags) {
      const auth::Pattern* rule = p->ImmutableRule(tag.name);
      if (rule == nullptr) continue;
      const std::string which = "tag \"" + tag.name + "\" of " + name + " is immutable (" + p->Label() +
                                ", immutable_tags \"" + rule->text() + "\")";
      if (digest.empty()) return refuse(which + ": it cannot be deleted");
      if (tag.digest != digest) {
        return refuse(which + ": it points at " + tag.digest +
                      "; pushing that digest again is allowed, another one needs a new tag");
      }
    }
    return Status::Ok();
  };
}

Task<std::optional<http::Response>> RegistryApi::RefuseOverQuota(const std::string& name, int64_t needed,
                                                                std::string digest) {
  std::shared_ptr<const policy::PolicySet> set = Policies();
  const policy::Policy* p = set->Match(name);
  if (p == nullptr || !p->quota_bytes) co_return std::nullopt;  // no database hop without a quota
  metadata::MetadataStore* meta = &meta_;
  auto check = [meta, set, name, needed, digest] { return policy::CheckQuota(*meta, *set, name, needed, digest); };
  Result<std::string> refusal = co_await http::RunBlocking(db_threads_, std::move(check));
  if (!refusal.ok()) co_return MetadataErrorResponse(refusal.status());
  if (refusal->empty()) co_return std::nullopt;
  co_return Error(code::kForbidden, *refusal);
}

namespace {

// The usage of every policy with a quota, on the database threads.
struct QuotaUsages {
  metadata::MetadataStore* meta;
  std::shared_ptr<const policy::PolicySet> set;

  std::string operator()() const {
    obs::TextExposition out;
    std::vector<std::pair<const policy::Policy*, int64_t>> used;
    for (const auto& p : set->policies()) {
      if (!p.quota_bytes) continue;
      auto usage = policy::PolicyUsage(*meta, *set, p);
      if (!usage.ok()) {
        log::Warn("quota usage unknown for the metrics", {{"policy", p.Label()}, {"error", usage.status().message()}});
        continue;
      }
      used.emplace_back(&p, usage->bytes);
    }
    if (used.empty()) return "";
    out.Family("berth_quota_used_bytes", "gauge",
               "Bytes of the distinct blobs the repositories of a policy with a quota hold");
    for (const auto& [p, bytes] : used) {
      out.Sample("berth_quota_used_bytes", {{"policy", p->name.text()}}, static_cast<uint64_t>(bytes));
    }
    out.Family("berth_quota_limit_bytes", "gauge", "The quota of a policy, in bytes");
    for (const auto& [p, bytes] : used) {
      out.Sample("berth_quota_limit_bytes", {{"policy", p->name.text()}}, static_cast<uint64_t>(*p->quota_bytes));
    }
    return out.Take();
  }
};

}  // namespace

Task<std::string> RegistryApi::QuotaMetrics() {
  std::shared_ptr<const policy::PolicySet> set = Policies();
  bool any = false;
  for (const auto& p : set->policies()) any = any || p.quota_bytes.has_value();
  if (!any) co_return std::string();
  QuotaUsages call{&meta_, set};
  co_return co_await http::RunBlocking(db_threads_, std::move(call));
}

}  // namespace berth::registry
