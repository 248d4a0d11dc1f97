// Test hooks: named points in the code where a test can make an interleaving
// happen that would otherwise be left to luck ("both uploads have moved their
// data before either links it"), and can see that a point was passed.
//
// Off unless the environment variable BERTH_TEST_HOOKS names points when the
// process starts; nothing in a request or the config can turn one on. Off, a
// hook is one load of a flag set once and a branch.
//
//   BERTH_TEST_HOOKS="<point>[:hold=<path>][,<point>...]"
//
// A named point, when reached, writes "berth test hook: <point> reached" to
// stderr (an event a test can wait for in the server's log); with hold=<path>
// it then waits while <path> exists (60 s at most) and writes "... <point>
// passed". A test creates <path> before the requests it wants to line up,
// waits for as many "reached" lines as requests, and removes <path>.
// The points: `grep -rn 'test_hooks::Reach' src/`.
//
// Thread-safety: the configuration is parsed once (a function-local static);
// Reach may run on any number of threads at once. A held point blocks the
// calling thread, so a test holding N requests must give the server more than
// N threads (server.threads).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace berth::test_hooks {

struct Point {
  std::string name;
  std::string hold;  // wait while this file exists; empty = do not wait
};

// The points named by BERTH_TEST_HOOKS, or nullptr when it is unset or empty.
inline const std::vector<Point>* Configured() {
  static const std::vector<Point>* const points = []() -> const std::vector<Point>* {
    const char* env = std::getenv("BERTH_TEST_HOOKS");
    if (env == nullptr || *env == '\0') return nullptr;
    auto* out = new std::vector<Point>;  // lives as long as the process
    std::string_view rest(env);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t colon = item.find(':');
      Point p;
      p.name = std::string(item.substr(0, colon));
      if (colon != std::string_view::npos && item.substr(colon + 1).starts_with("hold=")) {
        p.hold = std::string(item.substr(colon + 1 + 5));
      }
      if (!p.name.empty()) out->push_back(std::move(p));
    }
    return out;
  }();
  return points;
}

inline void Say(const std::string& name, std::string_view what) {
  const std::string line = "berth test hook: " + name + " " + std::string(what) + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());  // one write: lines never interleave
}

// Marks the named point; see the top of this file.
inline void Reach(std::string_view name) {
  const std::vector<Point>* points = Configured();
  if (points == nullptr) return;
  for (const Point& p : *points) {
    if (p.name != name) continue;
    Say(p.name, "reached");
    if (p.hold.empty()) continue;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (::access(p.hold.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    Say(p.name, "passed");
  }
}

}  // namespace berth::test_hooks
