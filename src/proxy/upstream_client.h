// UpstreamClient: Berth as a client of one upstream registry (the pull-through
// cache, docs/proxy.md). HTTP/1.1 on Boost.Beast over Asio coroutines, so a
// fetch never blocks an I/O thread:
//  - http and https; TLS with the one outgoing profile (http/tls_profile.h
//    SetUpClientTls: the system CA bundle or the upstream's ca_file) and the
//    host name verified;
//  - idle keep-alive connections are kept per host for the next request (a
//    stale one is replaced once, before anything of the response was read);
//  - every network step has a timeout;
//  - authentication as the upstream asks for it: a Bearer challenge
//    (realm/service/scope) gets a token from the realm, with the configured
//    credentials or anonymously, cached per scope until shortly before it
//    expires; a Basic challenge gets the credentials; otherwise anonymous.
//    The Authorization of Berth's own clients never reaches this class;
//  - redirects (blob GETs sent to a CDN) are followed without credentials;
//  - response bodies are streamed to the caller piece by piece.
// Thread-safe: one instance per upstream serves every request at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/task.h"
#include "proxy/token_cache.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::proxy {

using http::Task;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct UpstreamOptions {
  std::string url;  // http(s)://host[:port]
  std::string username;
  std::string password;  // secret: never logged
  std::string ca_file;   // empty: the system bundle
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds io_timeout{60};  // each read or write of a request or response
  size_t max_idle_per_host = 16;
};

class UpstreamClient;
struct UpstreamConnection;

// An upstream's answer: status and headers read, the body still on the
// connection. Used by one coroutine at a time. Destroying it before the body
// is read closes the connection.
class UpstreamResponse {
 public:
  ~UpstreamResponse();
  unsigned status() const { return status_; }
  // First header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // The Content-Length, -1 when not given.
  int64_t content_length() const { return content_length_; }
  // The next piece of the body into buf (up to n bytes); 0 at its end. IoError on a broken connection.
  Task<Result<size_t>> Read(char* buf, size_t n);
  // The whole body; OutOfRange when longer than `limit`.
  Task<Result<std::string>> ReadAll(size_t limit);

 private:
  friend class UpstreamClient;
  UpstreamResponse() = default;
  std::unique_ptr<UpstreamConnection> conn_;
  UpstreamClient* client_ = nullptr;
  unsigned status_ = 0;
  int64_t content_length_ = -1;
  int64_t body_left_ = -1;  // a body of known length still to read; -1: read through the parser (chunked)
  HeaderList headers_;
  bool done_ = false;
};

class UpstreamClient {
 public:
  static Result<std::unique_ptr<UpstreamClient>> Create(UpstreamOptions options);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // `method` GET or HEAD of `path` (starting with /v2/) on the upstream, with
  // the pull scope of `repository` (the upstream's repository name) when it
  // asks for a token. Transport failures and refused credentials are errors
  // (Unavailable, with a message for the operator); HTTP errors are responses.
  Task<Result<std::unique_ptr<UpstreamResponse>>> Fetch(std::string method, std::string path, std::string repository,
                                                        HeaderList headers);

  const std::string& url() const { return options_.url; }
  // Closes the idle kept-alive connections. Call before the io_context they
  // were made on goes away (they cannot be destroyed after it).
  void CloseIdle() EXCLUDES(mu_);

  struct Target;  // where one request goes (scheme, host, port, path)

 private:
  friend class UpstreamResponse;
  struct Impl;
  explicit UpstreamClient(UpstreamOptions options);
  // One request on a pooled or new connection to `target`; follows no redirect.
  Task<Result<std::unique_ptr<UpstreamResponse>>> Send(const Target& target, std::string method, HeaderList headers);
  // Gets a token for `scope` as the Bearer challenge `header` says; cached.
  Task<Status> Authenticate(std::string challenge_header, std::string scope);
  // The Authorization value for `scope` ("" when none is known yet).
  std::string AuthorizationFor(const std::string& scope) EXCLUDES(mu_);
  void ReturnConnection(std::unique_ptr<UpstreamConnection> c) EXCLUDES(mu_);

  UpstreamOptions options_;
  std::unique_ptr<Impl> impl_;  // the TLS context
  Mutex mu_;
  TokenCache tokens_ GUARDED_BY(mu_);  // by scope, bounded
  bool use_basic_ GUARDED_BY(mu_) = false;                     // the upstream asked for Basic
  std::map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_ GUARDED_BY(mu_);  // by host key
};

}  // namespace berth::proxy
