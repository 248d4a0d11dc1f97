#include "report.h"

#include <algorithm>
#include <cstdio>

namespace berth::bench {

double Latencies::PercentileMs(double q) const {
  if (us_.empty()) return 0;
  std::vector<float> v = us_;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

void Phase::SetLatencies(const Latencies& l) {
  if (l.empty()) return;
  p50_ms = l.PercentileMs(0.50);
  p99_ms = l.PercentileMs(0.99);
  max_ms = l.PercentileMs(1.0);
}

double Phase::value() const {
  double wall = usage.wall_s > 0 ? usage.wall_s : 1e-9;
  if (unit == "MB/s") return static_cast<double>(bytes) / 1e6 / wall;
  if (unit == "req/s") return static_cast<double>(requests) / wall;
  return static_cast<double>(items) / wall;
}

nlohmann::json ToJson(const Phase& p) {
  const Usage& u = p.usage;
  nlohmann::json j = {{"name", p.name},
                      {"value", p.value()},
                      {"unit", p.unit},
                      {"wall_s", u.wall_s},
                      {"bytes", p.bytes},
                      {"requests", p.requests},
                      {"items", p.items},
                      {"errors", p.errors},
                      {"mb_per_s", static_cast<double>(p.bytes) / 1e6 / std::max(u.wall_s, 1e-9)},
                      {"req_per_s", static_cast<double>(p.requests) / std::max(u.wall_s, 1e-9)},
                      {"client", {{"cpu_s", u.client_cpu_s}}}};
  if (p.p50_ms) j["latency_ms"] = {{"p50", *p.p50_ms}, {"p99", *p.p99_ms}, {"max", *p.max_ms}};
  if (!p.first_error.empty()) j["first_error"] = p.first_error;
  if (u.has_server) {
    j["server"] = {{"cpu_s", u.server_cpu_s},          {"rss_before_kb", u.rss_before_kb},
                   {"rss_after_kb", u.rss_after_kb},   {"rss_peak_kb", u.rss_peak_kb},
                   {"hwm_before_kb", u.hwm_before_kb}, {"hwm_after_kb", u.hwm_after_kb}};
    if (p.bytes > 0) j["server"]["cpu_s_per_gb"] = u.server_cpu_s / (static_cast<double>(p.bytes) / 1e9);
  } else {
    j["server"] = nullptr;
  }
  return j;
}

void PrintHeader() {
  std::printf("%-28s %14s %9s %8s %8s %8s %10s %9s %8s %6s\n", "phase", "result", "p50 ms", "p99 ms", "wall s",
              "srv cpu", "srv s/GB", "srv RSS", "cli cpu", "errors");
  std::printf("%-28s %14s %9s %8s %8s %8s %10s %9s %8s %6s\n", "", "", "", "", "", "s", "", "peak MB", "s", "");
}

void PrintRow(const std::string& label, const Phase& p) {
  const Usage& u = p.usage;
  char result[32], p50[16] = "-", p99[16] = "-", cpu[16] = "-", per_gb[16] = "-", rss[16] = "-";
  std::snprintf(result, sizeof result, "%.1f %s", p.value(), p.unit.c_str());
  if (p.p50_ms) {
    std::snprintf(p50, sizeof p50, "%.3f", *p.p50_ms);
    std::snprintf(p99, sizeof p99, "%.3f", *p.p99_ms);
  }
  if (u.has_server) {
    std::snprintf(cpu, sizeof cpu, "%.2f", u.server_cpu_s);
    if (p.bytes > 0 && p.unit == "MB/s")
      std::snprintf(per_gb, sizeof per_gb, "%.3f", u.server_cpu_s / (static_cast<double>(p.bytes) / 1e9));
    std::snprintf(rss, sizeof rss, "%.1f", static_cast<double>(u.rss_peak_kb) / 1024.0);
  }
  std::printf("%-28s %14s %9s %8s %8.2f %8s %10s %9s %8.2f %6lld\n",
              (label + (p.name.empty() ? "" : "/" + p.name)).c_str(), result, p50, p99, u.wall_s, cpu, per_gb, rss,
              u.client_cpu_s, static_cast<long long>(p.errors));
  if (!p.first_error.empty()) std::printf("  first error: %s\n", p.first_error.c_str());
  std::fflush(stdout);
}

}  // namespace berth::bench
