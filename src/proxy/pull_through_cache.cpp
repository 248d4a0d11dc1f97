#include "proxy/pull_through_cache.h"

#include <cstdlib>
#include <span>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <fstream>
#include <sstream>

#include "http/blocking.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "observability/proxy_metrics.h"
#include "storage/layout.h"
#include "util/log.h"
#include "util/test_hooks.h"

namespace berth::proxy {
namespace {

constexpr size_t kPiece = 1 << 20;
constexpr size_t kAlign = 4096;  // the store writes uploads with O_DIRECT: aligned pieces go straight through

std::string ManifestAccept() {
  return std::string(oci::media::kOciIndex) + ", " + std::string(oci::media::kOciManifest) + ", " +
         std::string(oci::media::kDockerManifestList) + ", " + std::string(oci::media::kDockerManifest);
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read password_file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

// The storage write and the rows of a cached manifest, on the database threads
// (as the registry's manifest PUT). Its blobs are references the store need not
// hold yet (foreign): a cache fetches them only when they are pulled.
struct StoreManifestCall {
  metadata::MetadataStore* meta;
  storage::ManifestStore* manifests;
  std::string name;
  std::string body;
  oci::Manifest manifest;
  oci::Digest digest;
  std::string tag;

  Status operator()() const {
    metadata::ManifestRecord record = metadata::ManifestRecord::From(digest, body, manifest);
    for (auto& b : record.blobs) b.foreign = true;
    std::function<Status()> store = [this] { return manifests->Put(name, body, manifest, digest, tag); };
    return meta->PutManifest(name, record, tag, store);
  }
};

// Before the commit may keep bytes that already exist (content-addressed): the
// blob's row protected from GC, as an upload's (docs/gc.md).
struct ProtectBlobCall {
  metadata::MetadataStore* meta;
  std::string digest;
  int64_t size;
  Status operator()() const { return meta->ProtectBlob(digest, size); }
};

struct RecordFilledBlobCall {
  metadata::MetadataStore* meta;
  storage::ManifestStore* manifests;
  std::string name;
  oci::Digest digest;
  int64_t size;
  Status operator()() const { return RecordFilledBlob(*meta, *manifests, name, digest, size); }
};

}  // namespace

// ---- RecordFilledBlob ----

Status RecordFilledBlob(metadata::MetadataStore& meta, storage::ManifestStore& manifests, const std::string& name,
                        const oci::Digest& digest, int64_t size) {
  // The manifests listing the blob are found by reading the candidates' stored bytes.
  auto candidates = meta.ManifestsNotReferencing(name, digest.str());
  if (!candidates.ok()) return candidates.status();
  std::vector<std::string> referencing;
  for (const std::string& candidate : *candidates) {
    auto ref = oci::Reference::Parse(candidate);
    if (!ref.ok()) continue;
    auto stored = manifests.Get(name, *ref);
    if (!stored.ok()) continue;  // deleted meanwhile: nothing to reference
    auto parsed = oci::ParseManifest(stored->body, stored->media_type);
    if (!parsed.ok()) continue;
    bool lists = parsed->config && parsed->config->digest == digest;
    for (const auto& layer : parsed->layers) lists = lists || layer.digest == digest;
    if (lists) referencing.push_back(candidate);
  }
  return meta.LinkCachedBlob(name, digest.str(), size, referencing);
}

// ---- BlobFill ----

http::Task<Result<std::unique_ptr<storage::FileReader>>> BlobFill::OpenReader() {
  if (driver_.Info().can_read_unfinished) {
    std::string path;
    {
      MutexLock lock(mu_);
      path = data_path_;
    }
    if (!path.empty() && !committed_.load()) {
      // An open descriptor follows the file when the commit renames it into place.
      auto r = driver_.Reader(path, 0);
      if (r.ok()) co_return std::move(*r);
    }
  }
  // Wait for the fill to end, then read the blob itself.
  while (!committed_.load()) {
    if (failed_.load()) {
      MutexLock lock(mu_);
      co_return failure_;
    }
    co_await Pause(std::chrono::milliseconds(5));
  }
  co_return blobs_.Open(digest_, 0);
}

http::Task<Result<int64_t>> BlobFill::WaitReadable(int64_t offset) {
  auto interval = std::chrono::microseconds(500);
  while (true) {
    if (failed_.load()) {
      MutexLock lock(mu_);
      co_return failure_;
    }
    const int64_t written = written_.load();
    const int64_t limit = committed_.load() ? written : std::min(written, size_.load() - 1);
    if (limit > offset) co_return limit - offset;
    co_await Pause(interval);
    if (interval < std::chrono::milliseconds(10)) interval *= 2;
  }
}

// ---- PullThroughCache ----

Result<std::unique_ptr<PullThroughCache>> PullThroughCache::Create(
    const std::vector<config::ProxyUpstreamConfig>& upstreams, storage::StorageDriver& driver,
    storage::BlobStore& blobs, storage::UploadStore& uploads, storage::ManifestStore& manifests,
    metadata::MetadataStore& meta, boost::asio::thread_pool& db_threads) {
  std::unique_ptr<PullThroughCache> c(new PullThroughCache(driver, blobs, uploads, manifests, meta, db_threads));
  std::vector<std::string> names;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    const auto& u = upstreams[i];
    UpstreamOptions o;
    o.url = u.url;
    o.username = u.username;
    o.password = u.password;
    o.ca_file = u.ca_file;
    if (!u.password_file.empty()) {
      auto p = ReadSecretFile(u.password_file);
      if (!p.ok()) return Status::Invalid("proxy upstream " + u.prefix + ": " + p.status().message());
      o.password = *p;
    }
    auto client = UpstreamClient::Create(std::move(o));
    if (!client.ok()) return client.status();
    Upstream up{u, std::move(*client), false};
    up.docker_hub = u.url == "https://registry-1.docker.io" || u.url == "https://index.docker.io";
    c->upstreams_.push_back(std::move(up));
    if (u.mirror) c->mirror_ = i;
    names.push_back(u.prefix);
  }
  {
    MutexLock lock(c->mu_);
    c->active_fills_.assign(c->upstreams_.size(), 0);
  }
  obs::ProxyStats().SetUpstreams(std::move(names));
  return c;
}

ProxyRoute PullThroughCache::RouteTo(size_t upstream, std::string cache_name, std::string_view remote) const {
  ProxyRoute r;
  r.upstream = upstream;
  r.cache_name = std::move(cache_name);
  r.remote_name = std::string(remote);
  // Docker Hub keeps its official images under library/ ("alpine" is "library/alpine").
  if (upstreams_[upstream].docker_hub && r.remote_name.find('/') == std::string::npos) {
    r.remote_name = "library/" + r.remote_name;
  }
  return r;
}

std::optional<ProxyRoute> PullThroughCache::Prefixed(std::string_view name) const {
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    const std::string& prefix = upstreams_[i].config.prefix;
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) {
      return RouteTo(i, std::string(name), name.substr(prefix.size()));
    }
  }
  return std::nullopt;
}

