#include "http/security_headers.h"

namespace berth::http {

std::string SecurityHeaderLines(const SecurityHeaderOptions& o) {
  std::string out =
      "X-Content-Type-Options: nosniff\r\n"
      "Referrer-Policy: no-referrer\r\n"
      "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n";
  if (o.tls && o.hsts_max_age > 0) {
    out += "Strict-Transport-Security: max-age=" + std::to_string(o.hsts_max_age);
    if (o.hsts_include_subdomains) out += "; includeSubDomains";
    out += "\r\n";
  }
  return out;
}

}  // namespace berth::http
