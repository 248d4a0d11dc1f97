#include "storage/manifest_store.h"

#include <algorithm>

#include "storage/layout.h"
#include "storage/store_walk.h"
#include "util/test_hooks.h"

namespace berth::storage {
namespace {

constexpr size_t kMaxMediaTypeCache = 16384;

Result<oci::Digest> ReadLink(StorageDriver& driver, const std::string& path) {
  auto content = driver.GetContent(path);
  if (!content.ok()) return content.status();
  std::string_view text = *content;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto d = oci::Digest::Parse(text);
  if (!d.ok()) return Status::IoError("corrupt link " + path);
  return *d;
}

// Ignore "not found" where the goal is for something to be gone.
Status IgnoreNotFound(Status s) { return s.IsNotFound() ? Status::Ok() : s; }

}  // namespace

Result<oci::Digest> ManifestStore::ResolveTag(std::string_view name, std::string_view tag) {
  return ReadLink(driver_, layout::TagCurrentLink(name, tag));
}

std::string ManifestStore::MediaTypeOf(const oci::Digest& d, std::string_view body) {
  std::string key = d.str();
  {
    MutexLock lock(cache_mu_);
    if (auto it = media_type_cache_.find(key); it != media_type_cache_.end()) return it->second;
  }
  std::string type = oci::DetectManifestMediaType(body);
  MutexLock lock(cache_mu_);
  if (media_type_cache_.size() >= kMaxMediaTypeCache) media_type_cache_.clear();
  media_type_cache_.emplace(std::move(key), type);
  return type;
}

Result<StoredManifest> ManifestStore::Get(std::string_view name, const oci::Reference& ref) {
  oci::Digest digest;
  if (ref.is_digest()) {
    digest = ref.digest;
  } else {
    auto d = ResolveTag(name, ref.tag);
    if (!d.ok()) return d.status();
    digest = *d;
  }
  test_hooks::Reach("manifest.get.resolved");  // tests/api/concurrency_test.cpp
  if (!driver_.Stat(layout::RevisionLink(name, digest)).ok()) return Status::NotFound("manifest unknown");
  auto body = blobs_.GetSmall(digest);
  if (!body.ok()) return body.status();
  std::string type = MediaTypeOf(digest, *body);
  return StoredManifest{std::move(*body), digest, std::move(type)};
}

Status ManifestStore::CheckReferences(std::string_view name, const oci::Manifest& m) {
  auto need_blob = [&](const oci::Descriptor& d) -> Status {
    if (d.has_urls) return Status::Ok();  // non-distributable layer, content lives elsewhere
    if (!blobs_.IsLinked(name, d.digest) || !blobs_.Stat(d.digest).ok()) {
      return Status::NotFound("blob " + d.digest.str() + " is not in the repository");
    }
    return Status::Ok();
  };
  if (m.config) {
    if (Status s = need_blob(*m.config); !s.ok()) return s;
  }
  for (const auto& l : m.layers) {
    if (Status s = need_blob(l); !s.ok()) return s;
  }
  for (const auto& child : m.manifests) {
    if (!driver_.Stat(layout::RevisionLink(name, child.digest)).ok()) {
      return Status::NotFound("manifest " + child.digest.str() + " is not in the repository");
    }
  }
  return Status::Ok();
}

Status ManifestStore::Put(std::string_view name, std::string_view body, const oci::Manifest& m,
                          const oci::Digest& digest, std::string_view tag) {
  if (!blobs_.Stat(digest).ok()) {
    if (Status s = blobs_.PutSmall(digest, body); !s.ok()) return s;
  }
  // Links are written under the repository's lock: a DELETE of this manifest
  // running at the same time either sees the new tag (and removes it) or runs
  // after it; never a tag left pointing at a removed revision.
  test_hooks::Reach("manifest.put.before_links");  // tests/api/concurrency_test.cpp
  MutexLock lock(RepositoryLock(name));
  if (Status s = driver_.PutContent(layout::RevisionLink(name, digest), digest.str()); !s.ok()) return s;
  if (m.subject) {
    if (Status s = driver_.PutContent(layout::ReferrerLink(name, m.subject->digest, digest), digest.str()); !s.ok()) {
      return s;
    }
  }
  if (!tag.empty()) {
    if (Status s = driver_.PutContent(layout::TagIndexLink(name, tag, digest), digest.str()); !s.ok()) return s;
    if (Status s = driver_.PutContent(layout::TagCurrentLink(name, tag), digest.str()); !s.ok()) return s;
  }
  return Status::Ok();
}

Mutex& ManifestStore::RepositoryLock(std::string_view name) {
  return repo_locks_[std::hash<std::string_view>{}(name) % repo_locks_.size()];
}

Status ManifestStore::DeleteByDigest(std::string_view name, const oci::Digest& digest,
                                     std::vector<std::string>* removed_tags) {
  MutexLock lock(RepositoryLock(name));
  if (!driver_.Stat(layout::RevisionLink(name, digest)).ok()) return Status::NotFound("manifest unknown");
  // Tags first, so no tag ever points at a missing revision.
  auto tags = Tags(name);
  if (tags.ok()) {
    for (const auto& t : *tags) {
      auto current = ResolveTag(name, t);
      if (current.ok() && *current == digest) {
        if (Status s = IgnoreNotFound(driver_.Delete(layout::Tag(name, t))); !s.ok()) return s;
        if (removed_tags != nullptr) removed_tags->push_back(t);
      }
    }
  }
  // After the tags, before the revision: where a tag PUT from another replica
  // could slip in without the database's repository lock.
  test_hooks::Reach("manifest.delete.tags_removed");  // tests/e2e/metadata_pg_test.sh
  // Remove this manifest from the referrers index of its subject.
  if (auto body = blobs_.GetSmall(digest); body.ok()) {
    auto parsed = oci::ParseManifest(*body, "");
    if (parsed.ok() && parsed->subject) {
      std::string link = layout::ReferrerLink(name, parsed->subject->digest, digest);
      if (Status s = IgnoreNotFound(driver_.Delete(link.substr(0, link.rfind('/')))); !s.ok()) return s;
    }
  }
  std::string rev = layout::RevisionLink(name, digest);
  return IgnoreNotFound(driver_.Delete(rev.substr(0, rev.rfind('/'))));
}

Status ManifestStore::DeleteTag(std::string_view name, std::string_view tag) {
  if (!driver_.Stat(layout::TagCurrentLink(name, tag)).ok()) return Status::NotFound("tag unknown");
  return driver_.Delete(layout::Tag(name, tag));
}

bool ManifestStore::RepositoryExists(std::string_view name) {
  return walk::ExamineRepository(driver_, name).HasContent();
}

Result<std::vector<std::string>> ManifestStore::Tags(std::string_view name) {
  auto names = driver_.List(layout::TagsDir(name));
  if (!names.ok()) {
    if (names.status().IsNotFound() && RepositoryExists(name)) return std::vector<std::string>{};
    return names.status();
  }
  std::vector<std::string> tags;
  for (auto& t : *names) {
    // A tag directory without a current link is a deleted or half-written tag.
    if (oci::IsValidTag(t) && driver_.Stat(layout::TagCurrentLink(name, t)).ok()) tags.push_back(std::move(t));
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

}  // namespace berth::storage
