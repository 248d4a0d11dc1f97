#include "http/server.h"

#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http/file_sender.h"
#include "util/file_watcher.h"
#include "util/listen_address.h"
#include "util/log.h"
#include "util/mutex.h"

namespace berth::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::string_view kTlsOnPlainPort =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    "400 Bad Request: this registry speaks plain HTTP on this port\n";

// What Go's net/http answers, so a client pointed at http:// learns why it gets nothing.
constexpr std::string_view kHttpOnTlsPort =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    "Content-Length: 48\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

// At most this many over-the-limit connections are kept for the 503 (each for
// at most a second); past it they are closed at once.
constexpr int kMaxRejecting = 64;

// A server context offering `profile` (http/tls_profile.h) with the certificate
// chain and key from PEM files; InvalidArgument when either cannot be read or
// the key does not match the certificate.
Result<std::shared_ptr<asio::ssl::context>> LoadTlsContext(const std::string& cert, const std::string& key,
                                                           TlsProfile profile) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds);
  if (Status s = ApplyServerTlsProfile(ctx->native_handle(), profile); !s.ok()) return s;
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert, ec);
  if (ec) return Status::Invalid("TLS certificate " + cert + ": " + ec.message());
  ctx->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) return Status::Invalid("TLS key " + key + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::Invalid("TLS key " + key + " does not belong to the certificate " + cert);
  }
  return ctx;
}

// "subject=... serial=... not_after=..." of the context's certificate, for the log.
std::string DescribeCertificate(asio::ssl::context& ctx) {
  X509* x = SSL_CTX_get0_certificate(ctx.native_handle());
  if (x == nullptr) return "";
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem()); bio != nullptr) {
    BIO_puts(bio, "subject=");
    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    BIO_puts(bio, " serial=");
    i2a_ASN1_INTEGER(bio, X509_get_serialNumber(x));
    BIO_puts(bio, " not_after=");
    ASN1_TIME_print(bio, X509_get0_notAfter(x));
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
  }
  return out;
}

template <class Stream>
class StreamConnection final : public Connection {
 public:
  explicit StreamConnection(Stream& s) : s_(s) {}

  Task<Result<size_t>> ReadSome(asio::mutable_buffer b, std::chrono::steady_clock::duration timeout) override {
    beast::get_lowest_layer(s_).expires_after(timeout);
    write_timer_set_ = {};  // the timer now serves the read
    auto [ec, n] = co_await s_.async_read_some(b, kTuple);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return size_t{0};
    if (ec) co_return Status::IoError(ec.message());
    co_return n;
  }

  Task<Status> Write(std::span<const asio::const_buffer> bufs, std::chrono::steady_clock::duration timeout) override {
    // Re-arming the timer costs a syscall; a streamed response writes many
    // pieces, so refresh it at most once a second (the deadline drifts < 1 s).
    const auto now = std::chrono::steady_clock::now();
    if (now - write_timer_set_ > std::chrono::seconds(1) || timeout != write_timeout_) {
      beast::get_lowest_layer(s_).expires_after(timeout);
      write_timer_set_ = now;
      write_timeout_ = timeout;
    }
    auto [ec, n] = co_await asio::async_write(s_, bufs, kTuple);
    if (ec) co_return Status::IoError(ec.message());
    co_return Status::Ok();
  }

  // Plain TCP: file pages go to the socket without a copy through a user
  // buffer (see file_sender.h). TLS streams keep the default.
  Task<Status> SendFile(int fd, int64_t offset, int64_t n, std::chrono::steady_clock::duration timeout) override {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      co_return Status::Unsupported("sendfile over TLS");
    } else {
      co_return co_await SendFileRange(s_, fd, offset, n, timeout);
    }
  }

 private:
  Stream& s_;
  std::chrono::steady_clock::time_point write_timer_set_{};
  std::chrono::steady_clock::duration write_timeout_{};
};

// What Stop() needs to reach an idle connection: only touched on the connection's strand.
struct Tracked {
  asio::any_io_executor strand;
  beast::tcp_stream* lowest = nullptr;
  bool idle = true;
};

}  // namespace

Response Handler::ServerError(unsigned status, std::string_view message) const {
  Response r(status);
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::string(message) + "\n";
  return r;
}

