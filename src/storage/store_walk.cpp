#include "storage/store_walk.h"

#include <algorithm>

#include "storage/layout.h"

namespace berth::storage::walk {
namespace {

bool IsRepositoryMarker(const std::string& c) {
  return c == "_manifests" || c == "_layers" || c == "_uploads" || c == "_referrers";
}

void WalkRepos(StorageDriver& driver, const std::string& path, const std::string& name, int depth,
               std::vector<std::string>* out) {
  auto children = driver.List(path);
  if (!children.ok()) return;
  if (!name.empty() && std::any_of(children->begin(), children->end(), IsRepositoryMarker)) out->push_back(name);
  if (depth > 64) return;  // names are at most 255 characters: deeper is not a repository
  for (const auto& c : *children) {
    if (c.empty() || c[0] == '_') continue;
    std::string child_name = name.empty() ? c : name + "/" + c;
    auto info = driver.Stat(path + "/" + c);
    if (info.ok() && info->is_dir) WalkRepos(driver, path + "/" + c, child_name, depth + 1, out);
  }
}

}  // namespace

bool IsFile(StorageDriver& driver, const std::string& path) {
  auto info = driver.Stat(path);
  return info.ok() && !info->is_dir;
}

std::vector<std::string> Repositories(StorageDriver& driver) {
  std::vector<std::string> out;
  WalkRepos(driver, layout::RepositoriesRoot(), "", 0, &out);
  std::sort(out.begin(), out.end());
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
  const std::string root = layout::kRoot + "/blobs";
  auto algs = driver.List(root);
  if (!algs.ok()) return out;
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
        out.push_back(DigestEntry{*d, prefix_dir + "/" + hex});
      }
    }
  }
  return out;
}

}  // namespace berth::storage::walk
