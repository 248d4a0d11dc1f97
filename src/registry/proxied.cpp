// The pull-through cache's hooks into the registry (proxy/pull_through_cache.h,
// docs/proxy.md): manifests and blobs of proxied repositories, and the refusal
// of pushes into them. Access checks are the route's, as for local repositories.
#include <algorithm>

#include "observability/proxy_metrics.h"
#include "registry/api.h"
#include "registry/errors.h"
#include "storage/store_walk.h"
#include "util/log.h"

namespace berth::registry {
namespace {

// A client's piece of a blob streamed behind a fill (as elsewhere in the
// server): a miss costs each client this much, however many wait.
constexpr size_t kPiece = 64 * 1024;
// When a client refused for max_fills may ask again.
constexpr std::string_view kFillRetryAfterSeconds = "2";

// The answer for a cache failure (proxy/pull_through_cache.h lists the codes).
http::Response ProxyErrorResponse(const Status& s, const ErrorCode& unknown, std::string_view key,
                                  std::string_view value) {
  if (s.IsNotFound()) return Error(unknown, s.message(), key, value);
  if (s.code() == StatusCode::kBusy) return Error(code::kTooManyRequests, s.message());
  if (s.code() == StatusCode::kConflict) {
    http::Response r = Error(code::kUnavailable, s.message(), key, value);
    r.Set("Retry-After", std::string(kFillRetryAfterSeconds));
    return r;
  }
  if (s.code() == StatusCode::kUnavailable) {
    http::Response r = Error(code::kUnavailable, s.message(), key, value);
    r.error_log = "proxy: " + s.message();
    return r;
  }
  return StorageErrorResponse(s);
}

}  // namespace

Status RegistryApi::EnableProxy(const std::vector<config::ProxyUpstreamConfig>& upstreams) {
  if (upstreams.empty()) return Status::Ok();
  auto cache = proxy::PullThroughCache::Create(upstreams, driver_, blobs_, uploads_, manifests_, meta_, db_threads_);
  if (!cache.ok()) return cache.status();
  proxy_ = std::move(*cache);
  return Status::Ok();
}

// The mirror answers for a repository the registry does not hold at all: a
// local repository's missing tag or blob never comes from the upstream (that
// would let the upstream's owner of the same name add to a trusted local
// repository). Held: any manifest, layer link or upload in storage.
static bool KnownLocally(storage::StorageDriver& driver, const std::string& name) {
  const storage::walk::RepositoryDir dir = storage::walk::ExamineRepository(driver, name);
  return dir.manifests || dir.layers || dir.uploads;
}

void RegistryApi::CloseUpstreamConnections() {
  if (proxy_) proxy_->CloseIdleConnections();
}

std::optional<http::Response> RegistryApi::RefuseProxiedPush(const std::string& name) const {
  if (!proxy_) return std::nullopt;
  auto route = proxy_->Prefixed(name);
  if (!route) return std::nullopt;
  return Error(code::kUnsupported,
               "repository " + name + " is a read-only pull-through cache of " + proxy_->UpstreamUrl(*route) +
                   ": push to the upstream instead",
               "name", name);
}

Task<bool> RegistryApi::ServeProxiedManifest(Exchange& ex, const RouteMatch& m, const oci::Reference& ref) {
  auto route = proxy_->Prefixed(m.name);
  if (!route) {
    if (KnownLocally(driver_, m.name)) co_return false;
    route = proxy_->Mirrored(m.name);
    if (!route) co_return false;
  }
  auto manifest = co_await proxy_->GetManifest(*route, ref);
  if (!manifest.ok()) {
    http::Response err = ProxyErrorResponse(manifest.status(), code::kManifestUnknown, "reference", m.arg);
    co_await ex.Send(std::move(err));
    co_return true;
  }
  meta_.TouchPulled(route->cache_name, manifest->digest.str());  // as a local pull
  co_await SendManifest(ex, std::move(*manifest));
  co_return true;
}

Task<bool> RegistryApi::ServeProxiedBlob(Exchange& ex, const RouteMatch& m) {
  const oci::Digest& digest = *m.digest;
  auto route = proxy_->Prefixed(m.name);
  if (!route) {
    if (KnownLocally(driver_, m.name)) co_return false;
    route = proxy_->Mirrored(m.name);
    if (!route) co_return false;
  }
  if (blobs_.StatInRepository(route->cache_name, digest).ok()) {
    obs::ProxyStats().Count(route->upstream, obs::ProxyResult::kHit);
    co_await SendBlob(ex, route->cache_name, digest);
    co_return true;
  }
  http::Response head(200);
  head.Set("Docker-Content-Digest", digest.str());
  head.Set("ETag", "\"" + digest.str() + "\"");
  head.Set("Content-Type", "application/octet-stream");
  if (ex.is_head()) {
    // A HEAD does not fill the cache: the upstream's answer, as it is.
    auto size = co_await proxy_->StatBlob(*route, digest);
    if (!size.ok()) {
      http::Response err = ProxyErrorResponse(size.status(), code::kBlobUnknown, "digest", digest.str());
      co_await ex.Send(std::move(err));
      co_return true;
    }
    co_await ex.SendStream(std::move(head), *size, nullptr);
    co_return true;
  }
  auto fill = co_await proxy_->FillBlob(*route, digest);
  if (!fill.ok()) {
    http::Response err = ProxyErrorResponse(fill.status(), code::kBlobUnknown, "digest", digest.str());
    co_await ex.Send(std::move(err));
    co_return true;
  }
  auto reader = co_await (*fill)->OpenReader();
  if (!reader.ok()) {
    http::Response err = ProxyErrorResponse(reader.status(), code::kBlobUnknown, "digest", digest.str());
    co_await ex.Send(std::move(err));
    co_return true;
  }
  // Streamed behind the fill; a Range on a miss is ignored (RFC 9110 allows it).
  const int64_t size = (*fill)->size();
  if (Status s = co_await ex.SendHead(std::move(head), size); !s.ok()) co_return true;
  std::unique_ptr<char[]> buf(new char[kPiece]);
  int64_t sent = 0;
  while (sent < size) {
    auto readable = co_await (*fill)->WaitReadable(sent);
    if (!readable.ok()) {
      // The announced body cannot be completed (the content was wrong, or the
      // upstream failed): only cutting the connection tells the client.
      log::Warn("proxy: blob fill failed while streaming",
                {{"repository", m.name}, {"digest", digest.str()}, {"error", readable.status().message()}});
      ex.Abort();
      co_return true;
    }
    const size_t want = static_cast<size_t>(std::min<int64_t>(*readable, static_cast<int64_t>(kPiece)));
    auto n = (*reader)->Read(buf.get(), want);
    if (!n.ok() || *n == 0) {
      ex.Abort();
      co_return true;
    }
    std::span<const char> piece(buf.get(), *n);
    // A client gone does not stop the fill (it runs on its own).
    if (Status s = co_await ex.WriteBody(piece); !s.ok()) co_return true;
    sent += static_cast<int64_t>(*n);
  }
  co_return true;
}

}  // namespace berth::registry
