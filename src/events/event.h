// Event: one registry event (push, pull, delete, mount) as distribution's
// notifications describe it, and its two wire formats: distribution's envelope
// (application/vnd.docker.distribution.events.v1+json) and CloudEvents 1.0
// (structured JSON mode). The queue stores an event as its distribution JSON
// (ToJson), so what is delivered is byte-for-byte what was recorded.
// Pure values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::events {

inline constexpr std::string_view kEnvelopeMediaType = "application/vnd.docker.distribution.events.v1+json";
inline constexpr std::string_view kCloudEventMediaType = "application/cloudevents+json";

// distribution's actions.
inline constexpr std::string_view kPush = "push";
inline constexpr std::string_view kPull = "pull";
inline constexpr std::string_view kDelete = "delete";
inline constexpr std::string_view kMount = "mount";

struct Target {
  std::string media_type;  // mediaType
  int64_t size = 0;        // size and length (distribution sends both, equal)
  std::string digest;
  std::string repository;
  std::string from_repository;  // mount: where the blob came from (fromRepository)
  std::string url;
  std::string tag;
};

struct RequestInfo {
  std::string id, addr, host, method, useragent;
};

struct Event {
  std::string id;         // unique (a UUID): receivers dedupe redeliveries by it
  std::string timestamp;  // RFC 3339, UTC, nanoseconds
  std::string action;     // push | pull | delete | mount
  Target target;
  RequestInfo request;
  std::string actor;  // actor.name: the account, empty when anonymous
  std::string source_addr, source_instance_id;
};

// A fresh id and the current time.
void Stamp(Event* e);
std::string NowRfc3339();

// One event as distribution's JSON object (empty fields omitted, as Go's omitempty).
std::string ToJson(const Event& e);
// The envelope of already-serialised events: {"events":[...]}.
std::string Envelope(const std::vector<std::string_view>& event_jsons);
// One CloudEvents 1.0 structured-mode event whose data is the distribution event.
// Nullopt when `event_json` does not parse (never for what ToJson wrote).
std::optional<std::string> ToCloudEvent(std::string_view event_json);

// What the queue stores of an event: one header line that delivery filters and
// `berth events` read without parsing JSON ("<action>\x1f<mediaType>\x1f<timestamp>\n"),
// then ToJson(e), the bytes that are sent.
std::string ToRecord(const Event& e);
// A stored record's header fields and its JSON (a view into `record`).
struct Summary {
  std::string action, media_type, timestamp;
  std::string_view json;
};
std::optional<Summary> Summarize(std::string_view record);

}  // namespace berth::events
