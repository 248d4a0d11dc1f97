#include "storage/s3/s3_client.h"

#include "http/tls_profile.h"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

#include "storage/s3/xml.h"
#include "util/ascii.h"
#include "util/mutex.h"
#include "util/random.h"

namespace berth::storage::s3 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;

namespace {

constexpr uint64_t kMaxSmallBody = 64ull << 20;

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

template <class Fields>
KeyValues CollectHeaders(const Fields& f) {
  KeyValues out;
  for (const auto& h : f) out.emplace_back(LowerCopy(h.name_string()), std::string(h.value()));
  return out;
}

Status Transport(const std::string& what, const error_code& ec) {
  return Status::IoError("S3 " + what + ": " + ec.message());
}

}  // namespace

std::string S3Response::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

// One keep-alive connection with its own io_context: each blocking call runs
// one async operation to completion under a deadline.
struct S3Client::Connection {
  asio::io_context ioc{1};
  beast::tcp_stream tcp{ioc};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream&>> tls;
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
  bool reused = false;

  // Beast reads into the free capacity of `buffer` without growing it: a buffer
  // left small by the response head made every body read ~2 KiB (one recvmsg
  // and one client write each). 64 KiB is the most Beast reads at a time.
  explicit Connection(std::chrono::milliseconds t) : timeout(t) { buffer.reserve(64 * 1024); }

  // Runs `start(done)`, where start begins one async operation that calls done(ec).
  template <class Start>
  error_code Run(Start&& start) {
    error_code result = asio::error::would_block;
    tcp.expires_after(timeout);
    start([&result](error_code ec) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  template <class F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(tcp);
    }
  }

  template <class Message>
  error_code WriteHeader(Message& m) {
    bhttp::request_serializer<bhttp::empty_body> sr(m);
    return Run([&](auto done) {
      WithStream([&](auto& s) { bhttp::async_write_header(s, sr, [done](error_code ec, size_t) { done(ec); }); });
    });
  }

  // In slices, each under its own deadline: the timeout bounds a stall, not
  // the time a large part takes on a slow link.
  error_code WriteBody(std::string_view body) {
    constexpr size_t kSlice = 1 << 20;
    while (!body.empty()) {
      const std::string_view slice = body.substr(0, kSlice);
      error_code ec = Run([&](auto done) {
        WithStream([&](auto& s) {
          asio::async_write(s, asio::buffer(slice.data(), slice.size()), [done](error_code e, size_t) { done(e); });
        });
      });
      if (ec) return ec;
      body.remove_prefix(slice.size());
    }
    return {};
  }

  template <class Parser>
  error_code ReadHeader(Parser& p) {
    return Run([&](auto done) {
      WithStream([&](auto& s) { bhttp::async_read_header(s, buffer, p, [done](error_code ec, size_t) { done(ec); }); });
    });
  }

  template <class Parser>
  error_code ReadAll(Parser& p) {
    return Run([&](auto done) {
      WithStream([&](auto& s) { bhttp::async_read(s, buffer, p, [done](error_code ec, size_t) { done(ec); }); });
    });
  }

  template <class Parser>
  error_code ReadSome(Parser& p) {
    return Run([&](auto done) {
      WithStream([&](auto& s) { bhttp::async_read_some(s, buffer, p, [done](error_code ec, size_t) { done(ec); }); });
    });
  }
};

struct S3Client::Pool {
  Mutex mu;
  std::vector<std::unique_ptr<Connection>> idle GUARDED_BY(mu);
  asio::ssl::context ssl{asio::ssl::context::tls_client};
};

