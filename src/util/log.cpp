#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

namespace berth::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];  // (roomy enough for any int the format could see: no truncation warning)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void Configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

namespace {

void AppendText(std::string& line, std::string_view k, std::string_view v) {
  line += ' ';
  line += k;
  line += '=';
  bool quote = v.empty() || v.find_first_of(" \"=") != std::string::npos;
  if (quote) line += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') line += '\\';
    line += (c == '\n' || c == '\r') ? ' ' : c;
  }
  if (quote) line += '"';
}

void WriteLine(Level level, std::string_view message, const RequestFields* request,
               std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  if (g_format == Format::kJson) {
    nlohmann::ordered_json j;
    j["time"] = Timestamp();
    j["level"] = LevelName(level);
    j["msg"] = message;
    if (request != nullptr) {
      j["request_id"] = request->request_id;
      j["user"] = request->user;
      if (!request->repository.empty()) j["repository"] = request->repository;
      if (!request->action.empty()) j["action"] = request->action;
    }
    for (const auto& [k, v] : fields) j[std::string(k)] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = Timestamp() + " " + LevelName(level) + " " + std::string(message);
    if (request != nullptr) {
      AppendText(line, "request_id", request->request_id);
      AppendText(line, "user", request->user);
      if (!request->repository.empty()) AppendText(line, "repository", request->repository);
      if (!request->action.empty()) AppendText(line, "action", request->action);
    }
    for (const auto& [k, v] : fields) AppendText(line, k, v);
  }
  line += '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  WriteLine(level, message, nullptr, fields);
}

void Write(Level level, std::string_view message, const RequestFields& request, std::initializer_list<Field> fields) {
  WriteLine(level, message, &request, fields);
}

}  // namespace berth::log
