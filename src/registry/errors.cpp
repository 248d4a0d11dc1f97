#include "registry/errors.h"


namespace berth::registry {

http::Response ErrorResponse(unsigned status, std::string_view code, std::string_view message,
                             const nlohmann::json& detail) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!detail.is_null()) err["detail"] = detail;
  http::Response r(status);
  r.Set("Content-Type", "application/json");
  r.body = nlohmann::json{{"errors", nlohmann::json::array({err})}}.dump(-1, ' ', false,
                                                                      nlohmann::json::error_handler_t::replace);
  return r;
}

http::Response ErrorResponse(unsigned status, std::string_view code, std::string_view message, std::string_view key,
                             std::string_view value) {
  nlohmann::json detail = nlohmann::json::object();
  detail[std::string(key)] = value;
  return ErrorResponse(status, code, message, detail);
}

http::Response StorageErrorResponse(const Status& s) {
  http::Response r = s.code() == StatusCode::kNoSpace
                         ? ErrorResponse(507, code::kUnknown, "insufficient storage: the registry's disk is full")
                         : ErrorResponse(500, code::kUnknown, "storage error");
  // Logged with the request's id, user and repository when it is sent.
  r.error_log = "storage error: " + s.message();
  return r;
}

}  // namespace berth::registry