S3Client::S3Client(ClientOptions options) : options_(std::move(options)), pool_(std::make_unique<Pool>()) {}
S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::Create(ClientOptions o) {
  if (o.endpoint.empty()) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  auto url = boost::urls::parse_uri(o.endpoint);
  if (!url) return Status::Invalid("storage.s3.endpoint '" + o.endpoint + "' is not a URL");
  std::string scheme(url->scheme());
  if (scheme != "http" && scheme != "https") {
    return Status::Invalid("storage.s3.endpoint must start with http:// or https://");
  }
  if (url->has_userinfo() || !url->encoded_path().empty() || url->has_query()) {
    return Status::Invalid("storage.s3.endpoint must be scheme://host[:port] only");
  }
  if (o.bucket.empty()) return Status::Invalid("storage.s3.bucket is required");
  std::unique_ptr<S3Client> c(new S3Client(o));
  c->tls_ = scheme == "https";
  std::string host(url->encoded_host());
  c->port_ = url->has_port() ? std::string(url->port()) : (c->tls_ ? "443" : "80");
  const bool default_port = c->port_ == (c->tls_ ? "443" : "80");
  // Virtual-hosted addressing cannot work with an IP address, nor over HTTPS
  // with a dotted bucket name (the *.host certificate does not cover it).
  const bool ip_host =
      url->host_type() == boost::urls::host_type::ipv4 || url->host_type() == boost::urls::host_type::ipv6;
  if (ip_host || (scheme == "https" && o.bucket.find('.') != std::string::npos)) c->options_.force_path_style = true;
  if (!c->options_.force_path_style) host = o.bucket + "." + host;
  c->host_ = host;
  if (!c->host_.empty() && c->host_.front() == '[') c->host_ = c->host_.substr(1, c->host_.size() - 2);
  c->host_header_ = default_port ? host : host + ":" + c->port_;
  if (c->tls_) {
    // The same profile and trust as every outgoing connection (http/tls_profile.h).
    if (Status s = http::SetUpClientTls(c->pool_->ssl.native_handle()); !s.ok()) return s;
  }
  return c;
}

std::string S3Client::Describe() const {
  return std::string(tls_ ? "https://" : "http://") + host_header_ + (options_.force_path_style ? "/" + bucket() : "");
}

Result<std::unique_ptr<S3Client::Connection>> S3Client::Checkout() {
  {
    MutexLock lock(pool_->mu);
    if (!pool_->idle.empty()) {
      auto c = std::move(pool_->idle.back());
      pool_->idle.pop_back();
      c->reused = true;
      return c;
    }
  }
  auto c = std::make_unique<Connection>(options_.timeout);
  tcp::resolver resolver(c->ioc);
  error_code ec;
  auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) return Status::IoError("S3 endpoint " + host_ + ": cannot resolve: " + ec.message());
  ec = c->Run(
      [&](auto done) { c->tcp.async_connect(endpoints, [done](error_code e, const tcp::endpoint&) { done(e); }); });
  if (ec) return Status::IoError("S3 endpoint " + host_ + ":" + port_ + ": cannot connect: " + ec.message());
  c->tcp.socket().set_option(tcp::no_delay(true), ec);
  if (tls_) {
    c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream&>>(c->tcp, pool_->ssl);
    if (!SSL_set_tlsext_host_name(c->tls->native_handle(), host_.c_str())) {
      return Status::IoError("S3 endpoint " + host_ + ": cannot set TLS server name");
    }
    c->tls->set_verify_callback(asio::ssl::host_name_verification(host_));
    ec = c->Run(
        [&](auto done) { c->tls->async_handshake(asio::ssl::stream_base::client, [done](error_code e) { done(e); }); });
    if (ec) return Status::IoError("S3 endpoint " + host_ + ": TLS handshake failed: " + ec.message());
  }
  return c;
}

void S3Client::Return(std::unique_ptr<Connection> c) {
  MutexLock lock(pool_->mu);
  if (pool_->idle.size() < options_.max_idle_connections) pool_->idle.push_back(std::move(c));
}

void S3Client::DropIdle() {
  std::vector<std::unique_ptr<Connection>> doomed;
  MutexLock lock(pool_->mu);
  doomed.swap(pool_->idle);
}

std::string S3Client::Path(const std::string& key) const {
  std::string p = options_.force_path_style ? "/" + options_.bucket : "";
  p += "/" + key;
  return p;
}

Status S3Client::Send(Connection& c, const S3Request& r) const {
  const std::string amz_date = AmzDate(std::time(nullptr));
  const std::string payload_hash = r.sign_body ? Sha256Hex(r.body) : std::string(kUnsignedPayload);
  SignedRequest sr;
  sr.method = r.method;
  sr.path = Path(r.key);
  sr.query = r.query;
  sr.headers = {{"host", host_header_}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}};
  for (const auto& h : r.headers) sr.headers.push_back(h);
  sr.payload_hash = payload_hash;
  const std::string auth = AuthorizationHeader(options_.credentials, {options_.region, "s3"}, amz_date, sr);

  std::string target = UriEncode(sr.path, false);
  if (!r.query.empty()) target += "?" + CanonicalQueryString(r.query);
  bhttp::request<bhttp::empty_body> req;
  req.method_string(r.method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, host_header_);
  req.set("x-amz-date", amz_date);
  req.set("x-amz-content-sha256", payload_hash);
  req.set(bhttp::field::authorization, auth);
  for (const auto& [k, v] : r.headers) req.set(k, v);
  req.set(bhttp::field::user_agent, "berth");
  if (!r.body.empty() || r.method == "PUT" || r.method == "POST") req.content_length(r.body.size());
  req.keep_alive(true);
  if (error_code ec = c.WriteHeader(req)) return Transport(r.method + " " + r.key, ec);
  if (error_code ec = c.WriteBody(r.body)) return Transport(r.method + " " + r.key, ec);
  return Status::Ok();
}

