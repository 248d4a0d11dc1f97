#include "events/queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "events/event.h"
#include "util/log.h"
#include "util/random.h"

namespace berth::events {
namespace {

constexpr size_t kHeader = 8;
constexpr uint32_t kMaxRecord = 16u << 20;  // an event is a few hundred bytes; anything larger is corruption

// Slicing-by-8 tables: CRC-32 runs on every record written and read, 8 bytes a step.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;
CrcTables MakeCrcTables() {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

Status Errno(const std::string& what) { return Status::IoError(what + ": " + std::strerror(errno)); }

bool PreadAll(int fd, char* buf, size_t n, uint64_t pos) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    pos += static_cast<uint64_t>(r);
  }
  return true;
}

// Walks whole records of an open segment from file position `pos` up to `limit`,
// calling `each(payload, position after it)` until it returns false. Returns
// the position after the last whole, valid record visited.
template <typename F>
uint64_t Scan(int fd, uint64_t pos, uint64_t limit, F&& each) {
  char header[kHeader];
  std::string payload;
  while (pos + kHeader <= limit) {
    if (!PreadAll(fd, header, kHeader, pos)) break;
    const uint32_t len = GetU32(header), crc = GetU32(header + 4);
    if (len > kMaxRecord || pos + kHeader + len > limit) break;
    payload.resize(len);
    if (len > 0 && !PreadAll(fd, payload.data(), len, pos + kHeader)) break;
    if (Crc32(payload) != crc) break;
    pos += kHeader + len;
    if (!each(payload, pos)) break;
  }
  return pos;
}

struct SegmentFile {
  uint64_t start;
  std::string path;
  uint64_t size;
};

// The segments in `dir`, oldest first.
std::vector<SegmentFile> ListSegments(const std::string& dir) {
  std::vector<SegmentFile> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 4 + 16 + 4 || name.rfind("seg-", 0) != 0 || name.substr(20) != ".log") continue;
    uint64_t start = 0;
    bool ok = true;
    for (char c : name.substr(4, 16)) {
      int v = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
      if (v < 0) ok = false;
      start = start * 16 + static_cast<uint64_t>(std::max(v, 0));
    }
    if (!ok) continue;
    std::error_code size_ec;
    const uint64_t size = std::filesystem::file_size(entry.path(), size_ec);
    if (size_ec) continue;
    out.push_back({start, entry.path().string(), size});
  }
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.start < b.start; });
  return out;
}

std::string CursorPath(const std::string& dir, const std::string& endpoint) { return dir + "/cursor-" + endpoint; }

// The saved cursor, or nullopt when there is none (or it does not parse).
std::optional<uint64_t> LoadCursor(const std::string& dir, const std::string& endpoint) {
  std::ifstream in(CursorPath(dir, endpoint));
  unsigned long long v = 0;
  if (!(in >> v)) return std::nullopt;
  return static_cast<uint64_t>(v);
}

