// berth_soak: the load-and-soak test. Starts the real berth binary on a free
// 127.0.0.1 port in a fresh temp directory, holds --clients concurrent clients
// (one thread and one keep-alive connection each) that loop
//   push (monolithic POST ?digest=, POST + PUT, or POST + PATCHes + PUT)
//   -> GET and verify the content -> HEAD -> manifest PUT + GET (every 4th)
//   -> cancelled upload (every 7th) -> blob DELETE + 404 check (every 5th)
// for --seconds, while a sampler reads the server's /proc/<pid>/status VmRSS and
// the number of entries in /proc/<pid>/fd once a second. At the end it asserts:
//   - zero errors: any unexpected status, transport error or content mismatch;
//   - the fd count returns to the idle baseline (+ --fd-slack) once the
//     clients have disconnected;
//   - no leftover _uploads/<id> directory and no file in _berth_tmp;
//   - RSS at the end <= the largest RSS seen in the first third of the run
//     (at most its first minute) + max(--rss-slack-mb, 10 %): memory stays flat;
//   - the server exits 0 on SIGTERM.
// Exit status 0 when all hold; the figures are printed (and written as JSON
// with --json). Short run in ctest (soak.short); long run: see docs/reliability.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "oci/digest.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using berth::http::ClientResponse;
using berth::http::Headers;
using berth::http::HttpClient;

struct Options {
  std::string berth;
  int clients = 200;
  double seconds = 60;
  int max_blob_kb = 96;
  int fd_slack = 4;
  int rss_slack_mb = 24;
  std::string json_path;
  bool keep = false;
};

void Usage() {
  std::cerr << "usage: berth_soak --berth PATH [--clients N] [--seconds S] [--max-blob-kb K]\n"
               "                  [--fd-slack N] [--rss-slack-mb M] [--json FILE] [--keep]\n";
}

// ---- the server under test ------------------------------------------------

uint16_t PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int64_t ReadRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

// Open fds, without those of the metadata database's files (metadata.db,
// -wal, -shm, .locks): its connection pool opens connections under load and
// keeps a bounded number idle (3 fds each), which is not a leak. They are
// counted in *database_fds (when given) and bounded separately.
int CountFds(pid_t pid, int* database_fds = nullptr) {
  std::error_code ec;
  int n = 0, db = 0;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code link_ec;
    const std::string target = fs::read_symlink(it->path(), link_ec).string();
    if (!link_ec && target.find("/metadata.db") != std::string::npos) {
      ++db;
    } else {
      ++n;
    }
  }
  if (database_fds != nullptr) *database_fds = db;
  return ec ? -1 : n;
}

// The database's pool keeps at most this many connections (the serve's
// database threads; 3 files each): more would be a leak in the pool.
constexpr int kMaxDatabaseFds = 3 * 16 + 1;

