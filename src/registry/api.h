// RegistryApi: the OCI distribution API (v1.1) over the storage layer.
//
// Handle() matches a request against the route table (routes.cpp), validates
// every name, digest and upload id before anything touches storage, checks
// access and calls the entry's handler. The handlers live in one file per
// resource: blobs.cpp, uploads.cpp, manifests.cpp, listings.cpp (tags,
// catalog), referrers.cpp, token.cpp; probes and metrics in api.cpp.
// The metadata database (metadata::MetadataStore) holds what listings need and
// is written after storage (docs/metadata.md "Invariants and write order");
// GET/HEAD of manifests and blobs read storage only, so pulls work while the
// database is down. Every database call runs on the `db_threads` pool
// (http::RunBlocking), never on an I/O thread; a database that cannot be reached
// answers 503 UNAVAILABLE.
// Thread-safe: one instance serves all connections.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "auth/access_controller.h"
#include "metadata/metadata_store.h"
#include "auth/token_service.h"
#include "http/server.h"
#include "config/config.h"
#include "events/dispatcher.h"
#include "observability/storage_usage.h"
#include "oci/digest.h"
#include "policy/policy_set.h"
#include "proxy/pull_through_cache.h"
#include "registry/router.h"
#include "registry/routes.h"
#include "storage/blob_store.h"
#include "storage/driver.h"
#include "storage/manifest_store.h"
#include "storage/upload_store.h"
#include "ui/session_store.h"

namespace berth::registry {

using http::Exchange;
using http::Task;

struct RegistryOptions {
  bool delete_enabled = true;
  // GET /metrics on the main port; unless public, it needs registry:metrics:* when auth is on.
  bool metrics_enabled = true;
  bool metrics_public = false;
  bool redirect_enabled = false;  // GET blob: 307 to the storage's direct URL when it has one
  // The web UI at / (docs/ui.md; ui_api.cpp).
  bool ui_enabled = true;
  int64_t ui_session_ttl_s = 12 * 3600;
  std::string public_url;  // server.public_url: the pull commands' host, and Secure cookies when https
};

class RegistryApi final : public http::Handler {
 public:
  // With `access` null the registry is open (auth.mode: none); otherwise every
  // request is authorised by it and /v2/token is served.
  // `meta`: the metadata database; `db_threads`: where its (blocking) calls run.
  RegistryApi(storage::StorageDriver& driver, metadata::MetadataStore& meta, boost::asio::thread_pool& db_threads,
              RegistryOptions options, auth::AccessController* access = nullptr);
  ~RegistryApi() override;

  Task<void> Handle(Exchange& ex) override;
  http::Response ServerError(unsigned status, std::string_view message) const override;
  // The debug listener (server.debug_addr): the routes the table serves there
  // (/metrics, /healthz, /readyz), no authentication.
  Task<void> HandleDebug(Exchange& ex);
  // The uploads, for maintenance (storage::UploadPurger).
  storage::UploadStore& uploads() { return uploads_; }
  // Serves the upstreams of `proxy:` as pull-through caches (proxied.cpp).
  // Before serving; an error when one cannot be set up (its password file).
  Status EnableProxy(const std::vector<config::ProxyUpstreamConfig>& upstreams);
  // Records webhook events (docs/events.md) in `events` (null: none); target
  // URLs start with `base_url` (server.public_url, or http(s):// and the request's Host when empty).
  // Before serving.
  void SetEvents(events::Dispatcher* events, std::string base_url, bool tls);
  // Closes the kept-alive upstream connections: after the server stopped, before it is destroyed.
  void CloseUpstreamConnections();
  // Enforces these policies (immutable tags, quotas: docs/policies.md); before
  // serving. Unset: no policies.
  void SetPolicies(policy::PolicyHolder* policies) { policies_ = policies; }

 private:
  // The route table names the handlers below (routes.cpp).
  friend std::span<const Route> RegistryRoutes();