void S3Client::Backoff(int attempt) const {
  const int base = std::min(2000, 50 << std::min(attempt, 6));
  const auto jitter = static_cast<int>(FastRandom64() % static_cast<uint64_t>(base - base / 2 + 1));  // base/2..base
  std::this_thread::sleep_for(std::chrono::milliseconds(base / 2 + jitter));
}

Result<S3Response> S3Client::Do(const S3Request& r) {
  Status last;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) Backoff(attempt - 1);
    auto c = Checkout();
    if (!c.ok()) {
      last = c.status();
      continue;  // nothing was sent: always safe to retry
    }
    Connection& conn = **c;
    const bool reused = conn.reused;
    Status s = Send(conn, r);
    S3Response resp;
    if (s.ok()) {
      bhttp::response_parser<bhttp::string_body> p;
      p.body_limit(kMaxSmallBody);
      if (r.method == "HEAD") p.skip(true);
      if (error_code ec = conn.ReadAll(p)) {
        s = Transport(r.method + " " + r.key, ec);
      } else {
        auto& msg = p.get();
        resp.status = static_cast<int>(msg.result_int());
        resp.headers = CollectHeaders(msg.base());
        resp.body = std::move(msg.body());
        if (msg.keep_alive()) Return(std::move(*c));
      }
    }
    if (!s.ok()) {
      last = s;
      // A reused connection the server closed while idle fails before the
      // request is processed: retry even a non-idempotent request at once,
      // on a fresh connection.
      if (reused) {
        DropIdle();
        if (attempt == 0) continue;
      }
      if (!r.idempotent) return s;
      continue;
    }
    if (resp.status >= 500 && r.idempotent && attempt + 1 < options_.max_attempts) {
      last = ErrorStatus(resp, r.method + " " + r.key);
      continue;
    }
    return resp;
  }
  return last;
}

// The streamed body of a GET. On a transport error mid-body it re-requests the
// rest with a Range from where it stopped, a few times.
class StreamImpl final : public ObjectStream {
 public:
  StreamImpl(S3Client& client, std::string key, int64_t offset)
      : client_(client), key_(std::move(key)), offset_(offset) {}
  ~StreamImpl() override {
    // An unfinished body leaves the connection mid-response: drop it.
  }

  // Sends the GET and reads the response header. NotFound/416 handling here.
  Status Open() {
    Status last;
    for (int attempt = 0; attempt < client_.options_.max_attempts; ++attempt) {
      if (attempt > 0) client_.Backoff(attempt - 1);
      conn_.reset();
      parser_.reset();
      auto c = client_.Checkout();
      if (!c.ok()) {
        last = c.status();
        continue;
      }
      conn_ = std::move(*c);
      S3Request r;
      r.method = "GET";
      r.key = key_;
      if (offset_ > 0) r.headers.emplace_back("range", "bytes=" + std::to_string(offset_) + "-");
      last = client_.Send(*conn_, r);
      if (!last.ok()) {
        if (conn_->reused) client_.DropIdle();
        continue;
      }
      parser_.emplace();
      parser_->body_limit(boost::none);
      if (error_code ec = conn_->ReadHeader(*parser_)) {
        last = Transport("GET " + key_, ec);
        if (conn_->reused) client_.DropIdle();
        continue;
      }
      const int status = static_cast<int>(parser_->get().result_int());
      if (status == 200 || status == 206) return Status::Ok();
      // An error: read its (small) body for the message.
      S3Response resp;
      resp.status = status;
      resp.headers = CollectHeaders(parser_->get().base());
      std::string body;
      char buf[4096];
      while (!parser_->is_done() && body.size() < 65536) {
        auto n = ReadRaw(buf, sizeof buf);
        if (!n.ok() || *n == 0) break;
        body.append(buf, *n);
      }
      resp.body = std::move(body);
      conn_.reset();
      if (status == 416) {
        done_ = true;  // offset at or past the end: empty
        return Status::Ok();
      }
      if (status >= 500 && attempt + 1 < client_.options_.max_attempts) {
        last = client_.ErrorStatus(resp, "GET " + key_);
        continue;
      }
      return client_.ErrorStatus(resp, "GET " + key_);
    }
    return last;
  }

