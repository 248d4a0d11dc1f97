// What a scenario measured: one or more phases (e.g. small-blobs has upload,
// GET and HEAD), each with its main figure, counters, latency percentiles and
// the resource usage of that phase. Printed as table rows and written as JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor.h"

namespace berth::bench {

// Request latencies of one phase, merged from every thread.
class Latencies {
 public:
  void Add(double seconds) { us_.push_back(static_cast<float>(seconds * 1e6)); }
  void Merge(const Latencies& other) { us_.insert(us_.end(), other.us_.begin(), other.us_.end()); }
  bool empty() const { return us_.empty(); }
  // q in [0,1]; milliseconds.
  double PercentileMs(double q) const;

 private:
  std::vector<float> us_;
};

struct Phase {
  std::string name;      // "push-blob", "small-blobs/get", ...
  std::string unit;      // "MB/s", "req/s" or "images/s"
  int64_t bytes = 0;     // payload bytes moved in the phase
  int64_t requests = 0;  // HTTP requests completed (successfully)
  int64_t items = 0;     // blobs/images, when the unit counts them
  int64_t errors = 0;
  std::optional<double> p50_ms, p99_ms, max_ms;
  Usage usage;
  std::string first_error;

  double value() const;  // the main figure in `unit`
  void SetLatencies(const Latencies& l);
};

nlohmann::json ToJson(const Phase& p);
void PrintHeader();
void PrintRow(const std::string& label, const Phase& p);

}  // namespace berth::bench