class Server {
 public:
  Server(std::string binary, std::string dir) : binary_(std::move(binary)), dir_(std::move(dir)) {}
  std::string data() const { return dir_ + "/data"; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

  bool Start() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = PickFreePort();
      {
        std::ofstream out(dir_ + "/config.yaml", std::ios::trunc);
        out << "server: {addr: \"127.0.0.1:" << port_ << "\"}\n"
            << "storage:\n  filesystem: {rootdirectory: \"" << data() << "\"}\n  delete: {enabled: true}\n"
            << "log: {level: warn, accesslog: false}\nauth: {mode: none}\n";
      }
      const std::string config = dir_ + "/config.yaml", log = dir_ + "/server.log";
      pid_ = ::fork();
      if (pid_ < 0) return false;
      if (pid_ == 0) {
        int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int nullfd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (logfd >= 0) {
          ::dup2(logfd, 1);
          ::dup2(logfd, 2);
        }
        if (nullfd >= 0) ::dup2(nullfd, 0);
        ::close_range(3, ~0U, 0);
        ::execl(binary_.c_str(), "berth", "serve", "--config", config.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      const auto deadline = Clock::now() + std::chrono::seconds(15);
      while (Clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        HttpClient probe("127.0.0.1", port_);
        auto r = probe.Request("GET", "/v2/");
        if (r.ok() && r->status == 200) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) Stop();
    }
    return false;
  }

  // SIGTERM; the exit code, -1000-signal, or -1 when it had to be killed.
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1000 - WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  std::string LogTail() const {
    std::ifstream in(dir_ + "/server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

 private:
  std::string binary_, dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// ---- the clients ----------------------------------------------------------

struct Stats {
  std::atomic<int64_t> requests{0}, pushes{0}, pulls{0}, bytes_up{0}, bytes_down{0}, deletes{0}, manifests{0};
  std::atomic<int64_t> errors{0};
  std::mutex mu;
  std::vector<std::string> first_errors;

  void Error(std::string what) {
    ++errors;
    std::lock_guard<std::mutex> lock(mu);
    if (first_errors.size() < 20) first_errors.push_back(std::move(what));
  }
};

std::string Bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::string Sha256(std::string_view data) { return berth::oci::DigestOf(data).str(); }

class Client {
 public:
  Client(int id, uint16_t port, const Options& o, Stats& stats)
      : id_(id), http_("127.0.0.1", port), opt_(o), stats_(stats), repo_("soak/c" + std::to_string(id)) {}

  void Run(Clock::time_point deadline) {
    for (uint64_t k = 0; Clock::now() < deadline; ++k) Iteration(k);
    http_.Close();
  }

 private:
  // One request; an unexpected status or transport error counts as an error.
  bool Call(std::string_view method, const std::string& target, unsigned want, ClientResponse* out,
            const Headers& headers = {}, std::string_view body = {}) {
    ++stats_.requests;
    auto r = http_.Request(method, target, headers, body);
    if (!r.ok()) {
      stats_.Error(std::string(method) + " " + target + ": " + r.status().message());
      http_.Close();  // reconnect on the next request
      return false;
    }
    if (r->status != want) {
      stats_.Error(std::string(method) + " " + target + ": status " + std::to_string(r->status) + " (want " +
                   std::to_string(want) + "): " + r->body.substr(0, 200));
      return false;
    }
    if (out != nullptr) *out = std::move(*r);
    return true;
  }

  bool Push(uint64_t k, const std::string& content, const std::string& digest) {
    const std::string uploads = "/v2/" + repo_ + "/blobs/uploads/";
    ClientResponse r;
    switch (k % 3) {
      case 0:  // monolithic single POST
        return Call("POST", uploads + "?digest=" + digest, 201, nullptr, {{"Content-Type", "application/octet-stream"}},
                    content);
      case 1: {  // POST + PUT with the body
        if (!Call("POST", uploads, 202, &r)) return false;
        const std::string loc = r.header("Location");
        return Call("PUT", loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest, 201, nullptr,
                    {{"Content-Type", "application/octet-stream"}}, content);
      }
      default: {  // chunked: POST, PATCHes with Content-Range, PUT
        if (!Call("POST", uploads, 202, &r)) return false;
        std::string loc = r.header("Location");
        const size_t pieces = 1 + k % 3;
        const size_t step = (content.size() + pieces - 1) / pieces;
        for (size_t off = 0; off < content.size(); off += step) {
          const size_t n = std::min(step, content.size() - off);
          const std::string range = std::to_string(off) + "-" + std::to_string(off + n - 1);
          if (!Call("PATCH", loc, 202, &r, {{"Content-Type", "application/octet-stream"}, {"Content-Range", range}},
                    std::string_view(content).substr(off, n))) {
            return false;
          }
          loc = r.header("Location");
        }
        return Call("PUT", loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest, 201, nullptr);
      }
    }
  }

  void Iteration(uint64_t k) {
    // Every 8th blob has content shared by all clients (the same digest pushed
    // concurrently into 200 repositories); the others are unique.
    const bool shared = k % 8 == 7;
    const uint64_t seed = shared ? 1000000 + (k / 8) % 4 : (static_cast<uint64_t>(id_) << 32) + k;
    const size_t size = 1 + (seed * 7919) % (static_cast<size_t>(opt_.max_blob_kb) << 10);
    const std::string content = Bytes(size, seed);
    const std::string digest = Sha256(content);
    const std::string blob = "/v2/" + repo_ + "/blobs/" + digest;
    if (!Push(k, content, digest)) return;
    ++stats_.pushes;
    stats_.bytes_up += static_cast<int64_t>(size);

    ClientResponse r;
    if (Call("GET", blob, 200, &r)) {
      ++stats_.pulls;
      stats_.bytes_down += static_cast<int64_t>(r.body.size());
      if (r.body != content)
        stats_.Error("GET " + blob + ": content mismatch (" + std::to_string(r.body.size()) + " bytes)");
    }
    if (Call("HEAD", blob, 200, &r) && r.header("Content-Length") != std::to_string(size)) {
      stats_.Error("HEAD " + blob + ": Content-Length " + r.header("Content-Length"));
    }

    if (k % 4 == 0) {  // an image manifest whose config and layer are this blob
      const std::string tag = "t" + std::to_string(k % 3);
      nlohmann::json desc = {{"mediaType", "application/octet-stream"}, {"digest", digest}, {"size", size}};
      nlohmann::json m = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                          {"config", desc},
                          {"layers", nlohmann::json::array({desc})}};
      const std::string body = m.dump();
      const Headers ct = {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};
      if (Call("PUT", "/v2/" + repo_ + "/manifests/" + tag, 201, nullptr, ct, body) &&
          Call("GET", "/v2/" + repo_ + "/manifests/" + tag, 200, &r,
               {{"Accept", "application/vnd.oci.image.manifest.v1+json"}})) {
        ++stats_.manifests;
        if (r.body != body) stats_.Error("GET manifest " + repo_ + ":" + tag + ": content mismatch");
      }
    }
    if (k % 7 == 3) {  // an upload that is started, fed and cancelled
      if (Call("POST", "/v2/" + repo_ + "/blobs/uploads/", 202, &r)) {
        const std::string loc = r.header("Location");
        if (Call("PATCH", loc, 202, &r, {{"Content-Type", "application/octet-stream"}}, "abandoned")) {
          Call("DELETE", r.header("Location"), 204, nullptr);
        }
      }
    }
    if (k % 5 == 4 && !shared && k % 4 != 0) {  // delete a blob no manifest of ours refers to
      if (Call("DELETE", blob, 202, nullptr)) {
        ++stats_.deletes;
        Call("GET", blob, 404, nullptr);
      }
    }
  }

  int id_;
  HttpClient http_;
  const Options& opt_;
  Stats& stats_;
  std::string repo_;
};

// Leftovers: upload directories and temporary files below the data root.
std::vector<std::string> Leftovers(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path p = it->path();
    const std::string parent = p.parent_path().filename().string();
    if (parent == "_uploads" || parent == "_berth_tmp") out.push_back(p.string());
  }
  return out;
}

struct Sample {
  double t;
  int64_t rss_kb;
  int fds;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--berth")
      o.berth = next();
    else if (a == "--clients")
      o.clients = std::stoi(next());
    else if (a == "--seconds")
      o.seconds = std::stod(next());
    else if (a == "--max-blob-kb")
      o.max_blob_kb = std::stoi(next());
    else if (a == "--fd-slack")
      o.fd_slack = std::stoi(next());
    else if (a == "--rss-slack-mb")
      o.rss_slack_mb = std::stoi(next());
    else if (a == "--json")
      o.json_path = next();
    else if (a == "--keep")
      o.keep = true;
    else {
      Usage();
      return 2;
    }
  }
  if (o.berth.empty() || o.clients < 1 || o.seconds <= 0 || o.max_blob_kb < 1) {
    Usage();
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  char tmpl[] = "/tmp/berth-soak.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  const std::string dir = tmpl;
  Server server(o.berth, dir);
  if (!server.Start()) {
    std::cerr << "soak: cannot start berth; log:\n" << server.LogTail() << "\n";
    return 1;
  }
  const pid_t pid = server.pid();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int fd_baseline = CountFds(pid);
  const int64_t rss_start = ReadRssKb(pid);
  std::printf("soak: berth pid %d on port %u; %d clients for %.0f s; idle: %d fds, RSS %.1f MiB\n", pid, server.port(),
              o.clients, o.seconds, fd_baseline, rss_start / 1024.0);
  std::fflush(stdout);

  Stats stats;
  std::vector<Sample> samples;
  std::mutex samples_mu;
  std::atomic<bool> sampling{true};
  const auto start = Clock::now();
  std::thread sampler([&] {
    for (int n = 0; sampling; ++n) {
      Sample s{std::chrono::duration<double>(Clock::now() - start).count(), ReadRssKb(pid), CountFds(pid)};
      {
        std::lock_guard<std::mutex> lock(samples_mu);
        samples.push_back(s);
      }
      if (n % 10 == 0 && n > 0) {
        std::printf("soak: t=%3.0fs RSS %.1f MiB, %d fds, %lld requests, %lld errors\n", s.t, s.rss_kb / 1024.0, s.fds,
                    static_cast<long long>(stats.requests.load()), static_cast<long long>(stats.errors.load()));
        std::fflush(stdout);
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });

  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  {
    std::vector<std::thread> threads;
    threads.reserve(o.clients);
    for (int i = 0; i < o.clients; ++i) {
      threads.emplace_back([&, i] {
        Client c(i, server.port(), o, stats);
        c.Run(deadline);
      });
    }
    for (auto& t : threads) t.join();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  sampling = false;
  sampler.join();

  // The clients have closed their connections: the server's fds must come back.
  int database_fds = 0;
  int fds_end = CountFds(pid, &database_fds);
  for (int i = 0; i < 100 && fds_end > fd_baseline + o.fd_slack; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fds_end = CountFds(pid, &database_fds);
  }
  const int64_t rss_end = ReadRssKb(pid);
  const double window = std::min(60.0, o.seconds / 3);
  int64_t rss_first = 0, rss_peak = 0;
  int fds_peak = 0;
  for (const auto& s : samples) {
    if (s.t <= window) rss_first = std::max(rss_first, s.rss_kb);
    rss_peak = std::max(rss_peak, s.rss_kb);
    fds_peak = std::max(fds_peak, s.fds);
  }
  const int64_t rss_limit = rss_first + std::max<int64_t>(int64_t{o.rss_slack_mb} << 10, rss_first / 10);
  const auto leftovers = Leftovers(server.data());
  const int exit_code = server.Stop();

  std::vector<std::string> failures;
  if (stats.errors > 0) failures.push_back(std::to_string(stats.errors.load()) + " request errors");
  if (stats.pushes == 0) failures.push_back("no push succeeded");
  if (fds_end < 0 || fds_end > fd_baseline + o.fd_slack) {
    failures.push_back("fd count " + std::to_string(fds_end) + " after the clients left, baseline " +
                       std::to_string(fd_baseline) + " (+" + std::to_string(o.fd_slack) + ")");
  }
  if (database_fds > kMaxDatabaseFds) {
    failures.push_back("the metadata database holds " + std::to_string(database_fds) +
                       " fds after the clients left (at most " + std::to_string(kMaxDatabaseFds) + ")");
  }
  if (!leftovers.empty()) failures.push_back(std::to_string(leftovers.size()) + " leftover upload dirs / temp files");
  if (rss_end > rss_limit) {
    failures.push_back("RSS grew: " + std::to_string(rss_end / 1024) + " MiB at the end, first " +
                       std::to_string(static_cast<int>(window)) + " s at most " + std::to_string(rss_first / 1024) +
                       " MiB (limit " + std::to_string(rss_limit / 1024) + " MiB)");
  }
  if (exit_code != 0) failures.push_back("berth exited with " + std::to_string(exit_code) + " on SIGTERM");

  std::printf(
      "soak: %d clients, %.1f s: %lld requests (%.0f/s), %lld pushes, %lld pulls, %lld manifests, %lld deletes, "
      "%.1f MiB up, %.1f MiB down, %lld errors\n",
      o.clients, wall, static_cast<long long>(stats.requests.load()), stats.requests / wall,
      static_cast<long long>(stats.pushes.load()), static_cast<long long>(stats.pulls.load()),
      static_cast<long long>(stats.manifests.load()), static_cast<long long>(stats.deletes.load()),
      stats.bytes_up / 1048576.0, stats.bytes_down / 1048576.0, static_cast<long long>(stats.errors.load()));
  std::printf(
      "soak: fds idle %d, peak %d, after %d; RSS idle %.1f MiB, first %.0f s max %.1f MiB, peak %.1f MiB, "
      "end %.1f MiB (limit %.1f MiB); leftovers %zu; exit %d\n",
      fd_baseline, fds_peak, fds_end, rss_start / 1024.0, window, rss_first / 1024.0, rss_peak / 1024.0,
      rss_end / 1024.0, rss_limit / 1024.0, leftovers.size(), exit_code);
  for (const auto& e : stats.first_errors) std::printf("  error: %s\n", e.c_str());
  for (size_t i = 0; i < leftovers.size() && i < 10; ++i) std::printf("  leftover: %s\n", leftovers[i].c_str());

  if (!o.json_path.empty()) {
    nlohmann::json j = {
        {"clients", o.clients},
        {"seconds", wall},
        {"requests", stats.requests.load()},
        {"pushes", stats.pushes.load()},
        {"pulls", stats.pulls.load()},
        {"manifests", stats.manifests.load()},
        {"deletes", stats.deletes.load()},
        {"errors", stats.errors.load()},
        {"fds", {{"idle", fd_baseline}, {"peak", fds_peak}, {"after", fds_end}}},
        {"rss_kb", {{"idle", rss_start}, {"first_window", rss_first}, {"peak", rss_peak}, {"end", rss_end}}},
        {"leftovers", leftovers.size()},
        {"exit_code", exit_code},
        {"ok", failures.empty()}};
    nlohmann::json series = nlohmann::json::array();
    for (const auto& s : samples) series.push_back({s.t, s.rss_kb, s.fds});
    j["samples"] = series;
    std::ofstream(o.json_path) << j.dump(1) << "\n";
  }
  if (!failures.empty()) {
    for (const auto& f : failures) std::printf("soak: FAIL: %s\n", f.c_str());
    std::printf("soak: server log (tail):\n%s\n", server.LogTail().c_str());
  } else {
    std::printf("soak: ok\n");
  }
  std::fflush(stdout);
  if (!o.keep) {  // can take a while after a long run: many small files
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    std::printf("soak: kept %s\n", dir.c_str());
  }
  return failures.empty() ? 0 : 1;
}
