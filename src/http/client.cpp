#include "http/client.h"
#include "util/ascii.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <poll.h>

#include <algorithm>

namespace berth::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::string ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (AsciiIEquals(k, name)) return v;
  }
  return "";
}

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  asio::io_context ioc;
  tcp::socket sock{ioc};
  beast::flat_buffer buffer;
  std::vector<char> chunk;  // response body pieces, allocated once
  bool connected = false;
  // Set once a streamed body has been pulled from its source or pushed to its
  // sink: such a request cannot be replayed on a fresh connection.
  bool streamed = false;

  Status Connect() {
    if (connected) return Status::Ok();
    boost::system::error_code ec;
    sock = tcp::socket(ioc);
    sock.connect(tcp::endpoint(asio::ip::make_address(host, ec), port), ec);
    if (ec) return Status::IoError("connect: " + ec.message());
    sock.set_option(tcp::no_delay(true), ec);
    buffer.clear();
    connected = true;
    return Status::Ok();
  }

  void Disconnect() {
    boost::system::error_code ec;
    sock.close(ec);
    connected = false;
  }

  std::string Head(std::string_view method, std::string_view target, const Headers& headers, int64_t length,
                   bool has_body) {
    std::string h;
    h += method;
    h += ' ';
    h += target;
    h += " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) + "\r\n";
    for (const auto& [k, v] : headers) h += k + ": " + v + "\r\n";
    if (has_body) {
      h += length < 0 ? std::string("Transfer-Encoding: chunked\r\n")
                      : "Content-Length: " + std::to_string(length) + "\r\n";
    }
    h += "\r\n";
    return h;
  }

  Status WriteAll(std::string_view data) {
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(data.data(), data.size()), ec);
    if (ec) return Status::IoError("write: " + ec.message());
    return Status::Ok();
  }

  Result<ClientResponse> ReadResponse(bool head_request, const Sink* sink) {
    boost::system::error_code ec;
    ClientResponse out;
    beast::http::response_parser<beast::http::buffer_body> parser;
    parser.body_limit(boost::none);
    parser.skip(head_request);
    // Large socket reads: Beast reads only as much as the buffer has room for.
    buffer.reserve(256 << 10);
    beast::http::read_header(sock, buffer, parser, ec);
    if (ec) return Status::IoError("read header: " + ec.message());
    if (chunk.empty()) chunk.resize(1 << 20);
    const unsigned status = parser.get().result_int();
    const bool bodyless = head_request || status / 100 == 1 || status == 204 || status == 304;
    if (sink != nullptr && !bodyless && !parser.chunked() && parser.content_length()) {
      // A streamed body of known length: read it from the socket straight into
      // `chunk` (one copy, as curl does), past the parser's buffer-to-body copy.
      uint64_t left = *parser.content_length();
      streamed = true;
      const size_t buffered = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
      if (buffered > 0) {
        (*sink)(static_cast<const char*>(buffer.data().data()), buffered);
        buffer.consume(buffered);
        left -= buffered;
      }
      while (left > 0) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
        const size_t n = sock.read_some(asio::buffer(chunk.data(), want), ec);
        if (ec) return Status::IoError("read body: " + ec.message());
        (*sink)(chunk.data(), n);
        left -= n;
      }
      return Finish(parser.get(), std::move(out));
    }
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::http::read(sock, buffer, parser, ec);
      if (ec == beast::http::error::need_buffer) ec = {};
      if (ec) return Status::IoError("read body: " + ec.message());
      size_t n = chunk.size() - parser.get().body().size;
      if (sink != nullptr) {
        streamed = true;
        (*sink)(chunk.data(), n);
      } else {
        out.body.append(chunk.data(), n);
      }
    }
    return Finish(parser.get(), std::move(out));
  }

  template <class Message>
  Result<ClientResponse> Finish(const Message& msg, ClientResponse out) {
    out.status = msg.result_int();
    for (const auto& f : msg) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (!msg.keep_alive()) Disconnect();
    return out;
  }

  template <class SendBody>
  Result<ClientResponse> Exchange(std::string_view method, const SendBody& send_body, const Sink* sink) {
    // One retry on a fresh connection when a kept-alive one turns out closed.
    streamed = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connected && !streamed;
      if (Status s = Connect(); !s.ok()) return s;
      Status s = send_body();
      if (s.ok()) {
        auto r = ReadResponse(method == "HEAD", sink);
        if (r.ok() || !reused) {
          if (!r.ok()) Disconnect();
          return r;
        }
      } else if (!reused) {
        Disconnect();
        return s;
      }
      Disconnect();
    }
    return Status::IoError("connection failed");
  }
};

HttpClient::HttpClient(std::string host, uint16_t port) : impl_(new Impl) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Request(std::string_view method, std::string_view target, const Headers& headers,
                                           std::string_view body) {
  const bool has_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  auto send = [&] {
    std::string msg = impl_->Head(method, target, headers, static_cast<int64_t>(body.size()), has_body);
    msg += body;
    return impl_->WriteAll(msg);
  };
  return impl_->Exchange(method, send, nullptr);
}

Result<ClientResponse> HttpClient::RequestStream(std::string_view method, std::string_view target,
                                                 const Headers& headers, int64_t length, const Source& source) {
  auto send = [&]() -> Status {
    if (Status s = impl_->WriteAll(impl_->Head(method, target, headers, length, true)); !s.ok()) return s;
    std::vector<char> buf(1 << 20);
    while (true) {
      size_t n = source(buf.data(), buf.size());
      impl_->streamed = true;
      if (length < 0) {
        char size_line[32];
        int k = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        if (Status s = impl_->WriteAll(std::string_view(size_line, k)); !s.ok()) return s;
        if (n == 0) return impl_->WriteAll("\r\n");
        if (Status s = impl_->WriteAll(std::string_view(buf.data(), n)); !s.ok()) return s;
        if (Status s = impl_->WriteAll("\r\n"); !s.ok()) return s;
      } else {
        if (n == 0) return Status::Ok();
        if (Status s = impl_->WriteAll(std::string_view(buf.data(), n)); !s.ok()) return s;
      }
    }
  };
  return impl_->Exchange(method, send, nullptr);
}

Result<ClientResponse> HttpClient::Download(std::string_view method, std::string_view target, const Headers& headers,
                                            const Sink& sink) {
  auto send = [&] { return impl_->WriteAll(impl_->Head(method, target, headers, 0, false)); };
  return impl_->Exchange(method, send, &sink);
}

Result<std::string> HttpClient::Raw(std::string_view bytes, int timeout_ms) {
  Close();
  if (Status s = impl_->Connect(); !s.ok()) return s;
  if (Status s = impl_->WriteAll(bytes); !s.ok()) {
    Close();
    return s;
  }
  std::string out;
  char buf[16384];
  int fd = impl_->sock.native_handle();
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  Close();
  return out;
}

void HttpClient::Close() { impl_->Disconnect(); }

}  // namespace berth::http
