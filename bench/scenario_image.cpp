// image-push-pull: K clients at once each push `count` images (config, three
// layers, manifest, index), then all pull them back and verify every digest.
#include "image.h"
#include "scenario.h"

namespace berth::bench {

Result<std::vector<Phase>> ImagePushPull(Context& ctx) {
  const int threads = static_cast<int>(Or(int64_t{ctx.opt.concurrency}, 4));
  const int count = static_cast<int>(Or(int64_t{ctx.opt.count}, 1));
  const int64_t size = Or(ctx.opt.size, int64_t{8} << 20);
  const std::vector<int64_t> layer_sizes{size, std::max<int64_t>(1, size / 4), std::max<int64_t>(1, size / 16)};
  std::vector<std::unique_ptr<RegistryClient>> clients;
  for (int t = 0; t < threads; ++t) clients.push_back(ctx.NewClient());
  std::vector<std::vector<ImagePlan>> plans(static_cast<size_t>(threads));
  auto repo_of = [&](int t) { return ctx.opt.repo + "-" + std::to_string(t); };
  auto tag = [](int i) { return "v" + std::to_string(i); };
  auto index_tag = [](int i) { return "i" + std::to_string(i); };

  auto prepare_push = [&](int t) -> Status {
    for (int i = 0; i < count; ++i) {
      plans[t].push_back(PlanImage(ctx.opt.seed * 100003ULL + static_cast<uint64_t>(t * count + i), layer_sizes));
    }
    return clients[t]->Authorize(repo_of(t), "pull,push");
  };
  auto push = [&](int t, WorkerStats& s) {
    for (int i = 0; i < count; ++i) {
      const ImagePlan& plan = plans[t][i];
      auto start = Clock::now();
      Status st = PushImage(*clients[t], repo_of(t), plan, tag(i), index_tag(i));
      s.latencies.Add(std::chrono::duration<double>(Clock::now() - start).count());
      if (!st.ok()) {
        s.Fail(st);
        continue;
      }
      s.requests += 2 * static_cast<int64_t>(1 + plan.layers.size()) + 2;
      s.bytes += plan.bytes();
      ++s.items;
    }
  };
  std::vector<Phase> phases;
  phases.push_back(RunPhase(ctx, "push", "images/s", threads, prepare_push, push));

  auto pull = [&](int t, WorkerStats& s) {
    for (int i = 0; i < count; ++i) {
      auto start = Clock::now();
      Status st = PullImage(*clients[t], repo_of(t), index_tag(i), &s.bytes, &s.requests);
      s.latencies.Add(std::chrono::duration<double>(Clock::now() - start).count());
      if (!st.ok()) {
        s.Fail(st);
        continue;
      }
      ++s.items;
    }
  };
  phases.push_back(RunPhase(ctx, "pull", "images/s", threads, nullptr, pull));
  return phases;
}

}  // namespace berth::bench
