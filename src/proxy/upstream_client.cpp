#include "proxy/upstream_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include <algorithm>

#include "util/base64.h"
#include "http/tls_profile.h"
#include "proxy/challenge.h"
#include "util/ascii.h"
#include "util/log.h"

namespace berth::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr size_t kMaxTokenResponse = 1 << 20;
constexpr int kMaxRedirects = 5;
}  // namespace

// Where a request goes: scheme, host, port and the request target.
struct UpstreamClient::Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
  std::string Key() const { return std::string(tls ? "https://" : "http://") + host + ":" + port; }
  std::string HostHeader() const {
    const bool default_port = port == (tls ? "443" : "80");
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (!default_port) h += ":" + port;
    return h;
  }
};

namespace {

// An absolute http(s) URL as a Target; InvalidArgument otherwise.
Result<UpstreamClient::Target> ParseTarget(std::string_view text);

}  // namespace

struct UpstreamConnection {
  UpstreamConnection(asio::any_io_executor ex, asio::ssl::context* ssl, bool tls) : tcp(ex) {
    if (tls) stream = std::make_unique<beast::ssl_stream<beast::tcp_stream&>>(tcp, *ssl);
  }
  beast::tcp_stream tcp;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream&>> stream;  // null: plain TCP
  beast::flat_buffer buffer;
  std::string key;
  bool reused = false;
  std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser;
  std::chrono::seconds io_timeout{60};

