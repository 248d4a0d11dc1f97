// BER, the subset LDAPv3 (RFC 4511 section 5.1) uses: definite lengths only,
// single-byte tags, primitive and constructed values. Encoding builds whole
// TLVs as strings; decoding reads a TLV stream without copying and refuses
// anything malformed (indefinite or over-long lengths, high tag numbers,
// values running past their parent) as InvalidArgument, never reading out of
// bounds. What the LDAP client (client.h) speaks and the fuzz target
// fuzz/ldap_ber.cpp feeds with hostile bytes. Plain functions and values; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::auth::ldap::ber {

// Universal tags LDAP uses.
inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kNull = 0x05;
inline constexpr uint8_t kEnumerated = 0x0a;
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;

// Tag classes and the constructed bit, to build context and application tags.
inline constexpr uint8_t kApplication = 0x40;
inline constexpr uint8_t kContext = 0x80;
inline constexpr uint8_t kConstructed = 0x20;

// The largest LDAP message the client accepts (a search entry with many group
// members stays far below it); a length beyond is refused, not allocated.
inline constexpr size_t kMaxMessage = 16u << 20;

// ---- encoding ----
std::string Length(size_t n);
std::string Tlv(uint8_t tag, std::string_view content);
std::string Integer(int64_t v, uint8_t tag = kInteger);
std::string OctetString(std::string_view s, uint8_t tag = kOctetString);
std::string Boolean(bool v);

// ---- decoding ----
struct Element {
  uint8_t tag = 0;
  std::string_view content;  // a view into the decoded buffer
};

// Reads consecutive TLVs from a buffer (a message, or an element's content).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  Reader(std::string&&) = delete;  // it views its input: never a temporary
  bool done() const { return in_.empty(); }
  // The next element; InvalidArgument when malformed or truncated.
  Result<Element> Next();
  // The next element, which must carry `tag`.
  Result<Element> Expect(uint8_t tag, const char* what);

 private:
  std::string_view in_;
};

// An INTEGER or ENUMERATED content (two's complement, 1-8 bytes).
Result<int64_t> DecodeInteger(std::string_view content);

// How many bytes the first TLV in `buffered` takes: 0 while more bytes are
// needed to tell, InvalidArgument when it is malformed or over `max_size`.
Result<size_t> FrameLength(std::string_view buffered, size_t max_size = kMaxMessage);

}  // namespace berth::auth::ldap::ber
