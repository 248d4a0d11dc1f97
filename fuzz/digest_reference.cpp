// Fuzz target: digests, references, repository names and tags (src/oci/digest.h, name.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oci/digest.h"
#include "oci/name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = berth::oci::Digest::Parse(in);
  if (d.ok()) {
    // Round trip: a parsed digest prints back to a string that parses to the same digest.
    auto again = berth::oci::Digest::Parse(d->str());
    if (!again.ok() || !(*again == *d)) abort();
    if (d->hex().size() != berth::oci::HexLength(d->algorithm())) abort();
  }
  auto r = berth::oci::Reference::Parse(in);
  if (r.ok()) {
    if (!r->is_digest() && !berth::oci::IsValidTag(r->tag)) abort();
    (void)r->str();
  }
  bool name_ok = berth::oci::IsValidRepositoryName(in);
  if (name_ok && (in.size() > berth::oci::kMaxNameLength || in.find("..") != std::string_view::npos ||
                  in.find('\0') != std::string_view::npos || (!in.empty() && in.front() == '/'))) {
    abort();  // validated names must never be able to escape the storage root
  }
  (void)berth::oci::IsValidTag(in);
  return 0;
}
