// Response: status, headers and a small in-memory body. Large bodies (blobs)
// are streamed by Exchange::SendStream instead. Plain value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::http {

struct Response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Content-Length to announce when it differs from body.size() (HEAD, streamed bodies).
  std::optional<int64_t> content_length;
  // Logged (level error, with the request's context) when sent; never sent to the client.
  std::string error_log;

  Response() = default;
  explicit Response(unsigned s) : status(s) {}
  Response& Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// "HTTP/1.1 <status> <reason>\r\n<headers><extra>Content-Length: n\r\n[Connection: close\r\n]\r\n"
// `extra` is pre-serialized header lines sent with every response; a non-empty
// `request_id` adds "X-Request-Id: <id>".
std::string SerializeHead(const Response& r, int64_t content_length, bool keep_alive, std::string_view extra = {},
                          std::string_view request_id = {});

}  // namespace berth::http
