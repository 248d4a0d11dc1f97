// LDAP messages (RFC 4511 section 4) as the client reads them: the envelope
// (messageID + protocolOp), LDAPResult and SearchResultEntry, decoded from BER
// (ber.h) without trusting anything in them: malformed input is an
// InvalidArgument, never a crash. Fed hostile bytes by fuzz/ldap_ber.cpp.
// Plain functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace berth::auth::ldap {

// LDAP result codes the client tells apart.
inline constexpr int kResultSuccess = 0;
inline constexpr int kResultSizeLimitExceeded = 4;
inline constexpr int kResultNoSuchObject = 32;
inline constexpr int kResultInvalidCredentials = 49;

struct SearchEntry {
  std::string dn;
  // attribute name (as the server spelled it, lower-cased) -> values
  std::map<std::string, std::vector<std::string>> attributes;
};

// LDAPMessage ::= SEQUENCE { messageID, protocolOp, controls [0] OPTIONAL }:
// the id and the protocolOp's tag and content (a view into `message`).
struct Envelope {
  int64_t id = 0;
  uint8_t op_tag = 0;
  std::string_view op;
};
Result<Envelope> DecodeEnvelope(std::string_view message);

// The LDAPResult of a response (resultCode, diagnosticMessage), from the
// protocolOp content; InvalidArgument when malformed.
Status DecodeResult(std::string_view content, int* code, std::string* diagnostic);

// A SearchResultEntry's content.
Result<SearchEntry> DecodeSearchEntry(std::string_view content);

}  // namespace berth::auth::ldap
