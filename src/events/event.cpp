#include "events/event.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "util/random.h"

namespace berth::events {

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  return buf;
}

void Stamp(Event* e) {
  e->id = RandomUuid();
  e->timestamp = NowRfc3339();
}

namespace {

void PutIfSet(nlohmann::json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

}  // namespace

std::string ToJson(const Event& e) {
  nlohmann::json target = nlohmann::json::object();
  PutIfSet(target, "mediaType", e.target.media_type);
  if (e.target.size > 0 || !e.target.digest.empty()) {
    target["size"] = e.target.size;
    target["length"] = e.target.size;
  }
  PutIfSet(target, "digest", e.target.digest);
  PutIfSet(target, "repository", e.target.repository);
  PutIfSet(target, "fromRepository", e.target.from_repository);
  PutIfSet(target, "url", e.target.url);
  PutIfSet(target, "tag", e.target.tag);
  nlohmann::json request = nlohmann::json::object();
  PutIfSet(request, "id", e.request.id);
  PutIfSet(request, "addr", e.request.addr);
  PutIfSet(request, "host", e.request.host);
  PutIfSet(request, "method", e.request.method);
  PutIfSet(request, "useragent", e.request.useragent);
  nlohmann::json actor = nlohmann::json::object();
  PutIfSet(actor, "name", e.actor);
  nlohmann::json source = nlohmann::json::object();
  PutIfSet(source, "addr", e.source_addr);
  PutIfSet(source, "instanceID", e.source_instance_id);
  nlohmann::json j = {{"id", e.id},         {"timestamp", e.timestamp}, {"action", e.action}, {"target", target},
                      {"request", request}, {"actor", actor},           {"source", source}};
  // Invalid UTF-8 (a user agent) is replaced, never thrown at a request.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Envelope(const std::vector<std::string_view>& event_jsons) {
  std::string out = "{\"events\":[";
  for (size_t i = 0; i < event_jsons.size(); ++i) {
    if (i > 0) out += ',';
    out += event_jsons[i];
  }
  out += "]}";
  return out;
}

std::optional<std::string> ToCloudEvent(std::string_view event_json) {
  nlohmann::json data = nlohmann::json::parse(event_json, nullptr, false);
  if (data.is_discarded() || !data.is_object()) return std::nullopt;
  const nlohmann::json target = data.value("target", nlohmann::json::object());
  const nlohmann::json source = data.value("source", nlohmann::json::object());
  std::string subject = target.value("repository", "");
  if (const std::string tag = target.value("tag", ""); !tag.empty()) {
    subject += ":" + tag;
  } else if (const std::string digest = target.value("digest", ""); !digest.empty()) {
    subject += "@" + digest;
  }
  nlohmann::json ce = {
      {"specversion", "1.0"},
      {"id", data.value("id", "")},
      {"source", "/berth/" + source.value("instanceID", std::string("unknown"))},
      {"type", "dev.berth.registry." + data.value("action", std::string("unknown"))},
      {"time", data.value("timestamp", "")},
      {"datacontenttype", "application/json"},
      {"data", data},
  };
  if (!subject.empty()) ce["subject"] = subject;
  return ce.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ToRecord(const Event& e) {
  std::string out;
  out.reserve(768);
  out += e.action;
  out += '\x1f';
  out += e.target.media_type;
  out += '\x1f';
  out += e.timestamp;
  out += '\n';
  out += ToJson(e);
  return out;
}

std::optional<Summary> Summarize(std::string_view record) {
  const size_t nl = record.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  const std::string_view header = record.substr(0, nl);
  const size_t a = header.find('\x1f');
  const size_t b = a == std::string_view::npos ? a : header.find('\x1f', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  Summary s;
  s.action = std::string(header.substr(0, a));
  s.media_type = std::string(header.substr(a + 1, b - a - 1));
  s.timestamp = std::string(header.substr(b + 1));
  s.json = record.substr(nl + 1);
  return s;
}

}  // namespace berth::events