std::optional<ProxyRoute> PullThroughCache::Mirrored(std::string_view name) const {
  if (!mirror_) return std::nullopt;
  if (Prefixed(name)) return std::nullopt;
  // Kept under the mirror's prefix, so the cache never mixes with local repositories.
  return RouteTo(*mirror_, upstreams_[*mirror_].config.prefix + std::string(name), name);
}

bool PullThroughCache::IsFresh(const std::string& key) {
  MutexLock lock(mu_);
  auto it = tag_checked_.find(key);
  return it != tag_checked_.end() && std::chrono::steady_clock::now() < it->second;
}

void PullThroughCache::MarkFresh(const ProxyRoute& route, const std::string& key) {
  // Stored as the deadline, so IsFresh needs no upstream.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(upstreams_[route.upstream].config.tag_ttl_s);
  MutexLock lock(mu_);
  tag_checked_[key] = deadline;
}

Status PullThroughCache::UpstreamFailure(const ProxyRoute& route, unsigned status, const std::string& what) {
  obs::ProxyStats().CountUpstreamError(route.upstream);
  const std::string where = "upstream " + UpstreamUrl(route) + " (" + route.remote_name + ")";
  if (status == 404) return Status::NotFound(what + " not found on " + where);
  if (status == 429) return Status::Busy(where + " rate-limits Berth (429)");
  if (status == 401 || status == 403) {
    return Status::Unavailable(where + " refused Berth's credentials (" + std::to_string(status) + ")");
  }
  return Status::Unavailable(where + " answered " + std::to_string(status) + " for " + what);
}

