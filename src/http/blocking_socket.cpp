#include "http/blocking_socket.h"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <utility>

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct BlockingSocket::Io {
  asio::io_context ioc{1};
  beast::tcp_stream tcp{ioc};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream&>> tls;

  // Starts one operation (start(done)) and runs the io_context until it completes.
  template <class Start>
  error_code Run(Clock::time_point deadline, Start&& start) {
    error_code result = asio::error::would_block;
    tcp.expires_at(deadline);
    start([&result](error_code ec) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }
};

BlockingSocket::BlockingSocket(std::string where) : where_(std::move(where)), io_(std::make_unique<Io>()) {}

BlockingSocket::~BlockingSocket() { Close(); }

std::string BlockingSocket::DescribeError(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  if (ec == asio::error::eof) return "the server closed the connection";
  return ec.message();
}

Status BlockingSocket::Connect(const std::string& host, uint16_t port, Clock::time_point deadline) {
  tcp::resolver resolver(io_->ioc);
  error_code resolve_ec;
  const auto endpoints = resolver.resolve(host, std::to_string(port), resolve_ec);
  if (resolve_ec) return Status::Unavailable(where_ + ": cannot resolve the host name: " + resolve_ec.message());
  error_code ec = io_->Run(deadline, [&](auto done) {
    io_->tcp.async_connect(endpoints, [done](error_code e, const tcp::endpoint&) { done(e); });
  });
  if (ec) return Status::Unavailable(where_ + ": cannot connect: " + DescribeError(ec));
  io_->tcp.socket().set_option(tcp::no_delay(true), ec);
  return Status::Ok();
}

Status BlockingSocket::StartTls(asio::ssl::context& ctx, const std::string& host, bool verify,
                                Clock::time_point deadline) {
  io_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream&>>(io_->tcp, ctx);
  SSL* ssl = io_->tls->native_handle();
  if (verify) {
    error_code parse_ec;
    asio::ip::make_address(host, parse_ec);
    const bool is_ip = !parse_ec;
    // SNI only for names (RFC 6066 forbids addresses in it).
    if (!is_ip && !SSL_set_tlsext_host_name(ssl, host.c_str())) {
      return Status::Unavailable(where_ + ": cannot set the TLS server name");
    }
    // OpenSSL checks the name (or address) during the handshake and reports a
    // mismatch as such ("hostname mismatch").
    const int named =
        is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) : SSL_set1_host(ssl, host.c_str());
    if (named != 1) return Status::Unavailable(where_ + ": cannot set the TLS host name check");
    io_->tls->set_verify_mode(asio::ssl::verify_peer);
  } else {
    io_->tls->set_verify_mode(asio::ssl::verify_none);
  }
  error_code ec = io_->Run(deadline, [&](auto done) {
    io_->tls->async_handshake(asio::ssl::stream_base::client, [done](error_code e) { done(e); });
  });
  if (ec) {
    std::string reason = DescribeError(ec);
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) reason += " (" + std::string(X509_verify_cert_error_string(result)) + ")";
    return Status::Unavailable(where_ + ": TLS handshake failed: " + reason);
  }
  return Status::Ok();
}

BlockingSocket::error_code BlockingSocket::WriteAll(std::string_view bytes, Clock::time_point deadline) {
  return io_->Run(deadline, [&](auto done) {
    auto handler = [done](error_code ec, size_t) { done(ec); };
    if (io_->tls) {
      asio::async_write(*io_->tls, asio::buffer(bytes.data(), bytes.size()), handler);
    } else {
      asio::async_write(io_->tcp, asio::buffer(bytes.data(), bytes.size()), handler);
    }
  });
}

BlockingSocket::error_code BlockingSocket::ReadSome(char* data, size_t size, size_t* n, Clock::time_point deadline) {
  return io_->Run(deadline, [&](auto done) {
    auto handler = [done, n](error_code ec, size_t got) {
      *n = got;
      done(ec);
    };
    if (io_->tls) {
      io_->tls->async_read_some(asio::buffer(data, size), handler);
    } else {
      io_->tcp.async_read_some(asio::buffer(data, size), handler);
    }
  });
}

BlockingSocket::error_code BlockingSocket::ReadExactly(char* data, size_t size, Clock::time_point deadline) {
  return io_->Run(deadline, [&](auto done) {
    auto handler = [done](error_code ec, size_t) { done(ec); };
    if (io_->tls) {
      asio::async_read(*io_->tls, asio::buffer(data, size), handler);
    } else {
      asio::async_read(io_->tcp, asio::buffer(data, size), handler);
    }
  });
}

bool BlockingSocket::encrypted() const { return io_->tls != nullptr; }

bool BlockingSocket::is_open() const { return io_->tcp.socket().is_open(); }

bool BlockingSocket::Readable() const {
  if (io_->tls && SSL_pending(io_->tls->native_handle()) > 0) return true;
  pollfd p{};
  p.fd = io_->tcp.socket().native_handle();
  p.events = POLLIN;
  return ::poll(&p, 1, 0) != 0;  // data, EOF, an error, or poll failed
}

void BlockingSocket::Close() {
  error_code ignored;
  io_->tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
  io_->tcp.socket().close(ignored);
}

}  // namespace berth::http