// Counts records from logical offset `from` to `to` over `segments`; the first
// record's payload goes to *first when asked.
uint64_t CountRecords(const std::vector<SegmentFile>& segments, uint64_t from, uint64_t to,
                      std::string* first = nullptr) {
  uint64_t count = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const SegmentFile& s = segments[i];
    const uint64_t s_end = std::min(s.start + s.size, to);
    if (s_end <= from || s.start >= to) continue;
    const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    Scan(fd, std::max(from, s.start) - s.start, s_end - s.start, [&](const std::string& payload, uint64_t) {
      if (count == 0 && first != nullptr) *first = payload;
      ++count;
      return true;
    });
    ::close(fd);
  }
  return count;
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  static const CrcTables t = MakeCrcTables();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  while (n >= 8) {
    const uint32_t lo = c ^ (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^
        t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

struct EventQueue::Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

EventQueue::EventQueue(QueueOptions options) : options_(std::move(options)) {
  if (options_.segment_bytes <= 0) {
    options_.segment_bytes = std::clamp<int64_t>(options_.max_bytes / 16, 64 << 10, 64 << 20);
  }
}

EventQueue::~EventQueue() {
  Stop();
  if (lazy_sync_.joinable()) lazy_sync_.join();
  MutexLock lock(mu_);
  std::vector<std::pair<size_t, uint64_t>> dropped;
  if (active_) (void)FlushLocked(&dropped);
  if (active_ && synced_ < end_) ::fdatasync(active_->fd);
}

Result<std::unique_ptr<EventQueue>> EventQueue::Open(QueueOptions options) {
  std::unique_ptr<EventQueue> q(new EventQueue(std::move(options)));
  if (Status s = q->Recover(); !s.ok()) return s;
  q->lazy_sync_ = std::thread([p = q.get()] { p->LazySyncLoop(); });
  return q;
}

std::string EventQueue::SegmentPath(uint64_t start) const {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016llx.log", static_cast<unsigned long long>(start));
  return options_.dir + "/" + name;
}

Status EventQueue::OpenActive(uint64_t start, bool create) {
  const std::string path = SegmentPath(start);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
  if (fd < 0) return Errno("event queue: open " + path);
  active_ = std::make_shared<Fd>(fd);
  if (create) {
    // The new file's name must survive a crash as well as its records.
    const int dir = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    segments_.push_back({start, 0});
  }
  return Status::Ok();
}

Status EventQueue::Recover() {
  MutexLock lock(mu_);  // (alone at Open; the lock is for the analysis)
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Status::IoError("event queue: cannot create " + options_.dir + ": " + ec.message());
  ::chmod(options_.dir.c_str(), 0700);
  std::vector<SegmentFile> files = ListSegments(options_.dir);
  for (const SegmentFile& f : files) segments_.push_back({f.start, f.size});
  if (!files.empty()) {
    // The last segment may end in a torn record (a crash mid-write): cut it off.
    SegmentFile& last = files.back();
    const int fd = ::open(last.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Errno("event queue: open " + last.path);
    const uint64_t valid = Scan(fd, 0, last.size, [](const std::string&, uint64_t) { return true; });
    if (valid < last.size) {
      log::Warn("event queue: a torn record at the end of the log was discarded",
                {{"segment", last.path}, {"bytes", std::to_string(last.size - valid)}});
      if (::ftruncate(fd, static_cast<off_t>(valid)) != 0) {
        ::close(fd);
        return Errno("event queue: truncate " + last.path);
      }
      ::fdatasync(fd);
      last.size = valid;
      segments_.back().bytes = valid;
    }
    ::close(fd);
  }
  // Cursors (also of endpoints no longer configured: the log never restarts below one).
  uint64_t highest_cursor = 0;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("cursor-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    if (auto c = LoadCursor(options_.dir, name.substr(7))) highest_cursor = std::max(highest_cursor, *c);
  }
  if (segments_.empty()) {
    if (Status s = OpenActive(highest_cursor, true); !s.ok()) return s;
  } else {
    if (Status s = OpenActive(segments_.back().start, false); !s.ok()) return s;
  }
  end_ = segments_.back().start + segments_.back().bytes;
  synced_ = end_;
  const uint64_t first = segments_.front().start;
  for (const std::string& ep : options_.endpoints) {
    const std::optional<uint64_t> saved = LoadCursor(options_.dir, ep);
    const uint64_t c = std::clamp(saved.value_or(end_), first, end_);  // a new endpoint starts now
    cursors_.push_back(c);
    if (!saved) {
      if (Status s = SaveCursor(cursors_.size() - 1, c); !s.ok()) return s;
    }
    pending_.push_back(CountRecords(ListSegments(options_.dir), c, end_));
  }
  return Status::Ok();
}

Status EventQueue::Rotate() {
  if (::fdatasync(active_->fd) != 0) return Errno("event queue: fdatasync");
  synced_ = end_;
  return OpenActive(end_, true);
}

Status EventQueue::FlushLocked(std::vector<std::pair<size_t, uint64_t>>* dropped) {
  if (buffer_.empty()) return Status::Ok();
  if (static_cast<int64_t>(segments_.back().bytes) >= options_.segment_bytes) {
    if (Status s = Rotate(); !s.ok()) return s;
  }
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(active_->fd, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status err = Errno("event queue: write");
      // Nothing half-written stays: cut the partial records off again. The
      // buffer is given up (a durable caller gets the error; pulls are lost, logged).
      if (::ftruncate(active_->fd, static_cast<off_t>(segments_.back().bytes)) != 0) {
        log::Error("event queue: cannot truncate a partial record");
      }
      log::Error("event queue: events not written",
                 {{"events", std::to_string(buffered_records_)}, {"error", err.message()}});
      for (uint64_t& p : pending_) p -= std::min(p, buffered_records_);
      buffer_.clear();
      buffered_records_ = 0;
      return err;
    }
    done += static_cast<size_t>(n);
  }
  segments_.back().bytes += buffer_.size();
  end_ += buffer_.size();
  buffer_.clear();
  buffered_records_ = 0;
  Trim(dropped);
  return Status::Ok();
}

void EventQueue::ReportDrops(const std::vector<std::pair<size_t, uint64_t>>& dropped) {
  for (const auto& [ep, n] : dropped) {
    log::Warn("event queue full: dropped the oldest undelivered events",
              {{"endpoint", options_.endpoints[ep]},
               {"events", std::to_string(n)},
               {"max_queue_bytes", std::to_string(options_.max_bytes)}});
    if (options_.on_drop) options_.on_drop(ep, n);
  }
}

Result<uint64_t> EventQueue::Write(std::string_view payload, Durability d) {
  if (payload.size() > kMaxRecord) return Status::Invalid("event too large");
  char header[kHeader];
  PutU32(header, static_cast<uint32_t>(payload.size()));
  PutU32(header + 4, Crc32(payload));
  constexpr size_t kFlushBytes = 64 << 10;
  std::vector<std::pair<size_t, uint64_t>> dropped;
  uint64_t end = 0;
  bool written = false;
  {
    MutexLock lock(mu_);
    buffer_.append(header, kHeader);
    buffer_.append(payload);
    ++buffered_records_;
    for (uint64_t& p : pending_) ++p;
    if (d == Durability::kDurable || buffer_.size() >= kFlushBytes) {
      if (Status s = FlushLocked(&dropped); !s.ok()) return s;
      written = true;
    }
    end = end_ + buffer_.size();
  }
  if (written) data_cv_.NotifyAll();
  ReportDrops(dropped);
  return end;
}

Status EventQueue::Flush() {
  std::vector<std::pair<size_t, uint64_t>> dropped;
  Status s;
  {
    MutexLock lock(mu_);
    s = FlushLocked(&dropped);
  }
  data_cv_.NotifyAll();
  ReportDrops(dropped);
  return s;
}

Status EventQueue::WaitDurable(uint64_t offset) {
  MutexLock lock(mu_);
  while (synced_ < offset) {
    if (syncing_) {
      synced_cv_.Wait(mu_);
      continue;
    }
    // This thread syncs for everyone who wrote before now (group commit).
    syncing_ = true;
    std::shared_ptr<Fd> fd = active_;
    const uint64_t target = end_;
    lock.Unlock();
    const int rc = ::fdatasync(fd->fd);
    const int err = errno;
    lock.Lock();
    syncing_ = false;
    if (rc == 0) synced_ = std::max(synced_, target);
    synced_cv_.NotifyAll();
    if (rc != 0) return Status::IoError(std::string("event queue: fdatasync: ") + std::strerror(err));
  }
  return Status::Ok();
}

Status EventQueue::Append(std::string_view payload, Durability d) {
  auto end = Write(payload, d);
  if (!end.ok()) return end.status();
  if (d == Durability::kLazy) return Status::Ok();
  return WaitDurable(*end);
}

void EventQueue::LazySyncLoop() {
  const auto tick = std::min<std::chrono::milliseconds>(options_.lazy_sync, std::chrono::milliseconds(100));
  auto next_sync = std::chrono::steady_clock::now() + options_.lazy_sync;
  MutexLock lock(mu_);
  while (!stopping_) {
    const auto deadline = std::chrono::steady_clock::now() + tick;
    while (!stopping_ && std::chrono::steady_clock::now() < deadline) stop_cv_.WaitUntil(mu_, deadline);
    if (stopping_) break;
    if (!buffer_.empty()) {
      std::vector<std::pair<size_t, uint64_t>> dropped;
      (void)FlushLocked(&dropped);  // (a failure is logged there)
      lock.Unlock();
      data_cv_.NotifyAll();
      ReportDrops(dropped);
      lock.Lock();
    }
    if (std::chrono::steady_clock::now() >= next_sync) {
      next_sync = std::chrono::steady_clock::now() + options_.lazy_sync;
      if (synced_ < end_ && !syncing_) {
        const uint64_t target = end_;
        lock.Unlock();
        if (Status s = WaitDurable(target); !s.ok()) {
          log::Error("event queue: background sync failed", {{"error", s.message()}});
        }
        lock.Lock();
      }
    }
  }
}

void EventQueue::Trim(std::vector<std::pair<size_t, uint64_t>>* dropped) {
  uint64_t total = 0;
  for (const Segment& s : segments_) total += s.bytes;
  while (segments_.size() > 1) {
    const uint64_t s_start = segments_[0].start, s_end = segments_[1].start;
    bool consumed = true;
    for (uint64_t c : cursors_) consumed = consumed && c >= s_end;
    if (!consumed && total <= static_cast<uint64_t>(options_.max_bytes)) break;
    if (!consumed) {
      const std::vector<SegmentFile> one = {{s_start, SegmentPath(s_start), s_end - s_start}};
      for (size_t ep = 0; ep < cursors_.size(); ++ep) {
        if (cursors_[ep] >= s_end) continue;
        const uint64_t n = CountRecords(one, cursors_[ep], s_end);
        pending_[ep] -= std::min(pending_[ep], n);
        cursors_[ep] = s_end;
        if (Status s = SaveCursor(ep, s_end); !s.ok()) {
          log::Error(s.message());
        }
        dropped->emplace_back(ep, n);
      }
    }
    ::unlink(SegmentPath(s_start).c_str());
    total -= segments_.front().bytes;
    segments_.erase(segments_.begin());
  }
}

Status EventQueue::SaveCursor(size_t ep, uint64_t offset) {
  const std::string path = CursorPath(options_.dir, options_.endpoints[ep]);
  const std::string tmp = path + ".tmp-" + std::to_string(FastRandom64());
  const std::string text = std::to_string(offset) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("event queue: cursor " + tmp);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("event queue: cursor " + path);
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Result<std::vector<QueuedRecord>> EventQueue::Read(size_t ep, size_t max) {
  uint64_t cursor = 0, end = 0;
  Segment seg;
  uint64_t seg_end = 0;
  {
    MutexLock lock(mu_);
    cursor = cursors_[ep];
    end = end_;
    if (cursor >= end) return std::vector<QueuedRecord>{};
    size_t i = 0;
    while (i + 1 < segments_.size() && segments_[i + 1].start <= cursor) ++i;
    seg = segments_[i];
    seg_end = i + 1 < segments_.size() ? segments_[i + 1].start : end;
  }
  std::vector<QueuedRecord> out;
  const std::string path = SegmentPath(seg.start);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;  // dropped meanwhile: the next Read starts at the moved cursor
  const uint64_t stopped = Scan(fd, cursor - seg.start, seg_end - seg.start, [&](const std::string& p, uint64_t pos) {
    out.push_back({p, seg.start + pos});
    return out.size() < max;
  });
  ::close(fd);
  if (out.empty() && seg.start + stopped < seg_end) {
    // A damaged record in an older segment: skip the rest of it (an empty record says so).
    log::Warn("event queue: skipped a damaged segment", {{"segment", path}});
    out.push_back({"", seg_end});
  }
  return out;
}

Status EventQueue::Ack(size_t ep, uint64_t offset, uint64_t records) {
  std::vector<std::pair<size_t, uint64_t>> none;
  {
    MutexLock lock(mu_);
    if (offset <= cursors_[ep]) return Status::Ok();  // moved past by a drop meanwhile
    cursors_[ep] = offset;
    pending_[ep] -= std::min(pending_[ep], records);
    Trim(&none);
  }
  return SaveCursor(ep, offset);
}

bool EventQueue::WaitForRecords(size_t ep, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  MutexLock lock(mu_);
  while (!stopping_ && cursors_[ep] >= end_ && std::chrono::steady_clock::now() < deadline) {
    data_cv_.WaitUntil(mu_, deadline);
  }
  return !stopping_ && cursors_[ep] < end_;
}

void EventQueue::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  data_cv_.NotifyAll();
  synced_cv_.NotifyAll();
  stop_cv_.NotifyAll();
}

uint64_t EventQueue::Pending(size_t ep) const {
  MutexLock lock(mu_);
  return pending_[ep];
}

uint64_t EventQueue::Bytes() const {
  MutexLock lock(mu_);
  uint64_t t = 0;
  for (const Segment& s : segments_) t += s.bytes;
  return t;
}

uint64_t EventQueue::EndOffset() const {
  MutexLock lock(mu_);
  return end_;
}

Result<QueueState> InspectQueue(const std::string& dir, const std::vector<std::string>& endpoints) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Status::NotFound("no event queue at " + dir);
  QueueState state;
  const std::vector<SegmentFile> segments = ListSegments(dir);
  state.segments = segments.size();
  for (const SegmentFile& s : segments) state.segment_bytes += s.size;
  state.end = segments.empty() ? 0 : segments.back().start + segments.back().size;
  const uint64_t first = segments.empty() ? 0 : segments.front().start;
  for (const std::string& name : endpoints) {
    EndpointState e;
    e.name = name;
    e.cursor = std::clamp(LoadCursor(dir, name).value_or(state.end), first, state.end);
    std::string oldest;
    e.pending = CountRecords(segments, e.cursor, state.end, &oldest);
    if (auto summary = Summarize(oldest)) e.oldest_timestamp = summary->timestamp;
    state.endpoints.push_back(std::move(e));
  }
  return state;
}

}  // namespace berth::events