http::Task<Result<storage::StoredManifest>> PullThroughCache::GetManifest(ProxyRoute route, oci::Reference ref) {
  auto local = manifests_.Get(route.cache_name, ref);
  const std::string key = route.cache_name + (ref.is_digest() ? "@" : ":") + ref.str();
  // By digest: immutable, cached forever. By tag: while the upstream's confirmation is fresh.
  if (local.ok() && (ref.is_digest() || IsFresh(key))) {
    obs::ProxyStats().Count(route.upstream, obs::ProxyResult::kHit);
    co_return std::move(*local);
  }
  SingleFlight<storage::StoredManifest>::Work work = [this, route, ref]() { return Refresh(route, ref); };
  co_return co_await manifest_flights_.Do(key, std::move(work));
}

http::Task<Result<storage::StoredManifest>> PullThroughCache::Refresh(ProxyRoute route, oci::Reference ref) {
  auto local = manifests_.Get(route.cache_name, ref);
  const std::string key = route.cache_name + ":" + ref.str();
  if (!ref.is_digest() && local.ok()) {
    if (IsFresh(key)) co_return std::move(*local);  // refreshed by the run before this one
    // Revalidate: the tag's digest on the upstream, without its body.
    HeaderList headers{{"Accept", ManifestAccept()}};
    std::string method = "HEAD";
    std::string path = "/v2/" + route.remote_name + "/manifests/" + ref.tag;
    auto r = co_await upstreams_[route.upstream].client->Fetch(method, path, route.remote_name, headers);
    Status failure;
    if (!r.ok()) {
      obs::ProxyStats().CountUpstreamError(route.upstream);
      failure = r.status();
    } else if ((*r)->status() == 429 || (*r)->status() >= 500) {
      failure = UpstreamFailure(route, (*r)->status(), "manifest " + ref.tag);
    } else if ((*r)->status() == 200) {
      auto digest = oci::Digest::Parse((*r)->header("Docker-Content-Digest"));
      if (digest.ok() && *digest == local->digest) {
        MarkFresh(route, key);
        obs::ProxyStats().Count(route.upstream, obs::ProxyResult::kRevalidated);
        co_return std::move(*local);
      }
    }
    if (!failure.ok()) {
      log::Warn("proxy: serving a stale tag, the upstream failed",
                {{"repository", route.cache_name}, {"tag", ref.tag}, {"error", failure.message()}});
      obs::ProxyStats().Count(route.upstream, obs::ProxyResult::kStale);
      co_return std::move(*local);
    }
    // Another digest (or no digest in the HEAD answer): fetch it.
  }
  auto fetched = co_await FetchManifest(route, ref);
  if (!fetched.ok() && local.ok() && fetched.status().code() != StatusCode::kNotFound &&
      fetched.status().code() != StatusCode::kInvalidArgument) {
    log::Warn("proxy: serving a stale tag, the upstream failed",
              {{"repository", route.cache_name}, {"tag", ref.str()}, {"error", fetched.status().message()}});
    obs::ProxyStats().Count(route.upstream, obs::ProxyResult::kStale);
    co_return std::move(*local);
  }
  co_return fetched;
}

