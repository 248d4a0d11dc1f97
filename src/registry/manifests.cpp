// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>
#include "http/blocking.h"
#include "oci/manifest.h"
#include "oci/name.h"
#include "registry/api.h"
#include "registry/errors.h"

namespace berth::registry {
namespace {

http::Response ManifestUnknown(const std::string& reference) {
  return Error(code::kManifestUnknown, "manifest unknown to registry", "reference", reference);
}

// How a reference that does not parse is answered (docs/api.md has the table).
enum class Use : uint8_t {
  kRead,   // GET/HEAD: a tag that cannot exist is simply unknown (404), as in distribution and the conformance suite
  kWrite,  // PUT/DELETE: the client named something it cannot name (400)
};

// Parses a reference; on failure returns the error response to send. With a
// ':' it is a digest: a malformed one is DIGEST_INVALID on every method.
std::optional<http::Response> ParseReference(const std::string& text, Use use, oci::Reference* out) {
  auto ref = oci::Reference::Parse(text);
  if (ref.ok()) {
    *out = std::move(*ref);
    return std::nullopt;
  }
  if (text.find(':') != std::string::npos) {
    return Error(code::kDigestInvalid, ref.status().message(), "digest", text);
  }
  if (use == Use::kRead) return ManifestUnknown(text.substr(0, 200));
  return Error(code::kManifestInvalid, "invalid tag", "tag", text.substr(0, 200));
}

}  // namespace

Task<void> RegistryApi::GetManifest(Exchange& ex, const RouteMatch& match) {
  const std::string& name = match.name;
  const std::string& reference = match.arg;
  oci::Reference ref;
  if (auto err = ParseReference(reference, Use::kRead, &ref)) {
    co_await ex.Send(std::move(*err));
    co_return;
  }
  if (proxy_) {
    const bool served = co_await ServeProxiedManifest(ex, match, ref);
    if (served) co_return;
  }
  auto m = manifests_.Get(name, ref);
  if (!m.ok()) {
    // (Not a ?: inside co_await: GCC 12 destroys such temporaries twice.)
    http::Response err = m.status().IsNotFound() ? ManifestUnknown(reference) : StorageErrorResponse(m.status());
    co_await ex.Send(std::move(err));
    co_return;
  }
  // Remembered in memory only, written by the pull flusher: a pull never waits for the database.
  meta_.TouchPulled(name, m->digest.str());
  if (events_ == nullptr || !events_->Wants(events::kPull)) {
    co_await SendManifest(ex, std::move(*m));
    co_return;
  }
  events::Target target = ManifestTarget(m->media_type, static_cast<int64_t>(m->body.size()), m->digest, ref.tag);
  const std::string path = ManifestPath(name, m->digest);
  co_await SendManifest(ex, std::move(*m));
  if (ex.status() == 200) {
    Status recorded = co_await Notify(ex, match, std::move(target), path);
    (void)recorded;  // a pull event is best effort (logged by Notify)
  }
}

Task<void> RegistryApi::SendManifest(Exchange& ex, storage::StoredManifest m) {
  const std::string etag = "\"" + m.digest.str() + "\"";
  http::Response r(200);
  r.Set("Content-Type", m.media_type);
  r.Set("Docker-Content-Digest", m.digest.str());
  r.Set("ETag", etag);
  if (ex.header("If-None-Match") == etag) {
    r.status = 304;
    co_await ex.Send(std::move(r));
    co_return;
  }
  if (ex.is_head()) r.content_length = static_cast<int64_t>(m.body.size());
  r.body = std::move(m.body);
  co_await ex.Send(std::move(r));
}

Task<void> RegistryApi::PutManifest(Exchange& ex, const RouteMatch& match) {
  const std::string& name = match.name;
  const std::string& reference = match.arg;
  oci::Reference ref;
  if (auto err = ParseReference(reference, Use::kWrite, &ref)) {
    co_await ex.Send(std::move(*err));
    co_return;
  }
  if (auto refusal = RefuseProxiedPush(name)) {
    co_await ex.Send(std::move(*refusal));
    co_return;
  }
  auto body = co_await ex.ReadBodyToString(oci::kMaxManifestBytes);
  if (!body.ok()) {
    if (body.status().code() == StatusCode::kOutOfRange) {
      co_await ex.Send(Error(code::kManifestTooLarge, "manifest is larger than 4 MiB"));
    } else if (!ex.broken()) {
      co_await ex.Send(Error(code::kManifestInvalid, body.status().message()));
    }
    co_return;
  }
  auto manifest = oci::ParseManifest(*body, ex.header("Content-Type"));
  if (!manifest.ok()) {
    co_await ex.Send(Error(code::kManifestInvalid, manifest.status().message()));
    co_return;
  }
  oci::Digest digest = oci::DigestOf(*body, ref.is_digest() ? ref.digest.algorithm() : oci::DigestAlgorithm::kSha256);
  if (ref.is_digest() && digest != ref.digest) {
    nlohmann::json detail = {{"digest", ref.digest.str()}, {"actual", digest.str()}};
    auto r = Error(code::kDigestInvalid, "manifest content does not match the digest in the URL", detail);
    co_await ex.Send(std::move(r));
    co_return;
  }
  if (Status s = manifests_.CheckReferences(name, *manifest); !s.ok()) {
    co_await ex.Send(Error(code::kManifestBlobUnknown, s.message()));
    co_return;
  }
  // The manifest's own bytes count towards a quota too (docs/policies.md).
  const int64_t manifest_size = static_cast<int64_t>(body->size());
  auto over_quota = co_await RefuseOverQuota(name, manifest_size, digest.str());
  if (over_quota) {
    co_await ex.Send(std::move(*over_quota));
    co_return;
  }
  events::Target target =
      ManifestTarget(std::string(manifest->media_type), static_cast<int64_t>(body->size()), digest, ref.tag);
  // Storage first, then the rows, under the repository's write lock (across
  // replicas): a DELETE of this manifest cannot interleave (docs/scale-out.md).
  // An immutable tag is checked there too (ImmutableTagGuard).
  auto refusal = std::make_shared<std::string>();
  Status s = co_await StoreManifest(name, std::move(*body), *manifest, digest, ref.tag, refusal);
  if (!refusal->empty()) {
    co_await ex.Send(Error(code::kForbidden, *refusal));
    co_return;
  }
  if (s.IsNotFound()) {
    // The database does not know a referenced blob (collected since the check above): upload it again.
    co_await ex.Send(Error(code::kManifestBlobUnknown, s.message()));
    co_return;
  }
  if (s.code() == StatusCode::kBusy) {  // a blob GC is collecting right now (docs/gc.md): try again
    co_await ex.Send(MetadataErrorResponse(s));
    co_return;
  }
  if (!s.ok()) {
    co_await ex.Send(WriteErrorResponse(s));
    co_return;
  }
  // The event is durable before the client hears of the manifest (docs/events.md).
  Status recorded = co_await Notify(ex, match, std::move(target), ManifestPath(name, digest));
  if (!recorded.ok()) {
    co_await ex.Send(Error(code::kUnavailable, recorded.message()));
    co_return;
  }
  http::Response r(201);
  r.Set("Location", "/v2/" + name + "/manifests/" + digest.str());
  r.Set("Docker-Content-Digest", digest.str());
  if (manifest->subject) r.Set("OCI-Subject", manifest->subject->digest.str());
  co_await ex.Send(std::move(r));
}

Task<void> RegistryApi::DeleteManifest(Exchange& ex, const RouteMatch& match) {
  const std::string& name = match.name;
  const std::string& reference = match.arg;
  if (!options_.delete_enabled) {
    co_await ex.Send(Error(code::kUnsupported, "deletes are disabled on this registry"));
    co_return;
  }
  oci::Reference ref;
  if (auto err = ParseReference(reference, Use::kWrite, &ref)) {
    co_await ex.Send(std::move(*err));
    co_return;
  }
  // The rows first, then storage, under the repository's write lock.
  auto refusal = std::make_shared<std::string>();
  Status s = co_await RemoveManifest(name, ref, refusal);
  if (!refusal->empty()) {
    co_await ex.Send(Error(code::kForbidden, *refusal));
    co_return;
  }
  if (s.IsNotFound()) {
    co_await ex.Send(ManifestUnknown(reference));
    co_return;
  }
  if (!s.ok()) {
    co_await ex.Send(WriteErrorResponse(s));
    co_return;
  }
  // distribution: a manifest deleted by digest names the digest, a tag deleted names the tag.
  events::Target target;
  std::string path = "/v2/" + name + "/manifests/" + reference;
  if (ref.is_digest()) {
    target.digest = ref.digest.str();
  } else {
    target.tag = ref.tag;
  }
  Status recorded = co_await Notify(ex, match, std::move(target), path);
  if (!recorded.ok()) {
    co_await ex.Send(Error(code::kUnavailable, recorded.message()));
    co_return;
  }
  co_await ex.Send(http::Response(202));
}

namespace {

// The blocking halves of a manifest PUT and DELETE, run on the database threads
// (they hold the repository's write lock while storage is written).
struct StoreManifestCall {
  metadata::MetadataStore* meta;
  storage::ManifestStore* manifests;
  storage::BlobStore* blobs;
  std::string name;
  std::string body;
  oci::Manifest manifest;
  oci::Digest digest;
  std::string tag;
  metadata::MetadataStore::TagGuard guard;  // immutable tags

