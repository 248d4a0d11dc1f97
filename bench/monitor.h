// Resource figures of one measured phase: the server's CPU seconds and RSS read
// from /proc/<pid> (sampled every 50 ms by a thread for the peak), the client's
// own CPU seconds (getrusage) and wall time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

namespace berth::bench {

struct ProcSample {
  double cpu_s = 0;    // utime + stime
  int64_t rss_kb = 0;  // VmRSS
  int64_t hwm_kb = 0;  // VmHWM (peak since the process started)
};

// Reads /proc/<pid>/stat and /proc/<pid>/status; nullopt if the process is gone.
std::optional<ProcSample> ReadProc(int pid);

struct Usage {
  double wall_s = 0;
  double client_cpu_s = 0;
  bool has_server = false;
  double server_cpu_s = 0;
  int64_t rss_before_kb = 0, rss_after_kb = 0, rss_peak_kb = 0;
  int64_t hwm_before_kb = 0, hwm_after_kb = 0;
};

// Begin() ... End(): one phase. Samples in a background thread while running.
class Monitor {
 public:
  explicit Monitor(int server_pid) : pid_(server_pid) {}
  ~Monitor();
  void Begin();
  Usage End();

 private:
  void Loop();
  int pid_;
  std::chrono::steady_clock::time_point start_;
  double client_cpu_start_ = 0;
  std::optional<ProcSample> before_;
  std::atomic<bool> running_{false};
  std::atomic<int64_t> peak_kb_{0};
  std::thread sampler_;
};

double ClientCpuSeconds();

}  // namespace berth::bench
