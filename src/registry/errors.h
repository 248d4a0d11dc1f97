// The distribution spec's error responses: {"errors":[{"code","message","detail"}]}.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "http/response.h"
#include "util/status.h"

namespace berth::registry {

namespace code {
inline constexpr std::string_view kBlobUnknown = "BLOB_UNKNOWN";
inline constexpr std::string_view kBlobUploadInvalid = "BLOB_UPLOAD_INVALID";
inline constexpr std::string_view kBlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
inline constexpr std::string_view kDigestInvalid = "DIGEST_INVALID";
inline constexpr std::string_view kManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
inline constexpr std::string_view kManifestInvalid = "MANIFEST_INVALID";
inline constexpr std::string_view kManifestUnknown = "MANIFEST_UNKNOWN";
inline constexpr std::string_view kNameInvalid = "NAME_INVALID";
inline constexpr std::string_view kNameUnknown = "NAME_UNKNOWN";
inline constexpr std::string_view kSizeInvalid = "SIZE_INVALID";
inline constexpr std::string_view kUnauthorized = "UNAUTHORIZED";
inline constexpr std::string_view kDenied = "DENIED";
inline constexpr std::string_view kUnsupported = "UNSUPPORTED";
inline constexpr std::string_view kTooManyRequests = "TOOMANYREQUESTS";
inline constexpr std::string_view kUnknown = "UNKNOWN";
}  // namespace code

http::Response ErrorResponse(unsigned status, std::string_view code, std::string_view message,
                             const nlohmann::json& detail = nullptr);

// Same, with a one-field detail object {key: value}. (Also sidesteps a GCC 12
// bug with braced initializer lists inside co_await expressions.)
http::Response ErrorResponse(unsigned status, std::string_view code, std::string_view message, std::string_view key,
                             std::string_view value);

// A storage failure that is not the client's fault: 507 when the disk is full,
// 500 otherwise. The message is logged, the client gets a generic one.
http::Response StorageErrorResponse(const Status& s);

}  // namespace berth::registry
