#include "auth/ldap/ber.h"

namespace berth::auth::ldap::ber {
namespace {

// The header of a TLV: its tag and the length it announces, and how many bytes
// tag + length took. *header 0: more bytes are needed.
Status ParseHeader(std::string_view in, uint8_t* tag, size_t* length, size_t* header) {
  *header = 0;
  if (in.size() < 2) return Status::Ok();
  *tag = static_cast<uint8_t>(in[0]);
  // High tag numbers (0x1f) are never used by LDAP.
  if ((*tag & 0x1f) == 0x1f) return Status::Invalid("BER: multi-byte tags are not supported");
  const auto first = static_cast<uint8_t>(in[1]);
  if (first < 0x80) {
    *length = first;
    *header = 2;
    return Status::Ok();
  }
  // 0x80 is the indefinite form, which LDAP forbids (RFC 4511 5.1); a length
  // of more than 4 bytes would exceed any message we accept.
  const size_t count = first & 0x7f;
  if (count == 0) return Status::Invalid("BER: indefinite lengths are not allowed");
  if (count > 4) return Status::Invalid("BER: length too large");
  if (in.size() < 2 + count) return Status::Ok();
  size_t n = 0;
  for (size_t i = 0; i < count; ++i) n = (n << 8) | static_cast<uint8_t>(in[2 + i]);
  *length = n;
  *header = 2 + count;
  return Status::Ok();
}

}  // namespace

std::string Length(size_t n) {
  if (n < 0x80) return std::string(1, static_cast<char>(n));
  std::string bytes;
  while (n > 0) {
    bytes.insert(bytes.begin(), static_cast<char>(n & 0xff));
    n >>= 8;
  }
  return std::string(1, static_cast<char>(0x80 | bytes.size())) + bytes;
}

std::string Tlv(uint8_t tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  out += Length(content.size());
  out.append(content);
  return out;
}

std::string Integer(int64_t v, uint8_t tag) {
  // Minimal two's complement: drop leading bytes that only repeat the sign.
  std::string bytes;
  for (int i = 7; i >= 0; --i) bytes.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
  size_t start = 0;
  while (start < 7) {
    const auto b = static_cast<uint8_t>(bytes[start]);
    const auto next = static_cast<uint8_t>(bytes[start + 1]);
    if ((b == 0x00 && next < 0x80) || (b == 0xff && next >= 0x80)) {
      ++start;
    } else {
      break;
    }
  }
  return Tlv(tag, std::string_view(bytes).substr(start));
}

std::string OctetString(std::string_view s, uint8_t tag) { return Tlv(tag, s); }

std::string Boolean(bool v) { return Tlv(kBoolean, std::string(1, v ? '\xff' : '\x00')); }

Result<Element> Reader::Next() {
  uint8_t tag = 0;
  size_t length = 0, header = 0;
  if (Status s = ParseHeader(in_, &tag, &length, &header); !s.ok()) return s;
  if (header == 0 || length > in_.size() - header) return Status::Invalid("BER: truncated element");
  Element e{tag, in_.substr(header, length)};
  in_.remove_prefix(header + length);
  return e;
}

Result<Element> Reader::Expect(uint8_t tag, const char* what) {
  auto e = Next();
  if (!e.ok()) return Status::Invalid(e.status().message() + " (reading " + what + ")");
  if (e->tag != tag) return Status::Invalid(std::string("BER: unexpected tag for ") + what);
  return e;
}

Result<int64_t> DecodeInteger(std::string_view content) {
  if (content.empty() || content.size() > 8) return Status::Invalid("BER: bad integer length");
  uint64_t v = static_cast<uint8_t>(content[0]) >= 0x80 ? ~uint64_t{0} : 0;
  for (char c : content) v = (v << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(v);
}

Result<size_t> FrameLength(std::string_view buffered, size_t max_size) {
  uint8_t tag = 0;
  size_t length = 0, header = 0;
  if (Status s = ParseHeader(buffered, &tag, &length, &header); !s.ok()) return s;
  if (header == 0) return size_t{0};
  if (length > max_size) return Status::Invalid("BER: message of " + std::to_string(length) + " bytes is too large");
  return header + length;
}

}  // namespace berth::auth::ldap::ber
