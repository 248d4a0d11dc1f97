#include "observability/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace berth::obs {

namespace {
size_t SlotOf(uint32_t key) { return (static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >> 55; }  // 9 bits
static_assert(LabeledCounters::kSlots == 512, "SlotOf yields 9 bits");
}  // namespace

void LabeledCounters::Add(uint32_t key, uint64_t delta) {
  size_t i = SlotOf(key);
  for (size_t probe = 0; probe < kSlots; ++probe, i = (i + 1) & (kSlots - 1)) {
    uint32_t k = keys_[i].load(std::memory_order_acquire);
    if (k == 0) {
      uint32_t expected = 0;
      if (keys_[i].compare_exchange_strong(expected, key, std::memory_order_acq_rel)) {
        k = key;
      } else {
        k = expected;  // another thread claimed it first: for this key or another?
      }
    }
    if (k == key) {
      values_[i].fetch_add(delta, std::memory_order_relaxed);
      return;
    }
  }
  dropped_.fetch_add(delta, std::memory_order_relaxed);
}

uint64_t LabeledCounters::Get(uint32_t key) const {
  size_t i = SlotOf(key);
  for (size_t probe = 0; probe < kSlots; ++probe, i = (i + 1) & (kSlots - 1)) {
    uint32_t k = keys_[i].load(std::memory_order_acquire);
    if (k == key) return values_[i].load(std::memory_order_relaxed);
    if (k == 0) return 0;
  }
  return 0;
}

std::vector<std::pair<uint32_t, uint64_t>> LabeledCounters::Snapshot() const {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (size_t i = 0; i < kSlots; ++i) {
    uint32_t k = keys_[i].load(std::memory_order_acquire);
    if (k != 0) out.emplace_back(k, values_[i].load(std::memory_order_relaxed));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Histogram::Observe(double v, Buckets bounds) {
  size_t i = 0;
  const size_t n = std::min(bounds.size(), kMaxBuckets);
  while (i < n && v > bounds[i]) ++i;  // Prometheus buckets are "less than or equal"
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read(Buckets bounds) const {
  Snapshot s;
  const size_t n = std::min(bounds.size(), kMaxBuckets);
  uint64_t running = 0;
  for (size_t i = 0; i <= n; ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // Read after the buckets, so count >= every bucket seen; +Inf must equal count.
  s.count = std::max(running, count_.load(std::memory_order_relaxed));
  s.cumulative.back() = s.count;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, p);
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, p);
}

void TextExposition::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += EscapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void TextExposition::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                            std::string_view extra_name, std::string_view extra_value) {
  if (labels.size() == 0 && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    out_ += EscapeLabelValue(v);
    out_ += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out_ += '}';
}

void TextExposition::Sample(std::string_view name,
                            std::initializer_list<std::pair<std::string_view, std::string_view>> labels, double value) {
  out_ += name;
  Labels(labels);
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void TextExposition::Sample(std::string_view name,
                            std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                            uint64_t value) {
  out_ += name;
  Labels(labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void TextExposition::HistogramSamples(std::string_view name,
                                      std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                                      Buckets bounds, const Histogram::Snapshot& snap) {
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < snap.cumulative.size(); ++i) {
    const std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
    out_ += bucket;
    Labels(labels, "le", le);
    out_ += ' ';
    out_ += std::to_string(snap.cumulative[i]);
    out_ += '\n';
  }
  Sample(std::string(name) + "_sum", labels, snap.sum);
  Sample(std::string(name) + "_count", labels, snap.count);
}

}  // namespace berth::obs
