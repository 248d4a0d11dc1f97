#include "scenario.h"

#include <latch>
#include <thread>

namespace berth::bench {

Phase RunPhase(const Context& ctx, std::string name, std::string unit, int threads,
               const std::function<Status(int t)>& prepare, const std::function<void(int t, WorkerStats&)>& work) {
  std::vector<WorkerStats> stats(static_cast<size_t>(threads));
  std::vector<Status> prepared(static_cast<size_t>(threads));
  std::latch ready(threads), go(1);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      prepared[t] = prepare ? prepare(t) : Status::Ok();
      ready.count_down();
      go.wait();
      if (prepared[t].ok()) work(t, stats[t]);
    });
  }
  ready.wait();
  Monitor monitor(ctx.opt.server_pid);
  monitor.Begin();
  go.count_down();
  for (auto& th : pool) th.join();
  Phase p;
  p.usage = monitor.End();
  p.name = std::move(name);
  p.unit = std::move(unit);
  Latencies all;
  for (int t = 0; t < threads; ++t) {
    if (!prepared[t].ok()) stats[t].Fail(prepared[t]);
    const WorkerStats& s = stats[t];
    p.bytes += s.bytes;
    p.requests += s.requests;
    p.items += s.items;
    p.errors += s.errors;
    if (p.first_error.empty()) p.first_error = s.first_error;
    all.Merge(s.latencies);
  }
  p.SetLatencies(all);
  return p;
}

}  // namespace berth::bench
