// Unit tests for registry/errors.h: each code's status, and the spec's body format.
#include "registry/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace berth::registry {
namespace {

std::string Header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(ErrorCatalogueTest, EachCodeHasItsStatus) {
  struct Row {
    const ErrorCode& code;
    std::string_view value;
    unsigned status;
  };
  const Row rows[] = {
      {code::kBlobUnknown, "BLOB_UNKNOWN", 404},
      {code::kBlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400},
      {code::kBlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404},
      {code::kDigestInvalid, "DIGEST_INVALID", 400},
      {code::kManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400},
      {code::kManifestInvalid, "MANIFEST_INVALID", 400},
      {code::kManifestUnknown, "MANIFEST_UNKNOWN", 404},
      {code::kNameInvalid, "NAME_INVALID", 400},
      {code::kNameUnknown, "NAME_UNKNOWN", 404},
      {code::kSizeInvalid, "SIZE_INVALID", 400},
      {code::kUnauthorized, "UNAUTHORIZED", 401},
      {code::kDenied, "DENIED", 401},
      {code::kUnsupported, "UNSUPPORTED", 405},
      {code::kTooManyRequests, "TOOMANYREQUESTS", 429},
      {code::kUnknown, "UNKNOWN", 500},
      {code::kUnavailable, "UNAVAILABLE", 503},
      // The second statuses of a code (see errors.h).
      {code::kNoSuchEndpoint, "UNSUPPORTED", 404},
      {code::kInvalidParameter, "UNSUPPORTED", 400},
      {code::kForbidden, "DENIED", 403},
      {code::kManifestTooLarge, "MANIFEST_INVALID", 413},
      {code::kRangeNotSatisfiable, "BLOB_UNKNOWN", 416},
      {code::kUploadRangeInvalid, "BLOB_UPLOAD_INVALID", 416},
      {code::kUploadBusy, "BLOB_UPLOAD_INVALID", 409},
      {code::kAccountMismatch, "DENIED", 400},
      {code::kInsufficientStorage, "UNKNOWN", 507},
  };
  std::set<std::pair<std::string_view, unsigned>> seen;
  for (const Row& row : rows) {
    EXPECT_EQ(row.code.value, row.value);
    EXPECT_EQ(row.code.status, row.status) << row.value;
    EXPECT_TRUE(seen.emplace(row.code.value, row.code.status).second)
        << row.value << " " << row.status << " is in the catalogue twice";
    const http::Response r = Error(row.code, "m");
    EXPECT_EQ(r.status, row.status) << row.value;
  }
}

TEST(ErrorCatalogueTest, BodyFollowsTheSpecFormat) {
  const http::Response r = Error(code::kDigestInvalid, "bad digest", "digest", "sha256:x");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  const auto body = nlohmann::json::parse(r.body);
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["code"], "DIGEST_INVALID");
  EXPECT_EQ(body["errors"][0]["message"], "bad digest");
  EXPECT_EQ(body["errors"][0]["detail"]["digest"], "sha256:x");
  // Without a detail there is no "detail" key.
  EXPECT_EQ(Error(code::kUnknown, "x").body, R"({"errors":[{"code":"UNKNOWN","message":"x"}]})");
  // Invalid UTF-8 from a client is replaced, never a throw.
  EXPECT_NO_THROW(Error(code::kNameInvalid, "bad", "name", "\xff\xfe"));
}

TEST(ErrorCatalogueTest, ServerErrorsKeepTheServersStatus) {
  const http::Response unavailable = ServerErrorResponse(503, "too many");
  EXPECT_EQ(unavailable.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(unavailable.body)["errors"][0]["code"], "UNAVAILABLE");
  for (unsigned status : {400u, 431u, 500u}) {
    const http::Response r = ServerErrorResponse(status, "malformed");
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(nlohmann::json::parse(r.body)["errors"][0]["code"], "UNKNOWN") << status;
  }
}

TEST(ErrorCatalogueTest, StorageErrorsHideTheirMessage) {
  const http::Response full = StorageErrorResponse(Status::NoSpace("ENOSPC on /data"));
  EXPECT_EQ(full.status, 507u);
  EXPECT_EQ(full.body.find("/data"), std::string::npos);
  EXPECT_NE(full.error_log.find("ENOSPC"), std::string::npos);
  const http::Response io = StorageErrorResponse(Status::IoError("EIO"));
  EXPECT_EQ(io.status, 500u);
  EXPECT_EQ(nlohmann::json::parse(io.body)["errors"][0]["code"], "UNKNOWN");
}

}  // namespace
}  // namespace berth::registry