  Status operator()() const {
    const metadata::ManifestRecord record = metadata::ManifestRecord::From(digest, body, manifest);
    // References are checked again under the repository's lock: garbage
    // collection removes unreferenced layer links under it (docs/gc.md), so a
    // manifest never lands referencing a blob its repository no longer links.
    std::function<Status()> store = [this]() -> Status {
      if (Status refs = manifests->CheckReferences(name, manifest); !refs.ok()) return refs;
      return manifests->Put(name, body, manifest, digest, tag);
    };
    Status s = meta->PutManifest(name, record, tag, store, guard);
    if (!s.IsNotFound()) return s;
    // The database lacks a blob that storage holds linked in this repository
    // (CheckReferences saw every one): storage is ahead, e.g. an upload whose
    // row could not be written while the database was down. The client, told
    // by a blob HEAD that the blob exists, will not upload it again, so record
    // the links now (storage first, then rows: the write order holds) and retry once.
    for (const auto& ref : record.blobs) {
      if (ref.foreign) continue;
      auto d = oci::Digest::Parse(ref.digest);
      if (!d.ok()) return s;
      auto size = blobs->StatInRepository(name, *d);
      if (!size.ok()) return s;  // really unknown: MANIFEST_BLOB_UNKNOWN
      // Protect it from GC first, then make sure the bytes and the link are
      // still there (a claim GC finished meanwhile deleted the bytes, a GC run
      // the link: the client must upload again), under the repository's lock
      // as every link write (docs/gc.md).
      if (Status guard = meta->ProtectBlob(ref.digest, *size); !guard.ok()) return guard;
      const oci::Digest& blob = *d;
      std::function<Status()> still_stored = [this, &blob] { return blobs->StatInRepository(name, blob).status(); };
      Status linked = meta->LinkBlob(name, ref.digest, *size, still_stored);
      if (linked.IsNotFound()) return s;
      if (!linked.ok()) return linked;
    }
    return meta->PutManifest(name, record, tag, store, guard);
  }
};

struct RemoveManifestCall {
  metadata::MetadataStore* meta;
  storage::ManifestStore* manifests;
  std::string name;
  oci::Reference ref;
  metadata::MetadataStore::TagGuard guard;  // immutable tags