struct Server::Impl {
  ServerOptions opts;
  Handler& handler;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  // The context for new TLS connections; a session keeps the one it started with.
  Mutex reload_mu ACQUIRED_BEFORE(ssl_mu);  // one TLS reload at a time
  Mutex ssl_mu;
  std::shared_ptr<asio::ssl::context> ssl_ctx GUARDED_BY(ssl_mu);
  asio::signal_set signals{ioc};
  asio::steady_timer grace{ioc};
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(ioc)};
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::atomic<int> rejecting{0};  // connections being answered 503 (see Reject)
  Mutex tracked_mu;
  std::list<std::weak_ptr<Tracked>> tracked GUARDED_BY(tracked_mu);
  // Polls the certificate and key files (TLS with tls_watch_seconds > 0), from
  // Listen() to the end of Run(). Set before and reset after the I/O threads
  // run, so SIGHUP handlers may use it; the last member, so it stops first.
  std::unique_ptr<FileWatcher> tls_watcher;

  // What a connection over max_connections gets on a plain-HTTP port, whole (built once).
  const std::string too_many_connections;

  Impl(ServerOptions o, Handler& h)
      : opts(std::move(o)), handler(h), too_many_connections(TooManyConnections(h, opts.extra_headers)) {}

  // The server's own answers carry the same extra header lines (the security
  // headers) as every answer through an Exchange.
  static std::string TooManyConnections(const Handler& h, std::string_view extra_headers) {
    Response r = h.ServerError(503, "too many open connections, retry later");
    r.Set("Retry-After", "1");
    return SerializeHead(r, static_cast<int64_t>(r.body.size()), false, extra_headers) + r.body;
  }

  Task<void> Accept() {
    while (true) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ioc), kTuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        // Out of descriptors or similar: back off instead of spinning.
        log::Warn("accept failed", {{"error", ec.message()}});
        asio::steady_timer t(accept_strand, std::chrono::milliseconds(100));
        co_await t.async_wait(kTuple);
        continue;
      }
      if (static_cast<size_t>(active.load()) >= opts.max_connections) {
        if (!opts.tls && rejecting.load() < kMaxRejecting) {
          ++rejecting;
          auto ex = sock.get_executor();
          co_spawn(ex, Reject(std::move(sock)), asio::detached);
        } else {
          sock.close();
        }
        continue;
      }
      ++active;
      auto ex = sock.get_executor();
      co_spawn(ex, Session(std::move(sock)), asio::detached);
    }
  }

  // Answers 503 and closes. The close waits (a second at most) for the
  // client's request and FIN: closing with its request unread would send a
  // reset, which can destroy the answer before the client reads it.
  Task<void> Reject(tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    stream.expires_after(std::chrono::seconds(1));
    auto [wec, written] = co_await asio::async_write(stream, asio::buffer(too_many_connections), kTuple);
    boost::system::error_code ec;
    if (!wec) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      char sink[4096];
      while (true) {
        auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
        if (rec) break;
      }
    }
    stream.close();
    --rejecting;
  }

  Task<void> Session(tcp::socket sock) {
    boost::system::error_code ec;
    auto ep = sock.remote_endpoint(ec);
    std::string remote = ec ? "" : ep.address().to_string();
    sock.set_option(tcp::no_delay(true), ec);
    beast::tcp_stream stream(std::move(sock));
    auto tracked_conn = std::make_shared<Tracked>();
    tracked_conn->strand = stream.get_executor();
    tracked_conn->lowest = &stream;
    {
      MutexLock lock(tracked_mu);
      tracked.push_back(tracked_conn);
    }
    if (opts.tls) {
      std::shared_ptr<asio::ssl::context> ctx = CurrentTlsContext();
      co_await ServeTls(stream, *ctx, remote, *tracked_conn);
    } else {
      co_await Serve(stream, remote, *tracked_conn, /*plain=*/true);
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    tracked_conn->lowest = nullptr;
    if (--active == 0 && stopping) asio::post(accept_strand, [this] { grace.cancel(); });
  }

  std::shared_ptr<asio::ssl::context> CurrentTlsContext() EXCLUDES(ssl_mu) {
    MutexLock lock(ssl_mu);
    return ssl_ctx;
  }

  Task<void> ServeTls(beast::tcp_stream& stream, asio::ssl::context& ctx, const std::string& remote, Tracked& track) {
    // Look at the first bytes before the handshake: a TLS handshake record
    // starts with 0x16, a request line with a capital letter (a client that
    // believes this port speaks plain HTTP deserves an answer, not silence).
    stream.expires_after(opts.timeouts.header);  // covers the handshake too
    std::array<char, 4096> first;
    auto first_buf = asio::buffer(first);
    auto [rec, n] = co_await stream.async_read_some(first_buf, kTuple);
    if (rec || n == 0) co_return;
    const auto c = static_cast<unsigned char>(first[0]);
    if (c >= 'A' && c <= 'Z') {
      StreamConnection<beast::tcp_stream> conn(stream);
      std::array<asio::const_buffer, 1> b{asio::buffer(kHttpOnTlsPort.data(), kHttpOnTlsPort.size())};
      Status written = co_await conn.Write(b, opts.timeouts.write);
      if (written.ok()) co_await Linger(conn);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream&> tls(stream, ctx);
    auto hello = asio::buffer(first.data(), n);
    auto [hec, used] = co_await tls.async_handshake(asio::ssl::stream_base::server, hello, kTuple);
    if (hec) co_return;
    co_await Serve(tls, remote, track, /*plain=*/false);
    // End with a close_notify (waiting a second at most for the peer's):
    // OpenSSL drops a session from the server-side cache when its connection
    // ends without one, and that cache is how clients resume (there are no
    // session tickets, see tls_profile.cpp).
    stream.expires_after(std::chrono::seconds(1));
    co_await tls.async_shutdown(kTuple);
  }

  Status ReloadTls() EXCLUDES(reload_mu, ssl_mu) {
    if (!opts.tls) return Status::Ok();
    MutexLock lock(reload_mu);
    auto ctx = LoadTlsContext(opts.tls_certificate, opts.tls_key, opts.tls_profile);
    if (!ctx.ok()) {
      if (CurrentTlsContext()) {  // (at startup the caller reports it)
        log::Error("TLS reload failed, new connections keep the previous certificate",
                   {{"error", ctx.status().message()}});
      }
      return ctx.status();
    }
    log::Info("TLS certificate loaded for new connections", {{"certificate", DescribeCertificate(**ctx)}});
    MutexLock ctx_lock(ssl_mu);
    ssl_ctx = std::move(*ctx);
    return Status::Ok();
  }

  // One connection's requests, one after another: read a head, handle it,
  // log it, and go on while the connection is kept alive.
  template <class Stream>
  Task<void> Serve(Stream& stream, const std::string& remote, Tracked& track, bool plain) {
    StreamConnection<Stream> conn(stream);
    beast::flat_buffer buffer(opts.max_header_bytes + (1 << 20));
    bool first = true;
    while (!stopping) {
      beast::http::request_parser<beast::http::empty_body> parser;
      const bool head_read = co_await ReadHead(conn, buffer, parser, track, first, plain);
      if (!head_read) co_return;
      first = false;
      const bool keep_alive = co_await HandleRequest(conn, buffer, parser, remote);
      if (!keep_alive) co_return;
    }
  }

  // Feeds the parser from the connection until a request head is complete;
  // false when the connection is to be closed (the peer went away, a deadline
  // passed, or the head was refused: that answer has been written).
  // Deadlines: before a head's first byte the header timeout (first request)
  // or the idle timeout (keep-alive); from it, the header timeout for the
  // whole head.
  template <class Conn>
  Task<bool> ReadHead(Conn& conn, beast::flat_buffer& buffer,
                      beast::http::request_parser<beast::http::empty_body>& parser, Tracked& track, bool first,
                      bool plain) {
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser.body_limit(boost::none);  // bodies are streamed by the Exchange, not by the parser
    parser.eager(false);
    track.idle = buffer.size() == 0;
    std::chrono::steady_clock::time_point deadline{};
    while (true) {
      if (buffer.size() > 0) {
        track.idle = false;
        if (deadline == std::chrono::steady_clock::time_point{}) {
          deadline = std::chrono::steady_clock::now() + opts.timeouts.header;
        }
        auto data = buffer.data();
        if (first && plain && static_cast<const unsigned char*>(data.data())[0] == 0x16) {
          std::array<asio::const_buffer, 1> b{asio::buffer(kTlsOnPlainPort.data(), kTlsOnPlainPort.size())};
          co_await conn.Write(b, opts.timeouts.write);
          co_return false;
        }
        beast::error_code pec;
        size_t used = parser.put(data, pec);
        buffer.consume(used);
        if (!pec && parser.is_header_done()) co_return true;
        if (pec && pec != beast::http::error::need_more) {
          unsigned status = pec == beast::http::error::header_limit ? 431 : 400;
          co_await RespondAndClose(conn, handler.ServerError(status, "malformed HTTP request"));
          co_return false;
        }
        if (buffer.size() >= opts.max_header_bytes) {
          co_await RespondAndClose(conn, handler.ServerError(431, "request head too large"));
          co_return false;
        }
      }
      auto timeout = deadline == std::chrono::steady_clock::time_point{}
                         ? std::chrono::steady_clock::duration(first ? opts.timeouts.header : opts.timeouts.idle)
                         : deadline - std::chrono::steady_clock::now();
      if (timeout <= std::chrono::steady_clock::duration::zero()) co_return false;
      auto space = buffer.prepare(std::min<size_t>(16384, buffer.max_size() - buffer.size()));
      auto n = co_await conn.ReadSome(space, timeout);
      if (!n.ok() || *n == 0) co_return false;
      buffer.commit(*n);
    }
  }

  // Hands one request (its head parsed) to the handler as an Exchange, makes
  // sure it was answered, counts and logs it. True when the connection stays
  // open for the next request.
  template <class Conn>
  Task<bool> HandleRequest(Conn& conn, beast::flat_buffer& buffer,
                           beast::http::request_parser<beast::http::empty_body>& parser, const std::string& remote) {
    const auto start = std::chrono::steady_clock::now();
    auto& req = parser.get();
    auto url = boost::urls::parse_origin_form(req.target());
    if (!url) {
      co_await RespondAndClose(conn, handler.ServerError(400, "malformed request target"));
      co_return false;
    }
    std::optional<uint64_t> length;
    if (auto cl = parser.content_length()) length = *cl;
    Exchange ex(conn, buffer, req, *url, parser.chunked(), length, parser.keep_alive(), remote, opts.timeouts,
                opts.extra_headers);
    if (stopping) ex.DisableKeepAlive();
    bool failed = false;
    try {
      co_await handler.Handle(ex);
    } catch (const std::exception& e) {
      log::Write(log::Level::kError, "handler failed", ex.context().LogFields(),
                 {{"error", e.what()}, {"path", std::string(req.target())}});
      failed = true;
    }
    if (!ex.responded() && !ex.broken()) {
      if (!failed) {
        log::Write(log::Level::kError, "handler sent no response", ex.context().LogFields(),
                   {{"path", std::string(req.target())}});
      }
      co_await ex.Send(handler.ServerError(500, "internal error"));
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (opts.observer != nullptr) opts.observer->OnRequest(ex, elapsed);
    if (opts.access_log) LogAccess(ex, req.target(), elapsed, remote);
    if (!ex.keep_alive()) {
      if (!ex.broken() && !ex.body_complete()) co_await Linger(conn);
      co_return false;
    }
    co_return true;
  }

  // The access log line of a finished request.
  static void LogAccess(const Exchange& ex, std::string_view target, std::chrono::steady_clock::duration elapsed,
                        const std::string& remote) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
    log::Write(log::Level::kInfo, "request", ex.context().LogFields(),
               {{"method", std::string(ex.method_string())},
                {"path", std::string(target)},
                {"route", std::string(ex.context().route.name)},
                {"status", std::to_string(ex.status())},
                {"bytes_in", std::to_string(ex.bytes_received())},
                {"bytes_out", std::to_string(ex.bytes_sent())},
                {"duration_ms", std::to_string(us.count() / 1000.0)},
                {"remote", remote}});
  }

  template <class Conn>
  Task<void> RespondAndClose(Conn& conn, Response r) {
    std::string head = SerializeHead(r, static_cast<int64_t>(r.body.size()), false, opts.extra_headers);
    std::array<asio::const_buffer, 2> b{asio::buffer(head), asio::buffer(r.body)};
    co_await conn.Write(b, opts.timeouts.write);
  }

  // The client may still be sending a body we refused; reading it for a moment
  // before closing avoids a TCP reset that would destroy our error response.
  template <class Conn>
  Task<void> Linger(Conn& conn) {
    std::vector<char> sink(64 << 10);
    size_t total = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (total < (64u << 20)) {
      auto left = until - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) break;
      auto n = co_await conn.ReadSome(asio::buffer(sink), left);
      if (!n.ok() || *n == 0) break;
      total += *n;
    }
  }

  void WaitForSignal() {
    signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        // Rebase before reading: a file changing while it is read is read again on the next poll.
        if (tls_watcher) tls_watcher->Rebase();
        (void)ReloadTls();  // failures are logged inside; the running pair stays
        if (opts.on_reload) opts.on_reload();
        WaitForSignal();
        return;
      }
      Stop();
    });
  }

  void Stop() {
    if (stopping.exchange(true)) return;
    asio::post(accept_strand, [this] {
      boost::system::error_code ec;
      acceptor.close(ec);
      signals.cancel();
      log::Info("shutting down: finishing in-flight requests");
      MutexLock lock(tracked_mu);
      for (auto& w : tracked) {
        if (auto t = w.lock()) {
          // Runs on the connection's strand; only idle connections are cut.
          asio::post(t->strand, [t] {
            if (t->lowest && t->idle) t->lowest->cancel();
          });
        }
      }
      tracked.clear();
      if (active == 0) return;
      grace.expires_after(std::chrono::seconds(opts.shutdown_grace_seconds));
      grace.async_wait([this](boost::system::error_code e) {
        if (!e) {
          log::Warn("shutdown grace period over: closing remaining connections");
          ioc.stop();
        }
      });
    });
  }
};

