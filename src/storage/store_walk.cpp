#include "storage/store_walk.h"

#include <algorithm>

#include "oci/name.h"
#include "storage/layout.h"

namespace berth::storage::walk {
namespace {

void Mark(RepositoryDir* dir, const std::string& child) {
  if (child == "_manifests") dir->manifests = true;
  if (child == "_layers") dir->layers = true;
  if (child == "_uploads") dir->uploads = true;
  if (child == "_referrers") dir->referrers = true;
}

// Depth-first below `path`, the directory of repository `name` ("" for the root).
void WalkRepositories(StorageDriver& driver, const std::string& path, const std::string& name,
                      std::vector<RepositoryDir>* out) {
  auto children = driver.List(path);
  if (!children.ok()) return;
  if (!name.empty()) {
    RepositoryDir dir{name};
    for (const auto& c : *children) Mark(&dir, c);
    if (dir.IsRepository()) out->push_back(std::move(dir));
  }
  for (const auto& c : *children) {
    if (c.empty() || c[0] == '_') continue;
    std::string child_name = name.empty() ? c : name + "/" + c;
    if (child_name.size() > oci::kMaxNameLength) continue;  // also bounds the depth
    auto info = driver.Stat(path + "/" + c);
    if (info.ok() && info->is_dir) WalkRepositories(driver, path + "/" + c, child_name, out);
  }
}

// Visits every blob directory (as BlobDirs returns them) until `visit` returns false.
bool VisitBlobDirs(StorageDriver& driver, std::vector<std::string>* strays,
                   const std::function<bool(const DigestEntry&)>& visit) {
  const std::string root = layout::kRoot + "/blobs";
  auto algs = driver.List(root);
  if (!algs.ok()) return true;
  std::sort(algs->begin(), algs->end());
  for (const auto& alg : *algs) {
    const std::string alg_dir = root + "/" + alg;
    if (alg != "sha256" && alg != "sha512") {
      if (strays) strays->push_back(alg_dir);
      continue;
    }
    auto prefixes = driver.List(alg_dir);
    if (!prefixes.ok()) {
      if (strays && IsFile(driver, alg_dir)) strays->push_back(alg_dir);
      continue;
    }
    std::sort(prefixes->begin(), prefixes->end());
    for (const auto& prefix : *prefixes) {
      const std::string prefix_dir = alg_dir + "/" + prefix;
      auto hexes = driver.List(prefix_dir);
      if (!hexes.ok()) {
        if (strays && IsFile(driver, prefix_dir)) strays->push_back(prefix_dir);  // a file where a directory belongs
        continue;
      }
      std::sort(hexes->begin(), hexes->end());
      for (const auto& hex : *hexes) {
        auto d = oci::Digest::Parse(alg + ":" + hex);
        if (!d.ok() || hex.compare(0, 2, prefix) != 0 || prefix.size() != 2) {
          if (strays) strays->push_back(prefix_dir + "/" + hex);
          continue;
        }
        if (!visit(DigestEntry{*d, prefix_dir + "/" + hex})) return false;
      }
    }
  }
  return true;
}

}  // namespace

bool IsFile(StorageDriver& driver, const std::string& path) {
  auto info = driver.Stat(path);
  return info.ok() && !info->is_dir;
}

std::vector<RepositoryDir> RepositoryDirs(StorageDriver& driver) {
  std::vector<RepositoryDir> out;
  WalkRepositories(driver, layout::RepositoriesRoot(), "", &out);
  std::sort(out.begin(), out.end(), [](const RepositoryDir& a, const RepositoryDir& b) { return a.name < b.name; });
  return out;
}

RepositoryDir ExamineRepository(StorageDriver& driver, std::string_view name) {
  RepositoryDir dir{std::string(name)};
  auto children = driver.List(layout::Repository(name));
  if (children.ok()) {
    for (const auto& c : *children) Mark(&dir, c);
  }
  return dir;
}

std::vector<std::string> Repositories(StorageDriver& driver) {
  std::vector<std::string> out;
  for (auto& dir : RepositoryDirs(driver)) out.push_back(std::move(dir.name));
  return out;
}

std::vector<DigestEntry> DigestDirs(StorageDriver& driver, const std::string& dir, std::vector<std::string>* strays) {
  std::vector<DigestEntry> out;
  auto algs = driver.List(dir);
  if (!algs.ok()) return out;
  std::sort(algs->begin(), algs->end());
  for (const auto& alg : *algs) {
    const std::string alg_dir = dir + "/" + alg;
    if (alg != "sha256" && alg != "sha512") {
      if (strays) strays->push_back(alg_dir);
      continue;
    }
    auto hexes = driver.List(alg_dir);
    if (!hexes.ok()) {
      if (strays && IsFile(driver, alg_dir)) strays->push_back(alg_dir);
      continue;
    }
    std::sort(hexes->begin(), hexes->end());
    for (const auto& hex : *hexes) {
      auto d = oci::Digest::Parse(alg + ":" + hex);
      if (!d.ok()) {
        if (strays) strays->push_back(alg_dir + "/" + hex);
        continue;
      }
      out.push_back(DigestEntry{*d, alg_dir + "/" + hex});
    }
  }
  return out;
}

Result<oci::Digest> ParseLink(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return oci::Digest::Parse(text);
}

std::vector<DigestEntry> BlobDirs(StorageDriver& driver, std::vector<std::string>* strays) {
  std::vector<DigestEntry> out;
  VisitBlobDirs(driver, strays, [&out](const DigestEntry& e) {
    out.push_back(e);
    return true;
  });
  return out;
}

bool ForEachBlob(StorageDriver& driver, const std::function<bool(const StoredBlob&)>& visit) {
  return VisitBlobDirs(driver, nullptr, [&](const DigestEntry& e) {
    auto info = driver.Stat(layout::BlobData(e.digest));
    if (!info.ok() || info->is_dir) return true;  // no data (an interrupted move): not a blob
    return visit(StoredBlob{e.digest, info->size, info->modified_unix});
  });
}

}  // namespace berth::storage::walk
