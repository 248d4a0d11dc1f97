// berth_store_gen: writes a large store in distribution's on-disk layout
// directly with file writes (no registry involved), for the metadata bench
// (bench/metadata_compare) and for trying import/check on a big store.
//
//   berth_store_gen --root DIR [--repos N (100000)] [--tags M (100000)] [--layer-size B (1024)] [--jobs J (nproc)]
//
// It writes, under DIR/docker/registry/v2:
//   - N repositories team-TTT/app-NNNNNN (100 to a team directory), each with one
//     image: its own config blob, one layer shared by all, an OCI manifest, tag "latest";
//   - one repository "big/tags" with one image and M tags tag-NNNNNN pointing at it;
// exactly as distribution (and Berth) writes them: blobs/sha256/XX/HEX/data,
// _layers links for config and layer, the revision link, each tag's current
// and index links. Names are zero-padded, so numeric order is listing order.
// Prints one JSON line describing the store (counts and the names a bench pages from).
// DIR must be empty or absent. J threads share the work (repository i and tag i
// go to thread i mod J); memory does not grow with N.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "oci/digest.h"

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "berth_store_gen: " << what << ": " << std::strerror(errno) << "\n";
  std::exit(1);
}

// mkdir, where the parent is known to exist; an existing directory is fine.
void Mkdir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + path);
}

// mkdir -p for the few directories whose parents may be missing.
void MkdirP(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    errno = ec.value();
    Die("mkdir -p " + path);
  }
}

void WriteFile(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create " + path);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) Die("write " + path);
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) Die("close " + path);
}

class StoreWriter {
 public:
  explicit StoreWriter(std::string root) : v2_(std::move(root) + "/docker/registry/v2") {
    MkdirP(v2_ + "/blobs/sha256");
    MkdirP(v2_ + "/repositories");
  }

  // Writes a blob (once per digest is the caller's business); returns its digest.
  berth::oci::Digest Blob(std::string_view content) {
    const berth::oci::Digest d = berth::oci::DigestOf(content);
    const std::string& hex = d.hex();
    const std::string prefix = v2_ + "/blobs/sha256/" + hex.substr(0, 2);
    Mkdir(prefix);
    Mkdir(prefix + "/" + hex);
    WriteFile(prefix + "/" + hex + "/data", content);
    ++blobs_;
    return d;
  }

  // A repository's directories; `name` may have one '/' (its parent is created too).
  std::string Repository(const std::string& name) {
    const size_t slash = name.find('/');
    if (slash != std::string::npos) Mkdir(v2_ + "/repositories/" + name.substr(0, slash));
    const std::string repo = v2_ + "/repositories/" + name;
    Mkdir(repo);
    for (const char* sub : {"/_layers", "/_layers/sha256", "/_manifests", "/_manifests/revisions",
                            "/_manifests/revisions/sha256", "/_manifests/tags"}) {
      Mkdir(repo + sub);
    }
    return repo;
  }

  void Link(const std::string& dir, const berth::oci::Digest& d) {
    Mkdir(dir + "/" + d.hex());
    WriteFile(dir + "/" + d.hex() + "/link", d.str());
  }
  void LayerLink(const std::string& repo, const berth::oci::Digest& d) { Link(repo + "/_layers/sha256", d); }
  void Revision(const std::string& repo, const berth::oci::Digest& d) {
    Link(repo + "/_manifests/revisions/sha256", d);
  }
  void Tag(const std::string& repo, const std::string& tag, const berth::oci::Digest& d) {
    const std::string t = repo + "/_manifests/tags/" + tag;
    Mkdir(t);
    Mkdir(t + "/current");
    WriteFile(t + "/current/link", d.str());
    Mkdir(t + "/index");
    Mkdir(t + "/index/sha256");
    Link(t + "/index/sha256", d);
  }

  int64_t blobs() const { return blobs_; }

 private:
  std::string v2_;
  std::atomic<int64_t> blobs_{0};
};

std::string Padded(const char* format, int64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, static_cast<long long>(n));
  return buf;
}

std::string RepoName(int64_t i) { return Padded("team-%03lld", i / 100) + Padded("/app-%06lld", i); }
std::string TagName(int64_t i) { return Padded("tag-%06lld", i); }

std::string Descriptor(const char* media_type, const berth::oci::Digest& d, size_t size) {
  return std::string("{\"mediaType\":\"") + media_type + "\",\"digest\":\"" + d.str() +
         "\",\"size\":" + std::to_string(size) + "}";
}

