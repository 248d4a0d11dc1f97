// The registry's error catalogue and the distribution spec's error responses:
// {"errors":[{"code","message","detail"}]}.
//
// Each ErrorCode binds a spec code to the HTTP status it is answered with, once
// (as distribution's registry/api/errcode/register.go does); every error the
// registry sends names one of them, so a code cannot drift to another status at
// one call site. Pure values and functions; thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "http/response.h"
#include "util/status.h"

namespace berth::auth {
struct Challenge;
struct Throttle;
}  // namespace berth::auth

namespace berth::registry {

// One kind of error: the spec's `code` value and its HTTP status.
struct ErrorCode {
  std::string_view value;
  unsigned status;
};

namespace code {
// The distribution spec's codes, with the statuses distribution answers them with.
inline constexpr ErrorCode kBlobUnknown{"BLOB_UNKNOWN", 404};
inline constexpr ErrorCode kBlobUploadInvalid{"BLOB_UPLOAD_INVALID", 400};
inline constexpr ErrorCode kBlobUploadUnknown{"BLOB_UPLOAD_UNKNOWN", 404};
inline constexpr ErrorCode kDigestInvalid{"DIGEST_INVALID", 400};
inline constexpr ErrorCode kManifestBlobUnknown{"MANIFEST_BLOB_UNKNOWN", 400};
inline constexpr ErrorCode kManifestInvalid{"MANIFEST_INVALID", 400};
inline constexpr ErrorCode kManifestUnknown{"MANIFEST_UNKNOWN", 404};
inline constexpr ErrorCode kNameInvalid{"NAME_INVALID", 400};
inline constexpr ErrorCode kNameUnknown{"NAME_UNKNOWN", 404};
inline constexpr ErrorCode kSizeInvalid{"SIZE_INVALID", 400};
inline constexpr ErrorCode kUnauthorized{"UNAUTHORIZED", 401};
// 401, not distribution's 403: the challenge that comes with it (error="insufficient_scope")
// is what makes Docker clients fetch a token with more scopes.
inline constexpr ErrorCode kDenied{"DENIED", 401};
// A method the endpoint does not serve, or an operation switched off (deletes).
inline constexpr ErrorCode kUnsupported{"UNSUPPORTED", 405};
inline constexpr ErrorCode kTooManyRequests{"TOOMANYREQUESTS", 429};
inline constexpr ErrorCode kUnknown{"UNKNOWN", 500};
inline constexpr ErrorCode kUnavailable{"UNAVAILABLE", 503};

// The same spec codes for cases the spec's table does not name a status for.
// Each is a deliberate second status of a code, kept as clients know it.
inline constexpr ErrorCode kNoSuchEndpoint{"UNSUPPORTED", 404};         // no route matches the path
inline constexpr ErrorCode kInvalidParameter{"UNSUPPORTED", 400};       // a query parameter: ?n=, token service/scope
inline constexpr ErrorCode kManifestTooLarge{"MANIFEST_INVALID", 413};  // over the 4 MiB manifest limit
inline constexpr ErrorCode kRangeNotSatisfiable{"BLOB_UNKNOWN", 416};   // blob GET: Range outside the blob
// Upload Content-Range malformed or not at the end of the upload: the spec's 416,
// which tells the client to resume from the Range it is given.
inline constexpr ErrorCode kUploadRangeInvalid{"BLOB_UPLOAD_INVALID", 416};
inline constexpr ErrorCode kUploadBusy{"BLOB_UPLOAD_INVALID", 409};  // another request holds the upload
inline constexpr ErrorCode kAccountMismatch{"DENIED", 400};          // token: ?account= is not the credentials'
inline constexpr ErrorCode kInsufficientStorage{"UNKNOWN", 507};     // the storage is full
// Refused whatever the credentials: a policy (an immutable tag, a quota:
// docs/policies.md; 403 as Docker Hub and Harbor answer an immutable tag, so no
// challenge; clients print "denied: <message>"), or the web UI's signed-in user
// not allowed, or a missing CSRF token.
inline constexpr ErrorCode kForbidden{"DENIED", 403};
}  // namespace code

// The error response for `code`, with its status.
http::Response Error(const ErrorCode& code, std::string_view message, const nlohmann::json& detail = nullptr);

// Same, with a one-field detail object {key: value}. (Also sidesteps a GCC 12
// bug with braced initializer lists inside co_await expressions.)
http::Response Error(const ErrorCode& code, std::string_view message, std::string_view key, std::string_view value);

// The answers to an access check's refusals (auth::AccessController::Authorize):
// 401 UNAUTHORIZED or DENIED with the WWW-Authenticate challenge, and 429 with Retry-After.
http::Response ChallengeResponse(const auth::Challenge& challenge);
http::Response ThrottleResponse(const auth::Throttle& throttle);

// The registry's form of an answer the HTTP server gives itself
// (http::Handler::ServerError): UNAVAILABLE for 503, otherwise UNKNOWN with the
// status the server chose for an HTTP-level reason (400/431 malformed head, 500
// failed handler) -- the one place a status does not come from the catalogue.
http::Response ServerErrorResponse(unsigned status, std::string_view message);

// A storage failure that is not the client's fault: 507 when the disk is full,
// 500 otherwise. The message is logged, the client gets a generic one.
http::Response StorageErrorResponse(const Status& s);

// A failure of the metadata database: 503 UNAVAILABLE when it cannot be
// reached (kUnavailable: the client may retry; Berth reconnects by itself),
// 503 too for kBusy (a blob garbage collection is deleting right now), 500
// otherwise. Logged once with the request; the client gets a generic message.
http::Response MetadataErrorResponse(const Status& s);

// StorageErrorResponse or MetadataErrorResponse: a status from an operation that
// writes both (only the database reports kUnavailable and, for a blob GC is
// deleting, kBusy).
http::Response WriteErrorResponse(const Status& s);

}  // namespace berth::registry
