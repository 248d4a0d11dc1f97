// berth_bench: a load generator that speaks the registry API to any registry
// URL and reports throughput, request rates, latency and the server's CPU and
// memory (from /proc/<pid>). See bench/README.md.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "scenario.h"

using namespace berth;
using namespace berth::bench;

namespace {

const std::map<std::string, ScenarioFn>& Scenarios() {
  static const std::map<std::string, ScenarioFn> all = {
      {"push-blob", PushBlob},
      {"push-chunked", PushChunked},
      {"pull-blob", PullBlob},
      {"small-blobs", SmallBlobs},
      {"manifest-get", ManifestGet},
      {"token", Token},
      {"image-push-pull", ImagePushPull},
  };
  return all;
}

nlohmann::json Params(const Options& o) {
  return {{"size", o.size},
          {"min_size", o.min_size},
          {"max_size", o.max_size},
          {"chunk_size", o.chunk_size},
          {"count", o.count},
          {"concurrency", o.concurrency},
          {"duration", o.duration},
          {"seed", o.seed},
          {"single_post", o.single_post},
          {"verify", o.verify},
          {"warm", o.warm}};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"berth_bench: registry API load generator"};
  std::vector<std::string> names;
  for (const auto& [name, fn] : Scenarios()) names.push_back(name);
  app.add_option("--url", o.url, "registry base URL, http://host:port")->required();
  app.add_option("--user", o.user, "user for the token flow (or Basic auth)");
  app.add_option("--password", o.password, "password for --user");
  app.add_option("--scenario", o.scenario, "scenario to run")->required()->check(CLI::IsMember(names));
  app.add_option("--label", o.label, "name of the run in the table and JSON (default: the scenario)");
  app.add_option("--repo", o.repo, "repository to use (default: bench/<scenario>-<pid>-<time>)");
  app.add_option("--size", o.size, "blob/layer size in bytes (push/pull: 1 GiB, image-push-pull: 8 MiB)");
  app.add_option("--min-size", o.min_size, "small-blobs: smallest blob (default 1024)");
  app.add_option("--max-size", o.max_size, "small-blobs: largest blob (default 1 MiB)");
  app.add_option("--chunk-size", o.chunk_size, "push-chunked: PATCH size (default 8 MiB)");
  app.add_option("--count", o.count,
                 "blobs per thread / downloads per thread / small blobs in all / images per client");
  app.add_option("--concurrency", o.concurrency, "threads, one connection each");
  app.add_option("--duration", o.duration,
                 "seconds of each timed loop (manifest-get, token: 10; small-blobs: one pass)");
  app.add_option("--server-pid", o.server_pid, "sample CPU and RSS of this process");
  app.add_option("--json", o.json_path, "write the result as JSON to this file");
  app.add_option("--seed", o.seed, "content generator seed (default 1)");
  app.add_flag("--single-post", o.single_post, "push with one POST ?digest= (falls back to PUT on 202)");
  app.add_flag("--verify", o.verify, "pull-blob, small-blobs: hash every downloaded blob");
  app.add_flag("--warm", o.warm,
               "pull-blob: GET the blob once, untimed, first (a server that uploads past the page cache serves "
               "the first GET from disk)");
  CLI11_PARSE(app, argc, argv);

  auto base = ParseUrl(o.url);
  if (!base.ok()) {
    std::fprintf(stderr, "berth_bench: %s\n", base.status().message().c_str());
    return 2;
  }
  if (o.label.empty()) o.label = o.scenario;
  if (o.repo.empty()) {
    auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    o.repo = (o.scenario == "token"
                  ? std::string("bench/token")
                  : "bench/" + o.scenario + "-" + std::to_string(getpid()) + "-" + std::to_string(now.count()));
  }
  if (o.chunk_size <= 0 || o.min_size <= 0 || o.max_size < o.min_size) {
    std::fprintf(stderr, "berth_bench: sizes must be positive and --max-size >= --min-size\n");
    return 2;
  }
  Context ctx;
  ctx.opt = o;
  ctx.base = *base;
  if (!o.user.empty()) ctx.creds = Credentials{o.user, o.password};

  std::optional<ProcSample> idle;
  if (o.server_pid > 0) {
    idle = ReadProc(o.server_pid);
    if (!idle) std::fprintf(stderr, "berth_bench: warning: cannot read /proc/%d\n", o.server_pid);
  }
  auto phases = Scenarios().at(o.scenario)(ctx);
  if (!phases.ok()) {
    std::fprintf(stderr, "berth_bench: %s: %s\n", o.scenario.c_str(), phases.status().message().c_str());
  }
  int64_t errors = phases.ok() ? 0 : 1;
  nlohmann::json out = {{"tool", "berth_bench"}, {"scenario", o.scenario}, {"label", o.label},          {"url", o.url},
                        {"repo", o.repo},        {"params", Params(o)},    {"server_pid", o.server_pid}};
  if (idle) out["server_start"] = {{"cpu_s", idle->cpu_s}, {"rss_kb", idle->rss_kb}, {"hwm_kb", idle->hwm_kb}};
  out["phases"] = nlohmann::json::array();
  if (phases.ok()) {
    PrintHeader();
    for (const Phase& p : *phases) {
      PrintRow(o.label, p);
      out["phases"].push_back(ToJson(p));
      errors += p.errors;
    }
  } else {
    out["setup_error"] = phases.status().message();
  }
  out["info"] = ctx.info;
  out["errors"] = errors;
  out["ok"] = errors == 0;
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "berth_bench: cannot write %s\n", o.json_path.c_str());
      return 2;
    }
  }
  return errors == 0 ? 0 : 1;
}
