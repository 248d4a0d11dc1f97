#include "metadata/postgres/config.h"

namespace berth::metadata::postgres {

Result<SslMode> ParseSslMode(std::string_view name) {
  if (name == "disable") return SslMode::kDisable;
  if (name == "require") return SslMode::kRequire;
  if (name == "verify-full") return SslMode::kVerifyFull;
  return Status::Invalid("sslmode must be disable, require or verify-full (got '" + std::string(name) + "')");
}

std::string_view SslModeName(SslMode mode) {
  switch (mode) {
    case SslMode::kDisable: return "disable";
    case SslMode::kRequire: return "require";
    case SslMode::kVerifyFull: return "verify-full";
  }
  return "?";
}

std::chrono::milliseconds PgConfig::EffectiveIoTimeout() const {
  if (io_timeout.count() > 0) return io_timeout;
  if (statement_timeout.count() > 0) return statement_timeout + std::chrono::seconds(5);
  return std::chrono::seconds(60);
}

std::string PgConfig::Describe() const {
  return "postgres://" + user + "@" + host + ":" + std::to_string(port) + "/" + dbname +
         " sslmode=" + std::string(SslModeName(sslmode));
}

}  // namespace berth::metadata::postgres