  // Every handler has the RouteHandler signature: the exchange and the matched
  // route (its name, parameter and the caller's identity, validated).
  // blobs.cpp
  Task<void> GetBlob(Exchange& ex, const RouteMatch& m);
  // GET/HEAD of a blob linked into repository `name` (also the proxy's cache hits).
  Task<void> SendBlob(Exchange& ex, const std::string& name, const oci::Digest& digest);
  Task<void> DeleteBlob(Exchange& ex, const RouteMatch& m);
  // uploads.cpp
  Task<void> StartUpload(Exchange& ex, const RouteMatch& m);
  Task<void> GetUploadStatus(Exchange& ex, const RouteMatch& m);
  Task<void> PatchUpload(Exchange& ex, const RouteMatch& m);
  Task<void> PutUpload(Exchange& ex, const RouteMatch& m);
  Task<void> CancelUpload(Exchange& ex, const RouteMatch& m);
  // Streams the request body into `session`. On failure returns the response to
  // send (status 0 when the client is gone), so the caller can release the upload first.
  Task<std::optional<http::Response>> ReceiveBody(Exchange& ex, storage::UploadSession& session);
  // Receives the rest of the body, verifies `digest` and answers 201 (or the error).
  Task<void> ReceiveAndCommit(Exchange& ex, const RouteMatch& m, std::unique_ptr<storage::UploadSession> session,
                              const oci::Digest& digest);
  // After a blob's bytes are in storage (upload, mount): its link in `name`, in
  // storage then its row, under the repository's write lock (GC removes garbage
  // links under it: docs/gc.md), off the I/O thread.
  Task<Status> LinkBlobInRepository(const std::string& name, const oci::Digest& digest, int64_t size);
  // MetadataStore::ProtectBlob on the database threads (before storage relies on the blob's bytes).
  Task<Status> ProtectBlobRow(const oci::Digest& digest, int64_t size);
  // manifests.cpp
  Task<void> GetManifest(Exchange& ex, const RouteMatch& m);
  // The answer to GET/HEAD of a manifest found (conditional requests included).
  Task<void> SendManifest(Exchange& ex, storage::StoredManifest m);
  Task<void> PutManifest(Exchange& ex, const RouteMatch& m);
  Task<void> DeleteManifest(Exchange& ex, const RouteMatch& m);
  // The storage write and the database rows of a PUT / DELETE, off the I/O thread.
  // A refusal by an immutable tag leaves its message in *refusal.
  Task<Status> StoreManifest(const std::string& name, std::string body, const oci::Manifest& manifest,
                             const oci::Digest& digest, const std::string& tag, std::shared_ptr<std::string> refusal);
  Task<Status> RemoveManifest(const std::string& name, const oci::Reference& ref,
                              std::shared_ptr<std::string> refusal);
  // proxied.cpp: the pull-through cache's hooks. Each Serve* answers and
  // returns true when `m` names a proxied repository (or, for the mirror, a
  // name not found locally); false leaves the request to the local handler.
  Task<bool> ServeProxiedManifest(Exchange& ex, const RouteMatch& m, const oci::Reference& ref);
  Task<bool> ServeProxiedBlob(Exchange& ex, const RouteMatch& m);
  // The refusal of a push (upload, manifest) into a proxied repository, or nullopt.
  std::optional<http::Response> RefuseProxiedPush(const std::string& name) const;
  // policies.cpp: immutable tags and quotas.
  std::shared_ptr<const policy::PolicySet> Policies() const;
  // The guard of a manifest PUT (`digest`: what the tag would point at) or a
  // DELETE (`digest` empty) that refuses moving or removing an immutable tag;
  // its message is left in *refusal (answered 403 DENIED). Null without such a rule.
  metadata::MetadataStore::TagGuard ImmutableTagGuard(const std::string& name, const std::string& digest,
                                                      std::shared_ptr<std::string> refusal) const;
  // 403 DENIED when storing `needed` more bytes (blob `digest`) into `name` would go over its quota.
  Task<std::optional<http::Response>> RefuseOverQuota(const std::string& name, int64_t needed, std::string digest);
  // berth_quota_used_bytes / berth_quota_limit_bytes{policy} for /metrics ("" without quotas).
  Task<std::string> QuotaMetrics();
  // listings.cpp
  Task<void> ListTags(Exchange& ex, const RouteMatch& m);
  Task<void> ListCatalog(Exchange& ex, const RouteMatch& m);
  // referrers.cpp
  Task<void> ListReferrers(Exchange& ex, const RouteMatch& m);
  // token.cpp: GET/POST /v2/token.
  Task<void> ServeToken(Exchange& ex, const RouteMatch& m);
  // GET /.well-known/jwks.json: the keys whose tokens are accepted (a JWKS, the current key first).
  Task<void> ServeJwks(Exchange& ex, const RouteMatch& m);
  // api.cpp
  // GET /v2/: {} (the spec's check that this is a registry, and whether it wants auth).
  Task<void> ServeBase(Exchange& ex, const RouteMatch& m);
  // GET /healthz (the process answers) and /readyz (storage writable): 200 or 503.
  Task<void> ServeHealthz(Exchange& ex, const RouteMatch& m);
  Task<void> ServeReadyz(Exchange& ex, const RouteMatch& m);
  // GET /metrics: the Prometheus text exposition.
  Task<void> ServeMetrics(Exchange& ex, const RouteMatch& m);

