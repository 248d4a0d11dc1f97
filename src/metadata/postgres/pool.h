// PgPool: Berth's connections to its PostgreSQL metadata database.
//
// At most config.pool_size connections exist at once; Acquire hands one out for
// the caller's exclusive use (a shared_ptr whose deleter gives it back). It
// prefers an idle connection, opens a new one lazily when none is idle, and
// waits up to acquire_timeout when all are busy. A connection that broke, or
// that the server closed while it was idle (restart, shutdown), is dropped, one
// returned inside a transaction is rolled back first. So when PostgreSQL stops,
// callers get kUnavailable quickly (a refused or timed-out connect, then
// reconnect_backoff without new attempts) and when it comes back the next
// Acquire connects again: no restart of Berth needed. The first failure and the
// recovery are logged once each, without the password.
//
// Thread-safe. Handles may outlive the pool.
#pragma once

#include <memory>
#include <string_view>

#include "metadata/db.h"
#include "metadata/postgres/config.h"
#include "util/status.h"

namespace berth::metadata::postgres {

class PgPool final : public Pool {
 public:
  // Checks the configuration, reads the password file and sets up TLS (CA
  // file); does not connect. InvalidArgument on a bad configuration.
  static Result<std::unique_ptr<PgPool>> Create(PgConfig config);
  ~PgPool() override;

  Result<std::shared_ptr<Connection>> Acquire() override;
  std::string_view Dialect() const override { return "postgres"; }

  struct Stats {
    size_t open = 0;  // connections that exist, idle or handed out
    size_t idle = 0;
  };
  Stats GetStats() const;

 private:
  struct Shared;
  explicit PgPool(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

}  // namespace berth::metadata::postgres
