// S3Client: a small synchronous S3 client on Boost.Beast for the S3 storage driver.
//
// - HTTP and HTTPS (system CA bundle, certificate and host name verification);
// - path-style (http://host/bucket/key) or virtual-hosted (http://bucket.host/key) addressing;
// - a pool of keep-alive connections, each driven by its own io_context so every
//   network step has a timeout while the caller simply blocks;
// - retries with exponential backoff on connection errors, timeouts and 5xx for
//   idempotent requests (request bodies are in-memory views, so they replay);
// - response bodies either read whole (small XML/JSON objects, capped) or streamed
//   (object GETs, read incrementally by the caller).
// Thread-safe: any number of threads may issue requests at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "storage/s3/sigv4.h"
#include "util/status.h"

namespace berth::storage::s3 {

struct ClientOptions {
  std::string endpoint;  // scheme://host[:port]; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string bucket;
  Credentials credentials;
  bool force_path_style = false;
  size_t max_idle_connections = 64;
  std::chrono::milliseconds timeout{60000};  // for each connect/read/write step
  int max_attempts = 5;
};

struct S3Request {
  std::string method;
  std::string key;        // object key without a leading '/'; "" addresses the bucket
  KeyValues query;        // raw
  KeyValues headers;      // extra headers, all signed
  std::string_view body;  // must stay valid for the call
  bool sign_body = true;  // false: x-amz-content-sha256 UNSIGNED-PAYLOAD (large bodies)
  bool idempotent = true;
};

struct S3Response {
  int status = 0;
  KeyValues headers;  // names lower-cased
  std::string body;
  std::string Header(std::string_view lower_name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

// The body of an object GET, read incrementally. Not thread-safe.
class ObjectStream {
 public:
  virtual ~ObjectStream() = default;
  // Up to n bytes; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

class S3Client {
 public:
  static Result<std::unique_ptr<S3Client>> Create(ClientOptions options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Sends `r` and reads the whole response body (at most 64 MiB: only for small
  // objects and XML). Transport failures are errors; HTTP errors are responses.
  Result<S3Response> Do(const S3Request& r);
  // GET of `key` from byte `offset` (to the end), body streamed. NotFound when
  // the key does not exist; an offset at or past the end reads as empty.
  Result<std::unique_ptr<ObjectStream>> Get(const std::string& key, int64_t offset);
  // A presigned GET URL valid for `expires_seconds`.
  std::string PresignGet(const std::string& key, int64_t expires_seconds) const;
  // A Status describing the non-2xx response `r` to request `what`, with advice
  // for the usual configuration mistakes.
  Status ErrorStatus(const S3Response& r, const std::string& what) const;

  const std::string& bucket() const { return options_.bucket; }
  // "http://127.0.0.1:7480/bucket" style, for logs (never contains credentials).
  std::string Describe() const;

 private:
  friend class StreamImpl;
  struct Connection;
  struct Pool;
  explicit S3Client(ClientOptions options);

  Result<std::unique_ptr<Connection>> Checkout();
  void Return(std::unique_ptr<Connection> c);
  // After a reused connection failed: the server has probably closed its
  // other idle ones too (idle timeout, restart), so drop them all.
  void DropIdle();
  std::string Path(const std::string& key) const;  // raw, before encoding
  // Writes request `r` (header and body) on `c`; a transport error otherwise.
  Status Send(Connection& c, const S3Request& r) const;
  void Backoff(int attempt) const;

  ClientOptions options_;
  bool tls_ = false;
  std::string host_;  // the host we connect to
  std::string port_;
  std::string host_header_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace berth::storage::s3