// One image in `repo`: config (unique by `name`), the shared layer, the manifest. Returns the manifest digest.
berth::oci::Digest Image(StoreWriter& w, const std::string& repo, const std::string& name,
                         const berth::oci::Digest& layer, size_t layer_size) {
  const std::string config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{\"name\":\"" + name +
                             "\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + layer.str() + "\"]}}";
  const berth::oci::Digest config_digest = w.Blob(config);
  const std::string manifest =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":" +
      Descriptor("application/vnd.oci.image.config.v1+json", config_digest, config.size()) + ",\"layers\":[" +
      Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer, layer_size) + "]}";
  const berth::oci::Digest manifest_digest = w.Blob(manifest);
  w.LayerLink(repo, config_digest);
  w.LayerLink(repo, layer);
  w.Revision(repo, manifest_digest);
  return manifest_digest;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Write a large store in distribution's layout (for the metadata bench)"};
  std::string root;
  int64_t repos = 100'000, tags = 100'000, layer_size = 1024;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--root", root, "Store root (the registry's rootdirectory); must be empty or absent")->required();
  app.add_option("--repos", repos, "Repositories with one image and one tag each")->check(CLI::Range(0, 10'000'000));
  app.add_option("--tags", tags, "Tags of the one big repository (big/tags)")->check(CLI::Range(0, 10'000'000));
  app.add_option("--layer-size", layer_size, "Bytes of the shared layer")->check(CLI::Range(1, 1 << 26));
  app.add_option("--jobs", jobs, "Writer threads (default: the number of CPUs)")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  if (std::filesystem::exists(root, ec) && !std::filesystem::is_empty(root, ec)) {
    std::cerr << "berth_store_gen: " << root << " is not empty\n";
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  StoreWriter w(root);
  // The shared layer: deterministic bytes.
  std::string layer_bytes(static_cast<size_t>(layer_size), '\0');
  for (size_t i = 0; i < layer_bytes.size(); ++i) layer_bytes[i] = static_cast<char>((i * 131 + 7) % 251);
  const berth::oci::Digest layer = w.Blob(layer_bytes);

  // The big repository's image first (its tags are written in parallel below).
  std::string big;
  berth::oci::Digest big_manifest;
  if (tags > 0) {
    big = w.Repository("big/tags");
    big_manifest = Image(w, big, "big/tags", layer, layer_bytes.size());
  }
  std::atomic<int64_t> repos_done{0}, tags_done{0};
  auto work = [&](int64_t job) {
    for (int64_t i = job; i < repos; i += jobs) {
      const std::string name = RepoName(i);
      const std::string repo = w.Repository(name);
      w.Tag(repo, "latest", Image(w, repo, name, layer, layer_bytes.size()));
      if (++repos_done % 10'000 == 0) std::cerr << "berth_store_gen: " << repos_done.load() << " repositories\n";
    }
    for (int64_t i = job; i < tags; i += jobs) {
      w.Tag(big, TagName(i), big_manifest);
      if (++tags_done % 10'000 == 0) std::cerr << "berth_store_gen: " << tags_done.load() << " tags\n";
    }
  };
  std::vector<std::thread> threads;
  for (int64_t j = 0; j < jobs; ++j) threads.emplace_back(work, j);
  for (auto& t : threads) t.join();
  const int64_t links = 2 * repos + (tags > 0 ? 2 : 0);
  const int64_t tag_count = repos + tags;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t repo_count = repos + (tags > 0 ? 1 : 0);
  // Listing order is name order: "big/tags" sorts before every "team-..." name.
  std::cout << "{\"root\":\"" << root << "\",\"repositories\":" << repo_count << ",\"tags\":" << tag_count
            << ",\"blobs\":" << w.blobs() << ",\"layer_links\":" << links << ",\"big_repository\":\"big/tags\""
            << ",\"big_repository_tags\":" << tags << ",\"first_repository\":\""
            << (tags > 0 ? "big/tags" : (repos > 0 ? RepoName(0) : "")) << "\",\"middle_repository\":\""
            << (repos > 0 ? RepoName(repos / 2) : "") << "\",\"last_repository\":\""
            << (repos > 0 ? RepoName(repos - 1) : "") << "\",\"middle_tag\":\"" << (tags > 0 ? TagName(tags / 2) : "")
            << "\",\"last_tag\":\"" << (tags > 0 ? TagName(tags - 1) : "") << "\",\"seconds\":" << seconds << "}\n";
  return 0;
}
