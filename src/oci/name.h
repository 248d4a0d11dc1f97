// Repository names, tags and manifest references as the distribution spec defines them.
// Pure functions over strings; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "oci/digest.h"
#include "util/status.h"

namespace berth::oci {

// Longest repository name accepted (CNCF distribution's limit).
inline constexpr size_t kMaxNameLength = 255;

// <name> = component ("/" component)*, component = [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
// Because a component cannot start with '.' or '_', a valid name can never
// contain "..", an absolute path or a storage-internal directory like "_uploads".
bool IsValidRepositoryName(std::string_view name);

// <tag> = [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool IsValidTag(std::string_view tag);

// A manifest reference: either a tag or a digest.
struct Reference {
  std::string tag;  // empty when the reference is a digest
  Digest digest;    // empty when the reference is a tag

  bool is_digest() const { return tag.empty(); }
  std::string str() const { return is_digest() ? digest.str() : tag; }

  // A string with ':' is parsed as a digest, anything else as a tag.
  static Result<Reference> Parse(std::string_view text);
};

}  // namespace berth::oci
