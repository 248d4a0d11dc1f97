// berth events: the state of the webhook event queue (docs/events.md), read-only
// (safe next to `serve`): per endpoint the events not yet delivered and the age
// of the oldest, and the bytes the queue's segments take.
#include <chrono>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/load_config.h"
#include "config/config.h"
#include "events/queue.h"

namespace berth::app {
namespace {

// Seconds since an RFC 3339 UTC timestamp ("2026-12-07T21:00:00.123Z"), or -1.
double AgeSeconds(const std::string& ts) {
  std::tm tm{};
  if (ts.size() < 20 || strptime(ts.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return -1;
  const std::time_t t = timegm(&tm);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return static_cast<double>(now - t);
}

}  // namespace

int Events(const EventsCommand& command) {
  std::string config_path = command.config_path;
  auto loaded = LoadConfigFor(&config_path);
  if (!loaded.ok()) {
    std::cerr << "berth: " << loaded.status().message() << "\n";
    return 2;
  }
  const config::Config& cfg = loaded->config;
  const std::string dir = config::EventQueueDir(cfg);
  std::vector<std::string> names;
  for (const auto& e : cfg.notifications.endpoints) names.push_back(e.name);
  auto state = events::InspectQueue(dir, names);
  if (!state.ok()) {
    std::cerr << "berth: " << state.status().message() << "\n";
    return 1;
  }
  if (command.json) {
    nlohmann::json j = {{"queue_dir", dir},
                        {"segment_bytes", state->segment_bytes},
                        {"segments", state->segments},
                        {"endpoints", nlohmann::json::array()}};
    for (const auto& e : state->endpoints) {
      nlohmann::json ej = {{"name", e.name}, {"pending", e.pending}};
      if (!e.oldest_timestamp.empty()) {
        ej["oldest_timestamp"] = e.oldest_timestamp;
        ej["oldest_age_seconds"] = AgeSeconds(e.oldest_timestamp);
      }
      j["endpoints"].push_back(ej);
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "queue " << dir << ": " << state->segment_bytes << " bytes in " << state->segments << " segment(s)\n";
  for (const auto& e : state->endpoints) {
    std::cout << "  " << e.name << ": " << e.pending << " pending";
    if (!e.oldest_timestamp.empty()) {
      std::cout << ", oldest " << e.oldest_timestamp << " (" << static_cast<long long>(AgeSeconds(e.oldest_timestamp))
                << " s ago)";
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace berth::app
