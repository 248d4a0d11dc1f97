// What the registry tells operators once a request is answered: audit lines for
// pushes, deletes (the event each route's entry names, routes.cpp) and denied
// requests, and the blob upload counters.
// (Request counts, durations and bytes are counted by the server for every request.)
#include "observability/berth_metrics.h"
#include "registry/api.h"
#include "util/log.h"

namespace berth::registry {

namespace {

std::string_view Outcome(unsigned status) { return status >= 200 && status < 300 ? "success" : "failure"; }

}  // namespace

std::string RegistryApi::ClientIp(const Exchange& ex) const {
  return access_ != nullptr ? access_->ClientIp(ClientRequestOf(ex)) : ex.remote_address();
}

void RegistryApi::AuditDenied(Exchange& ex) {
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", "denied"},
              {"method", std::string(ex.method_string())},
              {"route", std::string(ex.context().route.name)},
              {"client_ip", ClientIp(ex)},
              {"status", std::to_string(ex.status())},
              {"outcome", "denied"}});
}

void RegistryApi::AuditTokenRefused(Exchange& ex, const std::string& ip, const std::string& attempted_user) {
  obs::Metrics().CountTokenRequest(obs::TokenResult::kUnauthorized);
  AuditLoginRefused(ex, ip, attempted_user);
}

void RegistryApi::AuditLoginRefused(Exchange& ex, const std::string& ip, const std::string& attempted_user) {
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", "denied"},
              {"method", std::string(ex.method_string())},
              {"route", std::string(ex.context().route.name)},
              {"attempted_user", attempted_user},
              {"client_ip", ip},
              {"outcome", "unauthorized"}});
}

void RegistryApi::AfterDispatch(Exchange& ex, const RouteMatch& m, const MethodHandler& method) {
  if (method.event == nullptr) return;
  std::optional<AuditEvent> e = method.event(ex, m);
  if (!e) return;
  const unsigned status = ex.status();
  // The blob upload counters follow the events: a blob stored by a finished
  // upload (or not), a mount, a cancelled upload.
  if (e->event == "push" && e->target == "blob") {
    obs::Metrics().CountBlobUpload(status == 201 ? obs::BlobUploadResult::kSuccess : obs::BlobUploadResult::kFailure);
  } else if (e->target == "mount") {
    obs::Metrics().CountBlobUpload(obs::BlobUploadResult::kMounted);
  } else if (e->event == "delete" && e->target == "upload" && status == 204) {
    obs::Metrics().CountBlobUpload(obs::BlobUploadResult::kCancelled);
  }
  std::string ref = std::move(e->ref);
  if (ref.size() > 256) ref.resize(256);
  log::Write(log::Level::kInfo, "audit", ex.context().LogFields(),
             {{"audit", "true"},
              {"event", std::string(e->event)},
              {"target", std::string(e->target)},
              {e->ref_key, ref},
              {"client_ip", ClientIp(ex)},
              {"status", std::to_string(status)},
              {"outcome", std::string(Outcome(status))}});
}

}  // namespace berth::registry