  Status operator()() const {
    if (ref.is_digest()) {
      std::vector<std::string> removed_tags;
      std::function<Status()> store = [this, &removed_tags] {
        return manifests->DeleteByDigest(name, ref.digest, &removed_tags);
      };
      return meta->DeleteManifest(name, ref.digest.str(), store, guard, &removed_tags);
    }
    std::function<Status()> store = [this] { return manifests->DeleteTag(name, ref.tag); };
    return meta->DeleteTag(name, ref.tag, store, guard);
  }
};

}  // namespace

Task<Status> RegistryApi::StoreManifest(const std::string& name, std::string body, const oci::Manifest& manifest,
                                        const oci::Digest& digest, const std::string& tag,
                                        std::shared_ptr<std::string> refusal) {
  StoreManifestCall call{&meta_,   &manifests_, &blobs_, name, std::move(body), manifest, digest, tag,
                         ImmutableTagGuard(name, digest.str(), refusal)};
  co_return co_await http::RunBlocking(db_threads_, std::move(call));
}

Task<Status> RegistryApi::RemoveManifest(const std::string& name, const oci::Reference& ref,
                                         std::shared_ptr<std::string> refusal) {
  RemoveManifestCall call{&meta_, &manifests_, name, ref, ImmutableTagGuard(name, "", refusal)};
  co_return co_await http::RunBlocking(db_threads_, std::move(call));
}

}  // namespace berth::registry
