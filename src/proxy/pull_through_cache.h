// PullThroughCache: Berth as a caching proxy of upstream registries
// (config `proxy:`, docs/proxy.md). The registry asks it for manifests and
// blobs of names under a proxied prefix (or, for the mirror upstream, of
// repositories unknown locally); it answers from the local store, fetching from the
// upstream into the store what is missing:
//  - a manifest by digest is cached forever; by tag it is served from the
//    cache for the upstream's tag_ttl, then revalidated (HEAD by tag: the same
//    digest keeps it, another is fetched). An upstream that is down or
//    rate-limits (429) leaves the stale tag in service, with a warning;
//  - a blob is fetched into an upload session of the store (visible only once
//    complete and verified against its digest) while clients read it behind
//    the writer (BlobFill), so nobody waits for the whole blob first;
//  - one upstream fetch per manifest or blob at a time, whatever the number of
//    clients asking (SingleFlight / the fill map), and a fetch runs to its end
//    when the client that started it goes away; at most max_fills blob
//    fetches per upstream at once;
//  - content whose digest is not what was asked for is never stored;
//  - what is cached is recorded in the metadata database as a push would be
//    (after storage, on the database threads), so listings show it: a
//    manifest with its tag (its blobs as references the store need not hold
//    yet: they arrive when pulled), a blob with its repository link and the
//    reference rows of the cached manifests listing it (so GC keeps it); the
//    blob's row is protected from GC (ProtectBlob) before its commit.
// Thread-safe: one instance serves every request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "config/config.h"
#include "http/task.h"
#include "metadata/metadata_store.h"
#include "oci/digest.h"
#include "oci/name.h"
#include "proxy/single_flight.h"
#include "proxy/upstream_client.h"
#include "storage/blob_store.h"
#include "storage/driver.h"
#include "storage/manifest_store.h"
#include "storage/upload_store.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::proxy {

// Which upstream a repository name goes to.
struct ProxyRoute {
  size_t upstream = 0;
  std::string cache_name;   // where its content is kept locally (the proxied prefix included)
  std::string remote_name;  // the repository on the upstream
};

// Status codes of the answers, as the registry maps them:
//  NotFound     the upstream does not have it (MANIFEST_UNKNOWN / BLOB_UNKNOWN)
//  Conflict     a blob miss while the upstream's max_fills fetches are in
//               flight: try again shortly (UNAVAILABLE with Retry-After)
//  Busy         the upstream rate-limits (429) and nothing is cached (TOOMANYREQUESTS)
//  Unavailable  the upstream cannot be reached, refused Berth's credentials,
//               or sent content that does not match its digest (UNAVAILABLE)

// After a fill's commit: the blob's link row in `name` and the reference rows
// of `name`'s cached manifests that list it (MetadataStore::LinkCachedBlob).
// A cached manifest is recorded before its blobs arrive, when the database
// cannot hold references to them; without these rows GC would take the filled
// blob's link and bytes. Blocking (storage and database): on the database threads.
Status RecordFilledBlob(metadata::MetadataStore& meta, storage::ManifestStore& manifests, const std::string& name,
                        const oci::Digest& digest, int64_t size);

// One blob being fetched into the store, read by its clients behind the writer.
class BlobFill {
 public:
  BlobFill(storage::StorageDriver& driver, storage::BlobStore& blobs, oci::Digest digest)
      : driver_(driver), blobs_(blobs), digest_(std::move(digest)) {}

  // The blob's size, once the upstream said it (FillBlob returns after that).
  int64_t size() const { return size_.load(); }
  // A reader of the blob from its start: the upload being written, or the
  // finished blob (waiting for the fill to end where the storage cannot read
  // an unfinished upload).
  http::Task<Result<std::unique_ptr<storage::FileReader>>> OpenReader();
  // Waits until bytes past `offset` may be sent; returns how many. The last
  // byte is released only once the whole blob is verified, so a client never
  // receives a complete body whose digest is wrong. An error when the fill failed.
  http::Task<Result<int64_t>> WaitReadable(int64_t offset);

 private:
  friend class PullThroughCache;
  storage::StorageDriver& driver_;
  storage::BlobStore& blobs_;
  oci::Digest digest_;
  Mutex mu_;
  std::string data_path_ GUARDED_BY(mu_);  // the upload's data file
  Status failure_ GUARDED_BY(mu_);
  std::atomic<int64_t> size_{-1};
  std::atomic<int64_t> written_{0};
  std::atomic<bool> committed_{false};
  std::atomic<bool> failed_{false};
};

