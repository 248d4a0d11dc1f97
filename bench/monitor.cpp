#include "monitor.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace berth::bench {

std::optional<ProcSample> ReadProc(int pid) {
  ProcSample s;
  {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return std::nullopt;
    // Fields after the command name (which may hold spaces and parentheses).
    size_t close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:")
      status >> s.rss_kb;
    else if (key == "VmHWM:")
      status >> s.hwm_kb;
    status.ignore(1 << 20, '\n');
  }
  return s;
}

double ClientCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

Monitor::~Monitor() {
  running_ = false;
  if (sampler_.joinable()) sampler_.join();
}

void Monitor::Begin() {
  before_ = pid_ > 0 ? ReadProc(pid_) : std::nullopt;
  peak_kb_ = before_ ? before_->rss_kb : 0;
  client_cpu_start_ = ClientCpuSeconds();
  if (before_) {
    running_ = true;
    sampler_ = std::thread([this] { Loop(); });
  }
  start_ = std::chrono::steady_clock::now();
}

void Monitor::Loop() {
  while (running_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (auto s = ReadProc(pid_)) {
      int64_t seen = peak_kb_.load();
      while (s->rss_kb > seen && !peak_kb_.compare_exchange_weak(seen, s->rss_kb)) {
      }
    }
  }
}

Usage Monitor::End() {
  Usage u;
  u.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  u.client_cpu_s = ClientCpuSeconds() - client_cpu_start_;
  running_ = false;
  if (sampler_.joinable()) sampler_.join();
  auto after = pid_ > 0 ? ReadProc(pid_) : std::nullopt;
  if (before_ && after) {
    u.has_server = true;
    u.server_cpu_s = after->cpu_s - before_->cpu_s;
    u.rss_before_kb = before_->rss_kb;
    u.rss_after_kb = after->rss_kb;
    u.rss_peak_kb = std::max({peak_kb_.load(), after->rss_kb, before_->rss_kb});
    // A high-water mark that rose during the phase is an exact peak the 50 ms samples may have missed.
    if (after->hwm_kb > before_->hwm_kb) u.rss_peak_kb = std::max(u.rss_peak_kb, after->hwm_kb);
    u.hwm_before_kb = before_->hwm_kb;
    u.hwm_after_kb = after->hwm_kb;
  }
  return u;
}

}  // namespace berth::bench
