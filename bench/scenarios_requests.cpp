// Request-rate scenarios: small-blobs (concurrent uploads, then GET and HEAD
// phases), manifest-get (GET then HEAD of a manifest by tag) and token
// (GET <realm>?service=&scope= with Basic credentials).
#include <cmath>
#include <cstdio>

#include "generator.h"
#include "image.h"
#include "scenario.h"

namespace berth::bench {
namespace {

struct SmallBlob {
  BlobSpec spec;
  oci::Digest digest;
};

// Log-uniform sizes in [min, max]: as many 1-10 KiB blobs as 100 KiB-1 MiB ones.
int64_t SmallSize(uint64_t seed, int64_t min, int64_t max) {
  if (max <= min) return min;
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 29;
  double u = static_cast<double>(x >> 11) / static_cast<double>(1ULL << 53);
  return static_cast<int64_t>(
      std::llround(static_cast<double>(min) * std::pow(static_cast<double>(max) / static_cast<double>(min), u)));
}

// Loops from `first` with stride `step` over n items: once, or until the deadline.
template <class F>
void Sweep(int first, int step, int n, std::optional<Clock::time_point> deadline, const F& f) {
  if (n <= 0) return;
  if (!deadline) {
    for (int i = first; i < n; i += step) f(i);
    return;
  }
  for (int i = first % n; Clock::now() < *deadline; i = (i + step) % n) f(i);
}

std::optional<Clock::time_point> DeadlineIn(double seconds) {
  if (seconds <= 0) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

Result<std::vector<Phase>> SmallBlobs(Context& ctx) {
  const int n = static_cast<int>(Or(int64_t{ctx.opt.count}, 200));
  const int threads = static_cast<int>(Or(int64_t{ctx.opt.concurrency}, 8));
  const double duration = Or(ctx.opt.duration, 0.0);
  std::vector<SmallBlob> blobs(static_cast<size_t>(n));
  std::vector<std::unique_ptr<RegistryClient>> clients;
  for (int t = 0; t < threads; ++t) clients.push_back(ctx.NewClient());
  std::vector<Phase> phases;
  const std::string blob_prefix = "/v2/" + ctx.opt.repo + "/blobs/";

  auto prepare_upload = [&](int t) -> Status {
    for (int i = t; i < n; i += threads) {
      uint64_t seed = ctx.opt.seed * 1000003ULL + static_cast<uint64_t>(i);
      BlobSpec spec{seed, SmallSize(seed, ctx.opt.min_size, ctx.opt.max_size)};
      blobs[i] = {spec, BlobDigest(spec)};
    }
    return clients[t]->Authorize(ctx.opt.repo, "pull,push");
  };
  auto upload = [&](int t, WorkerStats& s) {
    for (int i = t; i < n; i += threads) {
      std::string bytes = BlobBytes(blobs[i].spec);
      auto start = Clock::now();
      Status st = clients[t]->PushBlobBytes(ctx.opt.repo, blobs[i].digest, bytes, ctx.opt.single_post);
      s.latencies.Add(Since(start));
      if (!st.ok()) {
        s.Fail(st);
        continue;
      }
      s.requests += ctx.opt.single_post ? 1 : 2;
      s.bytes += static_cast<int64_t>(bytes.size());
      ++s.items;
    }
  };
  phases.push_back(RunPhase(ctx, "upload", "blobs/s", threads, prepare_upload, upload));

  for (const char* method : {"GET", "HEAD"}) {
    const bool get = std::string_view(method) == "GET";
    auto prepare = [&](int t) -> Status {
      auto r = clients[t]->Call("HEAD", blob_prefix + blobs[t % n].digest.str());
      if (!r.ok()) return r.status();
      return Expect(*r, 200, "HEAD blob");
    };
    auto work = [&](int t, WorkerStats& s) {
      auto deadline = DeadlineIn(duration);
      Sweep(t, threads, n, deadline, [&](int i) {
        const SmallBlob& b = blobs[i];
        const std::string target = blob_prefix + b.digest.str();
        int64_t got = 0;
        std::optional<oci::Hasher> hasher;
        if (ctx.opt.verify && get) hasher.emplace();
        auto start = Clock::now();
        Result<RegistryClient::Response> r = get ? clients[t]->CallDownload("GET", target, {},
                                                                            [&](const char* d, size_t k) {
                                                                              got += static_cast<int64_t>(k);
                                                                              if (hasher) hasher->Update(d, k);
                                                                            })
                                                 : clients[t]->Call("HEAD", target);
        s.latencies.Add(Since(start));
        Status st = r.ok() ? Expect(*r, 200, std::string(method) + " " + target) : r.status();
        if (st.ok() && !get && r->header("Content-Length") != std::to_string(b.spec.size)) {
          st = Status::IoError("HEAD " + target + ": Content-Length " + r->header("Content-Length"));
        }
        if (st.ok() && get && got != b.spec.size) st = Status::IoError("GET " + target + ": short body");
        if (st.ok() && hasher && !(hasher->Current() == b.digest))
          st = Status::IoError("GET " + target + ": digest mismatch");
        if (!st.ok()) {
          s.Fail(st);
          return;
        }
        ++s.requests;
        ++s.items;
        s.bytes += got;
      });
    };
    phases.push_back(RunPhase(ctx, get ? "get" : "head", "req/s", threads, prepare, work));
  }
  return phases;
}

Result<std::vector<Phase>> ManifestGet(Context& ctx) {
  const int threads = static_cast<int>(Or(int64_t{ctx.opt.concurrency}, 32));
  const double duration = Or(ctx.opt.duration, 10.0);
  const std::string tag = "bench";
  // A small image to read: config, one 1 KiB layer, the manifest under `tag`.
  ImagePlan plan = PlanImage(ctx.opt.seed * 7919ULL, {1024});
  {
    auto setup = ctx.NewClient();
    if (Status s = setup->Authorize(ctx.opt.repo, "pull,push"); !s.ok()) return s;
    if (Status s = PushImage(*setup, ctx.opt.repo, plan, tag, ""); !s.ok()) return s;
  }
  const std::string target = "/v2/" + ctx.opt.repo + "/manifests/" + tag;
  const http::Headers accept{{"Accept", kManifestAccept}};
  std::vector<std::unique_ptr<RegistryClient>> clients;
  for (int t = 0; t < threads; ++t) clients.push_back(ctx.NewClient());
  std::vector<Phase> phases;
  for (const char* method : {"GET", "HEAD"}) {
    const bool get = std::string_view(method) == "GET";
    auto prepare = [&](int t) -> Status {
      if (Status s = clients[t]->Authorize(ctx.opt.repo, "pull"); !s.ok()) return s;
      auto r = clients[t]->Call("HEAD", target, accept);
      if (!r.ok()) return r.status();
      return Expect(*r, 200, "HEAD " + target);
    };
    auto work = [&](int t, WorkerStats& s) {
      auto deadline = DeadlineIn(duration);
      do {
        auto start = Clock::now();
        auto r = clients[t]->Call(method, target, accept);
        s.latencies.Add(Since(start));
        Status st = r.ok() ? Expect(*r, 200, std::string(method) + " " + target) : r.status();
        if (st.ok() && get && r->body != plan.manifest) st = Status::IoError("GET " + target + ": wrong manifest body");
        if (st.ok() && r->header("Docker-Content-Digest") != plan.manifest_digest.str()) {
          st = Status::IoError(std::string(method) + " " + target + ": wrong Docker-Content-Digest");
        }
        if (!st.ok()) {
          s.Fail(st);
          continue;
        }
        ++s.requests;
        s.bytes += get ? static_cast<int64_t>(r->body.size()) : 0;
      } while (deadline && Clock::now() < *deadline);
    };
    phases.push_back(RunPhase(ctx, get ? "get" : "head", "req/s", threads, prepare, work));
  }
  return phases;
}

Result<std::vector<Phase>> Token(Context& ctx) {
  const int threads = static_cast<int>(Or(int64_t{ctx.opt.concurrency}, 8));
  const double duration = Or(ctx.opt.duration, 10.0);
  if (!ctx.creds) return Status::Invalid("the token scenario needs --user and --password");
  // The realm and service from the registry's challenge.
  http::HttpClient probe(ctx.base.host, ctx.base.port);
  auto r = probe.Request("GET", "/v2/");
  if (!r.ok()) return r.status();
  auto challenge = ParseChallenge(r->header("WWW-Authenticate"));
  if (r->status != 401 || !challenge || challenge->scheme != "bearer" || challenge->realm.empty()) {
    return Status::Invalid("GET /v2/ did not answer 401 with a Bearer challenge (status " + std::to_string(r->status) +
                           ")");
  }
  challenge->scope = "repository:" + ctx.opt.repo + ":pull";
  std::vector<std::unique_ptr<RegistryClient>> clients;
  for (int t = 0; t < threads; ++t) clients.push_back(ctx.NewClient());
  auto prepare = [&](int t) -> Status { return clients[t]->FetchToken(*challenge).status(); };
  auto work = [&](int t, WorkerStats& s) {
    auto deadline = DeadlineIn(duration);
    do {
      auto start = Clock::now();
      auto token = clients[t]->FetchToken(*challenge);
      s.latencies.Add(Since(start));
      if (!token.ok()) {
        s.Fail(token.status());
        continue;
      }
      ++s.requests;
    } while (deadline && Clock::now() < *deadline);
  };
  return std::vector<Phase>{RunPhase(ctx, "token", "req/s", threads, prepare, work)};
}

}  // namespace berth::bench