class PullThroughCache {
 public:
  static Result<std::unique_ptr<PullThroughCache>> Create(const std::vector<config::ProxyUpstreamConfig>& upstreams,
                                                          storage::StorageDriver& driver, storage::BlobStore& blobs,
                                                          storage::UploadStore& uploads,
                                                          storage::ManifestStore& manifests,
                                                          metadata::MetadataStore& meta,
                                                          boost::asio::thread_pool& db_threads);

  // The upstream of a name under a proxied prefix; nullopt for any other name.
  std::optional<ProxyRoute> Prefixed(std::string_view name) const;
  // The mirror upstream's route for a name under no proxied prefix (the
  // caller asks it only for a repository unknown locally); nullopt without a mirror.
  std::optional<ProxyRoute> Mirrored(std::string_view name) const;
  const std::string& UpstreamUrl(const ProxyRoute& r) const { return upstreams_[r.upstream].config.url; }

  // The manifest `ref` of the route's repository, from the cache or the upstream.
  http::Task<Result<storage::StoredManifest>> GetManifest(ProxyRoute route, oci::Reference ref);
  // Starts fetching a blob the cache does not have, or joins the fetch in
  // flight; returns once its size is known. At most max_fills fetches per
  // upstream at once (beyond: Conflict).
  http::Task<Result<std::shared_ptr<BlobFill>>> FillBlob(ProxyRoute route, oci::Digest digest);
  // Closes the upstreams' idle connections (UpstreamClient::CloseIdle).
  void CloseIdleConnections() {
    for (auto& u : upstreams_) u.client->CloseIdle();
  }
  // The size of a blob on the upstream (HEAD), without fetching it.
  http::Task<Result<int64_t>> StatBlob(ProxyRoute route, oci::Digest digest);

 private:
  struct Upstream {
    config::ProxyUpstreamConfig config;
    std::unique_ptr<UpstreamClient> client;
    bool docker_hub = false;  // single-component names get "library/"
  };
  PullThroughCache(storage::StorageDriver& driver, storage::BlobStore& blobs, storage::UploadStore& uploads,
                   storage::ManifestStore& manifests, metadata::MetadataStore& meta,
                   boost::asio::thread_pool& db_threads)
      : driver_(driver),
        blobs_(blobs),
        uploads_(uploads),
        manifests_(manifests),
        meta_(meta),
        db_threads_(db_threads) {}

  ProxyRoute RouteTo(size_t upstream, std::string cache_name, std::string_view remote) const;
  // The single-flight work: revalidate or fetch a manifest.
  http::Task<Result<storage::StoredManifest>> Refresh(ProxyRoute route, oci::Reference ref);
  http::Task<Result<storage::StoredManifest>> FetchManifest(ProxyRoute route, oci::Reference ref);
  // The detached fill of one blob: FillFromUpstream, whose exceptions fail the fill.
  http::Task<void> RunFill(ProxyRoute route, std::shared_ptr<BlobFill> fill);
  http::Task<void> FillFromUpstream(ProxyRoute route, std::shared_ptr<BlobFill> fill);
  // Marks the fill failed, then EndFill.
  void Fail(const ProxyRoute& route, BlobFill& fill, Status s) EXCLUDES(mu_);
  // Removes the fill from fills_ and its upstream's count (once).
  void EndFill(const ProxyRoute& route, const BlobFill& fill) EXCLUDES(mu_);
  // A Status for an upstream answer that is not a success.
  Status UpstreamFailure(const ProxyRoute& route, unsigned status, const std::string& what);
  bool IsFresh(const std::string& key) EXCLUDES(mu_);
  void MarkFresh(const ProxyRoute& route, const std::string& key) EXCLUDES(mu_);

  storage::StorageDriver& driver_;
  storage::BlobStore& blobs_;
  storage::UploadStore& uploads_;
  storage::ManifestStore& manifests_;
  metadata::MetadataStore& meta_;
  boost::asio::thread_pool& db_threads_;
  std::vector<Upstream> upstreams_;
  std::optional<size_t> mirror_;
  SingleFlight<storage::StoredManifest> manifest_flights_;
  Mutex mu_;
  // Until when each cached tag ("<cache name>:<tag>") is fresh (its upstream's confirmation plus tag_ttl).
  std::map<std::string, std::chrono::steady_clock::time_point> tag_checked_ GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<BlobFill>> fills_ GUARDED_BY(mu_);  // "<cache name>@<digest>"
  std::vector<int64_t> active_fills_ GUARDED_BY(mu_);                       // fills_ per upstream (max_fills)
};

}  // namespace berth::proxy
