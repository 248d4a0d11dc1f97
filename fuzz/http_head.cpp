// Fuzz target: HTTP request heads as the server reads them (src/http/server.cpp,
// Impl::ReadHead): Beast request_parser<empty_body> with the same limits, then the
// origin-form target through Boost.URL and the route matcher.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/url/parse.hpp>

#include "route_patterns.h"

namespace beast = boost::beast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  beast::http::request_parser<beast::http::empty_body> parser;
  parser.header_limit(64 * 1024);  // ServerOptions::max_header_bytes
  parser.body_limit(boost::none);
  parser.eager(false);
  beast::error_code ec;
  size_t used = 0;
  // Feed like a socket would: the bytes so far, retrying after need_more.
  while (used < size && !parser.is_header_done()) {
    size_t n = parser.put(boost::asio::const_buffer(data + used, size - used), ec);
    if (ec && ec != beast::http::error::need_more) return 0;  // server answers 400/431
    if (n == 0) break;                                        // need more than we have
    used += n;
  }
  if (!parser.is_header_done()) return 0;
  auto& req = parser.get();
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) return 0;
  std::vector<std::string> segments;
  for (auto seg : url->segments()) segments.push_back(seg);
  (void)berth::fuzz::TableRouter().Match(segments);
  (void)req.method();
  for (const auto& f : req) (void)f.value();
  return 0;
}
