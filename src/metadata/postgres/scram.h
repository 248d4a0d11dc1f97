// Password authentication for the PostgreSQL client:
// - ScramSha256: the client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as
//   PostgreSQL uses it: no channel binding (GS2 header "n,,"), the user name
//   left empty in the SCRAM messages (the server takes it from the startup
//   packet), and the server's signature checked before the login is accepted.
//   The password is used as its UTF-8 bytes without SASLprep normalization: the
//   same for every ASCII password and every password SASLprep leaves unchanged.
// - Md5PasswordHash: the legacy "md5" method's response.
// One ScramSha256 object serves one login on one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::metadata::postgres {

class ScramSha256 {
 public:
  static constexpr std::string_view kMechanism = "SCRAM-SHA-256";
  // The most PBKDF2 iterations a server may ask for (PostgreSQL's default is
  // 4096): a hostile server cannot make the client spin for minutes.
  static constexpr int64_t kMaxIterations = 10'000'000;

  // `client_nonce` empty: 18 random bytes, base64 (tests pass a fixed one).
  ScramSha256(std::string user, std::string password, std::string client_nonce = {});

  // client-first-message ("n,,n=<user>,r=<nonce>") for SASLInitialResponse.
  std::string ClientFirstMessage();
  // Takes server-first-message ("r=...,s=...,i=...") and returns
  // client-final-message ("c=biws,r=...,p=<proof>") for SASLResponse.
  // InvalidArgument when the message is malformed or the nonce is not ours.
  Result<std::string> ClientFinalMessage(std::string_view server_first);
  // Checks server-final-message ("v=<signature>"): OK only when the server
  // proved it knows the password too.
  Status VerifyServerFinal(std::string_view server_final) const;

 private:
  std::string user_;
  std::string password_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string expected_server_signature_;  // raw bytes, set by ClientFinalMessage
};

// "md5" + hex(md5(hex(md5(password + user)) + salt)): the PasswordMessage for
// AuthenticationMD5Password.
std::string Md5PasswordHash(std::string_view user, std::string_view password, std::string_view salt);

}  // namespace berth::metadata::postgres
