// EventQueue: the durable, per-process event log that webhook delivery reads.
//
// An append-only log of segments in one local directory (docs/events.md):
//   seg-<start offset, 16 hex>.log   records: [u32 length][u32 CRC-32][payload], little-endian
//   cursor-<endpoint>                the endpoint's next offset, decimal (temp file, fsync, rename)
// Offsets are logical byte positions over the whole log (a segment's name is its
// first offset), so a cursor stays valid across segment rotation and deletion.
// Recovery scans the last segment and truncates a torn tail (a record whose
// length runs past the end or whose CRC fails): only whole records are read.
//
// Durability: Append(kDurable) returns once the record is on disk; concurrent
// appenders share one fdatasync (group commit: one thread syncs for everyone
// written before it started; the others wait for it). Append(kLazy) only
// buffers the record in memory (one write() per 64 KiB instead of one per
// pull); a background thread writes the buffer every 100 ms and syncs within
// `lazy_sync` (what a crash can lose: docs/events.md). A durable record
// writes the buffer before it, so the log keeps the order of the calls.
//
// Size limit: when the log exceeds `max_bytes`, the OLDEST segment is dropped
// (never the active one): the registry keeps accepting, the backlog of an
// endpoint that stays down loses its oldest events. Each drop is logged and
// counted per endpoint (the `on_drop` callback). Segments every cursor has
// passed are deleted.
//
// Thread-safe: appenders on any thread, one reader per endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/mutex.h"
#include "util/status.h"

namespace berth::events {

// The CRC-32 (IEEE 802.3, as zlib's) of `data`.
uint32_t Crc32(std::string_view data);

enum class Durability : uint8_t { kDurable, kLazy };

struct QueueOptions {
  std::string dir;
  int64_t max_bytes = 1LL << 30;
  int64_t segment_bytes = 0;  // 0: max_bytes / 16, within 64 KiB..64 MiB
  std::chrono::milliseconds lazy_sync{1000};
  std::vector<std::string> endpoints;  // the cursors to keep (a new endpoint starts at the end of the log)
  // Called (outside the queue's lock) when events an endpoint had not yet received are dropped.
  std::function<void(size_t endpoint, uint64_t events)> on_drop;
};

// A record read back, and the offset after it.
struct QueuedRecord {
  std::string payload;
  uint64_t next = 0;
};

class EventQueue {
 public:
  static Result<std::unique_ptr<EventQueue>> Open(QueueOptions options);
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Appends one record (kLazy: to the buffer); returns its end offset (what WaitDurable takes).
  Result<uint64_t> Write(std::string_view payload, Durability d) EXCLUDES(mu_);
  // Writes the buffered records now (the background thread does it every 100 ms).
  Status Flush() EXCLUDES(mu_);
  // Blocks until everything up to `offset` is on disk (group commit).
  Status WaitDurable(uint64_t offset) EXCLUDES(mu_);
  // Write, then WaitDurable when `d` is kDurable.
  Status Append(std::string_view payload, Durability d) EXCLUDES(mu_);

  // Up to `max` whole records from endpoint `ep`'s cursor on (none: nothing new).
  Result<std::vector<QueuedRecord>> Read(size_t ep, size_t max) EXCLUDES(mu_);
  // Moves the endpoint's cursor to `offset` (after the records it received) and persists it.
  Status Ack(size_t ep, uint64_t offset, uint64_t records) EXCLUDES(mu_);
  // Waits up to `wait` for records past the endpoint's cursor (or Stop); true when there are.
  bool WaitForRecords(size_t ep, std::chrono::milliseconds wait) EXCLUDES(mu_);
  // Wakes the waiters for good (the dispatcher is stopping).
  void Stop() EXCLUDES(mu_);

  uint64_t Pending(size_t ep) const EXCLUDES(mu_);
  uint64_t Bytes() const EXCLUDES(mu_);  // of the segments on disk
  uint64_t EndOffset() const EXCLUDES(mu_);

 private:
  struct Segment {
    uint64_t start = 0;
    uint64_t bytes = 0;
  };
  struct Fd;
  explicit EventQueue(QueueOptions options);
  Status Recover() EXCLUDES(mu_);
  Status OpenActive(uint64_t start, bool create) REQUIRES(mu_);
  Status Rotate() REQUIRES(mu_);
  // Drops the oldest segments beyond max_bytes, and those every cursor passed.
  void Trim(std::vector<std::pair<size_t, uint64_t>>* dropped) REQUIRES(mu_);
  // Writes buffer_ to the active segment (rotating first when it is full).
  Status FlushLocked(std::vector<std::pair<size_t, uint64_t>>* dropped) REQUIRES(mu_);
  // Logs and counts what Trim dropped (outside the lock).
  void ReportDrops(const std::vector<std::pair<size_t, uint64_t>>& dropped);
  Status SaveCursor(size_t ep, uint64_t offset);
  std::string SegmentPath(uint64_t start) const;
  void LazySyncLoop() EXCLUDES(mu_);

  QueueOptions options_;  // immutable after construction
  mutable Mutex mu_;
  CondVar synced_cv_;                              // a sync finished
  CondVar data_cv_;                                // records appended (or stopping)
  CondVar stop_cv_;                                // stopping (the lazy sync's sleep)
  std::vector<Segment> segments_ GUARDED_BY(mu_);  // oldest first; the last is active
  std::shared_ptr<Fd> active_ GUARDED_BY(mu_);
  uint64_t end_ GUARDED_BY(mu_) = 0;    // offset after the last whole record written
  std::string buffer_ GUARDED_BY(mu_);  // lazy records not yet written (they follow end_)
  uint64_t buffered_records_ GUARDED_BY(mu_) = 0;
  uint64_t synced_ GUARDED_BY(mu_) = 0;  // everything before it is on disk
  bool syncing_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<uint64_t> cursors_ GUARDED_BY(mu_);
  std::vector<uint64_t> pending_ GUARDED_BY(mu_);
  std::thread lazy_sync_;
};

// What `berth events` shows, read without opening the queue for writing (safe next to `serve`).
struct EndpointState {
  std::string name;
  uint64_t cursor = 0;
  uint64_t pending = 0;
  std::string oldest_timestamp;  // of the first pending event; empty when none
};
struct QueueState {
  uint64_t segment_bytes = 0;
  size_t segments = 0;
  uint64_t end = 0;
  std::vector<EndpointState> endpoints;
};
Result<QueueState> InspectQueue(const std::string& dir, const std::vector<std::string>& endpoints);

}  // namespace berth::events
