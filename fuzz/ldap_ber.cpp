// Fuzz target: the LDAP client's decoders (src/auth/ldap/ber.h, message.h) on a
// stream of bytes as a hostile or broken directory server would send them, and
// the filter parser (filter.h) on the same bytes as filter text.
// The input is read as the client reads a socket: frames split off one after
// another (FrameLength), each decoded as an LDAPMessage whose protocolOp is
// read as an LDAPResult and as a SearchResultEntry; then the input is parsed
// as a filter, and as a user name escaped into one, which must always parse to
// a single equality assertion holding exactly the input's bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/ldap/ber.h"
#include "auth/ldap/filter.h"
#include "auth/ldap/message.h"

namespace ldap = berth::auth::ldap;
namespace ber = berth::auth::ldap::ber;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // A small limit so that lengths near it are reachable.
  constexpr size_t kLimit = 1 << 16;
  std::string_view in = input;
  while (!in.empty()) {
    auto frame = ber::FrameLength(in, kLimit);
    if (!frame.ok() || *frame == 0 || *frame > in.size()) break;
    if (*frame < 2) abort();
    const std::string_view message = in.substr(0, *frame);
    in.remove_prefix(*frame);
    auto envelope = ldap::DecodeEnvelope(message);
    if (!envelope.ok()) continue;
    if (envelope->op.data() < message.data() ||
        envelope->op.data() + envelope->op.size() > message.data() + message.size()) {
      abort();  // a view outside the message
    }
    int code = -1;
    std::string diagnostic;
    (void)ldap::DecodeResult(envelope->op, &code, &diagnostic);
    if (diagnostic.size() > 512) abort();
    (void)ldap::DecodeSearchEntry(envelope->op);
  }

  (void)ldap::EncodeFilter(input);
  // Whatever a user types, escaped into a template it is one equality assertion of exactly its bytes.
  auto escaped = ldap::EncodeFilter(ldap::ExpandFilter("(uid={username})", {{"username", std::string(input)}}));
  if (input.empty()) return 0;
  if (!escaped.ok()) {
    fprintf(stderr, "escaped input does not parse: %s\n", escaped.status().message().c_str());
    abort();
  }
  if (*escaped != ber::Tlv(0xa3, ber::OctetString("uid") + ber::OctetString(input))) abort();
  return 0;
}
