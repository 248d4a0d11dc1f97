#include "storage/usage.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "storage/layout.h"
#include "storage/store_walk.h"

namespace berth::storage {
namespace {

std::string Human(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

// Linked digests whose link file is well-formed, from a `<dir>/<alg>/<hex>/link` tree.
std::vector<oci::Digest> LinkedDigests(StorageDriver& driver, const std::string& dir) {
  std::vector<oci::Digest> out;
  for (const auto& e : walk::DigestDirs(driver, dir, nullptr)) {
    auto content = driver.GetContent(e.dir + "/link");
    if (!content.ok()) continue;
    auto d = walk::ParseLink(*content);
    if (d.ok()) out.push_back(*d);
  }
  return out;
}

}  // namespace

UsageReport ComputeUsage(StorageDriver& driver) {
  UsageReport r;
  std::unordered_map<std::string, int64_t> sizes;  // digest -> size; -1 when absent
  walk::ForEachBlob(driver, [&](const walk::StoredBlob& b) {
    sizes[b.digest.str()] = b.size;
    ++r.store_blobs;
    r.store_bytes += b.size;
    return true;
  });
  auto size_of = [&](const oci::Digest& d) -> int64_t {
    auto it = sizes.find(d.str());
    if (it != sizes.end()) return it->second;
    auto info = driver.Stat(layout::BlobData(d));  // added after the blob walk?
    int64_t s = info.ok() && !info->is_dir ? info->size : -1;
    sizes[d.str()] = s;
    return s;
  };
  std::unordered_set<std::string> linked;
  for (const auto& name : walk::Repositories(driver)) {
    RepositoryUsage u;
    u.name = name;
    const std::string repo = layout::Repository(name);
    std::unordered_set<std::string> mine;
    auto add = [&](const oci::Digest& d, bool manifest) {
      const int64_t s = size_of(d);
      if (s < 0 || !mine.insert(d.str()).second) return;
      ++u.blobs;
      if (manifest) ++u.manifests;
      u.bytes += s;
      if (linked.insert(d.str()).second) {
        ++r.linked_blobs;
        r.linked_bytes += s;
      }
    };
    // Manifests first, so a digest linked both ways counts as a manifest.
    for (const auto& d : LinkedDigests(driver, repo + "/_manifests/revisions")) add(d, true);
    for (const auto& d : LinkedDigests(driver, repo + "/_layers")) add(d, false);
    if (auto uploads = driver.List(layout::UploadsDir(name)); uploads.ok()) {
      for (const auto& id : *uploads) {
        ++u.uploads;
        auto info = driver.Stat(layout::UploadsDir(name) + "/" + id + "/data");
        if (info.ok() && !info->is_dir) u.upload_bytes += info->size;
      }
    }
    r.uploads += u.uploads;
    r.upload_bytes += u.upload_bytes;
    r.repositories.push_back(std::move(u));
  }
  std::sort(r.repositories.begin(), r.repositories.end(),
            [](const auto& a, const auto& b) { return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name; });
  return r;
}

std::string FormatUsageTable(const UsageReport& r) {
  size_t width = 10;
  for (const auto& u : r.repositories) width = std::max(width, u.name.size());
  std::string out;
  char line[512];
  auto row = [&](const std::string& name, const std::string& blobs, const std::string& bytes, const std::string& human,
                 const std::string& uploads) {
    std::snprintf(line, sizeof line, "%-*s  %7s  %15s  %10s  %s\n", static_cast<int>(width), name.c_str(),
                  blobs.c_str(), bytes.c_str(), human.c_str(), uploads.c_str());
    out += line;
  };
  row("REPOSITORY", "BLOBS", "BYTES", "SIZE", "UPLOADS IN PROGRESS");
  for (const auto& u : r.repositories) {
    row(u.name, std::to_string(u.blobs), std::to_string(u.bytes), Human(u.bytes),
        u.uploads == 0 ? "-" : std::to_string(u.uploads) + " (" + Human(u.upload_bytes) + ")");
  }
  out += "\n";
  out += "linked blobs (shared counted once): " + std::to_string(r.linked_blobs) + " blobs, " +
         std::to_string(r.linked_bytes) + " bytes (" + Human(r.linked_bytes) + ")\n";
  out += "blob store (linked or not):         " + std::to_string(r.store_blobs) + " blobs, " +
         std::to_string(r.store_bytes) + " bytes (" + Human(r.store_bytes) + ")\n";
  out += "uploads in progress:                " + std::to_string(r.uploads) + " uploads, " +
         std::to_string(r.upload_bytes) + " bytes (" + Human(r.upload_bytes) + ")\n";
  return out;
}

std::string FormatUsageJson(const UsageReport& r) {
  nlohmann::ordered_json repos = nlohmann::ordered_json::array();
  for (const auto& u : r.repositories) {
    repos.push_back({{"name", u.name},
                     {"blobs", u.blobs},
                     {"manifests", u.manifests},
                     {"bytes", u.bytes},
                     {"uploads", u.uploads},
                     {"upload_bytes", u.upload_bytes}});
  }
  nlohmann::ordered_json doc = {{"repositories", repos},
                                {"linked", {{"blobs", r.linked_blobs}, {"bytes", r.linked_bytes}}},
                                {"store", {{"blobs", r.store_blobs}, {"bytes", r.store_bytes}}},
                                {"uploads", {{"count", r.uploads}, {"bytes", r.upload_bytes}}}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace berth::storage
