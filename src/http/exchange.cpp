#include "http/exchange.h"
#include "util/ascii.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>

#include <boost/beast/http/status.hpp>

#include "util/log.h"

namespace berth::http {
namespace asio = boost::asio;

namespace {
// Request bodies are read in pieces of up to 1 MiB: few syscalls and few, large
// writes to storage. Allocated only while a body is being read.
constexpr size_t kBodyBuffer = 1 << 20;
// Streamed responses use a smaller buffer: 64 concurrent blob downloads must
// stay within a few tens of MB.
constexpr size_t kSendBuffer = 256 << 10;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
}  // namespace

void Exchange::FreeDeleter::operator()(char* p) const { std::free(p); }

std::string SerializeHead(const Response& r, int64_t content_length, bool keep_alive, std::string_view extra,
                          std::string_view request_id) {
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(r.status));
  out += "\r\n";
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  // A response with its own Content-Security-Policy (the web UI's pages)
  // replaces the one among the extra lines: two policies would both apply.
  bool own_csp = false;
  for (const auto& [k, v] : r.headers) own_csp = own_csp || AsciiIEquals(k, "Content-Security-Policy");
  if (own_csp) {
    constexpr std::string_view kCsp = "Content-Security-Policy: ";
    std::string_view rest = extra;
    while (!rest.empty()) {
      const size_t end = rest.find("\r\n");
      const std::string_view line = rest.substr(0, end == std::string_view::npos ? rest.size() : end + 2);
      if (!AsciiIEquals(line.substr(0, std::min(line.size(), kCsp.size())), kCsp)) out += line;
      rest.remove_prefix(line.size());
    }
  } else {
    out += extra;
  }
  if (!request_id.empty()) {
    out += "X-Request-Id: ";
    out += request_id;
    out += "\r\n";
  }
  // RFC 9110: no Content-Length on 204, and on 304 only the real one (we omit it).
  if (r.status != 204 && r.status != 304) {
    out += "Content-Length: ";
    out += std::to_string(content_length);
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

Exchange::Exchange(Connection& conn, boost::beast::flat_buffer& buffer, const Header& head, boost::urls::url_view url,
                   bool chunked, std::optional<uint64_t> content_length, bool keep_alive, std::string remote,
                   const Timeouts& timeouts, std::string_view extra_headers)
    : conn_(conn),
      buffer_(buffer),
      head_(head),
      url_(url),
      chunked_(chunked),
      content_length_(chunked ? std::nullopt : content_length),
      keep_alive_(keep_alive),
      remote_(std::move(remote)),
      timeouts_(timeouts),
      extra_headers_(extra_headers) {
  body_remaining_ = content_length_.value_or(0);
  body_done_ = !has_body();
  context_.AssignRequestId(header("X-Request-Id"));
}

std::string_view Exchange::header(std::string_view name) const {
  auto it = head_.find(name);
  return it == head_.end() ? std::string_view() : std::string_view(it->value());
}

Task<Result<std::span<const char>>> Exchange::ReadBody() {
  if (body_done_) co_return std::span<const char>();
  if (!continue_sent_) {
    continue_sent_ = true;
    if (AsciiIEquals(header("Expect"), "100-continue")) {
      std::array<asio::const_buffer, 1> b{asio::buffer(kContinue.data(), kContinue.size())};
      if (Status s = co_await conn_.Write(b, timeouts_.write); !s.ok()) {
        broken_ = true;
        co_return s;
      }
    }
  }
  if (!body_buf_[0]) body_start_ = std::chrono::steady_clock::now();  // the body's first read
  auto& slot = body_buf_[body_turn_];
  body_turn_ ^= 1;
  if (!slot) {
    // Page-aligned, and filled to the full 1 MiB except at the end of the body,
    // so the filesystem driver writes it to disk without another copy (O_DIRECT).
    // The second buffer is only allocated for bodies of more than one piece.
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, kBodyBuffer) != 0) throw std::bad_alloc();
    slot.reset(static_cast<char*>(p));
  }
  char* const buf = slot.get();
  // (An if/else, not ?: around co_await: GCC 12 destroys such temporaries twice.)
  Result<size_t> n = size_t{0};
  if (chunked_) {
    n = co_await FillFromChunked(buf, kBodyBuffer);
  } else {
    n = co_await FillFromLength(buf, kBodyBuffer);
  }
  if (!n.ok()) {
    // Bad framing still deserves an answer (then the connection closes, since
    // the rest of the body cannot be told from the next request); a transport
    // failure leaves nobody to answer.
    if (n.status().code() == StatusCode::kInvalidArgument) {
      keep_alive_ = false;
    } else {
      broken_ = true;
    }
    co_return n.status();
  }
  bytes_in_ += static_cast<int64_t>(*n);
  // The buffers live as long as the exchange: the span stays valid until the call after next.
  co_return std::span<const char>(buf, *n);
}

Task<Result<size_t>> Exchange::FillFromLength(char* out, size_t cap) {
  size_t fill = 0;
  // Bytes that arrived together with the request head come first.
  if (buffer_.size() > 0 && body_remaining_ > 0) {
    size_t n = std::min<uint64_t>({buffer_.size(), body_remaining_, cap});
    std::memcpy(out, buffer_.data().data(), n);
    buffer_.consume(n);
    fill += n;
    body_remaining_ -= n;
    body_wire_bytes_ += n;
  }
  while (fill < cap && body_remaining_ > 0) {
    size_t want = std::min<uint64_t>(cap - fill, body_remaining_);
    auto n = co_await ReadBodyBytes(asio::buffer(out + fill, want));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return Status::IoError("client closed the connection mid-body");
    fill += *n;
    body_remaining_ -= *n;
  }
  if (body_remaining_ == 0) body_done_ = true;
  co_return fill;
}

