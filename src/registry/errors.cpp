#include "registry/errors.h"

#include "auth/access_controller.h"

namespace berth::registry {

http::Response Error(const ErrorCode& code, std::string_view message, const nlohmann::json& detail) {
  nlohmann::json err = {{"code", code.value}, {"message", message}};
  if (!detail.is_null()) err["detail"] = detail;
  http::Response r(code.status);
  r.Set("Content-Type", "application/json");
  r.body = nlohmann::json{{"errors", nlohmann::json::array({err})}}.dump(-1, ' ', false,
                                                                         nlohmann::json::error_handler_t::replace);
  return r;
}

http::Response Error(const ErrorCode& code, std::string_view message, std::string_view key, std::string_view value) {
  nlohmann::json detail = nlohmann::json::object();
  detail[std::string(key)] = value;
  return Error(code, message, detail);
}

http::Response ChallengeResponse(const auth::Challenge& challenge) {
  using Reason = auth::Challenge::Reason;
  const ErrorCode* code = &code::kUnauthorized;
  std::string_view message = "authentication required";
  switch (challenge.reason) {
    case Reason::kNoCredentials: break;
    case Reason::kBadCredentials: message = "authentication failed"; break;
    case Reason::kInvalidToken: message = "invalid or expired token"; break;
    case Reason::kDenied:
      code = &code::kDenied;
      message = "requested access to the resource is denied";
      break;
  }
  nlohmann::json detail = nullptr;  // the scopes asked for, as distribution lists them
  for (const auto& s : challenge.scopes) {
    for (const auto& a : s.actions) detail.push_back({{"Type", s.type}, {"Name", s.name}, {"Action", a}});
  }
  http::Response r = Error(*code, message, detail);
  r.Set("WWW-Authenticate", challenge.HeaderValue());
  return r;
}

http::Response ThrottleResponse(const auth::Throttle& throttle) {
  http::Response r = Error(code::kTooManyRequests, "too many failed logins, try again later");
  r.Set("Retry-After", std::to_string(throttle.retry_after.count()));
  return r;
}

http::Response ServerErrorResponse(unsigned status, std::string_view message) {
  if (status == code::kUnavailable.status) return Error(code::kUnavailable, message);
  http::Response r = Error(code::kUnknown, message);
  r.status = status;
  return r;
}

http::Response StorageErrorResponse(const Status& s) {
  http::Response r = s.code() == StatusCode::kNoSpace
                         ? Error(code::kInsufficientStorage, "insufficient storage: the registry's disk is full")
                         : Error(code::kUnknown, "storage error");
  // Logged with the request's id, user and repository when it is sent.
  r.error_log = "storage error: " + s.message();
  return r;
}

http::Response MetadataErrorResponse(const Status& s) {
  http::Response r = s.code() == StatusCode::kUnavailable
                         ? Error(code::kUnavailable, "the registry's metadata database is unavailable; try again later")
                         : Error(code::kUnknown, "metadata database error");
  // A blob claimed by garbage collection (MetadataStore::ProtectBlob waited in vain): transient.
  if (s.code() == StatusCode::kBusy)
    r = Error(code::kUnavailable, "the blob is being garbage collected; try again later");
  r.error_log = "metadata database: " + s.message();
  return r;
}

http::Response WriteErrorResponse(const Status& s) {
  if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kBusy) return MetadataErrorResponse(s);
  return StorageErrorResponse(s);
}

}  // namespace berth::registry
