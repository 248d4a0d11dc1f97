// Scenario plumbing: the context every scenario gets (options, target,
// credentials, shared token cache) and RunPhase, which runs one timed phase on
// N threads: each thread prepares untimed (connect, auth, digests), then all
// start together while the Monitor measures; their counters are merged.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "options.h"
#include "registry_client.h"
#include "report.h"

namespace berth::bench {

struct Context {
  Options opt;
  Url base;
  std::optional<Credentials> creds;
  std::shared_ptr<TokenCache> tokens = std::make_shared<TokenCache>();
  nlohmann::json info = nlohmann::json::object();  // facts a scenario reports (e.g. the blob's digest)

  std::unique_ptr<RegistryClient> NewClient() const { return std::make_unique<RegistryClient>(base, creds, tokens); }
};

// Counters of one thread in one phase.
struct WorkerStats {
  int64_t bytes = 0, requests = 0, items = 0, errors = 0;
  std::string first_error;
  Latencies latencies;
  void Fail(const Status& s) {
    ++errors;
    if (first_error.empty()) first_error = s.message();
  }
};

using Clock = std::chrono::steady_clock;

// prepare(t) runs untimed on thread t (an error there counts as the phase's
// error); work(t, stats) is timed. The phase's wall time ends when the last
// thread finishes.
Phase RunPhase(const Context& ctx, std::string name, std::string unit, int threads,
               const std::function<Status(int t)>& prepare, const std::function<void(int t, WorkerStats&)>& work);

// A status check that reads well in the scenarios.
inline Status Expect(const RegistryClient::Response& r, unsigned status, const std::string& what) {
  return r.status == status ? Status::Ok() : Unexpected(what, r);
}

// Defaults when a flag was not given.
inline int64_t Or(int64_t v, int64_t dflt) { return v < 0 ? dflt : v; }
inline double Or(double v, double dflt) { return v < 0 ? dflt : v; }

// One entry per scenario: runs it and returns its phases, or a setup error.
using ScenarioFn = std::function<Result<std::vector<Phase>>(Context&)>;
Result<std::vector<Phase>> PushBlob(Context& ctx);
Result<std::vector<Phase>> PushChunked(Context& ctx);
Result<std::vector<Phase>> PullBlob(Context& ctx);
Result<std::vector<Phase>> SmallBlobs(Context& ctx);
Result<std::vector<Phase>> ManifestGet(Context& ctx);
Result<std::vector<Phase>> Token(Context& ctx);
Result<std::vector<Phase>> ImagePushPull(Context& ctx);

}  // namespace berth::bench