  Task<error_code> Write(bhttp::request<bhttp::empty_body>& req) {
    error_code ec;
    tcp.expires_after(io_timeout);
    if (stream) {
      co_await bhttp::async_write(*stream, req, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await bhttp::async_write(tcp, req, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return ec;
  }
  Task<error_code> ReadHeader() {
    error_code ec;
    tcp.expires_after(io_timeout);
    if (stream) {
      co_await bhttp::async_read_header(*stream, buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await bhttp::async_read_header(tcp, buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return ec;
  }
  // Raw bytes of a body whose length the header gave (no parser in between:
  // large reads straight into the caller's buffer).
  Task<size_t> ReadRaw(asio::mutable_buffer b, error_code& ec) {
    tcp.expires_after(io_timeout);
    size_t n = 0;
    if (stream) {
      n = co_await stream->async_read_some(b, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await tcp.async_read_some(b, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return n;
  }
  Task<error_code> ReadSome() {
    error_code ec;
    tcp.expires_after(io_timeout);
    if (stream) {
      co_await bhttp::async_read_some(*stream, buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await bhttp::async_read_some(tcp, buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return ec;
  }
};

struct UpstreamClient::Impl {
  asio::ssl::context ssl{asio::ssl::context::tls_client};
};

namespace {

Result<UpstreamClient::Target> ParseTarget(std::string_view text) {
  auto u = boost::urls::parse_uri(text);
  if (!u) return Status::Invalid("not a URL: " + std::string(text.substr(0, 200)));
  UpstreamClient::Target t;
  if (u->scheme() == "https") {
    t.tls = true;
  } else if (u->scheme() != "http") {
    return Status::Invalid("not an http(s) URL: " + std::string(text.substr(0, 200)));
  }
  t.host = std::string(u->host_address());
  if (t.host.empty()) return Status::Invalid("URL without a host");
  t.port = u->has_port() ? std::string(u->port()) : std::string(t.tls ? "443" : "80");
  t.target = std::string(u->encoded_path());
  if (t.target.empty()) t.target = "/";
  if (u->has_query()) t.target += "?" + std::string(u->encoded_query());
  return t;
}

bool IsRedirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string QueryEscape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

UpstreamResponse::~UpstreamResponse() {
  // A response read to its end leaves a connection ready for the next request.
  if (done_ && conn_ && client_ && conn_->parser && conn_->parser->keep_alive()) {
    conn_->parser.reset();
    client_->ReturnConnection(std::move(conn_));
  }
}

std::string UpstreamResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers_) {
    if (AsciiIEquals(k, name)) return v;
  }
  return "";
}

Task<Result<size_t>> UpstreamResponse::Read(char* buf, size_t n) {
  if (done_ || n == 0) co_return size_t{0};
  if (body_left_ >= 0) {
    // A body of known length: what the header read left in the buffer, then the socket.
    const size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), body_left_));
    size_t got = 0;
    if (conn_->buffer.size() > 0) {
      got = asio::buffer_copy(asio::buffer(buf, want), conn_->buffer.data());
      conn_->buffer.consume(got);
    } else {
      error_code ec;
      got = co_await conn_->ReadRaw(asio::buffer(buf, want), ec);
      if (ec) co_return Status::IoError("reading from the upstream: " + ec.message());
      if (got == 0) co_return Status::IoError("the upstream closed the connection before the end of the body");
    }
    body_left_ -= static_cast<int64_t>(got);
    if (body_left_ == 0) done_ = true;
    co_return got;
  }
  auto& parser = *conn_->parser;
  if (parser.is_done()) {
    done_ = true;
    co_return size_t{0};
  }
  parser.get().body().data = buf;
  parser.get().body().size = n;
  while (true) {
    error_code ec = co_await conn_->ReadSome();
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return Status::IoError("reading from the upstream: " + ec.message());
    const size_t got = n - parser.get().body().size;
    if (parser.is_done()) done_ = true;
    if (got > 0 || done_) co_return got;
  }
}

Task<Result<std::string>> UpstreamResponse::ReadAll(size_t limit) {
  std::string out;
  std::unique_ptr<char[]> buf(new char[64 << 10]);
  while (true) {
    auto n = co_await Read(buf.get(), 64 << 10);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    if (out.size() + *n > limit) co_return Status::OutOfRange("upstream response larger than expected");
    out.append(buf.get(), *n);
  }
  co_return out;
}

UpstreamClient::UpstreamClient(UpstreamOptions options) : options_(std::move(options)), impl_(new Impl) {}
UpstreamClient::~UpstreamClient() = default;

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::Create(UpstreamOptions options) {
  auto target = ParseTarget(options.url);
  if (!target.ok()) return target.status();
  std::unique_ptr<UpstreamClient> c(new UpstreamClient(std::move(options)));
  // Every outgoing connection gets the one TLS profile and trust (even an
  // http:// upstream may redirect blob downloads to https).
  if (Status s = http::SetUpClientTls(c->impl_->ssl.native_handle(), c->options_.ca_file); !s.ok()) {
    return Status::Invalid("upstream " + c->options_.url + ": " + s.message());
  }
  return c;
}

void UpstreamClient::CloseIdle() {
  std::map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> doomed;
  {
    MutexLock lock(mu_);
    doomed.swap(idle_);
  }
}

void UpstreamClient::ReturnConnection(std::unique_ptr<UpstreamConnection> c) {
  MutexLock lock(mu_);
  auto& list = idle_[c->key];
  // The newest is kept, the oldest closed: idle connections are only reused on
  // the executor that made them (see Send), so old ones may never be asked for.
  if (list.size() >= options_.max_idle_per_host) list.erase(list.begin());
  if (options_.max_idle_per_host > 0) list.push_back(std::move(c));
}

std::string UpstreamClient::AuthorizationFor(const std::string& scope) {
  MutexLock lock(mu_);
  if (auto token = tokens_.Find(scope, std::chrono::steady_clock::now())) return "Bearer " + *token;
  if (use_basic_ && !options_.username.empty()) {
    return "Basic " + Base64Encode(options_.username + ":" + options_.password);
  }
  return "";
}

Task<Result<std::unique_ptr<UpstreamResponse>>> UpstreamClient::Send(const Target& target, std::string method,
                                                                     HeaderList headers) {
  const auto verb = bhttp::string_to_verb(method);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<UpstreamConnection> conn;
    auto ex = co_await asio::this_coro::executor;
    {
      // Only a connection made on this coroutine's executor is reused: a
      // beast::tcp_stream runs its timeout handler on the executor it was
      // made with, and on another strand that handler would cancel the socket
      // while this coroutine uses it (a data race).
      MutexLock lock(mu_);
      auto it = idle_.find(target.Key());
      if (it != idle_.end()) {
        auto& list = it->second;
        for (auto c = list.rbegin(); c != list.rend(); ++c) {
          if ((*c)->tcp.get_executor() == ex) {
            conn = std::move(*c);
            list.erase(std::next(c).base());
            conn->reused = true;
            break;
          }
        }
      }
    }
    if (!conn) {
      conn = std::make_unique<UpstreamConnection>(ex, &impl_->ssl, target.tls);
      conn->key = target.Key();
      conn->io_timeout = options_.io_timeout;
      tcp::resolver resolver(ex);
      error_code ec;
      auto endpoints =
          co_await resolver.async_resolve(target.host, target.port, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Status::Unavailable("cannot resolve " + target.host + ": " + ec.message());
      conn->tcp.expires_after(options_.connect_timeout);
      co_await conn->tcp.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Status::Unavailable("cannot connect to " + target.Key() + ": " + ec.message());
      conn->tcp.socket().set_option(tcp::no_delay(true), ec);
      if (conn->stream) {
        if (!SSL_set_tlsext_host_name(conn->stream->native_handle(), target.host.c_str())) {
          co_return Status::Unavailable("cannot set the TLS server name " + target.host);
        }
        conn->stream->set_verify_callback(asio::ssl::host_name_verification(target.host));
        conn->tcp.expires_after(options_.connect_timeout);
        co_await conn->stream->async_handshake(asio::ssl::stream_base::client,
                                               asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return Status::Unavailable("TLS handshake with " + target.Key() + " failed: " + ec.message());
      }
    }
    bhttp::request<bhttp::empty_body> req(verb, target.target, 11);
    req.set(bhttp::field::host, target.HostHeader());
    req.set(bhttp::field::user_agent, "berth-proxy");
    for (const auto& [k, v] : headers) req.set(k, v);
    conn->parser = std::make_unique<bhttp::response_parser<bhttp::buffer_body>>();
    conn->parser->body_limit(boost::none);
    conn->parser->header_limit(64 << 10);
    if (verb == bhttp::verb::head) conn->parser->skip(true);
    error_code ec = co_await conn->Write(req);
    if (!ec) ec = co_await conn->ReadHeader();
    if (ec) {
      // A kept-alive connection the upstream had closed: once more on a new one.
      if (conn->reused) continue;
      co_return Status::Unavailable("request to " + target.Key() + " failed: " + ec.message());
    }
    std::unique_ptr<UpstreamResponse> r(new UpstreamResponse);
    const auto& msg = conn->parser->get();
    r->status_ = msg.result_int();
    for (const auto& f : msg) r->headers_.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (auto len = conn->parser->content_length()) r->content_length_ = static_cast<int64_t>(*len);
    r->done_ = conn->parser->is_done();
    // (The header read stops before the body: the parser consumed none of it.)
    if (!r->done_ && !conn->parser->chunked() && r->content_length_ >= 0) r->body_left_ = r->content_length_;
    r->client_ = this;
    r->conn_ = std::move(conn);
    co_return r;
  }
  co_return Status::Unavailable("request to " + target.Key() + " failed");
}

Task<Status> UpstreamClient::Authenticate(std::string challenge_header, std::string scope) {
  auto challenge = ParseChallenge(challenge_header);
  if (!challenge) co_return Status::Unavailable("upstream " + options_.url + " sent a malformed WWW-Authenticate");
  if (challenge->scheme == "basic") {
    if (options_.username.empty()) {
      co_return Status::Unavailable("upstream " + options_.url + " wants credentials (Basic) and none are configured");
    }
    MutexLock lock(mu_);
    use_basic_ = true;
    co_return Status::Ok();
  }
  if (challenge->scheme != "bearer") {
    co_return Status::Unavailable("upstream " + options_.url + " asks for an unsupported authentication scheme '" +
                                  challenge->scheme + "'");
  }
  auto realm = ParseTarget(challenge->param("realm"));
  if (!realm.ok()) {
    co_return Status::Unavailable("upstream " + options_.url + " sent a Bearer challenge without a usable realm");
  }
  std::string query;
  if (!challenge->param("service").empty()) query += "service=" + QueryEscape(challenge->param("service"));
  const std::string wanted_scope = challenge->param("scope").empty() ? scope : challenge->param("scope");
  if (!wanted_scope.empty()) query += std::string(query.empty() ? "" : "&") + "scope=" + QueryEscape(wanted_scope);
  if (!query.empty()) realm->target += std::string(realm->target.find('?') == std::string::npos ? "?" : "&") + query;
  HeaderList headers;
  if (!options_.username.empty()) {
    headers.emplace_back("Authorization", "Basic " + Base64Encode(options_.username + ":" + options_.password));
  }
  std::string method = "GET";
  auto r = co_await Send(*realm, method, headers);
  if (!r.ok()) co_return Status::Unavailable("token service of upstream " + options_.url + ": " + r.status().message());
  auto body = co_await (*r)->ReadAll(kMaxTokenResponse);
  const unsigned status = (*r)->status();
  if (status == 401 || status == 403) {
    std::string who = options_.username.empty() ? std::string("anonymous pulls") : "user '" + options_.username + "'";
    co_return Status::Unavailable("upstream " + options_.url + " refused the credentials of " + who +
                                  " (token service answered " + std::to_string(status) + ")");
  }
  if (status != 200 || !body.ok()) {
    co_return Status::Unavailable("token service of upstream " + options_.url + " answered " + std::to_string(status));
  }
  auto json = nlohmann::json::parse(*body, nullptr, false);
  std::string token;
  int64_t expires_in = 60;  // the token spec's default
  if (json.is_object()) {
    if (json.contains("token") && json["token"].is_string()) token = json["token"].get<std::string>();
    if (token.empty() && json.contains("access_token") && json["access_token"].is_string()) {
      token = json["access_token"].get<std::string>();
    }
    if (json.contains("expires_in") && json["expires_in"].is_number_integer()) {
      expires_in = std::clamp<int64_t>(json["expires_in"].get<int64_t>(), 1, 86400);
    }
  }
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    co_return Status::Unavailable("token service of upstream " + options_.url + " sent no token");
  }
  // Renewed a little before it expires, so a token never runs out mid-request.
  const auto margin = std::chrono::seconds(std::min<int64_t>(expires_in / 5, 30));
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  tokens_.Insert(scope, token, now + std::chrono::seconds(expires_in) - margin, now);
  co_return Status::Ok();
}

Task<Result<std::unique_ptr<UpstreamResponse>>> UpstreamClient::Fetch(std::string method, std::string path,
                                                                      std::string repository, HeaderList headers) {
  auto base = ParseTarget(options_.url);
  if (!base.ok()) co_return base.status();
  Target target = *base;
  target.target = path;
  const std::string scope = "repository:" + repository + ":pull";
  std::unique_ptr<UpstreamResponse> r;
  for (int attempt = 0; attempt < 2; ++attempt) {
    HeaderList h = headers;
    const std::string authorization = AuthorizationFor(scope);
    if (!authorization.empty()) h.emplace_back("Authorization", authorization);
    auto sent = co_await Send(target, method, h);
    if (!sent.ok()) co_return sent.status();
    r = std::move(*sent);
    if (r->status() != 401) break;
    if (attempt == 1) {
      co_return Status::Unavailable("upstream " + options_.url + " refused Berth's credentials for " + scope +
                                    " (401)");
    }
    const std::string challenge = r->header("WWW-Authenticate");
    r.reset();
    if (Status s = co_await Authenticate(challenge, scope); !s.ok()) co_return s;
  }
  // Redirects (a CDN for blobs) are followed without any credentials.
  for (int hop = 0; hop < kMaxRedirects && IsRedirect(r->status()); ++hop) {
    std::string location = r->header("Location");
    r.reset();
    if (!location.empty() && location.front() == '/') location = target.Key() + location;
    auto next = ParseTarget(location);
    if (!next.ok()) co_return Status::Unavailable("upstream " + options_.url + " redirected to an unusable URL");
    target = *next;
    HeaderList h;
    for (const auto& [k, v] : headers) {
      if (!AsciiIEquals(k, "Authorization")) h.emplace_back(k, v);
    }
    auto sent = co_await Send(target, method, h);
    if (!sent.ok()) co_return sent.status();
    r = std::move(*sent);
  }
  co_return r;
}

}  // namespace berth::proxy