http::Task<Result<storage::StoredManifest>> PullThroughCache::FetchManifest(ProxyRoute route, oci::Reference ref) {
  obs::ProxyStats().Count(route.upstream, obs::ProxyResult::kMiss);
  HeaderList headers{{"Accept", ManifestAccept()}};
  std::string method = "GET";
  std::string path = "/v2/" + route.remote_name + "/manifests/" + ref.str();
  auto r = co_await upstreams_[route.upstream].client->Fetch(method, path, route.remote_name, headers);
  if (!r.ok()) {
    obs::ProxyStats().CountUpstreamError(route.upstream);
    co_return r.status();
  }
  if ((*r)->status() != 200) co_return UpstreamFailure(route, (*r)->status(), "manifest " + ref.str());
  auto body = co_await (*r)->ReadAll(oci::kMaxManifestBytes);
  if (!body.ok()) co_return UpstreamFailure(route, 502, "manifest " + ref.str() + " (" + body.status().message() + ")");
  obs::ProxyStats().AddUpstreamBytes(route.upstream, body->size());
  const std::string media_type(oci::media::StripParameters((*r)->header("Content-Type")));
  const oci::DigestAlgorithm algorithm = ref.is_digest() ? ref.digest.algorithm() : oci::DigestAlgorithm::kSha256;
  const oci::Digest digest = oci::DigestOf(*body, algorithm);
  auto claimed = oci::Digest::Parse((*r)->header("Docker-Content-Digest"));
  const bool claim_differs = claimed.ok() && claimed->algorithm() == algorithm && *claimed != digest;
  if ((ref.is_digest() && digest != ref.digest) || claim_differs) {
    obs::ProxyStats().CountUpstreamError(route.upstream);
    log::Error("proxy: upstream manifest does not match its digest; not cached",
               {{"repository", route.cache_name}, {"reference", ref.str()}, {"actual", digest.str()}});
    co_return Status::Unavailable("upstream " + UpstreamUrl(route) + " sent a manifest for " + ref.str() +
                                  " whose digest is " + digest.str() + ": not cached");
  }
  auto manifest = oci::ParseManifest(*body, media_type);
  if (!manifest.ok()) {
    obs::ProxyStats().CountUpstreamError(route.upstream);
    co_return Status::Unavailable("upstream " + UpstreamUrl(route) + " sent an invalid manifest for " + ref.str() +
                                  ": " + manifest.status().message());
  }
  StoreManifestCall store{&meta_, &manifests_, route.cache_name, *body, *manifest, digest, ref.tag};
  if (Status s = co_await http::RunBlocking(db_threads_, std::move(store)); !s.ok()) co_return s;
  if (!ref.is_digest()) MarkFresh(route, route.cache_name + ":" + ref.tag);
  auto stored = manifests_.Get(route.cache_name, ref);
  co_return stored;
}

http::Task<Result<int64_t>> PullThroughCache::StatBlob(ProxyRoute route, oci::Digest digest) {
  std::string method = "HEAD";
  std::string path = "/v2/" + route.remote_name + "/blobs/" + digest.str();
  HeaderList headers;
  auto r = co_await upstreams_[route.upstream].client->Fetch(method, path, route.remote_name, headers);
  if (!r.ok()) {
    obs::ProxyStats().CountUpstreamError(route.upstream);
    co_return r.status();
  }
  if ((*r)->status() != 200) co_return UpstreamFailure(route, (*r)->status(), "blob " + digest.str());
  if ((*r)->content_length() < 0) co_return UpstreamFailure(route, 502, "blob " + digest.str() + " (no length)");
  co_return (*r)->content_length();
}

