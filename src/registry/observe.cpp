// What the registry tells operators once a request is answered: audit lines for
// pushes, deletes and denied requests, and the blob upload counters.
// (Request counts, durations and bytes are counted by the server for every request.)
#include "observability/berth_metrics.h"
#include "registry/api.h"
#include "util/log.h"

namespace berth::registry {
using boost::beast::http::verb;

namespace {

std::string_view Outcome(unsigned status) { return status >= 200 && status < 300 ? "success" : "failure"; }

}  // namespace

std::string RegistryApi::ClientIp(const Exchange& ex) const {
  return access_ != nullptr ? access_->ClientIp(ClientRequestOf(ex)) : ex.remote_address();
}

void RegistryApi::AuditDenied(Exchange& ex) {
  obs::Metrics().CountAuthDenial();
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", "denied"},
              {"method", std::string(ex.method_string())},
              {"route", std::string(http::RouteLabelName(ex.context().route))},
              {"client_ip", ClientIp(ex)},
              {"status", std::to_string(ex.status())},
              {"outcome", "denied"}});
}

void RegistryApi::AuditTokenRefused(Exchange& ex, const std::string& ip, const std::string& attempted_user) {
  obs::Metrics().CountTokenRequest(obs::TokenResult::kUnauthorized);
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", "denied"},
              {"method", std::string(ex.method_string())},
              {"route", std::string(http::RouteLabelName(ex.context().route))},
              {"attempted_user", attempted_user},
              {"client_ip", ip},
              {"outcome", "unauthorized"}});
}

void RegistryApi::AfterDispatch(Exchange& ex, const Route& route) {
  const verb m = ex.method();
  const unsigned status = ex.status();
  std::string_view event;   // push | delete
  std::string_view target;  // manifest | blob | mount | upload
  std::string_view ref_key = "digest";
  std::string ref = route.arg;
  switch (route.endpoint) {
    case Endpoint::kManifest:
      if (m != verb::put && m != verb::delete_) return;
      event = m == verb::put ? "push" : "delete";
      target = "manifest";
      ref_key = "reference";
      break;
    case Endpoint::kBlob:
      if (m != verb::delete_) return;
      event = "delete";
      target = "blob";
      break;
    case Endpoint::kUpload:
      if (m == verb::put) {
        event = "push";
        target = "blob";
        ref = QueryParam(ex, "digest");
        obs::Metrics().CountBlobUpload(status == 201 ? obs::BlobUploadResult::kSuccess
                                                     : obs::BlobUploadResult::kFailure);
      } else if (m == verb::delete_) {
        event = "delete";
        target = "upload";
        ref_key = "upload";
        if (status == 204) obs::Metrics().CountBlobUpload(obs::BlobUploadResult::kCancelled);
      } else {
        return;
      }
      break;
    case Endpoint::kUploadStart: {
      if (m != verb::post) return;
      const bool monolithic = HasQueryParam(ex, "digest");
      if (status == 201 && !monolithic && HasQueryParam(ex, "mount")) {
        event = "push";
        target = "mount";
        ref = QueryParam(ex, "mount");
        obs::Metrics().CountBlobUpload(obs::BlobUploadResult::kMounted);
      } else if (monolithic) {
        event = "push";
        target = "blob";
        ref = QueryParam(ex, "digest");
        obs::Metrics().CountBlobUpload(status == 201 ? obs::BlobUploadResult::kSuccess
                                                     : obs::BlobUploadResult::kFailure);
      } else {
        return;  // an upload session was opened: nothing is stored yet
      }
      break;
    }
    default:
      return;
  }
  if (ref.size() > 256) ref.resize(256);
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", std::string(event)},
              {"target", std::string(target)},
              {std::string_view(ref_key), ref},
              {"client_ip", ClientIp(ex)},
              {"status", std::to_string(status)},
              {"outcome", std::string(Outcome(status))}});
}

}  // namespace berth::registry
