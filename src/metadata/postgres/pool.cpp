#include "metadata/postgres/pool.h"

#include "http/tls_profile.h"

#include <unistd.h>

#include <boost/asio/ssl/context.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "metadata/postgres/connection.h"
#include "util/log.h"
#include "util/mutex.h"

namespace berth::metadata::postgres {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Berth's outgoing TLS: 1.2 or later, forward-secret AEAD suites only (TLS 1.3's
// suites all are; for 1.2 the list below).
bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

Result<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid("cannot read the PostgreSQL password file " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string pw = buf.str();
  if (!pw.empty() && pw.back() == '\n') pw.pop_back();
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) return Status::Invalid("the PostgreSQL password file " + path + " is empty");
  return pw;
}

Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const PgConfig& c) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  // The one outgoing TLS profile and trust setup (http/tls_profile.h), as for S3;
  // peer verification only with verify-full (the host name is checked per connection).
  Status s = c.sslmode == SslMode::kVerifyFull ? http::SetUpClientTls(ctx->native_handle(), c.ca_file)
                                               : http::ApplyClientTlsProfile(ctx->native_handle());
  if (!s.ok()) return Status(s.code(), "PostgreSQL TLS: " + s.message());
  return ctx;
}

}  // namespace

struct PgPool::Shared {
  PgConfig config;
  std::string password;
  std::unique_ptr<asio::ssl::context> tls;

  mutable Mutex mu;
  CondVar freed;
  std::vector<std::unique_ptr<PgConnection>> idle GUARDED_BY(mu);  // most recently used last
  size_t open GUARDED_BY(mu) = 0;
  Clock::time_point retry_after GUARDED_BY(mu) = {};  // no connect attempt before this
  std::string last_failure GUARDED_BY(mu);
  bool down GUARDED_BY(mu) = false;  // logged as unavailable, not yet as recovered

  // The deleter of a handed-out connection.
  static void Release(const std::shared_ptr<Shared>& self, PgConnection* raw) {
    std::unique_ptr<PgConnection> c(raw);
    // A transaction the caller left open (an early return on an error) must
    // not leak into the next caller's statements.
    if (c->Healthy() && c->TransactionStatus() != 'I') (void)c->Rollback();
    const bool keep = c->Healthy() && c->TransactionStatus() == 'I';
    {
      MutexLock lock(self->mu);
      if (keep) {
        self->idle.push_back(std::move(c));
      } else {
        --self->open;
      }
    }
    self->freed.NotifyOne();
    // A dropped connection is closed here, outside the lock.
  }
};

PgPool::PgPool(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

PgPool::~PgPool() {
  std::vector<std::unique_ptr<PgConnection>> idle;
  {
    MutexLock lock(shared_->mu);
    idle.swap(shared_->idle);
    shared_->open -= idle.size();
  }
}

Result<std::unique_ptr<PgPool>> PgPool::Create(PgConfig config) {
  const std::string what = "metadata database " + config.Describe();
  if (config.host.empty() || HasNul(config.host)) return Status::Invalid(what + ": host is required");
  if (config.port < 1 || config.port > 65535) return Status::Invalid(what + ": port must be 1-65535");
  if (config.user.empty() || HasNul(config.user)) return Status::Invalid(what + ": user is required");
  if (config.dbname.empty() || HasNul(config.dbname)) return Status::Invalid(what + ": dbname is required");
  if (config.pool_size < 1) return Status::Invalid(what + ": pool_size must be at least 1");
  if (config.connect_timeout.count() <= 0 || config.acquire_timeout.count() <= 0 ||
      config.statement_timeout.count() < 0 || config.io_timeout.count() < 0 || config.reconnect_backoff.count() < 0) {
    return Status::Invalid(what + ": timeouts must be positive");
  }
  if (!config.ca_file.empty() && config.sslmode != SslMode::kVerifyFull) {
    return Status::Invalid(what + ": ca_file is only used with sslmode verify-full");
  }
  auto shared = std::make_shared<Shared>();
  if (!config.password_file.empty()) {
    if (!config.password.empty()) return Status::Invalid(what + ": set password or password_file, not both");
    auto pw = ReadPasswordFile(config.password_file);
    if (!pw.ok()) return pw.status();
    shared->password = std::move(pw).value();
  } else {
    shared->password = config.password;
  }
  if (HasNul(shared->password)) return Status::Invalid(what + ": the password contains a NUL byte");
  config.password.clear();  // kept once, in shared->password
  if (config.sslmode != SslMode::kDisable) {
    auto tls = MakeTlsContext(config);
    if (!tls.ok()) return tls.status();
    shared->tls = std::move(tls).value();
  }
  shared->config = std::move(config);
  return std::unique_ptr<PgPool>(new PgPool(std::move(shared)));
}

Result<std::shared_ptr<Connection>> PgPool::Acquire() {
  Shared& s = *shared_;
  const auto deadline = Clock::now() + s.config.acquire_timeout;
  std::vector<std::unique_ptr<PgConnection>> doomed;  // closed after the lock is released
  MutexLock lock(s.mu);
  for (;;) {
    while (!s.idle.empty()) {
      std::unique_ptr<PgConnection> c = std::move(s.idle.back());
      s.idle.pop_back();
      if (c->ReadyForReuse()) {
        PgConnection* raw = c.release();
        std::shared_ptr<Shared> keep = shared_;
        return std::shared_ptr<Connection>(
            raw, [keep](Connection* p) { Shared::Release(keep, static_cast<PgConnection*>(p)); });
      }
      --s.open;
      doomed.push_back(std::move(c));
    }
    if (s.open < s.config.pool_size) {
      if (Clock::now() < s.retry_after) {
        return Status::Unavailable("metadata database unavailable: " + s.last_failure);
      }
      ++s.open;
      lock.Unlock();
      auto opened = PgConnection::Open(s.config, s.password, s.tls.get());
      lock.Lock();
      if (!opened.ok()) {
        --s.open;
        s.retry_after = Clock::now() + s.config.reconnect_backoff;
        s.last_failure = opened.status().message();
        const bool first = !s.down;
        s.down = true;
        lock.Unlock();
        s.freed.NotifyOne();  // a waiter may try in its turn (and fail fast)
        if (first) {
          log::Warn("metadata database unavailable",
                    {{"database", s.config.Describe()}, {"error", opened.status().message()}});
        }
        return Status::Unavailable(opened.status().message());
      }
      const bool recovered = s.down;
      s.down = false;
      s.retry_after = {};
      lock.Unlock();
      if (recovered) log::Info("metadata database reachable again", {{"database", s.config.Describe()}});
      PgConnection* raw = opened->release();
      std::shared_ptr<Shared> keep = shared_;
      return std::shared_ptr<Connection>(
          raw, [keep](Connection* p) { Shared::Release(keep, static_cast<PgConnection*>(p)); });
    }
    if (!s.freed.WaitUntil(s.mu, deadline) && s.idle.empty() && s.open >= s.config.pool_size) {
      return Status::Unavailable("metadata database: all " + std::to_string(s.config.pool_size) +
                                 " connections stayed busy for " + std::to_string(s.config.acquire_timeout.count()) +
                                 " ms");
    }
  }
}

PgPool::Stats PgPool::GetStats() const {
  MutexLock lock(shared_->mu);
  return Stats{shared_->open, shared_->idle.size()};
}

}  // namespace berth::metadata::postgres
