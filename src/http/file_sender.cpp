#include "http/file_sender.h"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL and write() faults the pages in
#endif

namespace berth::http {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// 1 MiB per write(): large enough that the per-call and per-wake-up costs
// vanish, small enough that a mapped stream pins little page-table memory.
constexpr size_t kMappedChunk = size_t{1} << 20;

std::atomic<int> g_mapped_streams{0};

// Holds one of the kMaxMappedStreams slots while a mapped stream runs.
class MappedSlot {
 public:
  MappedSlot() {
    int n = g_mapped_streams.load(std::memory_order_relaxed);
    while (n < kMaxMappedStreams) {
      if (g_mapped_streams.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
        held_ = true;
        break;
      }
    }
  }
  ~MappedSlot() {
    if (held_) g_mapped_streams.fetch_sub(1, std::memory_order_relaxed);
  }
  MappedSlot(const MappedSlot&) = delete;
  MappedSlot& operator=(const MappedSlot&) = delete;
  bool held() const { return held_; }

 private:
  bool held_ = false;
};

class Mapping {
 public:
  Mapping(void* p, size_t len) : p_(p), len_(len) {}
  ~Mapping() { ::munmap(p_, len_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  char* data() const { return static_cast<char*>(p_); }
  size_t size() const { return len_; }

 private:
  void* p_;
  size_t len_;
};

// Waits until the socket has room again. The write timeout is re-armed at
// most once a second (a timer update is a syscall; the deadline drifts < 1 s).
class RoomWaiter {
 public:
  RoomWaiter(tcp::socket& sock, std::chrono::steady_clock::duration timeout)
      : sock_(sock), timer_(sock.get_executor()), timeout_(timeout), state_(std::make_shared<State>()) {}
  ~RoomWaiter() {
    state_->done = true;
    timer_.cancel();
  }

  asio::awaitable<Status> Wait() {
    const auto now = std::chrono::steady_clock::now();
    if (now - armed_ > std::chrono::seconds(1)) {
      armed_ = now;
      timer_.expires_after(timeout_);  // (cancels the previous wait, whose handler then does nothing)
      timer_.async_wait([state = state_, &sock = sock_](boost::system::error_code ec) {
        if (ec || state->done) return;
        state->fired = true;
        boost::system::error_code ignored;
        sock.cancel(ignored);
      });
    }
    auto [ec] = co_await sock_.async_wait(tcp::socket::wait_write, kTuple);
    if (!ec) co_return Status::Ok();
    if (state_->fired) co_return Status::IoError("write timed out");
    co_return Status::IoError(ec.message());
  }

 private:
  // Shared with the timer's handler, which may run after this object is gone.
  struct State {
    bool fired = false;
    bool done = false;
  };
  tcp::socket& sock_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::duration timeout_;
  std::chrono::steady_clock::time_point armed_{};
  std::shared_ptr<State> state_;
};

asio::awaitable<Status> SendMapped(tcp::socket& sock, const Mapping& map, size_t start, RoomWaiter& room) {
  const int sfd = sock.native_handle();
  size_t pos = start;  // in mapping coordinates; chunk boundaries are page aligned
  while (pos < map.size()) {
    const size_t chunk_begin = pos / kMappedChunk * kMappedChunk;
    const size_t chunk_end = std::min(map.size(), chunk_begin + kMappedChunk);
    // One call maps the chunk's pages instead of a page fault per 64 KiB inside write().
    ::madvise(map.data() + chunk_begin, chunk_end - chunk_begin, MADV_POPULATE_READ);
    while (pos < chunk_end) {
      const ssize_t w = ::send(sfd, map.data() + pos, chunk_end - pos, MSG_NOSIGNAL);
      if (w > 0) {
        pos += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        if (Status s = co_await room.Wait(); !s.ok()) co_return s;
        continue;
      }
      if (w < 0 && errno == EFAULT) co_return Status::IoError("the file shrank while it was being sent");
      co_return Status::IoError(std::string("send: ") + std::strerror(errno));
    }
    // The bytes are in the socket buffer now; drop the page table entries so
    // the RSS stays at one chunk (the pages stay in the page cache).
    ::madvise(map.data() + chunk_begin, chunk_end - chunk_begin, MADV_DONTNEED);
  }
  co_return Status::Ok();
}

asio::awaitable<Status> SendWithSendfile(tcp::socket& sock, int fd, int64_t offset, int64_t n, RoomWaiter& room) {
  off_t off = static_cast<off_t>(offset);
  bool sent_any = false;
  while (n > 0) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(n, int64_t{1} << 30));
    const ssize_t w = ::sendfile(sock.native_handle(), fd, &off, want);
    if (w > 0) {
      n -= w;
      sent_any = true;
      continue;
    }
    if (w == 0) co_return Status::IoError("file ended before the announced length");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (Status s = co_await room.Wait(); !s.ok()) co_return s;
      continue;
    }
    const int err = errno;
    if (!sent_any && (err == EINVAL || err == ENOSYS)) co_return Status::Unsupported("sendfile");
    co_return Status::IoError(std::string("sendfile: ") + std::strerror(err));
  }
  co_return Status::Ok();
}

}  // namespace

asio::awaitable<Status> SendFileRange(boost::beast::tcp_stream& stream, int fd, int64_t offset, int64_t n,
                                      std::chrono::steady_clock::duration timeout) {
  tcp::socket& sock = stream.socket();
  boost::system::error_code ec;
  sock.native_non_blocking(true, ec);
  if (ec) co_return Status::Unsupported("non-blocking socket: " + ec.message());
  RoomWaiter room(sock, timeout);

  {
    MappedSlot slot;  // (released before a sendfile fallback)
    if (slot.held() && n > 0) {
      static const int64_t page = ::sysconf(_SC_PAGESIZE);
      const int64_t base = offset / page * page;
      const size_t len = static_cast<size_t>(offset - base + n);
      void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(base));
      if (p != MAP_FAILED) {
        Mapping map(p, len);
        ::madvise(map.data(), map.size(), MADV_SEQUENTIAL);  // aggressive readahead when the file is not cached
        co_return co_await SendMapped(sock, map, static_cast<size_t>(offset - base), room);
      }
    }
  }
  co_return co_await SendWithSendfile(sock, fd, offset, n, room);
}

}  // namespace berth::http