Server::Server(ServerOptions options, Handler& handler) : impl_(new Impl(std::move(options), handler)) {}
Server::~Server() = default;

Status Server::Listen() {
  std::string host;
  uint16_t port = 0;
  if (Status s = ParseListenAddress(impl_->opts.addr, &host, &port); !s.ok()) return s;
  if (impl_->opts.tls) {
    if (impl_->opts.tls_watch_seconds > 0) {
      // Renewals (certbot, cert-manager) need no signal. The files are stamped
      // before they are read: a change while they are read is seen next poll.
      impl_->tls_watcher = std::make_unique<FileWatcher>(
          std::vector<std::string>{impl_->opts.tls_certificate, impl_->opts.tls_key},
          std::chrono::seconds(impl_->opts.tls_watch_seconds), [this] {
            (void)impl_->ReloadTls();  // failures are logged inside; the running pair stays
          });
    }
    if (Status s = impl_->ReloadTls(); !s.ok()) return s;
  }
  boost::system::error_code ec;
  auto& acc = impl_->acceptor;
  auto try_bind = [&](const tcp::endpoint& ep, bool dual_stack) {
    acc.close(ec);
    acc.open(ep.protocol(), ec);
    if (ec) return false;
    acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (dual_stack) acc.set_option(asio::ip::v6_only(false), ec);
    acc.bind(ep, ec);
    if (ec) return false;
    acc.listen(asio::socket_base::max_listen_connections, ec);
    return !ec;
  };
  bool ok;
  if (host.empty()) {
    ok = try_bind(tcp::endpoint(tcp::v6(), port), true) || try_bind(tcp::endpoint(tcp::v4(), port), false);
  } else {
    ok = try_bind(tcp::endpoint(asio::ip::make_address(host), port), false);
  }
  if (!ok) return Status::IoError("cannot listen on " + impl_->opts.addr + ": " + ec.message());
  return Status::Ok();
}

uint16_t Server::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::Run(int threads) {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.add(SIGHUP);
  impl_->WaitForSignal();
  asio::co_spawn(impl_->accept_strand, impl_->Accept(), asio::detached);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : pool) t.join();
  impl_->tls_watcher.reset();
}

void Server::Stop() { impl_->Stop(); }

Status Server::ReloadTls() { return impl_->ReloadTls(); }

}  // namespace berth::http
