// ProcessStats: the standard process_* metrics of this process, read from
// /proc/self on demand (at scrape time, never on the request path).
// Thread-safe (no shared state).
#pragma once

#include <cstdint>

namespace berth::obs {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  int64_t open_fds = 0;
  int64_t max_fds = 0;            // soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};

// False when /proc is unreadable (the fields are then left as they were).
bool ReadProcessStats(ProcessStats* out);

}  // namespace berth::obs