Task<Result<size_t>> Exchange::FillFromChunked(char* out, size_t cap) {
  size_t fill = 0;
  while (fill < cap && !chunked_decoder_.done()) {
    if (buffer_.size() == 0) {
      auto space = buffer_.prepare(std::min<size_t>(256 << 10, buffer_.max_size() - buffer_.size()));
      auto n = co_await ReadBodyBytes(space);
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return Status::IoError("client closed the connection mid-body");
      buffer_.commit(*n);
    }
    auto in = buffer_.data();
    auto step = chunked_decoder_.Decode(std::string_view(static_cast<const char*>(in.data()), in.size()), out + fill,
                                        cap - fill);
    if (!step.ok()) co_return step.status();
    buffer_.consume(step->consumed);
    fill += step->produced;
  }
  if (chunked_decoder_.done()) body_done_ = true;
  co_return fill;
}

Task<Result<size_t>> Exchange::ReadBodyBytes(asio::mutable_buffer b) {
  const auto elapsed = std::chrono::steady_clock::now() - body_start_;
  if (elapsed > timeouts_.body) {
    const auto seconds = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
    if (body_wire_bytes_ < seconds * kMinBodyRate) co_return Status::IoError("request body arrives too slowly");
  }
  auto n = co_await conn_.ReadSome(b, timeouts_.body);
  if (n.ok()) body_wire_bytes_ += *n;
  co_return n;
}

bool Exchange::DecideKeepAlive() {
  // A body the handler did not read would be parsed as the next request: close instead.
  if (!body_done_) keep_alive_ = false;
  return keep_alive();
}

void Exchange::LogError(const Response& r) const {
  log::Write(log::Level::kError, "request failed", context_.LogFields(),
             {{"status", std::to_string(r.status)}, {"error", r.error_log}});
}

Task<void> Exchange::Send(Response r) {
  responded_ = true;
  status_ = r.status;
  if (!r.error_log.empty()) LogError(r);
  const int64_t length = r.content_length.value_or(static_cast<int64_t>(r.body.size()));
  std::string head = SerializeHead(r, length, DecideKeepAlive(), extra_headers_, context_.request_id());
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(r.body)};
  size_t count = is_head() || r.body.empty() ? 1 : 2;
  Status s = co_await conn_.Write(std::span(bufs.data(), count), timeouts_.write);
  if (!s.ok()) {
    broken_ = true;
    co_return;
  }
  if (count == 2) bytes_out_ += static_cast<int64_t>(r.body.size());
}

Task<void> Exchange::SendStream(Response r, int64_t length, BodySource source, std::optional<FileSpan> file) {
  responded_ = true;
  status_ = r.status;
  if (!r.error_log.empty()) LogError(r);
  std::string head = SerializeHead(r, length, DecideKeepAlive(), extra_headers_, context_.request_id());
  std::array<asio::const_buffer, 1> hb{asio::buffer(head)};
  if (Status s = co_await conn_.Write(hb, timeouts_.write); !s.ok()) {
    broken_ = true;
    co_return;
  }
  if (is_head()) co_return;
  if (file && length > 0) {
    Status s = co_await conn_.SendFile(file->fd, file->offset, length, timeouts_.write);
    if (s.ok()) {
      bytes_out_ += length;
      co_return;
    }
    if (s.code() != StatusCode::kUnsupported) {
      // Part of the body may be out: as below, only cutting the connection is honest.
      broken_ = true;
      co_return;
    }
  }
  std::unique_ptr<char[]> buf(new char[kSendBuffer]);
  int64_t left = length;
  while (left > 0) {
    auto n = source(buf.get(), static_cast<size_t>(std::min<int64_t>(left, kSendBuffer)));
    if (!n.ok() || *n == 0) {
      // The announced length can no longer be honoured: the only honest thing
      // left is to cut the connection so the client sees a short body.
      broken_ = true;
      co_return;
    }
    std::array<asio::const_buffer, 1> b{asio::buffer(buf.get(), *n)};
    if (Status s = co_await conn_.Write(b, timeouts_.write); !s.ok()) {
      broken_ = true;
      co_return;
    }
    left -= static_cast<int64_t>(*n);
    bytes_out_ += static_cast<int64_t>(*n);
  }
}

Task<Status> Exchange::SendHead(Response r, int64_t length) {
  responded_ = true;
  status_ = r.status;
  if (!r.error_log.empty()) LogError(r);
  std::string head = SerializeHead(r, length, DecideKeepAlive(), extra_headers_, context_.request_id());
  std::array<asio::const_buffer, 1> hb{asio::buffer(head)};
  Status s = co_await conn_.Write(hb, timeouts_.write);
  if (!s.ok()) broken_ = true;
  co_return s;
}

Task<Status> Exchange::WriteBody(std::span<const char> piece) {
  if (broken_) co_return Status::IoError("connection closed");
  std::array<asio::const_buffer, 1> b{asio::buffer(piece.data(), piece.size())};
  Status s = co_await conn_.Write(b, timeouts_.write);
  if (!s.ok()) {
    broken_ = true;
    co_return s;
  }
  bytes_out_ += static_cast<int64_t>(piece.size());
  co_return Status::Ok();
}

Task<Result<std::string>> Exchange::ReadBodyToString(size_t limit) {
  std::string out;
  if (content_length_ && *content_length_ > limit) co_return Status::OutOfRange("request body too large");
  while (true) {
    auto piece = co_await ReadBody();
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) break;
    if (out.size() + piece->size() > limit) co_return Status::OutOfRange("request body too large");
    out.append(piece->data(), piece->size());
  }
  co_return out;
}

}  // namespace berth::http
