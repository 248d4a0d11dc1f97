#include "storage/layout.h"

namespace berth::storage::layout {
namespace {

std::string DigestPath(const oci::Digest& d) {
  std::string p(d.algorithm_name());
  p += '/';
  p += d.hex();
  return p;
}

}  // namespace

std::string RepositoriesRoot() { return kRoot + "/repositories"; }

std::string Repository(std::string_view name) { return RepositoriesRoot() + "/" + std::string(name); }

std::string BlobDir(const oci::Digest& d) {
  return kRoot + "/blobs/" + std::string(d.algorithm_name()) + "/" + d.hex().substr(0, 2) + "/" + d.hex();
}

std::string BlobData(const oci::Digest& d) { return BlobDir(d) + "/data"; }

std::string LayerLink(std::string_view name, const oci::Digest& d) {
  return Repository(name) + "/_layers/" + DigestPath(d) + "/link";
}

std::string RevisionsDir(std::string_view name, oci::DigestAlgorithm a) {
  return Repository(name) + "/_manifests/revisions/" + std::string(oci::AlgorithmName(a));
}

std::string RevisionLink(std::string_view name, const oci::Digest& d) {
  return Repository(name) + "/_manifests/revisions/" + DigestPath(d) + "/link";
}

std::string TagsDir(std::string_view name) { return Repository(name) + "/_manifests/tags"; }

std::string Tag(std::string_view name, std::string_view tag) { return TagsDir(name) + "/" + std::string(tag); }

std::string TagCurrentLink(std::string_view name, std::string_view tag) { return Tag(name, tag) + "/current/link"; }

std::string TagIndexLink(std::string_view name, std::string_view tag, const oci::Digest& d) {
  return Tag(name, tag) + "/index/" + DigestPath(d) + "/link";
}

std::string UploadsDir(std::string_view name) { return Repository(name) + "/_uploads"; }

std::string Upload(std::string_view name, std::string_view uuid) { return UploadsDir(name) + "/" + std::string(uuid); }

std::string UploadData(std::string_view name, std::string_view uuid) { return Upload(name, uuid) + "/data"; }

std::string UploadStartedAt(std::string_view name, std::string_view uuid) { return Upload(name, uuid) + "/startedat"; }

std::string UploadHashState(std::string_view name, std::string_view uuid) {
  return Upload(name, uuid) + "/berth_hashstate";
}

std::string ReferrersDir(std::string_view name, const oci::Digest& subject) {
  return Repository(name) + "/_referrers/" + DigestPath(subject);
}

std::string ReferrerLink(std::string_view name, const oci::Digest& subject, const oci::Digest& referrer) {
  return ReferrersDir(name, subject) + "/" + DigestPath(referrer) + "/link";
}

}  // namespace berth::storage::layout