  // ui_api.cpp: the web UI (docs/ui.md). Its routes are public in the table:
  // each handler resolves the session cookie to the signed-in user (or the
  // anonymous one) and asks the same ACL as /v2/ (UiViewer).
  struct UiViewer;
  Task<UiViewer> UiViewerOf(Exchange& ex);
  Task<void> ServeUiPage(Exchange& ex, const RouteMatch& m);
  Task<void> ServeUiRepositoryPage(Exchange& ex, const RouteMatch& m);
  Task<void> ServeUiAsset(Exchange& ex, const RouteMatch& m);
  Task<void> UiGetSession(Exchange& ex, const RouteMatch& m);
  Task<void> UiSignIn(Exchange& ex, const RouteMatch& m);
  Task<void> UiSignOut(Exchange& ex, const RouteMatch& m);
  Task<void> UiListRepositories(Exchange& ex, const RouteMatch& m);
  Task<void> UiRepository(Exchange& ex, const RouteMatch& m);
  Task<void> UiTagDeletion(Exchange& ex, const RouteMatch& m);
  Task<void> UiDeleteTag(Exchange& ex, const RouteMatch& m);
  Task<void> UiManifest(Exchange& ex, const RouteMatch& m);
  Task<void> UiAccess(Exchange& ex, const RouteMatch& m);
  Task<void> UiStorage(Exchange& ex, const RouteMatch& m);
  // The host name in pull commands: public_url's, else the request's Host.
  std::string UiPullHost(const Exchange& ex) const;

  // Matches the request in `router` and serves it: name validation, the
  // access check (unless `debug`), 405, parameter validation, the handler,
  // the audit line.
  Task<void> Serve(Exchange& ex, const Router& router, bool debug);
  // Asks the access controller whether the request holds `needed`; on a refusal
  // answers it (401/429), audits it and returns nullopt.
  // `wanted`: see auth::AccessController::Authorize.
  Task<std::optional<auth::Identity>> CheckAccess(Exchange& ex, const std::vector<auth::Scope>& needed,
                                                  const std::vector<auth::Scope>& wanted);
  // Whether a route on the main listener is served with this configuration, and without credentials.
  bool Enabled(const Route& route) const;
  bool IsPublic(const Route& route) const;
  // events.cpp: records the webhook event of a successful request (the action
  // its route entry's `notify` names) about `target` in repository m.name;
  // `path` is the target's URL path ("/v2/<name>/manifests/<digest>").
  // push, delete and mount are on disk when it returns (answer only then; an
  // error means the event is not recorded: 503); pull events are only written.
  Task<Status> Notify(Exchange& ex, const RouteMatch& m, events::Target target, const std::string& path);
  // observe.cpp: the audit line and upload counters of a request `method` answered.
  void AfterDispatch(Exchange& ex, const RouteMatch& m, const MethodHandler& method);
  void AuditDenied(Exchange& ex);
  // A token request whose credentials failed: counted and audited.
  void AuditTokenRefused(Exchange& ex, const std::string& ip, const std::string& attempted_user);
  // The audit line of a login whose credentials failed (the token endpoint's, the web UI's sign-in).
  void AuditLoginRefused(Exchange& ex, const std::string& ip, const std::string& attempted_user);
  std::string ClientIp(const Exchange& ex) const;

  storage::StorageDriver& driver_;
  metadata::MetadataStore& meta_;
  boost::asio::thread_pool& db_threads_;
  storage::BlobStore blobs_;
  storage::UploadStore uploads_;
  storage::ManifestStore manifests_;
  RegistryOptions options_;
  auth::AccessController* access_;
  std::unique_ptr<auth::TokenService> tokens_;
  std::unique_ptr<obs::StorageUsage> storage_usage_;  // for berth_storage_bytes
  std::unique_ptr<proxy::PullThroughCache> proxy_;    // null: no `proxy:` upstreams
  policy::PolicyHolder* policies_ = nullptr;          // null: no policies
  Router main_routes_;                                // the routes served on the main listener, with this configuration
  Router debug_routes_;                               // those of the debug listener
  std::string debug_not_found_;                       // its 404 body, naming what it serves
  std::unique_ptr<ui::SessionStore> ui_sessions_;     // the web UI's sessions (null: UI off or no auth)

  // Webhook events (registry/events.cpp); null: no notifications endpoints.
  events::Dispatcher* events_ = nullptr;
  std::string events_base_url_;  // SetEvents
  bool events_tls_ = false;
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
http::Response MethodNotAllowed(const Route& route);  // 405 with Allow
std::string UploadLocation(const std::string& name, const std::string& uuid);
std::string RangeHeader(int64_t size);  // "0-<size-1>" ("0-0" when empty, as distribution)
// Event targets (registry/events.cpp).
events::Target BlobTarget(const oci::Digest& digest, int64_t size);
events::Target ManifestTarget(std::string media_type, int64_t size, const oci::Digest& digest, std::string tag);
std::string BlobPath(const std::string& name, const oci::Digest& digest);
std::string ManifestPath(const std::string& name, const oci::Digest& digest);
// What the access checks read of the request (views into `ex`).
auth::ClientRequest ClientRequestOf(const Exchange& ex);

}  // namespace berth::registry
