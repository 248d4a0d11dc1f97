// Metric primitives and the Prometheus text exposition format (version 0.0.4).
//
// The update side is lock-free and allocation-free: relaxed atomic adds into
// fixed arrays, so a request can be counted on the hot path for the price of a
// few atomic increments. Label sets are small integer keys chosen by the
// caller (bounded cardinality by construction); turning keys into label text
// happens only when scraped. Reading (Render/ForEach) may run concurrently with
// updates and sees each value at some recent moment (not a global snapshot).
// All types are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::obs {

// Counters keyed by a caller-packed non-zero 32-bit label key, in a fixed-size
// open-addressing table whose slots are claimed with a CAS. When every slot is
// taken, further new keys are counted in dropped() instead.
class LabeledCounters {
 public:
  static constexpr size_t kSlots = 512;  // power of two

  void Add(uint32_t key, uint64_t delta = 1);
  uint64_t Get(uint32_t key) const;  // 0 when never counted
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // (key, value) pairs sorted by key.
  std::vector<std::pair<uint32_t, uint64_t>> Snapshot() const;

 private:
  std::array<std::atomic<uint32_t>, kSlots> keys_{};
  std::array<std::atomic<uint64_t>, kSlots> values_{};
  std::atomic<uint64_t> dropped_{0};
};

// Upper bounds of histogram buckets, ascending; +Inf is implicit.
using Buckets = std::span<const double>;

// Default buckets for request durations: 1 ms .. 60 s.
inline constexpr std::array<double, 15> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,      2.5,   5,    10,    30,   60};

// A histogram over fixed buckets (at most kMaxBuckets finite ones). Counts are
// kept per bucket and made cumulative when read.
class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 24;

  void Observe(double v, Buckets bounds);
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Read(Buckets bounds) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kMaxBuckets + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Builds an exposition document. Not thread-safe (one per scrape).
class TextExposition {
 public:
  // "# HELP" and "# TYPE" lines; type is counter | gauge | histogram | untyped.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // name{labels} value, labels given as (name, value) pairs (values are escaped).
  void Sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value);
  void Sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              uint64_t value);
  // The _bucket/_sum/_count series of one labelled histogram.
  void HistogramSamples(std::string_view name,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> labels, Buckets bounds,
                        const Histogram::Snapshot& snap);
  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  void Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              std::string_view extra_name = {}, std::string_view extra_value = {});
  std::string out_;
};

// Label value escaping: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v);
// HELP text escaping: backslash and newline.
std::string EscapeHelp(std::string_view v);
// A sample value as Prometheus writes it: integers without a fraction, +Inf/-Inf/NaN.
std::string FormatValue(double v);

}  // namespace berth::obs