http::Task<Result<std::shared_ptr<BlobFill>>> PullThroughCache::FillBlob(ProxyRoute route, oci::Digest digest) {
  const std::string key = route.cache_name + "@" + digest.str();
  std::shared_ptr<BlobFill> fill;
  bool leader = false;
  const int64_t max_fills = upstreams_[route.upstream].config.max_fills;
  {
    MutexLock lock(mu_);
    auto it = fills_.find(key);
    if (it != fills_.end()) {
      fill = it->second;  // joining a fill in flight costs no memory of its own
    } else if (active_fills_[route.upstream] < max_fills) {
      fill = std::make_shared<BlobFill>(driver_, blobs_, digest);
      fills_.emplace(key, fill);
      ++active_fills_[route.upstream];
      leader = true;
    }
  }
  if (!fill) {
    // Each fill holds buffers and an upload until its end, whoever is still
    // reading: their number is bounded, and the client asks again later.
    log::Warn("proxy: too many blob fetches from the upstream in flight; refused",
              {{"repository", route.cache_name}, {"digest", digest.str()}, {"max_fills", std::to_string(max_fills)}});
    co_return Status(StatusCode::kConflict, "upstream " + UpstreamUrl(route) + ": " + std::to_string(max_fills) +
                                                " blob fetches in flight (max_fills); try again shortly");
  }
  if (leader) {
    obs::ProxyStats().Count(route.upstream, obs::ProxyResult::kMiss);
    // Detached: the fill goes on when this client goes away. On a strand of
    // its own, so that it runs in parallel with the clients reading behind it.
    auto ex = co_await boost::asio::this_coro::executor;
    auto& ioc = static_cast<boost::asio::io_context&>(boost::asio::query(ex, boost::asio::execution::context));
    boost::asio::co_spawn(boost::asio::make_strand(ioc), RunFill(route, fill), boost::asio::detached);
  }
  auto interval = std::chrono::microseconds(500);
  while (fill->size() < 0) {
    if (fill->failed_.load()) {
      MutexLock lock(fill->mu_);
      co_return fill->failure_;
    }
    co_await Pause(interval);
    if (interval < std::chrono::milliseconds(10)) interval *= 2;
  }
  co_return fill;
}

void PullThroughCache::Fail(const ProxyRoute& route, BlobFill& fill, Status s) {
  {
    MutexLock lock(fill.mu_);
    fill.failure_ = std::move(s);
  }
  fill.failed_.store(true);
  EndFill(route, fill);
}

void PullThroughCache::EndFill(const ProxyRoute& route, const BlobFill& fill) {
  MutexLock lock(mu_);
  // Only this fill's entry (idempotent: a later fill of the same blob may hold the key).
  auto it = fills_.find(route.cache_name + "@" + fill.digest_.str());
  if (it == fills_.end() || it->second.get() != &fill) return;
  fills_.erase(it);
  --active_fills_[route.upstream];
}

http::Task<void> PullThroughCache::RunFill(ProxyRoute route, std::shared_ptr<BlobFill> fill) {
  // Detached: an exception must not leave the fill's entry behind (its
  // clients, and every later client of the blob, would wait forever).
  std::string error;
  try {
    co_await FillFromUpstream(route, fill);
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "exception";
  } catch (...) {
    error = "unknown exception";
  }
  if (error.empty()) co_return;
  log::Error("proxy: blob fill failed unexpectedly",
             {{"repository", route.cache_name}, {"digest", fill->digest_.str()}, {"error", error}});
  if (fill->committed_.load()) {
    EndFill(route, *fill);
  } else {
    Fail(route, *fill, Status::IoError("unexpected error: " + error));
  }
}

