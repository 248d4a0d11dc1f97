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

// A small JSON writer: an event is written on every push and pull, and
// building an nlohmann::json object per event costs more than the request.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  void Open() {
    *out_ += '{';
    first_ = true;
  }
  void Close() {
    *out_ += '}';
    first_ = false;
  }
  void Key(std::string_view k) {
    if (!first_) *out_ += ',';
    first_ = false;
    String(k);
    *out_ += ':';
  }
  void Object(std::string_view k) {
    Key(k);
    Open();
  }
  void Field(std::string_view k, std::string_view v) {
    Key(k);
    String(v);
  }
  void FieldIfSet(std::string_view k, std::string_view v) {
    if (!v.empty()) Field(k, v);
  }
  void Number(std::string_view k, int64_t v) {
    Key(k);
    *out_ += std::to_string(v);
  }

 private:
  // Escapes as JSON requires; bytes that are not valid UTF-8 become U+FFFD
  // (a user agent is client input), never an exception in a request.
  void String(std::string_view s) {
    *out_ += '"';
    size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        *out_ += '\\';
        *out_ += static_cast<char>(c);
        ++i;
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        *out_ += buf;
        ++i;
      } else if (c < 0x80) {
        // A run of characters that need no escaping, appended at once.
        size_t end = i + 1;
        while (end < s.size()) {
          const auto d = static_cast<unsigned char>(s[end]);
          if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
          ++end;
        }
        out_->append(s.substr(i, end - i));
        i = end;
      } else {
        const size_t len = Utf8Length(s, i);
        if (len == 0) {
          *out_ += "\xEF\xBF\xBD";
          ++i;
        } else {
          out_->append(s.substr(i, len));
          i += len;
        }
      }
    }
    *out_ += '"';
  }
  // The length of the well-formed UTF-8 sequence at s[i], or 0.
  static size_t Utf8Length(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (cc & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return 0;
    }
    return len;
  }

  std::string* out_;
  bool first_ = true;
};

}  // namespace

std::string ToJson(const Event& e) {
  std::string out;
  out.reserve(640);
  JsonWriter w(&out);
  w.Open();
  w.Field("id", e.id);
  w.Field("timestamp", e.timestamp);
  w.Field("action", e.action);
  w.Object("target");
  w.FieldIfSet("mediaType", e.target.media_type);
  if (e.target.size > 0 || !e.target.digest.empty()) {
    w.Number("size", e.target.size);
    w.Number("length", e.target.size);
  }
  w.FieldIfSet("digest", e.target.digest);
  w.FieldIfSet("repository", e.target.repository);
  w.FieldIfSet("fromRepository", e.target.from_repository);
  w.FieldIfSet("url", e.target.url);
  w.FieldIfSet("tag", e.target.tag);
  w.Close();
  w.Object("request");
  w.FieldIfSet("id", e.request.id);
  w.FieldIfSet("addr", e.request.addr);
  w.FieldIfSet("host", e.request.host);
  w.FieldIfSet("method", e.request.method);
  w.FieldIfSet("useragent", e.request.useragent);
  w.Close();
  w.Object("actor");
  w.FieldIfSet("name", e.actor);
  w.Close();
  w.Object("source");
  w.FieldIfSet("addr", e.source_addr);
  w.FieldIfSet("instanceID", e.source_instance_id);
  w.Close();
  w.Close();
  return out;
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
