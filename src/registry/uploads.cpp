// Blob uploads: POST (start, monolithic, mount), GET (status), PATCH (chunk),
// PUT (finish), DELETE (cancel) under /v2/<name>/blobs/uploads/.
#include <functional>
#include <memory>

#include "http/blocking.h"
#include "http/range.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {
namespace {

http::Response UploadStateResponse(unsigned status, const std::string& name, const std::string& uuid, int64_t size) {
  http::Response r(status);
  r.Set("Location", UploadLocation(name, uuid));
  r.Set("Range", RangeHeader(size));
  r.Set("Docker-Upload-UUID", uuid);
  return r;
}

http::Response BlobCreated(const std::string& name, const oci::Digest& d) {
  http::Response r(201);
  r.Set("Location", "/v2/" + name + "/blobs/" + d.str());
  r.Set("Docker-Content-Digest", d.str());
  return r;
}

// A status of 0 stands for "the connection is gone, nothing to answer".
Task<void> SendUnlessBroken(Exchange& ex, http::Response r) {
  if (r.status != 0 && !ex.broken()) co_await ex.Send(std::move(r));
}

http::Response UploadUnknown() { return Error(code::kBlobUploadUnknown, "blob upload unknown to registry"); }

http::Response SessionError(const Status& s) {
  if (s.IsNotFound()) return UploadUnknown();
  if (s.code() == StatusCode::kBusy) {
    return Error(code::kUploadBusy, "the upload is being written by another request");
  }
  return StorageErrorResponse(s);
}

// The spec's check of a chunk's Content-Range, one for PATCH and for the PUT
// that carries a last chunk: malformed, or not starting where the upload ends,
// is 416 with the upload's state (the client resumes from its Range); a
// Content-Length that disagrees with the range is SIZE_INVALID.
std::optional<http::Response> CheckContentRange(const Exchange& ex, const std::string& name, const std::string& uuid,
                                                int64_t size) {
  auto range = http::ParseUploadContentRange(ex.header("Content-Range"));
  if (!range || range->first != size) {
    const std::string_view why = range ? "chunk does not start at the end of the upload" : "malformed Content-Range";
    http::Response r = Error(code::kUploadRangeInvalid, why);
    r.Set("Location", UploadLocation(name, uuid));
    r.Set("Range", RangeHeader(size));
    r.Set("Docker-Upload-UUID", uuid);
    return r;
  }
  if (ex.content_length() && static_cast<int64_t>(*ex.content_length()) != range->length()) {
    return Error(code::kSizeInvalid, "Content-Length does not match Content-Range");
  }
  return std::nullopt;
}

}  // namespace

Task<std::optional<http::Response>> RegistryApi::ReceiveBody(Exchange& ex, storage::UploadSession& session) {
  // AppendPiece pipelines large pieces (the session's write of piece k runs
  // while the next one is received here); reading piece k+1 only after
  // AppendPiece(k) has returned is what keeps piece k intact until its write is done.
  while (true) {
    auto piece = co_await ex.ReadBody();
    if (!piece.ok() || piece->empty()) {
      if (Status s = session.FinishPieces(); !s.ok()) co_return StorageErrorResponse(s);
      if (piece.ok()) co_return std::nullopt;
      // The client went away or sent broken framing: what arrived is kept and
      // the upload can be resumed from its current size.
      if (ex.broken()) co_return http::Response(0);
      co_return Error(code::kBlobUploadInvalid, piece.status().message());
    }
    if (Status s = session.AppendPiece(*piece); !s.ok()) co_return StorageErrorResponse(s);
  }
}

