#include "http/server.h"

#include <sys/stat.h>

#include <cerrno>

#include <charconv>
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
#include "util/log.h"

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

// What a connection over server.max_connections gets on a plain-HTTP port
// (distribution's UNAVAILABLE error code, with its status).
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    "Connection: close\r\nContent-Length: 101\r\n\r\n"
    "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"too many open connections, retry later\",\"detail\":null}]}\n";
// At most this many over-the-limit connections are kept for the 503 (each for
// at most a second); past it they are closed at once.
constexpr int kMaxRejecting = 64;

// Identifies a version of a file: editors and certbot replace files (new inode), cp rewrites them.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  bool operator==(const FileStamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
           mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

FileStamp StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

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

Response PlainError(unsigned status, std::string_view message) {
  Response r(status);
  r.Set("Content-Type", "application/json");
  r.body = std::string(R"({"errors":[{"code":"UNKNOWN","message":")") + std::string(message) + "\"}]}";
  return r;
}

}  // namespace

Status ParseListenAddress(std::string_view addr, std::string* host, uint16_t* port) {
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return Status::Invalid("listen address must be [host]:port");
  std::string_view h = addr.substr(0, colon);
  std::string_view p = addr.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
    if (h.find(':') == std::string_view::npos) return Status::Invalid("only IPv6 addresses go in brackets");
  } else if (h.find(':') != std::string_view::npos) {
    return Status::Invalid("write IPv6 listen addresses as [addr]:port");
  }
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v > 65535) {
    return Status::Invalid("invalid port '" + std::string(p) + "'");
  }
  if (h == "localhost") h = "127.0.0.1";
  if (!h.empty()) {
    boost::system::error_code e;
    asio::ip::make_address(std::string(h), e);
    if (e) return Status::Invalid("listen host must be an IP address or localhost, got '" + std::string(h) + "'");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

struct Server::Impl {
  ServerOptions opts;
  Handler& handler;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  // The context for new TLS connections; a session keeps the one it started with.
  std::mutex ssl_mu;
  std::shared_ptr<asio::ssl::context> ssl_ctx;  // guarded by ssl_mu
  std::mutex reload_mu;
  FileStamp cert_stamp, key_stamp;  // guarded by reload_mu: the files last loaded
  asio::steady_timer tls_watch{ioc};
  asio::signal_set signals{ioc};
  asio::steady_timer grace{ioc};
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(ioc)};
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::atomic<int> rejecting{0};  // connections being answered 503 (see Reject)
  std::mutex tracked_mu;
  std::list<std::weak_ptr<Tracked>> tracked;

  Impl(ServerOptions o, Handler& h) : opts(std::move(o)), handler(h) {}

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
    auto [wec, written] = co_await asio::async_write(stream, asio::buffer(kTooManyConnections), kTuple);
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
      std::lock_guard lock(tracked_mu);
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

  std::shared_ptr<asio::ssl::context> CurrentTlsContext() {
    std::lock_guard lock(ssl_mu);
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
  }

  Status ReloadTls() {
    if (!opts.tls) return Status::Ok();
    std::lock_guard lock(reload_mu);
    // Stamp before reading: a file changing while it is read is read again next time.
    cert_stamp = StampOf(opts.tls_certificate);
    key_stamp = StampOf(opts.tls_key);
    auto ctx = LoadTlsContext(opts.tls_certificate, opts.tls_key, opts.tls_profile);
    if (!ctx.ok()) {
      if (CurrentTlsContext()) {  // (at startup the caller reports it)
        log::Error("TLS reload failed, new connections keep the previous certificate",
                   {{"error", ctx.status().message()}});
      }
      return ctx.status();
    }
    log::Info("TLS certificate loaded for new connections", {{"certificate", DescribeCertificate(**ctx)}});
    std::lock_guard ctx_lock(ssl_mu);
    ssl_ctx = std::move(*ctx);
    return Status::Ok();
  }

  // Polls the certificate and key files: renewals (certbot, cert-manager) need no signal.
  Task<void> WatchTls() {
    while (!stopping) {
      tls_watch.expires_after(std::chrono::seconds(opts.tls_watch_seconds));
      auto [ec] = co_await tls_watch.async_wait(kTuple);
      if (ec || stopping) co_return;
      bool changed;
      {
        std::lock_guard lock(reload_mu);
        changed = !(StampOf(opts.tls_certificate) == cert_stamp) || !(StampOf(opts.tls_key) == key_stamp);
      }
      if (changed) (void)ReloadTls();  // failures are logged inside; the running pair stays
    }
  }

  template <class Stream>
  Task<void> Serve(Stream& stream, const std::string& remote, Tracked& track, bool plain) {
    StreamConnection<Stream> conn(stream);
    beast::flat_buffer buffer(opts.max_header_bytes + (1 << 20));
    bool first = true;
    while (!stopping) {
      beast::http::request_parser<beast::http::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      parser.body_limit(boost::none);  // bodies are streamed by the Exchange, not by the parser
      parser.eager(false);
      // --- read the request head ---
      track.idle = buffer.size() == 0;
      std::chrono::steady_clock::time_point deadline{};
      bool head_done = false;
      while (!head_done) {
        if (buffer.size() > 0) {
          track.idle = false;
          if (deadline == std::chrono::steady_clock::time_point{}) {
            deadline = std::chrono::steady_clock::now() + opts.timeouts.header;
          }
          auto data = buffer.data();
          if (first && plain && static_cast<const unsigned char*>(data.data())[0] == 0x16) {
            std::array<asio::const_buffer, 1> b{asio::buffer(kTlsOnPlainPort.data(), kTlsOnPlainPort.size())};
            co_await conn.Write(b, opts.timeouts.write);
            co_return;
          }
          beast::error_code pec;
          size_t used = parser.put(data, pec);
          buffer.consume(used);
          if (!pec && parser.is_header_done()) {
            head_done = true;
            break;
          }
          if (pec && pec != beast::http::error::need_more) {
            unsigned status = pec == beast::http::error::header_limit ? 431 : 400;
            co_await RespondAndClose(conn, PlainError(status, "malformed HTTP request"));
            co_return;
          }
          if (buffer.size() >= opts.max_header_bytes) {
            co_await RespondAndClose(conn, PlainError(431, "request head too large"));
            co_return;
          }
        }
        auto timeout = deadline == std::chrono::steady_clock::time_point{}
                           ? std::chrono::steady_clock::duration(first ? opts.timeouts.header : opts.timeouts.idle)
                           : deadline - std::chrono::steady_clock::now();
        if (timeout <= std::chrono::steady_clock::duration::zero()) co_return;
        auto space = buffer.prepare(std::min<size_t>(16384, buffer.max_size() - buffer.size()));
        auto n = co_await conn.ReadSome(space, timeout);
        if (!n.ok() || *n == 0) co_return;
        buffer.commit(*n);
      }
      track.idle = false;
      first = false;
      const auto start = std::chrono::steady_clock::now();
      auto& req = parser.get();
      auto url = boost::urls::parse_origin_form(req.target());
      if (!url) {
        co_await RespondAndClose(conn, PlainError(400, "malformed request target"));
        co_return;
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
        co_await ex.Send(PlainError(500, "internal error"));
      }
      const auto elapsed = std::chrono::steady_clock::now() - start;
      if (opts.observer != nullptr) opts.observer->OnRequest(ex, elapsed);
      if (opts.access_log) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
        log::Write(log::Level::kInfo, "request", ex.context().LogFields(),
                   {{"method", std::string(ex.method_string())},
                    {"path", std::string(req.target())},
                    {"route", std::string(RouteLabelName(ex.context().route))},
                    {"status", std::to_string(ex.status())},
                    {"bytes_in", std::to_string(ex.bytes_received())},
                    {"bytes_out", std::to_string(ex.bytes_sent())},
                    {"duration_ms", std::to_string(us.count() / 1000.0)},
                    {"remote", remote}});
      }
      if (!ex.keep_alive()) {
        if (!ex.broken() && !ex.body_complete()) co_await Linger(conn);
        co_return;
      }
    }
  }

  template <class Conn>
  Task<void> RespondAndClose(Conn& conn, Response r) {
    std::string head = SerializeHead(r, static_cast<int64_t>(r.body.size()), false);
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
      tls_watch.cancel();
      log::Info("shutting down: finishing in-flight requests");
      std::lock_guard lock(tracked_mu);
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
  if (impl_->opts.tls && impl_->opts.tls_watch_seconds > 0) {
    asio::co_spawn(impl_->accept_strand, impl_->WatchTls(), asio::detached);
  }
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : pool) t.join();
}

void Server::Stop() { impl_->Stop(); }

Status Server::ReloadTls() { return impl_->ReloadTls(); }

}  // namespace berth::http
