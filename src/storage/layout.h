// Layout: where each object lives in the driver's namespace.
//
// It is CNCF distribution's layout, so a data directory written by registry:2
// is served by Berth as it is, and the reverse:
//   /docker/registry/v2/blobs/<alg>/<hex[0:2]>/<hex>/data
//   /docker/registry/v2/repositories/<name>/_layers/<alg>/<hex>/link
//   /docker/registry/v2/repositories/<name>/_manifests/revisions/<alg>/<hex>/link
//   /docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
//   /docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/<alg>/<hex>/link
//   /docker/registry/v2/repositories/<name>/_uploads/<uuid>/{data,startedat,berth_hashstate}
// plus one Berth addition that registry:2 ignores:
//   /docker/registry/v2/repositories/<name>/_referrers/<alg>/<subject hex>/<alg>/<hex>/link
// Callers must pass validated names, tags, digests and upload ids.
#pragma once

#include <string>
#include <string_view>

#include "oci/digest.h"

namespace berth::storage::layout {

inline const std::string kRoot = "/docker/registry/v2";

std::string RepositoriesRoot();
std::string Repository(std::string_view name);
std::string BlobData(const oci::Digest& d);
std::string BlobDir(const oci::Digest& d);
std::string LayerLink(std::string_view name, const oci::Digest& d);
std::string RevisionLink(std::string_view name, const oci::Digest& d);
std::string RevisionsDir(std::string_view name, oci::DigestAlgorithm a);
std::string TagsDir(std::string_view name);
std::string Tag(std::string_view name, std::string_view tag);
std::string TagCurrentLink(std::string_view name, std::string_view tag);
std::string TagIndexLink(std::string_view name, std::string_view tag, const oci::Digest& d);
std::string UploadsDir(std::string_view name);
std::string Upload(std::string_view name, std::string_view uuid);
std::string UploadData(std::string_view name, std::string_view uuid);
std::string UploadStartedAt(std::string_view name, std::string_view uuid);
// Berth's saved running hash of an upload (registry:2 keeps its own under hashstates/).
std::string UploadHashState(std::string_view name, std::string_view uuid);
std::string ReferrersDir(std::string_view name, const oci::Digest& subject);
std::string ReferrerLink(std::string_view name, const oci::Digest& subject, const oci::Digest& referrer);

}  // namespace berth::storage::layout
