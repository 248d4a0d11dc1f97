// SigV4: AWS Signature Version 4 (header and query-string/presigned forms) for S3
// requests. Pure functions on strings (OpenSSL HMAC-SHA256 and SHA-256); thread-safe.
//
// Paths passed in are raw (unencoded); they are URI-encoded here exactly once,
// as S3 expects ('/' kept, no normalisation). Query keys and values are raw too.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::storage::s3 {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key;
  std::string secret_key;
};

struct SigningScope {
  std::string region;
  std::string service = "s3";
};

// What gets signed. `headers` must include host (and x-amz-date for header auth).
struct SignedRequest {
  std::string method;
  std::string path = "/";  // raw
  KeyValues query;         // raw, any order
  KeyValues headers;       // any case, any order; values are trimmed when signed
  std::string payload_hash = std::string(kEmptySha256);
};

// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything
// else %XX (upper case); '/' kept unless encode_slash.
std::string UriEncode(std::string_view s, bool encode_slash);
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw bytes

// "20150830T123600Z" for `t`.
std::string AmzDate(std::time_t t);

std::string CanonicalQueryString(const KeyValues& query);
// The canonical request; *signed_headers receives "host;x-amz-date;...".
std::string CanonicalRequest(const SignedRequest& r, std::string* signed_headers);
std::string StringToSign(std::string_view amz_date, std::string_view credential_scope,
                         std::string_view canonical_request);
std::string SigningKey(std::string_view secret, std::string_view date, const SigningScope& scope);
// "<date>/<region>/<service>/aws4_request"
std::string CredentialScope(std::string_view date, const SigningScope& scope);

// The Authorization header value for `r` signed at `amz_date`.
std::string AuthorizationHeader(const Credentials& c, const SigningScope& scope, std::string_view amz_date,
                                const SignedRequest& r);

// Query-string authentication (presigned URL): returns the complete query
// string ("X-Amz-Algorithm=...&X-Amz-Signature=...") for a request whose only
// signed header is host. `r.query` may carry extra parameters; the payload is
// UNSIGNED-PAYLOAD, as S3 specifies for presigned URLs.
std::string PresignedQuery(const Credentials& c, const SigningScope& scope, std::string_view amz_date,
                           int64_t expires_seconds, SignedRequest r);

}  // namespace berth::storage::s3
