// HttpClient: a small blocking HTTP/1.1 client over one keep-alive TCP
// connection, for the API tests and the benchmark. Request bodies and response
// bodies can be streamed, so multi-GB blobs never sit in memory.
// Not thread-safe: one client per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace berth::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;
  // First header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<ClientResponse> Request(std::string_view method, std::string_view target, const Headers& headers = {},
                                 std::string_view body = {});

  // Sends a body of `length` bytes pulled from `source` (fills buf, returns bytes;
  // 0 = end). length < 0 sends it with Transfer-Encoding: chunked.
  using Source = std::function<size_t(char* buf, size_t n)>;
  Result<ClientResponse> RequestStream(std::string_view method, std::string_view target, const Headers& headers,
                                       int64_t length, const Source& source);

  // Like Request, but the response body goes to `sink` instead of memory.
  using Sink = std::function<void(const char* data, size_t n)>;
  Result<ClientResponse> Download(std::string_view method, std::string_view target, const Headers& headers,
                                  const Sink& sink);

  // Sends raw bytes on a fresh connection and returns everything the server
  // answers until it closes (or `timeout_ms` passes). For malformed-request tests.
  Result<std::string> Raw(std::string_view bytes, int timeout_ms = 5000);

  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::http
