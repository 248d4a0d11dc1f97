// Exchange: one HTTP request/response on a connection, as a handler sees it.
// The request body is not read until the handler asks for it (ReadBody), so a
// handler can validate the request before a single body byte is accepted and
// stream it to storage in large pieces. Responses are either small (Send) or
// streamed from a source (SendStream). Used by one coroutine at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/url/url_view.hpp>

#include "http/chunked_decoder.h"
#include "http/request_context.h"
#include "http/response.h"
#include "http/task.h"
#include "util/status.h"

namespace berth::http {

// The byte stream under an HTTP connection (plain TCP or TLS).
class Connection {
 public:
  virtual ~Connection() = default;
  // Reads some bytes; 0 means the peer closed. Errors (timeouts included) are IoError.
  virtual Task<Result<size_t>> ReadSome(boost::asio::mutable_buffer b, std::chrono::steady_clock::duration timeout) = 0;
  virtual Task<Status> Write(std::span<const boost::asio::const_buffer> bufs,
                             std::chrono::steady_clock::duration timeout) = 0;
  // Sends n bytes of file `fd` from `offset` without copying them through user
  // space (sendfile). Unsupported (before anything was sent) where the
  // connection cannot (TLS); the caller then streams the bytes itself.
  // `timeout` bounds each wait for the peer to accept more bytes.
  virtual Task<Status> SendFile(int fd, int64_t offset, int64_t n, std::chrono::steady_clock::duration timeout) {
    co_return Status::Unsupported("sendfile");
  }
};

// A byte range of an open file a streamed response can be sent from directly.
struct FileSpan {
  int fd = -1;
  int64_t offset = 0;
};

struct Timeouts {
  std::chrono::seconds header{30};  // whole request head (slow clients are cut off)
  std::chrono::seconds idle{120};   // keep-alive wait for the next request
  std::chrono::seconds body{60};    // between body reads; after it, a body must also average kMinBodyRate
  std::chrono::seconds write{120};  // between response writes
};

// Bytes per second a request body must average once `Timeouts::body` has
// passed since it started (as Apache's mod_reqtimeout MinRate): otherwise one
// byte a second would hold a connection for as long as its Content-Length allows.
inline constexpr uint64_t kMinBodyRate = 500;

// Produces the next piece of a streamed response body into buf; 0 = end.
using BodySource = std::function<Result<size_t>(char* buf, size_t n)>;

class Exchange {
 public:
  using Header = boost::beast::http::request_header<>;

  Exchange(Connection& conn, boost::beast::flat_buffer& buffer, const Header& head, boost::urls::url_view url,
           bool chunked, std::optional<uint64_t> content_length, bool keep_alive, std::string remote,
           const Timeouts& timeouts, std::string_view extra_headers);

  // --- request ---
  boost::beast::http::verb method() const { return head_.method(); }
  std::string_view method_string() const { return head_.method_string(); }
  std::string_view target() const { return head_.target(); }
  const boost::urls::url_view& url() const { return url_; }
  std::string_view header(std::string_view name) const;
  const std::string& remote_address() const { return remote_; }
  std::optional<uint64_t> content_length() const { return content_length_; }
  bool has_body() const { return chunked_ || content_length_.value_or(0) > 0; }

  // Next piece of the request body (up to 1 MiB); an empty span at the end.
  // A piece stays valid until the second ReadBody after it (two buffers take
  // turns), so it can be written to storage while the next one arrives.
  // IoError when the client goes away, InvalidArgument on bad framing.
  Task<Result<std::span<const char>>> ReadBody();
  // The whole body, refused with OutOfRange when longer than `limit`.
  Task<Result<std::string>> ReadBodyToString(size_t limit);
  bool body_complete() const { return body_done_; }
  int64_t bytes_received() const { return bytes_in_; }

  // --- response ---
  Task<void> Send(Response r);
  // Sends `head` announcing `length` bytes, then streams them from `source`;
  // with `file`, sends them from the file with sendfile where the connection
  // supports it (plain TCP), and from `source` otherwise.
  Task<void> SendStream(Response head, int64_t length, BodySource source, std::optional<FileSpan> file = std::nullopt);
  // For a body produced piece by piece by another coroutine (the pull-through
  // cache's read-behind): SendHead announces `length` bytes, WriteBody sends
  // the next piece (IoError when the client is gone), Abort cuts the
  // connection when the announced length can no longer be honoured.
  Task<Status> SendHead(Response head, int64_t length);
  Task<Status> WriteBody(std::span<const char> piece);
  void Abort() { broken_ = true; }
  bool responded() const { return responded_; }
  unsigned status() const { return status_; }
  int64_t bytes_sent() const { return bytes_out_; }
  // False once the connection must close after this exchange.
  bool keep_alive() const { return keep_alive_ && !broken_; }
  bool broken() const { return broken_; }
  bool is_head() const { return head_.method() == boost::beast::http::verb::head; }

  // Set by the server when it is shutting down: the connection closes after this exchange.
  void DisableKeepAlive() { keep_alive_ = false; }

  // --- context (logs, audit, metrics); the id is echoed as X-Request-Id ---
  RequestContext& context() { return context_; }
  const RequestContext& context() const { return context_; }

 private:
  Task<Result<size_t>> FillFromLength(char* out, size_t cap);
  Task<Result<size_t>> FillFromChunked(char* out, size_t cap);
  // The body's next read from the connection, cut off when the body is too slow (see kMinBodyRate).
  Task<Result<size_t>> ReadBodyBytes(boost::asio::mutable_buffer b);
  bool DecideKeepAlive();
  void LogError(const Response& r) const;  // Response::error_log, with the request's context

  Connection& conn_;
  boost::beast::flat_buffer& buffer_;  // bytes read past the request head
  const Header& head_;
  boost::urls::url_view url_;
  bool chunked_;
  std::optional<uint64_t> content_length_;
  bool keep_alive_;
  std::string remote_;
  const Timeouts& timeouts_;
  std::string_view extra_headers_;

  struct FreeDeleter {
    void operator()(char* p) const;
  };
  std::unique_ptr<char, FreeDeleter> body_buf_[2];  // page-aligned: storage can write them with O_DIRECT
  int body_turn_ = 0;
  uint64_t body_remaining_ = 0;
  bool body_done_ = false;
  bool continue_sent_ = false;
  ChunkedDecoder chunked_decoder_;
  int64_t bytes_in_ = 0;
  std::chrono::steady_clock::time_point body_start_{};
  uint64_t body_wire_bytes_ = 0;  // read from the connection for the body (framing included)

  bool responded_ = false;
  bool broken_ = false;
  unsigned status_ = 0;
  int64_t bytes_out_ = 0;

  RequestContext context_;
};

}  // namespace berth::http
