#include "auth/ldap/message.h"

#include <algorithm>
#include <cctype>

#include "auth/ldap/ber.h"

namespace berth::auth::ldap {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<Envelope> DecodeEnvelope(std::string_view message) {
  ber::Reader outer(message);
  auto envelope = outer.Expect(ber::kSequence, "LDAPMessage");
  if (!envelope.ok()) return envelope.status();
  if (!outer.done()) return Status::Invalid("BER: bytes after the LDAPMessage");
  ber::Reader r(envelope->content);
  auto msgid = r.Expect(ber::kInteger, "messageID");
  if (!msgid.ok()) return msgid.status();
  auto id = ber::DecodeInteger(msgid->content);
  if (!id.ok()) return id.status();
  auto op = r.Next();
  if (!op.ok()) return Status::Invalid(op.status().message() + " (reading protocolOp)");
  return Envelope{*id, op->tag, op->content};
}

Status DecodeResult(std::string_view content, int* code, std::string* diagnostic) {
  ber::Reader r(content);
  auto c = r.Expect(ber::kEnumerated, "resultCode");
  if (!c.ok()) return c.status();
  auto v = ber::DecodeInteger(c->content);
  if (!v.ok()) return v.status();
  auto matched = r.Expect(ber::kOctetString, "matchedDN");
  if (!matched.ok()) return matched.status();
  auto diag = r.Expect(ber::kOctetString, "diagnosticMessage");
  if (!diag.ok()) return diag.status();
  *code = static_cast<int>(std::clamp<int64_t>(*v, -1, 1 << 20));
  if (diagnostic != nullptr) *diagnostic = std::string(diag->content.substr(0, 512));
  return Status::Ok();  // referral and extended fields after it are not needed
}

Result<SearchEntry> DecodeSearchEntry(std::string_view content) {
  ber::Reader r(content);
  auto dn = r.Expect(ber::kOctetString, "objectName");
  if (!dn.ok()) return dn.status();
  SearchEntry entry;
  entry.dn = std::string(dn->content);
  auto attributes = r.Expect(ber::kSequence, "attributes");
  if (!attributes.ok()) return attributes.status();
  ber::Reader list(attributes->content);
  while (!list.done()) {
    auto attribute = list.Expect(ber::kSequence, "PartialAttribute");
    if (!attribute.ok()) return attribute.status();
    ber::Reader a(attribute->content);
    auto type = a.Expect(ber::kOctetString, "attribute type");
    if (!type.ok()) return type.status();
    auto vals = a.Expect(ber::kSet, "attribute values");
    if (!vals.ok()) return vals.status();
    auto& values = entry.attributes[Lower(std::string(type->content))];
    ber::Reader v(vals->content);
    while (!v.done()) {
      auto value = v.Expect(ber::kOctetString, "attribute value");
      if (!value.ok()) return value.status();
      values.emplace_back(value->content);
    }
  }
  return entry;
}

}  // namespace berth::auth::ldap
