// RegistryApi: the OCI distribution API (v1.1) over the storage layer.
//
// Handle() routes a request, validates every name, reference, digest and upload
// id before anything touches storage, and dispatches to one endpoint handler.
// The handlers live in one file per resource: blobs.cpp, uploads.cpp,
// manifests.cpp, listings.cpp (tags, catalog), referrers.cpp.
// Thread-safe: one instance serves all connections.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/access_controller.h"
#include "auth/token_service.h"
#include "http/server.h"
#include "observability/storage_usage.h"
#include "oci/digest.h"
#include "registry/router.h"
#include "storage/blob_store.h"
#include "storage/driver.h"
#include "storage/manifest_store.h"
#include "storage/upload_store.h"

namespace berth::registry {

using http::Exchange;
using http::Task;

struct RegistryOptions {
  bool delete_enabled = true;
  // GET /metrics on the main port; unless public, it needs registry:metrics:* when auth is on.
  bool metrics_enabled = true;
  bool metrics_public = false;
  bool redirect_enabled = false;  // GET blob: 307 to the storage's direct URL when it has one
};

class RegistryApi final : public http::Handler {
 public:
  // With `access` null the registry is open (auth.mode: none); otherwise every
  // request is authorised by it and /v2/token is served.
  RegistryApi(storage::StorageDriver& driver, RegistryOptions options, auth::AccessController* access = nullptr);
  ~RegistryApi() override;

  Task<void> Handle(Exchange& ex) override;
  http::Response ServerError(unsigned status, std::string_view message) const override;
  // The debug listener (server.debug_addr): only /metrics, /healthz and /readyz, no authentication.
  Task<void> HandleDebug(Exchange& ex);
  // The uploads, for maintenance (storage::UploadPurger).
  storage::UploadStore& uploads() { return uploads_; }

 private:
  // blobs.cpp
  Task<void> GetBlob(Exchange& ex, const std::string& name, const oci::Digest& digest);
  Task<void> DeleteBlob(Exchange& ex, const std::string& name, const oci::Digest& digest);
  // uploads.cpp
  // `may_mount`: whether the client may read the ?from= repository of a mount.
  Task<void> StartUpload(Exchange& ex, const std::string& name, bool may_mount);
  Task<void> GetUploadStatus(Exchange& ex, const std::string& name, const std::string& uuid);
  Task<void> PatchUpload(Exchange& ex, const std::string& name, const std::string& uuid);
  Task<void> PutUpload(Exchange& ex, const std::string& name, const std::string& uuid);
  Task<void> CancelUpload(Exchange& ex, const std::string& name, const std::string& uuid);
  // Streams the request body into `session`. On failure returns the response to
  // send (status 0 when the client is gone), so the caller can release the upload first.
  Task<std::optional<http::Response>> ReceiveBody(Exchange& ex, storage::UploadSession& session);
  // Receives the rest of the body, verifies `digest` and answers 201 (or the error).
  Task<void> ReceiveAndCommit(Exchange& ex, const std::string& name, std::unique_ptr<storage::UploadSession> session,
                              const oci::Digest& digest);
  // manifests.cpp
  Task<void> GetManifest(Exchange& ex, const std::string& name, const std::string& reference);
  Task<void> PutManifest(Exchange& ex, const std::string& name, const std::string& reference);
  Task<void> DeleteManifest(Exchange& ex, const std::string& name, const std::string& reference);
  // listings.cpp
  Task<void> ListTags(Exchange& ex, const std::string& name);
  Task<void> ListCatalog(Exchange& ex);
  // referrers.cpp
  Task<void> ListReferrers(Exchange& ex, const std::string& name, const std::string& digest);

  // token.cpp: GET/POST /v2/token.
  Task<void> ServeToken(Exchange& ex);

  Task<void> Dispatch(Exchange& ex, const Route& route, const auth::Identity* identity);
  // Asks the access controller whether the request holds `needed`; on a refusal
  // answers it (401/429), audits it and returns nullopt.
  Task<std::optional<auth::Identity>> CheckAccess(Exchange& ex, const std::vector<auth::Scope>& needed);
  // GET /healthz (the process answers) and /readyz (storage writable): 200 or 503.
  Task<void> ServeProbe(Exchange& ex, bool readiness);
  // GET /metrics: the Prometheus text exposition.
  Task<void> ServeMetrics(Exchange& ex);
  // observe.cpp: audit lines and upload counters once a request is answered.
  void AfterDispatch(Exchange& ex, const Route& route);
  void AuditDenied(Exchange& ex);
  // A token request whose credentials failed: counted and audited.
  void AuditTokenRefused(Exchange& ex, const std::string& ip, const std::string& attempted_user);
  std::string ClientIp(const Exchange& ex) const;
  // The scopes a request needs (empty for /v2/ itself).
  std::vector<auth::Scope> NeededScopes(const Exchange& ex, const Route& route) const;

  storage::StorageDriver& driver_;
  storage::BlobStore blobs_;
  storage::UploadStore uploads_;
  storage::ManifestStore manifests_;
  RegistryOptions options_;
  auth::AccessController* access_;
  std::unique_ptr<auth::TokenService> tokens_;
  std::unique_ptr<obs::StorageUsage> storage_usage_;  // for berth_storage_bytes
};

// The Handler of the debug listener: RegistryApi::HandleDebug.
class DebugApi final : public http::Handler {
 public:
  explicit DebugApi(RegistryApi& api) : api_(api) {}
  Task<void> Handle(Exchange& ex) override { co_await api_.HandleDebug(ex); }
  http::Response ServerError(unsigned status, std::string_view message) const override {
    return api_.ServerError(status, message);
  }

 private:
  RegistryApi& api_;
};

// Helpers shared by the endpoint files.
std::string QueryParam(const Exchange& ex, std::string_view key);  // decoded; empty when absent
bool HasQueryParam(const Exchange& ex, std::string_view key);
http::Response MethodNotAllowed(Endpoint endpoint);  // 405 with Allow
std::string UploadLocation(const std::string& name, const std::string& uuid);
std::string RangeHeader(int64_t size);
// What the access checks read of the request (views into `ex`).
auth::ClientRequest ClientRequestOf(const Exchange& ex);  // "0-<size-1>" ("0-0" when empty, as distribution)

}  // namespace berth::registry
