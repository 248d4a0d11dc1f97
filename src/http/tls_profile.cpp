#include "http/tls_profile.h"

#include <cstdlib>
#include <string>

#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace berth::http {
namespace {

// TLS 1.2: forward secrecy (ECDHE) and AEAD only. No DHE: the audit
// (and testssl) prefers ECDHE, and finite-field DH needs its own parameters.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3's standard suites (OpenSSL's default set, named so that it cannot drift).
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";

std::string OpenSslError(std::string_view what) {
  std::string out(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

Status ApplyCommon(SSL_CTX* ctx, TlsProfile profile) {
  const int min = profile == TlsProfile::kModern ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1) return Status::Invalid(OpenSslError("TLS minimum version"));
  if (SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return Status::Invalid(OpenSslError("TLS maximum version"));
  }
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return Status::Invalid(OpenSslError("TLS 1.2 cipher list"));
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) return Status::Invalid(OpenSslError("TLS 1.3 suites"));
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return Status::Invalid(OpenSslError("TLS groups"));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return Status::Ok();
}

}  // namespace

Result<TlsProfile> ParseTlsProfile(std::string_view name) {
  if (name == "intermediate") return TlsProfile::kIntermediate;
  if (name == "modern") return TlsProfile::kModern;
  return Status::Invalid("unknown TLS profile '" + std::string(name) + "' (intermediate | modern)");
}

std::string_view TlsProfileName(TlsProfile p) { return p == TlsProfile::kModern ? "modern" : "intermediate"; }

Status ApplyServerTlsProfile(SSL_CTX* ctx, TlsProfile profile) {
  if (Status s = ApplyCommon(ctx, profile); !s.ok()) return s;
  // Every offered suite is strong; the server's order still puts AES-GCM with
  // ECDSA/RSA first, which auditors check for ("server cipher order").
  // No session tickets: a ticket key would be one more long-lived secret to
  // rotate on every replica. TLS 1.3 then resumes from the server-side cache.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  return Status::Ok();
}

Status ApplyClientTlsProfile(SSL_CTX* ctx, TlsProfile profile) { return ApplyCommon(ctx, profile); }

Status SetUpClientTls(SSL_CTX* ctx, const std::string& ca_file) {
  if (Status s = ApplyClientTlsProfile(ctx); !s.ok()) return s;
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      return Status::Invalid(OpenSslError("cannot load the CA file " + ca_file));
    }
  } else {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return Status::IoError(OpenSslError("cannot load the system CA certificates"));
    }
    static constexpr char kBundle[] = "/etc/ssl/certs/ca-certificates.crt";
    if (std::getenv("SSL_CERT_FILE") == nullptr && ::access(kBundle, R_OK) == 0 &&
        SSL_CTX_load_verify_locations(ctx, kBundle, nullptr) != 1) {
      return Status::IoError(OpenSslError(std::string("cannot load ") + kBundle));
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return Status::Ok();
}

}  // namespace berth::http
