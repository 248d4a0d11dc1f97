#include "url.h"

#include <charconv>

#include "util/hex.h"

namespace berth::bench {

Result<Url> ParseUrl(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme)
    return Status::Invalid("only http:// URLs are supported: " + std::string(text));
  text.remove_prefix(kScheme.size());
  Url u;
  size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    u.host = std::string(authority);
  } else {
    u.host = std::string(authority.substr(0, colon));
    std::string_view port = authority.substr(colon + 1);
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return Status::Invalid("bad port in URL: " + std::string(port));
    }
    u.port = static_cast<uint16_t>(p);
  }
  if (u.host == "localhost") u.host = "127.0.0.1";  // HttpClient wants an address
  if (u.host.empty()) return Status::Invalid("URL has no host");
  return u;
}

std::string LocationTarget(std::string_view location) {
  size_t scheme = location.find("://");
  if (scheme != std::string_view::npos && scheme < location.find('/')) {
    size_t path = location.find('/', scheme + 3);
    return path == std::string_view::npos ? "/" : std::string(location.substr(path));
  }
  return std::string(location);
}

std::string AppendQuery(std::string_view target, std::string_view key, std::string_view value) {
  std::string out(target);
  out += target.find('?') == std::string_view::npos ? '?' : '&';
  out += key;
  out += '=';
  out += QueryEscape(value);
  return out;
}

std::string QueryEscape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == ':' || c == '/' || c == ',') {
      out += static_cast<char>(c);
    } else {
      AppendPercentEscape(&out, c);
    }
  }
  return out;
}

std::string RepositoryOf(std::string_view target) {
  if (target.substr(0, 4) != "/v2/") return "";
  target = target.substr(0, target.find('?'));
  size_t best = std::string_view::npos;
  for (std::string_view marker : {"/blobs/", "/manifests/", "/tags/", "/referrers/"}) {
    size_t at = target.find(marker, 4);
    if (at < best) best = at;
  }
  return best == std::string_view::npos ? "" : std::string(target.substr(4, best - 4));
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    if (i + 1 < data.size()) v |= uint8_t(data[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace berth::bench
