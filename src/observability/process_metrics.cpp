#include "observability/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace berth::obs {
namespace {

double BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

int64_t CountOpenFds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  int64_t n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the descriptor opendir itself holds
}

}  // namespace

bool ReadProcessStats(ProcessStats* out) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string tok; rest >> tok;) f.push_back(tok);
  if (f.size() < 22) return false;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  out->cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;     // utime, stime (fields 14, 15)
  out->start_time_seconds = BootTime() + std::stod(f[19]) / ticks;      // starttime (field 22)
  out->virtual_bytes = std::stoll(f[20]);                               // vsize (field 23)
  out->resident_bytes = static_cast<int64_t>(std::stod(f[21]) * page);  // rss pages (field 24)
  out->open_fds = CountOpenFds();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) out->max_fds = static_cast<int64_t>(rl.rlim_cur);
  return true;
}

}  // namespace berth::obs
