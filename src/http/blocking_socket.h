// BlockingSocket: a client TCP connection, optionally upgraded to TLS, for the
// synchronous protocol clients (PostgreSQL, LDAP) that run off the I/O threads.
// Each step runs one Asio operation to completion on the socket's own
// io_context under a deadline (beast::tcp_stream closes the socket when the
// deadline passes), so a dead server costs at most the deadline.
// Connect and StartTls answer Status with `where` ("PostgreSQL host:port")
// leading the message; the byte I/O answers error_code (DescribeError words it).
// Not thread-safe: one thread uses a socket at a time.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace berth::http {

class BlockingSocket {
 public:
  using Clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;

  explicit BlockingSocket(std::string where);
  ~BlockingSocket();
  BlockingSocket(const BlockingSocket&) = delete;
  BlockingSocket& operator=(const BlockingSocket&) = delete;

  // Resolves `host` (an address needs no lookup; a name's lookup is bounded by
  // the resolver's own timeout and counts against the deadline), connects, sets TCP_NODELAY.
  Status Connect(const std::string& host, uint16_t port, Clock::time_point deadline);
  // The TLS handshake over the connection, with `ctx` (http/tls_profile.h SetUpClientTls).
  // verify: the chain is checked and the certificate must name `host` (a name,
  // also sent as SNI, or an IP address); otherwise nothing is checked.
  Status StartTls(boost::asio::ssl::context& ctx, const std::string& host, bool verify, Clock::time_point deadline);

  error_code WriteAll(std::string_view bytes, Clock::time_point deadline);
  // At least one byte (or an error); *n is how many.
  error_code ReadSome(char* data, size_t size, size_t* n, Clock::time_point deadline);
  // Exactly `size` bytes.
  error_code ReadExactly(char* data, size_t size, Clock::time_point deadline);

  bool encrypted() const;
  bool is_open() const;
  // Whether anything is waiting to be read without blocking: bytes TLS has
  // buffered, or the socket is readable (data, EOF or an error).
  bool Readable() const;
  void Close();

  // "timed out", "the server closed the connection", or the error's message.
  static std::string DescribeError(const error_code& ec);

 private:
  struct Io;
  std::string where_;
  std::unique_ptr<Io> io_;
};

}  // namespace berth::http
