// Dispatcher: records registry events in the durable queue (events/queue.h)
// and delivers them to the configured webhook endpoints
// (`notifications.endpoints`, docs/events.md), at least once.
//
// One delivery thread per endpoint reads the queue from that endpoint's cursor,
// drops what its ignore rules name, POSTs the rest (distribution's envelope, or
// one CloudEvent a request) with its headers and an HMAC-SHA256 signature, and
// moves the cursor only after a 2xx/3xx. Failures: retried at once until
// `threshold` in a row, then after `backoff`, doubling per further failure up to
// 64x. An endpoint that stays down costs nothing but queue space on disk: the
// request path never waits for delivery.
//
// Thread-safe: Write/WaitDurable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "config/config.h"
#include "events/event.h"
#include "events/queue.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::events {

// --- the pieces, pure (unit-tested) ---

// Whether an endpoint's ignore rules (ignoredmediatypes, ignore.mediatypes,
// ignore.actions) drop an event with this action and target media type.
bool Ignored(const config::NotificationEndpointConfig& endpoint, const Summary& event);

// How long to wait before the next attempt after `failures` failed attempts in a row.
std::chrono::milliseconds RetryDelay(int64_t failures, int64_t threshold, std::chrono::milliseconds backoff);

// The X-Berth-Signature value of `body`: "sha256=" + hex(HMAC-SHA256(secret, body)).
std::string Signature(std::string_view secret, std::string_view body);
inline constexpr std::string_view kSignatureHeader = "X-Berth-Signature";

// A secret file's content without its trailing newline; refused when group or
// others may read it (mode & 077) or when it is empty.
Result<std::string> ReadSecretFile(const std::string& path);

// An endpoint URL's parts.
struct EndpointUrl {
  bool tls = false;
  std::string host;  // without brackets
  uint16_t port = 0;
  std::string target;  // path and query, "/" at least
};
Result<EndpointUrl> ParseEndpointUrl(const std::string& url);

// --- the dispatcher ---

class Dispatcher {
 public:
  // Opens the queue (queue_dir), reads the secrets and starts one delivery
  // thread per enabled endpoint. `source_addr`: this instance's host:port (source.addr).
  static Result<std::unique_ptr<Dispatcher>> Start(const config::NotificationsConfig& config, std::string queue_dir,
                                                   std::string source_addr);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Stamps `e` (id, timestamp, source) and appends it; returns the offset
  // WaitDurable takes. kLazy (pulls): buffered, written and synced in the
  // background (EventQueue::Write). kDurable: written, not yet synced.
  Result<uint64_t> Write(Event* e, Durability d);
  // Blocks until the record ending at `offset` is on disk (group commit): for
  // push, delete and mount, before the response. Run it off the I/O threads (sync_pool).
  Status WaitDurable(uint64_t offset);
  boost::asio::thread_pool& sync_pool() { return sync_pool_; }
  // Whether some endpoint takes events of this action: when every endpoint's
  // ignore.actions names it, such events are not even recorded (a pull then costs nothing).
  bool Wants(std::string_view action) const;

  // Stops the delivery threads (what is pending stays queued for the next start).
  void Stop() EXCLUDES(mu_);

  EventQueue& queue() { return *queue_; }

 private:
  struct Endpoint {
    config::NotificationEndpointConfig config;
    EndpointUrl url;
    std::string secret;
    size_t index = 0;  // in the queue's cursors and the metrics
  };
  Dispatcher() = default;
  void DeliveryLoop(const Endpoint& ep);
  Status Deliver(const Endpoint& ep, const std::vector<std::string_view>& events);
  Status Post(const Endpoint& ep, std::string_view content_type, const std::string& body);
  // Sleeps up to `d` unless stopping; false when stopping.
  bool Sleep(std::chrono::milliseconds d) EXCLUDES(mu_);
  bool Stopping() EXCLUDES(mu_);

  std::string instance_id_, source_addr_;
  std::unique_ptr<EventQueue> queue_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::thread> threads_;
  boost::asio::thread_pool sync_pool_{4};
  Mutex mu_;
  CondVar stop_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace berth::events
