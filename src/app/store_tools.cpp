// berth verify and berth du (see commands.h): read-only walks of the store.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/load_config.h"
#include "app/metadata_factory.h"
#include "app/storage_factory.h"
#include "policy/quota.h"
#include "storage/usage.h"
#include "storage/verify.h"

namespace berth::app {
namespace {

// The store of the configuration `config_path` names, opened read-only; nullptr
// (the error written, exit code 2 due) when the config or the store cannot be read.
std::unique_ptr<storage::StorageDriver> OpenStore(std::string config_path, std::string* where,
                                                  config::Config* config = nullptr) {
  auto loaded = LoadConfigFor(&config_path);
  if (!loaded.ok()) {
    std::cerr << "berth: " << loaded.status().message() << "\n";
    return nullptr;
  }
  auto driver = OpenStorageReadOnly(loaded->config);
  if (!driver.ok()) {
    std::cerr << "berth: cannot open storage: " << driver.status().message() << "\n";
    return nullptr;
  }
  *where = (*driver)->Info().Where();
  if (config != nullptr) *config = std::move(loaded->config);
  return std::move(*driver);
}

}  // namespace

int Verify(std::string config_path) {
  std::string where;
  config::Config config;
  auto driver = OpenStore(std::move(config_path), &where, &config);
  if (!driver) return 2;
  std::cout << "verifying " << where << "\n";
  auto report = storage::VerifyStore(*driver);
  for (const auto& p : report.problems) std::cout << storage::FormatProblem(p) << "\n";
  std::cout << storage::FormatSummary(report);
  const int store_rc = report.clean() ? 0 : 1;
  // 0 clean, 1 differences, 2 could not run: the worse of the two decides.
  const int db_rc = CheckMetadataDatabase(config, *driver, /*optional=*/true);
  return std::max(store_rc, db_rc);
}

namespace {

struct QuotaLine {
  const policy::Policy* policy;
  int64_t used = 0;
  std::string error;  // the database could not tell
};

// The quotas of `policies:` with their usage from the metadata database (only
// when some policy has a quota: otherwise du does not open the database).
std::vector<QuotaLine> QuotaUsage(const config::Config& cfg, const policy::PolicySet& set) {
  std::vector<QuotaLine> out;
  for (const auto& p : set.policies()) {
    if (p.quota_bytes) out.push_back(QuotaLine{&p, 0, ""});
  }
  if (out.empty()) return out;
  auto pool = OpenMetadataPool(cfg);
  std::unique_ptr<metadata::MetadataStore> meta;
  if (pool.ok()) meta = std::make_unique<metadata::MetadataStore>(*pool);
  for (auto& line : out) {
    if (!meta) {
      line.error = pool.status().message();
      continue;
    }
    auto usage = policy::PolicyUsage(*meta, set, *line.policy);
    if (usage.ok()) {
      line.used = usage->bytes;
    } else {
      line.error = usage.status().message();
    }
  }
  return out;
}

}  // namespace

int DiskUsage(std::string config_path, bool json) {
  std::string where;
  config::Config config;
  auto driver = OpenStore(config_path, &where, &config);
  if (!driver) return 2;
  auto usage = storage::ComputeUsage(*driver);
  // The quotas of policies: (docs/policies.md), next to the store's totals.
  auto set = policy::PolicySet::Compile(config);
  std::vector<QuotaLine> quotas;
  if (set.ok()) quotas = QuotaUsage(config, **set);
  if (!json) {
    std::cout << storage::FormatUsageTable(usage);
    for (const auto& q : quotas) {
      const int64_t limit = *q.policy->quota_bytes;
      std::cout << "quota " << q.policy->Label() << ": ";
      if (!q.error.empty()) {
        std::cout << "usage unknown (" << q.error << ") of " << config::FormatSize(limit) << "\n";
        continue;
      }
      const double percent = 100.0 * static_cast<double>(q.used) / static_cast<double>(limit);
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.1f%%", percent);
      std::cout << config::FormatSize(q.used) << " of " << config::FormatSize(limit) << " used (" << pct << "; "
                << q.used << " of " << limit << " bytes)\n";
    }
    return 0;
  }
  if (quotas.empty()) {
    std::cout << storage::FormatUsageJson(usage);
    return 0;
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(storage::FormatUsageJson(usage));
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& q : quotas) {
    nlohmann::ordered_json entry = {{"policy", q.policy->index},
                                    {"name", q.policy->name.text()},
                                    {"limit_bytes", *q.policy->quota_bytes}};
    if (q.error.empty()) {
      entry["used_bytes"] = q.used;
    } else {
      entry["error"] = q.error;
    }
    list.push_back(std::move(entry));
  }
  doc["quotas"] = std::move(list);
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace berth::app
