// berth verify and berth du (see commands.h): read-only walks of the store.
#include <algorithm>
#include <iostream>

#include "app/commands.h"
#include "app/load_config.h"
#include "app/storage_factory.h"
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

int DiskUsage(std::string config_path, bool json) {
  std::string where;
  auto driver = OpenStore(std::move(config_path), &where);
  if (!driver) return 2;
  auto usage = storage::ComputeUsage(*driver);
  std::cout << (json ? storage::FormatUsageJson(usage) : storage::FormatUsageTable(usage));
  return 0;
}

}  // namespace berth::app
