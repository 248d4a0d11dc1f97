// TLS profiles: which protocol versions, cipher suites and key-exchange groups
// Berth offers, for its own listener and for every outgoing connection (S3,
// upstream registries, LDAP, PostgreSQL). One place, so that an audit of one
// is an audit of all.
//
//   intermediate  Mozilla Server Side TLS "intermediate" (v5.7): TLS 1.2 with
//                 ECDHE + AES-GCM or ChaCha20-Poly1305 only, and TLS 1.3.
//                 The default: every client Berth serves speaks it.
//   modern        TLS 1.3 only.
// Groups are X25519, P-256 and P-384 in both. Session tickets are off (see
// docs/security.md): resumption uses the server's in-memory session cache, so
// there is no long-lived ticket key to protect or rotate.
// Pure functions over an OpenSSL context; thread-safe for distinct contexts.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace berth::http {

enum class TlsProfile { kIntermediate, kModern };

// "intermediate" | "modern"; InvalidArgument otherwise.
Result<TlsProfile> ParseTlsProfile(std::string_view name);
std::string_view TlsProfileName(TlsProfile p);

// Applies the profile to a server context (also: server cipher order, no tickets,
// no renegotiation, no compression).
Status ApplyServerTlsProfile(SSL_CTX* ctx, TlsProfile profile);
// Applies the profile to a client context (outgoing connections).
Status ApplyClientTlsProfile(SSL_CTX* ctx, TlsProfile profile = TlsProfile::kIntermediate);

// Everything an outgoing connection's context needs: the intermediate profile,
// peer verification, and the trusted CAs: `ca_file` when given, else the system
// bundle (also where a FROM scratch image keeps it: the static OpenSSL looks in
// Debian's OPENSSLDIR, which such an image does not have, unless SSL_CERT_FILE
// says otherwise). The caller still checks the host name per connection.
Status SetUpClientTls(SSL_CTX* ctx, const std::string& ca_file = "");

}  // namespace berth::http
