#include "util/listen_address.h"

#include <charconv>

#include <boost/asio/ip/address.hpp>

namespace berth {

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
    boost::asio::ip::make_address(std::string(h), e);
    if (e) return Status::Invalid("listen host must be an IP address or localhost, got '" + std::string(h) + "'");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return Status::Ok();
}

}  // namespace berth