http::Task<void> PullThroughCache::FillFromUpstream(ProxyRoute route, std::shared_ptr<BlobFill> fill) {
  test_hooks::Reach("proxy.fill.started");  // tests/e2e/proxy_test.sh (max_fills)
  const oci::Digest digest = fill->digest_;
  const auto started = std::chrono::steady_clock::now();
  auto uuid = uploads_.Start(route.cache_name);
  if (!uuid.ok()) {
    Fail(route, *fill, uuid.status());
    co_return;
  }
  auto session = uploads_.Acquire(route.cache_name, *uuid);
  if (!session.ok()) {
    Fail(route, *fill, session.status());
    co_return;
  }
  {
    MutexLock lock(fill->mu_);
    fill->data_path_ = storage::layout::UploadData(route.cache_name, *uuid);
  }
  Status failure;
  std::string method = "GET";
  std::string path = "/v2/" + route.remote_name + "/blobs/" + digest.str();
  HeaderList headers;
  auto r = co_await upstreams_[route.upstream].client->Fetch(method, path, route.remote_name, headers);
  if (!r.ok()) {
    obs::ProxyStats().CountUpstreamError(route.upstream);
    failure = r.status();
  } else if ((*r)->status() != 200) {
    failure = UpstreamFailure(route, (*r)->status(), "blob " + digest.str());
  } else if ((*r)->content_length() < 0) {
    failure = UpstreamFailure(route, 502, "blob " + digest.str() + " (sent without a Content-Length)");
  }
  if (failure.ok()) {
    const int64_t size = (*r)->content_length();
    fill->size_.store(size);
    // Two aligned buffers take turns: the store writes piece k on its write
    // pool (AppendPiece) while piece k+1 arrives here.
    std::unique_ptr<char, FreeDeleter> bufs[2];
    for (auto& b : bufs) {
      void* p = nullptr;
      if (::posix_memalign(&p, kAlign, kPiece) == 0) b.reset(static_cast<char*>(p));
    }
    int turn = 0;
    int64_t written = 0;
    while (failure.ok() && bufs[0] && bufs[1]) {
      char* buf = bufs[turn].get();
      turn ^= 1;
      // Whole 1 MiB pieces (the response arrives in smaller reads): large aligned writes.
      size_t filled = 0;
      bool end = false;
      while (filled < kPiece) {
        auto n = co_await (*r)->Read(buf + filled, kPiece - filled);
        if (!n.ok()) {
          obs::ProxyStats().CountUpstreamError(route.upstream);
          failure = Status::Unavailable("upstream " + UpstreamUrl(route) + ": " + n.status().message());
          break;
        }
        if (*n == 0) {
          end = true;
          break;
        }
        filled += *n;
      }
      if (!failure.ok()) break;
      if (written + static_cast<int64_t>(filled) > size) {
        failure = UpstreamFailure(route, 502, "blob " + digest.str() + " (longer than its Content-Length)");
        break;
      }
      if (filled > 0) {
        // Returns once the previous piece is stored: readers may then read it.
        if (Status s = (*session)->AppendPiece(std::span<const char>(buf, filled)); !s.ok()) {
          failure = s;
          break;
        }
        fill->written_.store(written);
        written += static_cast<int64_t>(filled);
        obs::ProxyStats().AddUpstreamBytes(route.upstream, filled);
      }
      if (end) break;
    }
    if (Status s = (*session)->FinishPieces(); !s.ok() && failure.ok()) failure = s;
    if (failure.ok()) fill->written_.store(written);
    if (!bufs[0] || !bufs[1]) failure = Status::IoError("out of memory");
    if (failure.ok() && written != size) {
      failure = UpstreamFailure(route, 502, "blob " + digest.str() + " (the upstream closed early)");
    }
    if (failure.ok()) {
      ProtectBlobCall protect{&meta_, digest.str(), size};
      Status guard = co_await http::RunBlocking(db_threads_, std::move(protect));
      if (!guard.ok()) failure = guard;
    }
    if (failure.ok()) {
      Status s = (*session)->Commit(digest);
      if (s.code() == StatusCode::kInvalidArgument) {
        obs::ProxyStats().CountUpstreamError(route.upstream);
        log::Error("proxy: upstream blob does not match its digest; not cached",
                   {{"repository", route.cache_name}, {"digest", digest.str()}, {"error", s.message()}});
        failure = Status::Unavailable("upstream " + UpstreamUrl(route) + " sent content for " + digest.str() +
                                      " that does not match it: not cached");
      } else {
        failure = s;
      }
    }
  }
  session->reset();
  if (!failure.ok()) {
    (void)uploads_.Cancel(route.cache_name, *uuid);
    Fail(route, *fill, failure);
    co_return;
  }
  // As a push: the link's row after storage. Without it GC would not see the
  // link, so a failure takes the storage link back and fails the fill.
  RecordFilledBlobCall record{&meta_, &manifests_, route.cache_name, digest, fill->size()};
  Status recorded = co_await http::RunBlocking(db_threads_, std::move(record));
  if (!recorded.ok()) {
    log::Error("proxy: cached blob not recorded in the metadata database; not cached",
               {{"repository", route.cache_name}, {"digest", digest.str()}, {"error", recorded.message()}});
    (void)blobs_.Unlink(route.cache_name, digest);
    Fail(route, *fill, recorded);
    co_return;
  }
  fill->committed_.store(true);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  log::Info("proxy: blob cached", {{"repository", route.cache_name},
                                   {"digest", digest.str()},
                                   {"bytes", std::to_string(fill->size())},
                                   {"duration_ms", std::to_string(ms.count())}});
  EndFill(route, *fill);
}

}  // namespace berth::proxy
