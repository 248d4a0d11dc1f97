#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>

#include "util/hex.h"

namespace berth::storage::s3 {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims and folds inner runs of spaces into one, as SigV4 canonical headers require.
std::string TrimFold(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (Unreserved(c) || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      AppendPercentEscape(&out, c);
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return HexEncode(md, sizeof md);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string AmzDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQueryString(const KeyValues& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string CanonicalRequest(const SignedRequest& r, std::string* signed_headers) {
  // Lower-cased names, sorted; repeated headers join with ','.
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& [k, v] : r.headers) hs.emplace_back(Lower(k), TrimFold(v));
  std::stable_sort(hs.begin(), hs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  signed_headers->clear();
  for (size_t i = 0; i < hs.size(); ++i) {
    if (i > 0 && hs[i].first == hs[i - 1].first) {
      canonical_headers.pop_back();  // the '\n'
      canonical_headers += ',' + hs[i].second + '\n';
      continue;
    }
    canonical_headers += hs[i].first + ':' + hs[i].second + '\n';
    if (!signed_headers->empty()) *signed_headers += ';';
    *signed_headers += hs[i].first;
  }
  return r.method + '\n' + UriEncode(r.path.empty() ? "/" : r.path, false) + '\n' + CanonicalQueryString(r.query) +
         '\n' + canonical_headers + '\n' + *signed_headers + '\n' + r.payload_hash;
}

std::string CredentialScope(std::string_view date, const SigningScope& scope) {
  return std::string(date) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

std::string StringToSign(std::string_view amz_date, std::string_view credential_scope,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(credential_scope) + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret, std::string_view date, const SigningScope& scope) {
  std::string k = HmacSha256("AWS4" + std::string(secret), date);
  k = HmacSha256(k, scope.region);
  k = HmacSha256(k, scope.service);
  return HmacSha256(k, "aws4_request");
}

std::string AuthorizationHeader(const Credentials& c, const SigningScope& scope, std::string_view amz_date,
                                const SignedRequest& r) {
  const std::string_view date = amz_date.substr(0, 8);
  const std::string cred_scope = CredentialScope(date, scope);
  std::string signed_headers;
  const std::string creq = CanonicalRequest(r, &signed_headers);
  const std::string sig =
      HexEncode(HmacSha256(SigningKey(c.secret_key, date, scope), StringToSign(amz_date, cred_scope, creq)));
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + cred_scope + ", SignedHeaders=" + signed_headers +
         ", Signature=" + sig;
}

std::string PresignedQuery(const Credentials& c, const SigningScope& scope, std::string_view amz_date,
                           int64_t expires_seconds, SignedRequest r) {
  const std::string_view date = amz_date.substr(0, 8);
  const std::string cred_scope = CredentialScope(date, scope);
  std::string signed_headers;
  for (const auto& [k, v] : r.headers) {
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += Lower(k);
  }
  r.query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  r.query.emplace_back("X-Amz-Credential", c.access_key + "/" + cred_scope);
  r.query.emplace_back("X-Amz-Date", std::string(amz_date));
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  r.query.emplace_back("X-Amz-SignedHeaders", signed_headers);
  r.payload_hash = std::string(kUnsignedPayload);
  std::string unused;
  const std::string creq = CanonicalRequest(r, &unused);
  const std::string sig =
      HexEncode(HmacSha256(SigningKey(c.secret_key, date, scope), StringToSign(amz_date, cred_scope, creq)));
  return CanonicalQueryString(r.query) + "&X-Amz-Signature=" + sig;
}

}  // namespace berth::storage::s3
