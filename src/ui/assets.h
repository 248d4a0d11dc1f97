// The web UI's files (ui/ at the top of the repository), embedded at build time
// by cmake/EmbedUi.cmake: each with its bytes, a `gzip -9n` copy made by the
// build, and a strong ETag from the SHA-256 of its bytes. Nothing is read from
// disk at run time. Immutable; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace berth::ui {

struct Asset {
  std::string_view name;          // "app.js", "index.html"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // "\"<16 hex>\"" (strong)
  std::string_view hash;          // the 16 hex digits: index.html names assets as <name>?v=<hash>
  std::string_view bytes;
  std::string_view gzip;
};

// Every embedded file (generated).
std::span<const Asset> Assets();

// The asset named `name`, or null.
inline const Asset* FindAsset(std::string_view name) {
  for (const Asset& a : Assets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace berth::ui
