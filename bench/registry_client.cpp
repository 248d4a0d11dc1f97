#include "registry_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace berth::bench {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr const char* kOctets = "application/octet-stream";

}  // namespace

std::optional<Challenge> ParseChallenge(std::string_view h) {
  size_t sp = h.find(' ');
  Challenge c;
  c.scheme = Lower(h.substr(0, sp));
  if (sp == std::string_view::npos) return c;
  std::string_view rest = h.substr(sp + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key = Lower(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      while (!rest.empty() && rest.front() != '"') {
        if (rest.front() == '\\' && rest.size() > 1) rest.remove_prefix(1);
        value += rest.front();
        rest.remove_prefix(1);
      }
      if (!rest.empty()) rest.remove_prefix(1);
    } else {
      size_t end = rest.find(',');
      value = std::string(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (key == "realm")
      c.realm = value;
    else if (key == "service")
      c.service = value;
    else if (key == "scope")
      c.scope = value;
  }
  return c;
}

std::optional<std::string> TokenCache::Get(const std::string& scope) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(scope);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

void TokenCache::Put(const std::string& scope, const std::string& token) {
  std::lock_guard lock(mu_);
  tokens_[scope] = token;
}

Status Unexpected(std::string_view what, const http::ClientResponse& r) {
  return Status::IoError(std::string(what) + ": unexpected status " + std::to_string(r.status) + ": " +
                         r.body.substr(0, 300));
}

RegistryClient::RegistryClient(const Url& base, std::optional<Credentials> creds, std::shared_ptr<TokenCache> tokens)
    : base_(base), http_(base.host, base.port), creds_(std::move(creds)), tokens_(std::move(tokens)) {
  if (!tokens_) tokens_ = std::make_shared<TokenCache>();
}

http::Headers RegistryClient::WithAuthHeader(const std::string& target, const http::Headers& headers) const {
  http::Headers h = headers;
  if (!creds_) return h;
  if (basic_) {
    h.emplace_back("Authorization", "Basic " + Base64(creds_->user + ":" + creds_->password));
    return h;
  }
  std::string repo = RepositoryOf(target);
  auto it = repo_token_.find(repo);
  if (it != repo_token_.end()) {
    h.emplace_back("Authorization", "Bearer " + it->second);
  } else if (repo.empty() && !root_token_.empty()) {
    h.emplace_back("Authorization", "Bearer " + root_token_);
  }
  return h;
}

Result<std::string> RegistryClient::FetchToken(const Challenge& c) {
  if (!creds_) return Status::Invalid("the registry wants a token but no --user/--password were given");
  auto realm = ParseUrl(c.realm);
  if (!realm.ok()) return realm.status();
  std::string key = realm->host + ":" + std::to_string(realm->port);
  if (!token_http_ || token_http_key_ != key) {
    token_http_ = std::make_unique<http::HttpClient>(realm->host, realm->port);
    token_http_key_ = key;
  }
  std::string target = realm->target;
  if (!c.service.empty()) target = AppendQuery(target, "service", c.service);
  if (!c.scope.empty()) target = AppendQuery(target, "scope", c.scope);
  target = AppendQuery(target, "account", creds_->user);
  http::Headers h{{"Authorization", "Basic " + Base64(creds_->user + ":" + creds_->password)}};
  auto r = token_http_->Request("GET", target, h);
  if (!r.ok()) return r.status();
  if (r->status != 200) return Unexpected("GET " + c.realm, *r);
  auto json = nlohmann::json::parse(r->body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Status::IoError("token response is not JSON");
  for (const char* field : {"token", "access_token"}) {
    if (json.contains(field) && json[field].is_string()) return json[field].get<std::string>();
  }
  return Status::IoError("token response has no token");
}

template <class Send>
Result<RegistryClient::Response> RegistryClient::WithAuth(const std::string& target, const Send& send) {
  auto r = send(WithAuthHeader(target, {}));
  if (!r.ok() || r->status != 401 || !creds_) return r;
  auto challenge = ParseChallenge(r->header("WWW-Authenticate"));
  if (!challenge) return r;
  if (challenge->scheme == "basic") {
    basic_ = true;
    return send(WithAuthHeader(target, {}));
  }
  if (challenge->scheme != "bearer") return r;
  std::string repo = RepositoryOf(target);
  std::string used;
  if (auto it = repo_token_.find(repo); it != repo_token_.end()) used = it->second;
  // A cached token that was just refused (expired) is not used again.
  std::optional<std::string> token = tokens_->Get(challenge->scope);
  if (!token || *token == used) {
    auto fresh = FetchToken(*challenge);
    if (!fresh.ok()) return fresh.status();
    token = *fresh;
    tokens_->Put(challenge->scope, *token);
  }
  if (repo.empty())
    root_token_ = *token;
  else
    repo_token_[repo] = *token;
  return send(WithAuthHeader(target, {}));
}

Result<RegistryClient::Response> RegistryClient::Call(std::string_view method, const std::string& target,
                                                      const http::Headers& headers, std::string_view body) {
  return WithAuth(target, [&](const http::Headers& auth) {
    http::Headers h = headers;
    h.insert(h.end(), auth.begin(), auth.end());
    return http_.Request(method, target, h, body);
  });
}

Result<RegistryClient::Response> RegistryClient::CallStream(std::string_view method, const std::string& target,
                                                            const http::Headers& headers, int64_t length,
                                                            const SourceFactory& make_source) {
  return WithAuth(target, [&](const http::Headers& auth) -> Result<Response> {
    http::Headers h = headers;
    h.insert(h.end(), auth.begin(), auth.end());
    // Count what the source hands out: HttpClient retries a failed request on
    // a fresh connection with the same (partly consumed) source, which would
    // send a short body; that must be an error, not a silent success.
    auto inner = make_source();
    int64_t sent = 0;
    http::HttpClient::Source counted = [&](char* buf, size_t n) {
      size_t got = inner(buf, n);
      sent += static_cast<int64_t>(got);
      return got;
    };
    auto r = http_.RequestStream(method, target, h, length, counted);
    if (r.ok() && length >= 0 && sent != length) {
      return Status::IoError(std::string(method) + " " + target + ": sent " + std::to_string(sent) + " of " +
                             std::to_string(length) + " bytes (request retried on a new connection?)");
    }
    return r;
  });
}

Result<RegistryClient::Response> RegistryClient::CallDownload(std::string_view method, const std::string& target,
                                                              const http::Headers& headers,
                                                              const http::HttpClient::Sink& sink) {
  return WithAuth(target, [&](const http::Headers& auth) {
    http::Headers h = headers;
    h.insert(h.end(), auth.begin(), auth.end());
    return http_.Download(method, target, h, sink);
  });
}

Status RegistryClient::DiscoverChallenge() {
  if (challenge_ || no_auth_ || basic_) return Status::Ok();
  auto r = http_.Request("GET", "/v2/");
  if (!r.ok()) return r.status();
  if (r->status == 200) {
    no_auth_ = true;
    return Status::Ok();
  }
  if (r->status != 401) return Unexpected("GET /v2/", *r);
  auto c = ParseChallenge(r->header("WWW-Authenticate"));
  if (!c) return Status::IoError("GET /v2/: 401 without a usable WWW-Authenticate");
  if (c->scheme == "basic") {
    basic_ = true;
    return Status::Ok();
  }
  challenge_ = *c;
  return Status::Ok();
}

Status RegistryClient::Authorize(const std::string& repo, const std::string& actions) {
  if (!creds_) return Status::Ok();
  if (Status s = DiscoverChallenge(); !s.ok()) return s;
  if (no_auth_ || basic_) return Status::Ok();
  Challenge c = *challenge_;
  c.scope = "repository:" + repo + ":" + actions;
  std::optional<std::string> token = tokens_->Get(c.scope);
  if (!token) {
    auto fresh = FetchToken(c);
    if (!fresh.ok()) return fresh.status();
    token = *fresh;
    tokens_->Put(c.scope, *token);
  }
  repo_token_[repo] = *token;
  return Status::Ok();
}

Result<std::string> RegistryClient::StartUpload(const std::string& repo) {
  std::string target = "/v2/" + repo + "/blobs/uploads/";
  auto r = Call("POST", target);
  if (!r.ok()) return r.status();
  if (r->status != 202) return Unexpected("POST " + target, *r);
  std::string location = r->header("Location");
  if (location.empty()) return Status::IoError("POST " + target + ": 202 without Location");
  return LocationTarget(location);
}

Status RegistryClient::PushBlob(const std::string& repo, const oci::Digest& digest, int64_t length,
                                const SourceFactory& make_source, bool single_post) {
  const http::Headers h{{"Content-Type", kOctets}};
  std::string put_target;
  if (single_post) {
    std::string target = AppendQuery("/v2/" + repo + "/blobs/uploads/", "digest", digest.str());
    auto r = CallStream("POST", target, h, length, make_source);
    if (!r.ok()) return r.status();
    if (r->status == 201) return Status::Ok();
    // A registry without single-POST uploads answers 202: finish with a PUT.
    if (r->status != 202 || r->header("Location").empty()) return Unexpected("POST " + target, *r);
    put_target = LocationTarget(r->header("Location"));
  } else {
    auto upload = StartUpload(repo);
    if (!upload.ok()) return upload.status();
    put_target = *upload;
  }
  put_target = AppendQuery(put_target, "digest", digest.str());
  auto r = CallStream("PUT", put_target, h, length, make_source);
  if (!r.ok()) return r.status();
  if (r->status != 201) return Unexpected("PUT " + put_target, *r);
  return Status::Ok();
}

Status RegistryClient::PushBlobBytes(const std::string& repo, const oci::Digest& digest, std::string_view bytes,
                                     bool single_post) {
  // The same requests as a streamed push; the source just reads from `bytes`.
  SourceFactory from_bytes = [bytes]() -> http::HttpClient::Source {
    return [bytes, offset = size_t{0}](char* buf, size_t n) mutable {
      size_t k = std::min(n, bytes.size() - offset);
      std::memcpy(buf, bytes.data() + offset, k);
      offset += k;
      return k;
    };
  };
  return PushBlob(repo, digest, static_cast<int64_t>(bytes.size()), from_bytes, single_post);
}

Status RegistryClient::PushBlobChunked(
    const std::string& repo, const oci::Digest& digest, int64_t length, int64_t chunk,
    const std::function<http::HttpClient::Source(int64_t offset, int64_t n)>& piece_source) {
  auto upload = StartUpload(repo);
  if (!upload.ok()) return upload.status();
  std::string target = *upload;
  for (int64_t offset = 0; offset < length; offset += chunk) {
    int64_t n = std::min(chunk, length - offset);
    http::Headers h{{"Content-Type", kOctets},
                    {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + n - 1)}};
    auto r = CallStream("PATCH", target, h, n, [&] { return piece_source(offset, n); });
    if (!r.ok()) return r.status();
    if (r->status != 202) return Unexpected("PATCH " + target, *r);
    std::string location = r->header("Location");
    if (location.empty()) return Status::IoError("PATCH " + target + ": 202 without Location");
    target = LocationTarget(location);
  }
  target = AppendQuery(target, "digest", digest.str());
  auto r = Call("PUT", target, {{"Content-Type", kOctets}});
  if (!r.ok()) return r.status();
  if (r->status != 201) return Unexpected("PUT " + target, *r);
  return Status::Ok();
}

Status RegistryClient::PutManifest(const std::string& repo, const std::string& reference, const std::string& media_type,
                                   std::string_view body) {
  std::string target = "/v2/" + repo + "/manifests/" + reference;
  auto r = Call("PUT", target, {{"Content-Type", media_type}}, body);
  if (!r.ok()) return r.status();
  if (r->status != 201) return Unexpected("PUT " + target, *r);
  return Status::Ok();
}

}  // namespace berth::bench