Task<void> RegistryApi::ReceiveAndCommit(Exchange& ex, const RouteMatch& m,
                                         std::unique_ptr<storage::UploadSession> session, const oci::Digest& digest) {
  const std::string& name = m.name;
  if (auto failed = co_await ReceiveBody(ex, *session)) {
    session.reset();  // free the upload before the client can retry
    co_await SendUnlessBroken(ex, std::move(*failed));
    co_return;
  }
  const int64_t size = session->size();
  // The last moment a quota can refuse: before the bytes become visible (docs/policies.md).
  auto over_quota = co_await RefuseOverQuota(name, size, digest.str());
  if (over_quota) {
    session.reset();
    co_await ex.Send(std::move(*over_quota));
    co_return;
  }
  // Protect the blob from GC before the commit may keep bytes that already
  // exist (content-addressed): a blob GC has claimed is waited for and then
  // written afresh (docs/gc.md).
  Status guard = co_await ProtectBlobRow(digest, size);
  if (!guard.ok()) {
    session.reset();
    co_await ex.Send(MetadataErrorResponse(guard));
    co_return;
  }
  // The link is written below, under the repository's lock (never while the body streams).
  Status s = session->Commit(digest, storage::UploadSession::Linking::kByCaller);
  session.reset();
  if (s.code() == StatusCode::kInvalidArgument) {
    co_await ex.Send(Error(code::kDigestInvalid, s.message(), "digest", digest.str()));
    co_return;
  }
  if (!s.ok()) {
    co_await ex.Send(StorageErrorResponse(s));
    co_return;
  }
  // Stored: now the link, storage then database (write order, docs/metadata.md).
  Status linked = co_await LinkBlobInRepository(name, digest, size);
  if (!linked.ok()) {
    co_await ex.Send(WriteErrorResponse(linked));
    co_return;
  }
  // The event is durable before the client hears of the blob (docs/events.md).
  Status recorded = co_await Notify(ex, m, BlobTarget(digest, size), BlobPath(name, digest));
  if (!recorded.ok()) {
    co_await ex.Send(Error(code::kUnavailable, recorded.message()));
    co_return;
  }
  co_await ex.Send(BlobCreated(name, digest));
}

Task<Status> RegistryApi::ProtectBlobRow(const oci::Digest& digest, int64_t size) {
  metadata::MetadataStore* meta = &meta_;
  auto protect = [meta, key = digest.str(), size] { return meta->ProtectBlob(key, size); };
  co_return co_await http::RunBlocking(db_threads_, std::move(protect));
}

namespace {

// The blocking link step of an upload or mount, run on the database threads.
struct LinkBlobCall {
  metadata::MetadataStore* meta;
  storage::BlobStore* blobs;
  std::string name;
  oci::Digest digest;
  int64_t size;

  Status operator()() const {
    std::function<Status()> store = [this] { return blobs->Link(name, digest); };
    return meta->LinkBlob(name, digest.str(), size, store);
  }
};

}  // namespace

Task<Status> RegistryApi::LinkBlobInRepository(const std::string& name, const oci::Digest& digest, int64_t size) {
  LinkBlobCall call{&meta_, &blobs_, name, digest, size};
  co_return co_await http::RunBlocking(db_threads_, std::move(call));
}

Task<void> RegistryApi::StartUpload(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  if (auto refusal = RefuseProxiedPush(name)) {
    co_await ex.Send(std::move(*refusal));
    co_return;
  }
  // A mount also reads the source repository: without pull there, no mount.
  const bool may_mount = m.identity == nullptr || m.identity->Can("repository", QueryParam(ex, "from"), "pull");
  // Cross-repository mount: link an existing blob without any data transfer.
  if (may_mount && HasQueryParam(ex, "mount")) {
    auto digest = oci::Digest::Parse(QueryParam(ex, "mount"));
    std::string from = QueryParam(ex, "from");
    auto size = digest.ok() && oci::IsValidRepositoryName(from) ? blobs_.StatInRepository(from, *digest)
                                                                : Result<int64_t>(Status::NotFound("not mountable"));
    // Protect the blob from GC before linking it; then its bytes must still be
    // there (a claim GC finished meanwhile deleted them): else a normal upload.
    if (size.ok()) {
      Status guard = co_await ProtectBlobRow(*digest, *size);
      if (guard.ok()) size = blobs_.StatInRepository(from, *digest);
      if (!guard.ok() && guard.code() != StatusCode::kBusy) {
        co_await ex.Send(MetadataErrorResponse(guard));
        co_return;
      }
      if (!guard.ok()) size = Result<int64_t>(Status::NotFound("being garbage collected"));
    }
    if (size.ok()) {
      // A mount from outside the quota's repositories adds the blob's bytes (from inside: nothing).
      auto over_quota = co_await RefuseOverQuota(name, *size, digest->str());
      if (over_quota) {
        co_await ex.Send(std::move(*over_quota));
        co_return;
      }
      Status linked = co_await LinkBlobInRepository(name, *digest, *size);
      if (!linked.ok()) {
        co_await ex.Send(WriteErrorResponse(linked));
        co_return;
      }
      events::Target target = BlobTarget(*digest, *size);
      target.from_repository = from;
      Status recorded = co_await Notify(ex, m, std::move(target), BlobPath(name, *digest));
      if (!recorded.ok()) {
        co_await ex.Send(Error(code::kUnavailable, recorded.message()));
        co_return;
      }
      co_await ex.Send(BlobCreated(name, *digest));
      co_return;
    }
    // Not mountable: fall back to a normal upload session, as the spec says.
  }
  std::optional<oci::Digest> monolithic;
  if (HasQueryParam(ex, "digest")) {
    auto d = oci::Digest::Parse(QueryParam(ex, "digest"));
    if (!d.ok()) {
      co_await ex.Send(Error(code::kDigestInvalid, d.status().message()));
      co_return;
    }
    monolithic = *d;
  }
  // A monolithic upload announces its size: a quota refuses it before any byte is received.
  if (monolithic && ex.content_length()) {
    auto over_quota = co_await RefuseOverQuota(name, static_cast<int64_t>(*ex.content_length()), monolithic->str());
    if (over_quota) {
      co_await ex.Send(std::move(*over_quota));
      co_return;
    }
  }
  auto uuid = uploads_.Start(name);
  if (!uuid.ok()) {
    co_await ex.Send(StorageErrorResponse(uuid.status()));
    co_return;
  }
  if (!monolithic) {
    co_await ex.Send(UploadStateResponse(202, name, *uuid, 0));
    co_return;
  }
  auto session = uploads_.Acquire(name, *uuid);
  if (!session.ok()) {
    co_await ex.Send(SessionError(session.status()));
    co_return;
  }
  co_await ReceiveAndCommit(ex, m, std::move(*session), *monolithic);
}

