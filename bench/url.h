// The few URL operations a registry client needs: split http://host:port/path,
// turn an upload Location (relative "/v2/..." or absolute "http://h:p/v2/...?_state=")
// into a request target, append a query parameter, percent-encode a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::bench {

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string target;  // path and query, "/" when empty
};

// Only plain http: the benchmark runs on loopback.
Result<Url> ParseUrl(std::string_view text);

// The request target (path?query) of a Location header, relative or absolute.
std::string LocationTarget(std::string_view location);

// Appends key=value with '?' or '&', keeping an existing query string.
std::string AppendQuery(std::string_view target, std::string_view key, std::string_view value);

// Percent-encodes everything but unreserved characters and ":/,".
std::string QueryEscape(std::string_view value);

// The repository in "/v2/<repo>/{blobs,manifests,tags,referrers}/...", or "".
std::string RepositoryOf(std::string_view target);

std::string Base64(std::string_view data);

}  // namespace berth::bench
