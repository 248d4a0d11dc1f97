#include "registry/router.h"

namespace berth::registry {
namespace {

std::string JoinName(const std::vector<std::string>& s, size_t begin, size_t end) {
  std::string name;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) name += '/';
    name += s[i];
  }
  return name;
}

}  // namespace

Route MatchRoute(const std::vector<std::string>& s) {
  Route r;
  if (s.empty() || s[0] != "v2") return r;
  const size_t n = s.size();
  if (n == 1 || (n == 2 && s[1].empty())) {
    r.endpoint = Endpoint::kBase;
    return r;
  }
  if (n == 2 && s[1] == "_catalog") {
    r.endpoint = Endpoint::kCatalog;
    return r;
  }
  // Every other route is /v2/<name (>= 1 segment)>/<endpoint>/<arg>.
  if (n < 4) return r;
  const std::string& last = s[n - 1];
  const std::string& prev = s[n - 2];
  if (n >= 5 && s[n - 3] == "blobs" && prev == "uploads") {
    r.endpoint = last.empty() ? Endpoint::kUploadStart : Endpoint::kUpload;
    r.name = JoinName(s, 1, n - 3);
    r.arg = last;
    return r;
  }
  r.name = JoinName(s, 1, n - 2);
  r.arg = last;
  if (prev == "tags" && last == "list") {
    r.endpoint = Endpoint::kTags;
  } else if (prev == "manifests") {
    r.endpoint = Endpoint::kManifest;
  } else if (prev == "blobs") {
    r.endpoint = last == "uploads" ? Endpoint::kUploadStart : Endpoint::kBlob;
  } else if (prev == "referrers") {
    r.endpoint = Endpoint::kReferrers;
  } else {
    r.name.clear();
    r.arg.clear();
  }
  return r;
}

}  // namespace berth::registry