  // Fills `buf` as far as the body allows (the caller sends what it gets to
  // its client: few large writes, not one per socket read).
  Result<size_t> Read(char* buf, size_t n) override {
    size_t total = 0;
    while (total < n) {
      auto got = ReadSomeBody(buf + total, n - total);
      if (!got.ok()) {
        if (total > 0) return total;  // report the error on the next call
        return got;
      }
      if (*got == 0) break;
      total += *got;
    }
    return total;
  }

 private:
  Result<size_t> ReadSomeBody(char* buf, size_t n) {
    if (n == 0) return size_t{0};
    for (int resumes = 0;; ++resumes) {
      if (done_) return size_t{0};
      auto got = ReadRaw(buf, n);
      if (got.ok()) {
        offset_ += static_cast<int64_t>(*got);
        if (*got == 0 || parser_->is_done()) Finish();
        if (*got > 0) return got;
        if (done_) return size_t{0};
        continue;
      }
      if (resumes >= 3) return got.status();
      // Resume from where the body broke off.
      if (Status s = Open(); !s.ok()) return s;
    }
  }

  // Body bytes into buf; may be 0 while the parser consumes framing.
  Result<size_t> ReadRaw(char* buf, size_t n) {
    for (int spins = 0; spins < 64; ++spins) {
      if (parser_->is_done()) return size_t{0};
      auto& body = parser_->get().body();
      body.data = buf;
      body.size = n;
      error_code ec = conn_->ReadSome(*parser_);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return Transport("GET " + key_, ec);
      size_t got = n - body.size;
      if (got > 0) return got;
    }
    return size_t{0};
  }

  void Finish() {
    done_ = true;
    if (conn_ && parser_ && parser_->is_done() && parser_->get().keep_alive()) client_.Return(std::move(conn_));
    conn_.reset();
  }

  S3Client& client_;
  std::string key_;
  int64_t offset_;
  std::unique_ptr<S3Client::Connection> conn_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  bool done_ = false;
};

Result<std::unique_ptr<ObjectStream>> S3Client::Get(const std::string& key, int64_t offset) {
  auto s = std::make_unique<StreamImpl>(*this, key, offset);
  if (Status st = s->Open(); !st.ok()) return st;
  return std::unique_ptr<ObjectStream>(std::move(s));
}

std::string S3Client::PresignGet(const std::string& key, int64_t expires_seconds) const {
  SignedRequest r;
  r.method = "GET";
  r.path = Path(key);
  r.headers = {{"host", host_header_}};
  const std::string q =
      PresignedQuery(options_.credentials, {options_.region, "s3"}, AmzDate(std::time(nullptr)), expires_seconds, r);
  return std::string(tls_ ? "https://" : "http://") + host_header_ + UriEncode(r.path, false) + "?" + q;
}

Status S3Client::ErrorStatus(const S3Response& r, const std::string& what) const {
  const std::string code = XmlText(r.body, "Code");
  const std::string message = XmlText(r.body, "Message");
  std::string detail = "HTTP " + std::to_string(r.status);
  if (!code.empty()) detail += " " + code;
  if (!message.empty()) detail += ": " + message;
  if (code == "NoSuchBucket") {
    return Status::IoError("S3 bucket '" + bucket() + "' does not exist at " + Describe() + " (create it first)");
  }
  if (r.status == 404) return Status::NotFound("S3 " + what + ": not found");
  if (code == "InvalidAccessKeyId") {
    return Status::IoError("S3 access denied: the access key is unknown: check storage.s3.accesskey (" + detail + ")");
  }
  if (code == "SignatureDoesNotMatch") {
    return Status::IoError("S3 access denied: the signature does not match: check storage.s3.secretkey and region (" +
                           detail + ")");
  }
  if (code == "RequestTimeTooSkewed") {
    return Status::IoError("S3 rejected the request: this machine's clock is off (" + detail + ")");
  }
  if (r.status == 403) {
    return Status::IoError("S3 access denied: check accesskey/secretkey and the bucket's permissions (" + what + ": " +
                           detail + ")");
  }
  if (r.status == 416) return Status::OutOfRange("S3 " + what + ": " + detail);
  if (code == "EntityTooSmall" || code == "InvalidPart" || code == "InvalidPartOrder" || code == "NoSuchUpload") {
    return Status::IoError("S3 " + what + ": multipart upload failed: " + detail);
  }
  return Status::IoError("S3 " + what + ": " + detail);
}

}  // namespace berth::storage::s3
