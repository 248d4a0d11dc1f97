// LdapClient: one LDAPv3 session (RFC 4511) spoken natively on Asio and
// OpenSSL: Debian's libldap does not link into the static binary (it pulls in
// GnuTLS, p11-kit and SASL/GSSAPI; docs/architecture.md). The subset Berth
// needs: simple bind, search (base/one/subtree with equality, presence, and, or,
// not filters: filter.h), StartTLS (RFC 4511 4.14) and ldaps://, unbind.
//
// Synchronous: every call blocks its thread until the server answered or the
// deadline passed, on the connection's own io_context (as the PostgreSQL
// client does); callers run it off the I/O threads. TLS always verifies the
// server: against `ca_file` (or the system CAs) and the URL's host name or
// address. Errors are values: kUnavailable when the server cannot be reached,
// answers garbage or times out (the connection is then unusable), kInvalidArgument
// for a refused bind (invalidCredentials) and other LDAP result codes with the
// server's diagnostic. Not thread-safe: one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/ldap/message.h"
#include "http/blocking_socket.h"
#include "util/status.h"

namespace berth::auth::ldap {

// ldap://host[:389] or ldaps://host[:636], nothing after the port but an optional "/".
struct LdapUrl {
  bool tls = false;  // ldaps://
  std::string host;
  uint16_t port = 389;
};
Result<LdapUrl> ParseLdapUrl(std::string_view url);

struct ClientOptions {
  LdapUrl url;
  bool start_tls = false;                   // ldap:// then StartTLS before anything else
  std::string ca_file;                      // empty: the system CAs
  std::chrono::milliseconds timeout{5000};  // connect, TLS and each request
  // A search whose answer (its messages, decoded) exceeds this fails as
  // unavailable: each message is capped by the framing, but a search may
  // bring up to its size limit of them.
  size_t max_search_bytes = 16 << 20;
};

enum class SearchScope : uint8_t { kBase = 0, kOne = 1, kSubtree = 2 };

class LdapClient {
 public:
  // Connects (and negotiates TLS: ldaps or StartTLS) within options.timeout.
  static Result<std::unique_ptr<LdapClient>> Connect(const ClientOptions& options);
  ~LdapClient();  // sends an UnbindRequest when the connection is healthy
  LdapClient(const LdapClient&) = delete;
  LdapClient& operator=(const LdapClient&) = delete;

  // Simple bind. An empty password is refused here (RFC 4513 5.1.2: it would
  // be an unauthenticated bind, which servers accept without checking anything).
  // *result_code gets the server's answer (kResultInvalidCredentials: wrong DN or password).
  Status Bind(const std::string& dn, const std::string& password, int* result_code = nullptr);

  // Entries matching `filter` (filter.h text, already expanded) under `base`.
  // More than `size_limit` entries is an error, not a truncation; more than
  // options.max_search_bytes of answer is kUnavailable (the session ends).
  Result<std::vector<SearchEntry>> Search(const std::string& base, SearchScope scope, std::string_view filter,
                                          const std::vector<std::string>& attributes, int size_limit = 100);

  bool healthy() const { return healthy_; }
  bool encrypted() const;

 private:
  using Clock = std::chrono::steady_clock;
  explicit LdapClient(const ClientOptions& options);

  Status Open();
  Status HandshakeTls(Clock::time_point deadline);
  Status StartTls(Clock::time_point deadline);
  // Sends one request (protocolOp already encoded) and returns its message id.
  Result<int> Send(const std::string& protocol_op, Clock::time_point deadline);
  // The next message's protocolOp element (tag and content) for message `id`;
  // the buffer it views stays valid until the next call.
  Status Receive(int id, uint8_t* tag, std::string* content, Clock::time_point deadline);
  Status Break(Status s);

  ClientOptions options_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;  // ldaps or StartTLS only
  std::unique_ptr<http::BlockingSocket> io_;
  std::string where_;  // "LDAP server host:port"
  std::string in_;     // bytes read, not yet consumed
  int next_id_ = 1;
  bool healthy_ = true;
};

}  // namespace berth::auth::ldap
