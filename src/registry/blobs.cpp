// GET/HEAD/DELETE /v2/<name>/blobs/<digest>
#include <boost/asio/post.hpp>
#include <functional>

#include "http/blocking.h"
#include "http/range.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {

Task<void> RegistryApi::GetBlob(Exchange& ex, const RouteMatch& m) {
  if (proxy_) {
    const bool served = co_await ServeProxiedBlob(ex, m);
    if (served) co_return;
  }
  co_await SendBlob(ex, m.name, *m.digest);
  const unsigned status = ex.status();
  if (events_ != nullptr && events_->Wants(events::kPull) && (status == 200 || status == 206 || status == 307)) {
    auto size = blobs_.StatInRepository(m.name, *m.digest);
    if (size.ok()) {
      Status recorded = co_await Notify(ex, m, BlobTarget(*m.digest, *size), BlobPath(m.name, *m.digest));
      (void)recorded;  // a pull event is best effort (logged by Notify)
    }
  }
}

Task<void> RegistryApi::SendBlob(Exchange& ex, const std::string& name, const oci::Digest& digest) {
  auto blob = blobs_.Find(name, digest);
  if (!blob.ok()) {
    if (blob.status().IsNotFound()) {
      co_await ex.Send(Error(code::kBlobUnknown, "blob unknown to registry", "digest", digest.str()));
    } else {
      co_await ex.Send(StorageErrorResponse(blob.status()));
    }
    co_return;
  }
  const int64_t size = blob->size();
  if (ex.is_head()) {
    // A HEAD may let the client skip an upload: renew the blob's grace against
    // GC. In the background (the answer never waits for the database); a failure
    // only leaves an older touch time.
    metadata::MetadataStore* meta = &meta_;
    std::string key = digest.str();
    auto touch = [meta, key] { (void)meta->TouchBlob(key); };
    boost::asio::post(db_threads_, std::move(touch));
  }
  const std::string etag = "\"" + digest.str() + "\"";
  http::Response r(200);
  r.Set("Docker-Content-Digest", digest.str());
  r.Set("ETag", etag);
  r.Set("Accept-Ranges", "bytes");
  r.Set("Cache-Control", "max-age=31536000");
  if (ex.header("If-None-Match") == etag) {
    r.status = 304;
    co_await ex.Send(std::move(r));
    co_return;
  }
  if (options_.redirect_enabled && !ex.is_head()) {
    // Let the client fetch the bytes from the storage itself (a presigned URL).
    auto url = blob->RedirectUrl();
    if (url.ok()) {
      http::Response redirect(307);
      redirect.Set("Location", *url);
      redirect.Set("Docker-Content-Digest", digest.str());
      co_await ex.Send(std::move(redirect));
      co_return;
    }
    // Unsupported by this driver: serve the bytes ourselves.
  }
  r.Set("Content-Type", "application/octet-stream");
  http::ByteRange range{0, size - 1};
  switch (http::ParseRangeHeader(ex.header("Range"), size, &range)) {
    case http::RangeResult::kSatisfiable:
      r.status = 206;
      r.Set("Content-Range",
            "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size));
      break;
    case http::RangeResult::kUnsatisfiable: {
      auto e = Error(code::kRangeNotSatisfiable, "requested range not satisfiable");
      e.Set("Content-Range", "bytes */" + std::to_string(size));
      co_await ex.Send(std::move(e));
      co_return;
    }
    case http::RangeResult::kNone:
    case http::RangeResult::kMalformed:  // RFC 9110: an unusable Range is ignored
      range = {0, size - 1};
      break;
  }
  const int64_t length = size == 0 ? 0 : range.length();
  if (ex.is_head()) {
    co_await ex.SendStream(std::move(r), length, nullptr);
    co_return;
  }
  auto reader = blob->Open(range.first);
  if (!reader.ok()) {
    co_await ex.Send(StorageErrorResponse(reader.status()));
    co_return;
  }
  storage::FileReader* raw = reader->get();
  http::BodySource source = [raw](char* buf, size_t n) { return raw->Read(buf, n); };
  std::optional<http::FileSpan> file;
  if (raw->NativeFd() >= 0) file = http::FileSpan{raw->NativeFd(), raw->Position()};
  co_await ex.SendStream(std::move(r), length, std::move(source), file);
}

namespace {

// The blocking half of a blob DELETE, run on the database threads (it holds the repository's write lock).
struct UnlinkBlobCall {
  metadata::MetadataStore* meta;
  storage::BlobStore* blobs;
  std::string name;
  oci::Digest digest;

  Status operator()() const {
    std::function<Status()> store = [this] { return blobs->Unlink(name, digest); };
    return meta->UnlinkBlob(name, digest.str(), store);
  }
};

}  // namespace

Task<void> RegistryApi::DeleteBlob(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  const oci::Digest& digest = *m.digest;
  if (!options_.delete_enabled) {
    co_await ex.Send(Error(code::kUnsupported, "deletes are disabled on this registry"));
    co_return;
  }
  // The database first (the link leaves listings and GC's view), storage after,
  // under the repository's write lock (as every link write: docs/gc.md): a
  // crash in between leaves storage ahead, which `berth db check` reports.
  // Unknown to the database, the link may still be in storage (ahead after a
  // crash): removed all the same.
  UnlinkBlobCall unlink{&meta_, &blobs_, name, digest};
  Status s = co_await http::RunBlocking(db_threads_, std::move(unlink));
  if (s.IsNotFound()) {
    co_await ex.Send(Error(code::kBlobUnknown, "blob unknown to registry", "digest", digest.str()));
    co_return;
  }
  if (!s.ok()) {
    co_await ex.Send(WriteErrorResponse(s));
    co_return;
  }
  events::Target target;
  target.digest = digest.str();
  Status recorded = co_await Notify(ex, m, std::move(target), BlobPath(name, digest));
  if (!recorded.ok()) {
    co_await ex.Send(Error(code::kUnavailable, recorded.message()));
    co_return;
  }
  http::Response r(202);
  r.Set("Docker-Content-Digest", digest.str());
  co_await ex.Send(std::move(r));
}

}  // namespace berth::registry
