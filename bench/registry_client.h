// A registry API client for one thread: berth::http::HttpClient (one keep-alive
// connection) plus the Docker token flow. With credentials, a 401 carrying
// `WWW-Authenticate: Bearer realm=,service=,scope=` makes it fetch a token from
// the realm with Basic credentials and retry once with `Authorization: Bearer`;
// tokens are cached per scope in a TokenCache shared by all threads. A Basic
// challenge is answered with Basic credentials.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/client.h"
#include "oci/digest.h"
#include "url.h"

namespace berth::bench {

struct Credentials {
  std::string user, password;
};

struct Challenge {
  std::string scheme;  // "bearer" or "basic" (lowercase)
  std::string realm, service, scope;
};

// Parses one WWW-Authenticate value; quoted values may hold commas.
std::optional<Challenge> ParseChallenge(std::string_view header);

class TokenCache {
 public:
  std::optional<std::string> Get(const std::string& scope);
  void Put(const std::string& scope, const std::string& token);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;
};

class RegistryClient {
 public:
  using Response = http::ClientResponse;
  using SourceFactory = std::function<http::HttpClient::Source()>;

  RegistryClient(const Url& base, std::optional<Credentials> creds, std::shared_ptr<TokenCache> tokens);

  Result<Response> Call(std::string_view method, const std::string& target, const http::Headers& headers = {},
                        std::string_view body = {});
  // The body is `length` bytes from a fresh source (a new one for an auth retry).
  Result<Response> CallStream(std::string_view method, const std::string& target, const http::Headers& headers,
                              int64_t length, const SourceFactory& make_source);
  Result<Response> CallDownload(std::string_view method, const std::string& target, const http::Headers& headers,
                                const http::HttpClient::Sink& sink);

  // Gets a token for repository:<repo>:<actions> before the first request, so a
  // large streamed upload is never answered 401. No-op without credentials.
  Status Authorize(const std::string& repo, const std::string& actions);

  // Fetches a token from the realm with Basic credentials (the token scenario).
  Result<std::string> FetchToken(const Challenge& c);

  // --- registry operations; any unexpected status is an error naming it ---
  // POST /v2/<repo>/blobs/uploads/ -> the upload's request target.
  Result<std::string> StartUpload(const std::string& repo);
  // Monolithic: POST + PUT ?digest= with the body, or one POST ?digest= (single_post).
  Status PushBlob(const std::string& repo, const oci::Digest& digest, int64_t length, const SourceFactory& make_source,
                  bool single_post = false);
  Status PushBlobBytes(const std::string& repo, const oci::Digest& digest, std::string_view bytes,
                       bool single_post = false);
  // PATCH pieces of `chunk` bytes from the source, then PUT ?digest=.
  Status PushBlobChunked(const std::string& repo, const oci::Digest& digest, int64_t length, int64_t chunk,
                         const std::function<http::HttpClient::Source(int64_t offset, int64_t n)>& piece_source);
  Status PutManifest(const std::string& repo, const std::string& reference, const std::string& media_type,
                     std::string_view body);

  const Url& base() const { return base_; }
  void Close() { http_.Close(); }

 private:
  template <class Send>
  Result<Response> WithAuth(const std::string& target, const Send& send);
  http::Headers WithAuthHeader(const std::string& target, const http::Headers& headers) const;
  Status DiscoverChallenge();

  Url base_;
  http::HttpClient http_;
  std::optional<Credentials> creds_;
  std::shared_ptr<TokenCache> tokens_;
  std::unique_ptr<http::HttpClient> token_http_;
  std::string token_http_key_;
  std::map<std::string, std::string> repo_token_;  // repository -> bearer token
  std::string root_token_;                         // for targets outside a repository
  bool basic_ = false;
  std::optional<Challenge> challenge_;  // realm/service learned from GET /v2/
  bool no_auth_ = false;
};

// "<METHOD> <target>: unexpected status N: <body start>"
Status Unexpected(std::string_view what, const http::ClientResponse& r);

}  // namespace berth::bench
