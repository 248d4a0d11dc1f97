// PgConfig: how Berth reaches its PostgreSQL metadata database. A plain value;
// the YAML configuration fills it in (storage.metadata with driver: postgres).
// The password is a secret: never log it (Describe() leaves it out).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::metadata::postgres {

// TLS towards the server, named as libpq names them.
enum class SslMode {
  kDisable,     // plain TCP
  kRequire,     // TLS, but the server's certificate is not checked (only against a passive eavesdropper)
  kVerifyFull,  // TLS, certificate chained to ca_file (or the system's CAs) and naming `host`
};

Result<SslMode> ParseSslMode(std::string_view name);  // "disable", "require", "verify-full"
std::string_view SslModeName(SslMode mode);

struct PgConfig {
  std::string host = "127.0.0.1";  // a name or an IP address (TCP only; no Unix sockets)
  int port = 5432;
  std::string dbname = "berth";
  std::string user = "berth";
  std::string password;       // or:
  std::string password_file;  // read once when the pool is created; one trailing newline ignored
  SslMode sslmode = SslMode::kVerifyFull;
  std::string ca_file;    // verify-full: PEM file of the CAs to trust; empty: the system's CAs
  size_t pool_size = 16;  // at most this many connections at once
  // Connect, TLS handshake, login and session setup together.
  std::chrono::milliseconds connect_timeout{5000};
  // Set on every session (SET statement_timeout); 0 disables it.
  std::chrono::milliseconds statement_timeout{30000};
  // A whole statement's exchange on the socket (the client's own deadline);
  // 0: statement_timeout + 5 s, so the server's timeout fires first (60 s
  // without a statement timeout).
  std::chrono::milliseconds io_timeout{0};
  // How long Acquire waits for a connection when all pool_size are in use.
  std::chrono::milliseconds acquire_timeout{5000};
  // After a failed connect, Acquire fails at once for this long instead of
  // trying again: a down server costs one connect attempt per interval, not one per request.
  std::chrono::milliseconds reconnect_backoff{500};

  // io_timeout with the default applied.
  std::chrono::milliseconds EffectiveIoTimeout() const;
  // "postgres://user@host:port/dbname sslmode=verify-full", for logs and errors.
  std::string Describe() const;
};

}  // namespace berth::metadata::postgres