Task<void> RegistryApi::GetUploadStatus(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  const std::string& uuid = m.arg;
  auto size = uploads_.Size(name, uuid);
  if (!size.ok()) {
    co_await ex.Send(SessionError(size.status()));
    co_return;
  }
  co_await ex.Send(UploadStateResponse(204, name, uuid, *size));
}

Task<void> RegistryApi::PatchUpload(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  const std::string& uuid = m.arg;
  auto session = uploads_.Acquire(name, uuid);
  if (!session.ok()) {
    co_await ex.Send(SessionError(session.status()));
    co_return;
  }
  storage::UploadSession& up = **session;
  if (!ex.header("Content-Range").empty()) {
    if (auto refusal = CheckContentRange(ex, name, uuid, up.size())) {
      session->reset();  // free the upload before the client can retry
      co_await ex.Send(std::move(*refusal));
      co_return;
    }
  }
  // A chunk with a length announces what the upload will hold at least: a quota refuses it before it is received.
  if (ex.content_length() && *ex.content_length() > 0) {
    const int64_t announced = up.size() + static_cast<int64_t>(*ex.content_length());
    auto over_quota = co_await RefuseOverQuota(name, announced, "");
    if (over_quota) {
      session->reset();
      co_await ex.Send(std::move(*over_quota));
      co_return;
    }
  }
  if (auto failed = co_await ReceiveBody(ex, up)) {
    session->reset();
    co_await SendUnlessBroken(ex, std::move(*failed));
    co_return;
  }
  const int64_t size = up.size();
  // Release the upload before answering: the client's next request (often on
  // another connection) may arrive the moment it reads the response.
  session->reset();
  co_await ex.Send(UploadStateResponse(202, name, uuid, size));
}

Task<void> RegistryApi::PutUpload(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  const std::string& uuid = m.arg;
  auto digest = oci::Digest::Parse(QueryParam(ex, "digest"));
  if (!digest.ok()) {
    co_await ex.Send(Error(code::kDigestInvalid, "the digest query parameter is missing or invalid"));
    co_return;
  }
  auto session = uploads_.Acquire(name, uuid);
  if (!session.ok()) {
    co_await ex.Send(SessionError(session.status()));
    co_return;
  }
  storage::UploadSession& up = **session;
  if (!ex.header("Content-Range").empty() && ex.has_body()) {
    if (auto refusal = CheckContentRange(ex, name, uuid, up.size())) {
      session->reset();  // free the upload before the client can retry
      co_await ex.Send(std::move(*refusal));
      co_return;
    }
  }
  co_await ReceiveAndCommit(ex, m, std::move(*session), *digest);
}

Task<void> RegistryApi::CancelUpload(Exchange& ex, const RouteMatch& m) {
  const std::string& name = m.name;
  const std::string& uuid = m.arg;
  Status s = uploads_.Cancel(name, uuid);
  if (!s.ok()) {
    co_await ex.Send(SessionError(s));
    co_return;
  }
  co_await ex.Send(http::Response(204));
}

}  // namespace berth::registry
