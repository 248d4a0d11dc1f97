#include "oci/name.h"

namespace berth::oci {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: alnum runs joined by '.', '_', '__' or one or more '-'.
bool IsValidComponent(std::string_view c) {
  size_t i = 0;
  const size_t n = c.size();
  if (n == 0 || !IsLowerAlnum(c[0])) return false;
  while (i < n) {
    while (i < n && IsLowerAlnum(c[i])) ++i;
    if (i == n) return true;
    // separator
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < n && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < n && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == n || !IsLowerAlnum(c[i])) return false;
  }
  return true;
}

}  // namespace

bool IsValidRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view comp =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidComponent(comp)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

Result<Reference> Reference::Parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    auto d = Digest::Parse(text);
    if (!d.ok()) return d.status();
    return Reference{"", *d};
  }
  if (!IsValidTag(text)) return Status::Invalid("invalid tag");
  return Reference{std::string(text), Digest()};
}

}  // namespace berth::oci
