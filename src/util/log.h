// Process-wide structured logging to stderr: one line per event, text or JSON.
// Thread-safe: each line is written with a single write(2).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace berth::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

using Field = std::pair<std::string_view, std::string>;

// The request a line belongs to: written first, after the message (request_id
// and user always, repository and action when not empty).
struct RequestFields {
  std::string_view request_id;
  std::string_view user;  // empty = anonymous / not authenticated
  std::string_view repository;
  std::string_view action;
};

void Configure(Level level, Format format);
bool Enabled(Level level);
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
// A request-scoped line.
void Write(Level level, std::string_view message, const RequestFields& request, std::initializer_list<Field> fields);

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

}  // namespace berth::log
