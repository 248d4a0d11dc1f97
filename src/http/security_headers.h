// The security headers Berth sends on every response, in one place:
//   X-Content-Type-Options: nosniff      no MIME sniffing of blobs or JSON
//   Referrer-Policy: no-referrer         no URL (with its query) leaks to another site
//   Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
//                                        API responses load nothing and are never framed
//   Strict-Transport-Security            only when Berth itself terminates TLS
// These lines go on every response as they are; a page that needs another
// Content-Security-Policy (a future web UI) must replace the API's, not add one.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace berth::http {

struct SecurityHeaderOptions {
  bool tls = false;                 // Berth terminates TLS on this listener
  int64_t hsts_max_age = 31536000;  // seconds; 0: no Strict-Transport-Security
  bool hsts_include_subdomains = false;
};

// "Name: value\r\n" lines for ServerOptions::extra_headers.
std::string SecurityHeaderLines(const SecurityHeaderOptions& o);

}  // namespace berth::http
