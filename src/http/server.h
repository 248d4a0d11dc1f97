// Server: an asynchronous HTTP/1.1 server (Boost.Asio coroutines + Beast's
// request-head parser) that hands each request to a Handler as an Exchange.
//
// One coroutine per connection on its own strand; the io_context runs on a few
// threads. Keep-alive, request-head size and timeouts are bounded (slow clients
// are cut off). A TLS ClientHello arriving on a plain-HTTP port is answered with
// an HTTP 400, as Go servers do: that is what makes docker fall back to HTTP for
// an insecure registry. Stop() (or SIGINT/SIGTERM) stops accepting, lets
// in-flight requests finish, closes idle connections and returns from Run().
// With TLS, plain HTTP sent to the port gets a 400 (as from Go), and the
// certificate and key are reloaded on SIGHUP and when the files change: new
// connections get the new ones, a broken pair is logged and the old one stays.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/exchange.h"
#include "http/tls_profile.h"
#include "util/status.h"

namespace berth::http {

class Handler {
 public:
  virtual ~Handler() = default;
  // Must respond (Send/SendStream); the server answers 500 for a handler that does not.
  virtual Task<void> Handle(Exchange& ex) = 0;
  // The response to a request the server answers itself, with the status it
  // chose: a malformed request head (400, 431), a connection over
  // max_connections (503), a handler that threw or sent nothing (500). The
  // handler dresses it in its API's error format (the server knows none); the
  // default is a plain-text body. Called on the I/O threads: thread-safe.
  virtual Response ServerError(unsigned status, std::string_view message) const;
};

// Told about every finished request (metrics). Called on the I/O threads: must
// be cheap (no locks, no allocation) and thread-safe.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequest(const Exchange& ex, std::chrono::steady_clock::duration elapsed) = 0;
};

struct ServerOptions {
  std::string addr = ":5000";  // "[host]:port"; empty host = all interfaces
  bool tls = false;
  std::string tls_certificate;  // PEM files, used when tls is true
  std::string tls_key;
  TlsProfile tls_profile = TlsProfile::kIntermediate;  // protocols, suites and groups offered
  // How often the certificate and key files are checked for changes (0: only on SIGHUP).
  int tls_watch_seconds = 2;
  Timeouts timeouts;
  size_t max_header_bytes = 64 * 1024;
  size_t max_connections = 4096;
  bool access_log = true;
  // Header lines ("Name: value\r\n") added to every response.
  std::string extra_headers;
  // Called on SIGHUP (from an I/O thread), after the TLS files are reloaded.
  std::function<void()> on_reload;
  // Seconds in-flight requests get to finish after a shutdown signal.
  int shutdown_grace_seconds = 30;
  // When set, told about every finished request.
  RequestObserver* observer = nullptr;
};

class Server {
 public:
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (and loads TLS material). Port 0 picks a free port.
  Status Listen();
  uint16_t port() const;
  // Serves on `threads` threads until stopped; handles SIGINT/SIGTERM (stop) and SIGHUP (on_reload).
  void Run(int threads);
  // Thread-safe.
  void Stop();
  // Loads the TLS certificate and key again for new connections. On an error
  // the running ones stay. Thread-safe; a no-op without TLS.
  Status ReloadTls();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::http
