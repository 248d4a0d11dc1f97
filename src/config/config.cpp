#include "config/config.h"

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "util/listen_address.h"

namespace berth::config {
namespace {

SourcePos PosOf(const YAML::Mark& m) {
  if (m.line < 0) return {};
  return SourcePos{m.line + 1, m.column + 1};
}

// Walks the YAML tree with a source name for error messages. yaml-cpp throws;
// everything here converts that into Status at this edge.
// Seconds of a Go-style duration ("168h", "1h30m", "90s"; with `days`, also
// "30d", "1d12h"): at least 1 s, at most 100 years. Nullopt when it is not one.
std::optional<int64_t> DurationSeconds(std::string_view s, bool days) {
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  while (!s.empty()) {
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9 || digits == s.size()) return std::nullopt;
    const int64_t v = std::stoll(std::string(s.substr(0, digits)));
    int64_t unit = 0;
    if (days && s[digits] == 'd') unit = 86400;
    if (s[digits] == 'h') unit = 3600;
    if (s[digits] == 'm') unit = 60;
    if (s[digits] == 's') unit = 1;
    if (unit == 0) return std::nullopt;
    total += v * unit;
    if (total > 100LL * 365 * 86400) return std::nullopt;
    s.remove_prefix(digits + 1);
  }
  if (total < 1) return std::nullopt;
  return total;
}

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(const YAML::Mark& m, const std::string& what) const { return ErrorAt(source_, PosOf(m), what); }

  // `node` must be a mapping whose keys are all in `allowed`.
  Status CheckMap(const YAML::Node& node, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) return Error(node.Mark(), path + " must be a mapping");
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool ok = false;
      for (auto a : allowed) ok = ok || key == a;
      if (!ok) {
        std::string expected;
        for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
        return Error(it->first.Mark(), "unknown key '" + key + "' in " + path + " (expected one of: " + expected + ")");
      }
    }
    return Status::Ok();
  }

  Status GetString(const YAML::Node& parent, const char* key, const std::string& path, std::string* out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    if (!n.IsScalar()) return Error(n.Mark(), path + "." + key + " must be a string");
    *out = n.Scalar();
    return Status::Ok();
  }

  Status GetBool(const YAML::Node& parent, const char* key, const std::string& path, bool* out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    bool v;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      return Error(n.Mark(), path + "." + key + " must be true or false");
    }
    *out = v;
    return Status::Ok();
  }

  Status GetInt(const YAML::Node& parent, const char* key, const std::string& path, int64_t min, int64_t max,
                int64_t* out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    long long v;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || v < min || v > max) {
      return Error(n.Mark(),
                   path + "." + key + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    *out = v;
    return Status::Ok();
  }

  // A Go-style duration of whole seconds or more: "168h", "1h30m", "90s".
  Status GetDuration(const YAML::Node& parent, const char* key, const std::string& path, int64_t* seconds) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    const Status bad = Error(n.Mark(), path + "." + key + " must be a duration like 168h, 30m or 90s (at least 1s)");
    if (!n.IsScalar()) return bad;
    const std::optional<int64_t> total = DurationSeconds(n.Scalar(), /*days=*/false);
    if (!total) return bad;
    *seconds = *total;
    return Status::Ok();
  }

  // A duration with days: "90d", "1d12h", "30m" (policies' retention windows).
  Status GetDays(const YAML::Node& parent, const char* key, const std::string& path, std::optional<int64_t>* seconds) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    auto v = n.IsScalar() ? ParseDays(n.Scalar()) : Result<int64_t>(Status::Invalid(""));
    if (!v.ok()) return Error(n.Mark(), path + "." + key + " must be a duration like 30d, 12h or 1d12h (at least 1s)");
    *seconds = *v;
    return Status::Ok();
  }

  // A string or a list of strings.
  Status GetStringList(const YAML::Node& parent, const char* key, const std::string& path,
                       std::vector<std::string>* out) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return Status::Ok();
    if (n.IsScalar()) {
      out->push_back(n.Scalar());
      return Status::Ok();
    }
    if (!n.IsSequence()) return Error(n.Mark(), path + "." + key + " must be a string or a list of strings");
    for (const auto& item : n) {
      if (!item.IsScalar()) return Error(item.Mark(), path + "." + key + " must contain strings");
      out->push_back(item.Scalar());
    }
    return Status::Ok();
  }

  Status OneOf(const YAML::Node& parent, const char* key, const std::string& value,
               std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed) {
      if (value == a) return Status::Ok();
    }
    return Error(parent[key].Mark(), "'" + value + "' is not a valid value for " + key);
  }

 private:
  std::string source_;
};

#define BERTH_TRY(expr)                          \
  do {                                           \
    if (Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

Status ParseServer(Reader& r, const YAML::Node& n, ServerConfig* out) {
  BERTH_TRY(r.CheckMap(n, "server",
                       {"addr", "public_url", "trusted_proxies", "tls", "timeouts", "max_connections",
                        "max_header_bytes", "debug_addr", "metrics", "threads"}));
  BERTH_TRY(r.GetInt(n, "threads", "server", 0, 1024, &out->threads));
  BERTH_TRY(r.GetString(n, "addr", "server", &out->addr));
  BERTH_TRY(r.GetString(n, "public_url", "server", &out->public_url));
  while (!out->public_url.empty() && out->public_url.back() == '/') out->public_url.pop_back();
  if (!out->public_url.empty() && out->public_url.rfind("http://", 0) != 0 &&
      out->public_url.rfind("https://", 0) != 0) {
    return r.Error(n["public_url"].Mark(), "server.public_url must start with http:// or https://");
  }
  if (out->public_url.find_first_of("\"\r\n ") != std::string::npos) {
    return r.Error(n["public_url"].Mark(), "server.public_url must not contain spaces or quotes");
  }
  BERTH_TRY(r.GetStringList(n, "trusted_proxies", "server", &out->trusted_proxies));
  for (const auto& p : out->trusted_proxies) {
    auto range = IpRange::Parse(p);
    if (!range.ok()) return r.Error(n["trusted_proxies"].Mark(), "server.trusted_proxies: " + range.status().message());
    out->trusted_proxy_ranges.push_back(*range);
  }
  std::string host;
  uint16_t port;
  if (Status s = ParseListenAddress(out->addr, &host, &port); !s.ok()) {
    return r.Error(n["addr"].Mark(), "server.addr: " + s.message());
  }
  BERTH_TRY(r.GetString(n, "debug_addr", "server", &out->debug_addr));
  if (!out->debug_addr.empty()) {
    if (Status s = ParseListenAddress(out->debug_addr, &host, &port); !s.ok()) {
      return r.Error(n["debug_addr"].Mark(), "server.debug_addr: " + s.message());
    }
  }
  if (YAML::Node m = n["metrics"]; m && !m.IsNull()) {
    BERTH_TRY(r.CheckMap(m, "server.metrics", {"enabled", "public"}));
    BERTH_TRY(r.GetBool(m, "enabled", "server.metrics", &out->metrics.enabled));
    BERTH_TRY(r.GetBool(m, "public", "server.metrics", &out->metrics.is_public));
  }
  if (YAML::Node tls = n["tls"]; tls && !tls.IsNull()) {
    BERTH_TRY(r.CheckMap(tls, "server.tls", {"enabled", "certificate", "key", "poll_interval", "profile", "hsts"}));
    BERTH_TRY(r.GetString(tls, "profile", "server.tls", &out->tls.profile));
    if (out->tls.profile != "intermediate" && out->tls.profile != "modern") {
      return r.Error(tls["profile"].Mark(), "server.tls.profile must be intermediate or modern");
    }
    if (YAML::Node h = tls["hsts"]; h && !h.IsNull()) {
      BERTH_TRY(r.CheckMap(h, "server.tls.hsts", {"max_age", "include_subdomains"}));
      BERTH_TRY(r.GetInt(h, "max_age", "server.tls.hsts", 0, 10LL * 365 * 24 * 3600, &out->tls.hsts_max_age));
      BERTH_TRY(r.GetBool(h, "include_subdomains", "server.tls.hsts", &out->tls.hsts_include_subdomains));
    }
    BERTH_TRY(r.GetInt(tls, "poll_interval", "server.tls", 0, 3600, &out->tls.poll_interval));
    BERTH_TRY(r.GetBool(tls, "enabled", "server.tls", &out->tls.enabled));
    BERTH_TRY(r.GetString(tls, "certificate", "server.tls", &out->tls.certificate));
    BERTH_TRY(r.GetString(tls, "key", "server.tls", &out->tls.key));
    if (out->tls.enabled && (out->tls.certificate.empty() || out->tls.key.empty())) {
      return r.Error(tls.Mark(), "server.tls.enabled needs both certificate and key");
    }
  }
  if (YAML::Node t = n["timeouts"]; t && !t.IsNull()) {
    BERTH_TRY(r.CheckMap(t, "server.timeouts", {"header", "idle", "read", "write"}));
    BERTH_TRY(r.GetInt(t, "header", "server.timeouts", 1, 3600, &out->timeouts.header));
    BERTH_TRY(r.GetInt(t, "idle", "server.timeouts", 1, 3600, &out->timeouts.idle));
    BERTH_TRY(r.GetInt(t, "read", "server.timeouts", 1, 3600, &out->timeouts.read));
    BERTH_TRY(r.GetInt(t, "write", "server.timeouts", 1, 3600, &out->timeouts.write));
  }
  BERTH_TRY(r.GetInt(n, "max_connections", "server", 1, 1000000, &out->max_connections));
  BERTH_TRY(r.GetInt(n, "max_header_bytes", "server", 4096, 1 << 20, &out->max_header_bytes));
  return Status::Ok();
}

// S3 bucket naming rules: 3-63 of [a-z0-9.-], starting and ending alphanumeric.
bool IsValidBucketName(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(b.front()) && alnum(b.back()) && b.find("..") == std::string::npos;
}

Status ParseS3(Reader& r, const YAML::Node& s3, S3StorageConfig* out) {
  BERTH_TRY(r.CheckMap(
      s3, "storage.s3",
      {"endpoint", "region", "bucket", "rootdirectory", "accesskey", "secretkey", "forcepathstyle", "chunksize"}));
  for (auto [key, field] : {std::pair{"endpoint", &out->endpoint}, std::pair{"region", &out->region},
                            std::pair{"bucket", &out->bucket}, std::pair{"rootdirectory", &out->rootdirectory},
                            std::pair{"accesskey", &out->accesskey}, std::pair{"secretkey", &out->secretkey}}) {
    BERTH_TRY(r.GetString(s3, key, "storage.s3", field));
  }
  BERTH_TRY(r.GetBool(s3, "forcepathstyle", "storage.s3", &out->forcepathstyle));
  BERTH_TRY(r.GetInt(s3, "chunksize", "storage.s3", 5LL << 20, 5LL << 30, &out->chunksize));
  if (!IsValidBucketName(out->bucket)) {
    return r.Error(s3["bucket"] ? s3["bucket"].Mark() : s3.Mark(),
                   "storage.s3.bucket must be a bucket name (3-63 of a-z, 0-9, '.', '-')");
  }
  while (!out->endpoint.empty() && out->endpoint.back() == '/') out->endpoint.pop_back();
  if (!out->endpoint.empty()) {
    const bool scheme = out->endpoint.rfind("http://", 0) == 0 || out->endpoint.rfind("https://", 0) == 0;
    const std::string rest =
        out->endpoint.substr(out->endpoint.find("://") == std::string::npos ? 0 : out->endpoint.find("://") + 3);
    if (!scheme || rest.empty() || rest.find_first_of("/?#@ \"\r\n") != std::string::npos) {
      return r.Error(s3["endpoint"].Mark(), "storage.s3.endpoint must be http(s)://host[:port] (no path)");
    }
  }
  if (out->region.empty() || out->region.find_first_of("/ \r\n") != std::string::npos) {
    return r.Error(s3["region"] ? s3["region"].Mark() : s3.Mark(), "storage.s3.region must be a region name");
  }
  if (!out->rootdirectory.empty() && out->rootdirectory.front() != '/') {
    return r.Error(s3["rootdirectory"].Mark(), "storage.s3.rootdirectory must start with /");
  }
  if (out->rootdirectory.find("//") != std::string::npos || out->rootdirectory.find("/.") != std::string::npos) {
    return r.Error(s3["rootdirectory"].Mark(), "storage.s3.rootdirectory must be a clean path like /berth");
  }
  return Status::Ok();
}

Status ParseMetadata(Reader& r, const YAML::Node& n, MetadataConfig* out) {
  const std::string path = "storage.metadata";
  BERTH_TRY(r.CheckMap(n, path,
                       {"driver", "path", "host", "port", "dbname", "user", "password", "password_file", "sslmode",
                        "ca_file", "pool_size", "connect_timeout", "statement_timeout"}));
  out->pos = PosOf(n.Mark());
  BERTH_TRY(r.GetString(n, "driver", path, &out->driver));
  BERTH_TRY(r.OneOf(n, "driver", out->driver, {"sqlite", "postgres"}));
  const bool pg = out->driver == "postgres";
  // Each key belongs to one driver: a postgres key under sqlite (or the other
  // way round) is a mistake the operator should hear about.
  for (const char* key : {"host", "port", "dbname", "user", "password", "password_file", "sslmode", "ca_file",
                          "pool_size", "connect_timeout", "statement_timeout"}) {
    if (!pg && n[key]) return r.Error(n[key].Mark(), path + "." + key + " is a postgres setting (driver: postgres)");
  }
  if (pg && n["path"]) return r.Error(n["path"].Mark(), path + ".path is a sqlite setting (driver: sqlite)");
  BERTH_TRY(r.GetString(n, "path", path, &out->path));
  for (auto [key, field] :
       {std::pair{"host", &out->host}, std::pair{"dbname", &out->dbname}, std::pair{"user", &out->user},
        std::pair{"password", &out->password}, std::pair{"password_file", &out->password_file},
        std::pair{"sslmode", &out->sslmode}, std::pair{"ca_file", &out->ca_file}}) {
    BERTH_TRY(r.GetString(n, key, path, field));
  }
  BERTH_TRY(r.OneOf(n, "sslmode", out->sslmode, {"disable", "require", "verify-full"}));
  BERTH_TRY(r.GetInt(n, "port", path, 1, 65535, &out->port));
  BERTH_TRY(r.GetInt(n, "pool_size", path, 1, 1000, &out->pool_size));
  BERTH_TRY(r.GetDuration(n, "connect_timeout", path, &out->connect_timeout_s));
  BERTH_TRY(r.GetDuration(n, "statement_timeout", path, &out->statement_timeout_s));
  if (pg && !out->password.empty() && !out->password_file.empty()) {
    return r.Error(n["password"].Mark(), path + ": password and password_file are exclusive");
  }
  if (pg && (out->host.empty() || out->dbname.empty() || out->user.empty())) {
    return r.Error(n.Mark(), path + ": host, dbname and user must not be empty");
  }
  if (n["path"] && out->path.empty()) return r.Error(n["path"].Mark(), path + ".path must not be empty");
  return Status::Ok();
}

Status ParseStorage(Reader& r, const YAML::Node& n, StorageConfig* out) {
  BERTH_TRY(r.CheckMap(n, "storage", {"filesystem", "s3", "delete", "redirect", "maintenance", "metadata", "gc"}));
  if (YAML::Node md = n["metadata"]; md && !md.IsNull()) BERTH_TRY(ParseMetadata(r, md, &out->metadata));
  YAML::Node fs_node = n["filesystem"];
  YAML::Node s3_node = n["s3"];
  if (fs_node && !fs_node.IsNull() && s3_node && !s3_node.IsNull()) {
    return r.Error(s3_node.Mark(), "storage.filesystem and storage.s3 are exclusive: configure one storage backend");
  }
  if (s3_node && !s3_node.IsNull()) {
    out->s3_enabled = true;
    BERTH_TRY(ParseS3(r, s3_node, &out->s3));
  }
  if (YAML::Node red = n["redirect"]; red && !red.IsNull()) {
    BERTH_TRY(r.CheckMap(red, "storage.redirect", {"enabled"}));
    BERTH_TRY(r.GetBool(red, "enabled", "storage.redirect", &out->redirect_enabled));
  }
  if (YAML::Node fs = n["filesystem"]; fs && !fs.IsNull()) {
    BERTH_TRY(r.CheckMap(fs, "storage.filesystem", {"rootdirectory"}));
    BERTH_TRY(r.GetString(fs, "rootdirectory", "storage.filesystem", &out->filesystem_root));
    if (out->filesystem_root.empty()) {
      return r.Error(fs.Mark(), "storage.filesystem.rootdirectory must not be empty");
    }
  }
  if (YAML::Node del = n["delete"]; del && !del.IsNull()) {
    BERTH_TRY(r.CheckMap(del, "storage.delete", {"enabled"}));
    BERTH_TRY(r.GetBool(del, "enabled", "storage.delete", &out->delete_enabled));
  }
  if (YAML::Node m = n["maintenance"]; m && !m.IsNull()) {
    BERTH_TRY(r.CheckMap(m, "storage.maintenance", {"uploadpurging"}));
    if (YAML::Node p = m["uploadpurging"]; p && !p.IsNull()) {
      const std::string path = "storage.maintenance.uploadpurging";
      BERTH_TRY(r.CheckMap(p, path, {"enabled", "age", "interval", "dryrun"}));
      BERTH_TRY(r.GetBool(p, "enabled", path, &out->upload_purging));
      BERTH_TRY(r.GetDuration(p, "age", path, &out->upload_purge_age_s));
      BERTH_TRY(r.GetDuration(p, "interval", path, &out->upload_purge_interval_s));
      BERTH_TRY(r.GetBool(p, "dryrun", path, &out->upload_purge_dry_run));
    }
  }
  if (YAML::Node gc = n["gc"]; gc && !gc.IsNull()) {
    BERTH_TRY(r.CheckMap(gc, "storage.gc", {"enabled", "interval", "delay", "delete_untagged"}));
    BERTH_TRY(r.GetBool(gc, "enabled", "storage.gc", &out->gc_enabled));
    BERTH_TRY(r.GetDuration(gc, "interval", "storage.gc", &out->gc_interval_s));
    BERTH_TRY(r.GetDuration(gc, "delay", "storage.gc", &out->gc_delay_s));
    BERTH_TRY(r.GetBool(gc, "delete_untagged", "storage.gc", &out->gc_delete_untagged));
    if (out->gc_interval_s <= 0) return r.Error(gc.Mark(), "storage.gc.interval must be positive");
  }
  return Status::Ok();
}

// One component of a repository name (the distribution spec's grammar):
// [a-z0-9]+ joined by '.', '_', '__' or a run of '-'.
bool IsNameComponent(std::string_view c) {
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  if (c.empty() || !alnum(c.front()) || !alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !alnum(c[j])) ++j;
    const std::string_view sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

// "a/b/": components of a repository name, each followed by '/'.
bool IsRepositoryPrefix(std::string_view p) {
  if (p.empty() || p.back() != '/' || p.size() > 200) return false;
  p.remove_suffix(1);
  while (true) {
    const size_t slash = p.find('/');
    if (!IsNameComponent(p.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    p.remove_prefix(slash + 1);
  }
}

// http(s)://host[:port] with nothing after it (a trailing '/' is dropped).
bool IsUpstreamUrl(std::string* url) {
  while (!url->empty() && url->back() == '/') url->pop_back();
  std::string_view rest;
  if (url->rfind("https://", 0) == 0) {
    rest = std::string_view(*url).substr(8);
  } else if (url->rfind("http://", 0) == 0) {
    rest = std::string_view(*url).substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.find_first_of("/?#@ \"\r\n\t") != std::string_view::npos) return false;
  std::string_view host = rest;
  if (host.front() == '[') {  // [v6]:port
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    host = after;
    if (host.empty()) return true;
  } else {
    const size_t colon = host.find(':');
    if (colon == 0) return false;
    if (colon == std::string_view::npos) return true;
    host = host.substr(colon);
  }
  std::string_view port = host.substr(1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const int v = std::stoi(std::string(port));
  return v >= 1 && v <= 65535;
}

Status ParseProxy(Reader& r, const YAML::Node& n, std::vector<ProxyUpstreamConfig>* out) {
  if (!n.IsSequence()) return r.Error(n.Mark(), "proxy must be a list of upstream registries");
  int index = 0;
  bool have_mirror = false;
  for (const auto& e : n) {
    const std::string path = "proxy[" + std::to_string(index++) + "]";
    BERTH_TRY(r.CheckMap(
        e, path,
        {"prefix", "url", "username", "password", "password_file", "ca_file", "tag_ttl", "mirror", "max_fills"}));
    ProxyUpstreamConfig u;
    u.pos = PosOf(e.Mark());
    for (auto [key, field] : {std::pair{"prefix", &u.prefix}, std::pair{"url", &u.url},
                              std::pair{"username", &u.username}, std::pair{"password", &u.password},
                              std::pair{"password_file", &u.password_file}, std::pair{"ca_file", &u.ca_file}}) {
      BERTH_TRY(r.GetString(e, key, path, field));
    }
    BERTH_TRY(r.GetDuration(e, "tag_ttl", path, &u.tag_ttl_s));
    BERTH_TRY(r.GetBool(e, "mirror", path, &u.mirror));
    BERTH_TRY(r.GetInt(e, "max_fills", path, 1, 4096, &u.max_fills));
    if (!IsRepositoryPrefix(u.prefix)) {
      return r.Error(e["prefix"] ? e["prefix"].Mark() : e.Mark(),
                     path + ".prefix must be a repository name prefix ending in '/' (like docker.io/)");
    }
    if (!IsUpstreamUrl(&u.url)) {
      return r.Error(e["url"] ? e["url"].Mark() : e.Mark(), path + ".url must be http(s)://host[:port] (no path)");
    }
    if (!u.password.empty() && !u.password_file.empty()) {
      return r.Error(e["password"].Mark(), path + ": password and password_file are exclusive");
    }
    if ((!u.password.empty() || !u.password_file.empty()) && u.username.empty()) {
      return r.Error(e.Mark(), path + ": a password needs a username");
    }
    if (u.username.find(':') != std::string::npos) {
      return r.Error(e["username"].Mark(), path + ".username must not contain ':'");
    }
    if (u.mirror) {
      if (have_mirror) return r.Error(e["mirror"].Mark(), path + ": only one upstream can be the mirror");
      have_mirror = true;
    }
    // One name, one upstream: no prefix may start another.
    for (size_t i = 0; i < out->size(); ++i) {
      const std::string& other = (*out)[i].prefix;
      if (u.prefix.rfind(other, 0) == 0 || other.rfind(u.prefix, 0) == 0) {
        return r.Error(e["prefix"].Mark(), path + ".prefix '" + u.prefix + "' overlaps proxy[" + std::to_string(i) +
                                               "].prefix '" + other + "'");
      }
    }
    out->push_back(std::move(u));
  }
  return Status::Ok();
}

// A Go-style duration in milliseconds: "500ms", "1s", "1m30s".
Status GetMillis(Reader& r, const YAML::Node& parent, const char* key, const std::string& path, int64_t* ms) {
  YAML::Node n = parent[key];
  if (!n || n.IsNull()) return Status::Ok();
  const Status bad = r.Error(n.Mark(), path + "." + key + " must be a duration like 500ms, 2s or 1m (at least 1ms)");
  if (!n.IsScalar()) return bad;
  std::string_view s = n.Scalar();
  if (s.empty()) return bad;
  int64_t total = 0;
  while (!s.empty()) {
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9 || digits == s.size()) return bad;
    const int64_t v = std::stoll(std::string(s.substr(0, digits)));
    s.remove_prefix(digits);
    int64_t unit = 0;
    if (s.rfind("ms", 0) == 0) {
      unit = 1;
      s.remove_prefix(2);
    } else if (s[0] == 'h' || s[0] == 'm' || s[0] == 's') {
      unit = s[0] == 'h' ? 3600000 : (s[0] == 'm' ? 60000 : 1000);
      s.remove_prefix(1);
    }
    if (unit == 0) return bad;
    total += v * unit;
    if (total > 86400000LL) return bad;
  }
  if (total < 1) return bad;
  *ms = total;
  return Status::Ok();
}

bool IsEndpointUrl(const std::string& url) {
  const bool http = url.rfind("http://", 0) == 0, https = url.rfind("https://", 0) == 0;
  if (!http && !https) return false;
  const std::string rest = url.substr(http ? 7 : 8);
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') return false;
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '#' || c == '@') return false;
  }
  return true;
}

Status ParseNotificationEndpoint(Reader& r, const YAML::Node& e, const std::string& path,
                                 NotificationEndpointConfig* out) {
  BERTH_TRY(r.CheckMap(e, path,
                       {"name", "url", "headers", "timeout", "threshold", "backoff", "ignoredmediatypes", "ignore",
                        "format", "secret_file", "disabled"}));
  out->pos = PosOf(e.Mark());
  BERTH_TRY(r.GetString(e, "name", path, &out->name));
  BERTH_TRY(r.GetString(e, "url", path, &out->url));
  BERTH_TRY(GetMillis(r, e, "timeout", path, &out->timeout_ms));
  BERTH_TRY(r.GetInt(e, "threshold", path, 1, 1000000, &out->threshold));
  BERTH_TRY(GetMillis(r, e, "backoff", path, &out->backoff_ms));
  BERTH_TRY(r.GetStringList(e, "ignoredmediatypes", path, &out->ignored_media_types));
  BERTH_TRY(r.GetString(e, "format", path, &out->format));
  BERTH_TRY(r.OneOf(e, "format", out->format, {"distribution", "cloudevents"}));
  BERTH_TRY(r.GetString(e, "secret_file", path, &out->secret_file));
  BERTH_TRY(r.GetBool(e, "disabled", path, &out->disabled));
  if (out->name.empty() || out->name.size() > 64 ||
      out->name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return r.Error(e["name"] ? e["name"].Mark() : e.Mark(), path + ".name must be 1-64 of [A-Za-z0-9._-]");
  }
  if (!IsEndpointUrl(out->url)) {
    return r.Error(e["url"] ? e["url"].Mark() : e.Mark(), path + ".url must be http(s)://host[:port][/path]");
  }
  if (YAML::Node h = e["headers"]; h && !h.IsNull()) {
    if (!h.IsMap()) return r.Error(h.Mark(), path + ".headers must be a mapping of header names to lists of values");
    for (auto it = h.begin(); it != h.end(); ++it) {
      const std::string key = it->first.Scalar();
      std::vector<std::string> values;
      BERTH_TRY(r.GetStringList(h, key.c_str(), path + ".headers", &values));
      bool valid = !key.empty() && key.find_first_of(":\r\n \t") == std::string::npos;
      for (const std::string& v : values) valid = valid && v.find_first_of("\r\n") == std::string::npos;
      if (!valid) return r.Error(it->first.Mark(), path + ".headers: '" + key + "' is not a valid header");
      out->headers.emplace_back(key, std::move(values));
    }
  }
  if (YAML::Node ig = e["ignore"]; ig && !ig.IsNull()) {
    BERTH_TRY(r.CheckMap(ig, path + ".ignore", {"mediatypes", "actions"}));
    BERTH_TRY(r.GetStringList(ig, "mediatypes", path + ".ignore", &out->ignored_media_types));
    BERTH_TRY(r.GetStringList(ig, "actions", path + ".ignore", &out->ignored_actions));
    for (const std::string& a : out->ignored_actions) {
      if (a != "push" && a != "pull" && a != "delete" && a != "mount") {
        return r.Error(ig["actions"].Mark(),
                       path + ".ignore.actions: '" + a + "' is not one of push, pull, delete, mount");
      }
    }
  }
  return Status::Ok();
}

Status ParseNotifications(Reader& r, const YAML::Node& n, NotificationsConfig* out) {
  BERTH_TRY(r.CheckMap(n, "notifications", {"queue_dir", "max_queue_bytes", "pull_sync", "endpoints", "events"}));
  out->pos = PosOf(n.Mark());
  BERTH_TRY(r.GetString(n, "queue_dir", "notifications", &out->queue_dir));
  BERTH_TRY(r.GetInt(n, "max_queue_bytes", "notifications", 1 << 20, 1LL << 40, &out->max_queue_bytes));
  BERTH_TRY(GetMillis(r, n, "pull_sync", "notifications", &out->pull_sync_ms));
  // distribution's notifications.events.includereferences: accepted; references are not sent yet.
  if (YAML::Node ev = n["events"]; ev && !ev.IsNull()) {
    BERTH_TRY(r.CheckMap(ev, "notifications.events", {"includereferences"}));
  }
  YAML::Node eps = n["endpoints"];
  if (!eps || eps.IsNull()) return Status::Ok();
  if (!eps.IsSequence()) return r.Error(eps.Mark(), "notifications.endpoints must be a list");
  int index = 0;
  for (const auto& e : eps) {
    const std::string path = "notifications.endpoints[" + std::to_string(index++) + "]";
    NotificationEndpointConfig ep;
    BERTH_TRY(ParseNotificationEndpoint(r, e, path, &ep));
    for (const auto& other : out->endpoints) {
      if (other.name == ep.name) return r.Error(e["name"].Mark(), path + ".name '" + ep.name + "' is used twice");
    }
    out->endpoints.push_back(std::move(ep));
  }
  return Status::Ok();
}

Status ParseLog(Reader& r, const YAML::Node& n, LogConfig* out) {
  BERTH_TRY(r.CheckMap(n, "log", {"level", "format", "accesslog"}));
  BERTH_TRY(r.GetString(n, "level", "log", &out->level));
  BERTH_TRY(r.OneOf(n, "level", out->level, {"debug", "info", "warn", "error"}));
  BERTH_TRY(r.GetString(n, "format", "log", &out->format));
  BERTH_TRY(r.OneOf(n, "format", out->format, {"text", "json"}));
  BERTH_TRY(r.GetBool(n, "accesslog", "log", &out->accesslog));
  return Status::Ok();
}

Status ParseLdap(Reader& r, const YAML::Node& n, LdapConfig* out) {
  const std::string path = "auth.ldap";
  BERTH_TRY(r.CheckMap(n, path,
                       {"url", "bind_dn", "bind_password_file", "user_base", "user_filter", "username_attribute",
                        "group_base", "group_filter", "group_name_attribute", "member_of", "start_tls", "ca_file",
                        "cache_seconds", "timeout_seconds", "insecure_plaintext"}));
  out->enabled = true;
  out->pos = PosOf(n.Mark());
  for (auto [key, field] :
       {std::pair{"url", &out->url}, std::pair{"bind_dn", &out->bind_dn},
        std::pair{"bind_password_file", &out->bind_password_file}, std::pair{"user_base", &out->user_base},
        std::pair{"user_filter", &out->user_filter}, std::pair{"username_attribute", &out->username_attribute},
        std::pair{"group_base", &out->group_base}, std::pair{"group_filter", &out->group_filter},
        std::pair{"group_name_attribute", &out->group_name_attribute}, std::pair{"member_of", &out->member_of},
        std::pair{"ca_file", &out->ca_file}}) {
    BERTH_TRY(r.GetString(n, key, path, field));
  }
  BERTH_TRY(r.GetBool(n, "start_tls", path, &out->start_tls));
  BERTH_TRY(r.GetBool(n, "insecure_plaintext", path, &out->insecure_plaintext));
  BERTH_TRY(r.GetInt(n, "cache_seconds", path, 1, 3600, &out->cache_seconds));
  BERTH_TRY(r.GetInt(n, "timeout_seconds", path, 1, 120, &out->timeout_seconds));
  if (n["user_filter"]) out->user_filter_pos = PosOf(n["user_filter"].Mark());
  if (n["group_filter"]) out->group_filter_pos = PosOf(n["group_filter"].Mark());
  for (auto [key, value] : {std::pair{"url", &out->url}, std::pair{"user_base", &out->user_base}}) {
    if (value->empty()) return r.Error(n[key] ? n[key].Mark() : n.Mark(), path + "." + key + " is required");
  }
  if (out->url.rfind("ldap://", 0) != 0 && out->url.rfind("ldaps://", 0) != 0) {
    return r.Error(n["url"].Mark(), path + ".url must start with ldap:// or ldaps://");
  }
  if (out->start_tls && out->url.rfind("ldaps://", 0) == 0) {
    return r.Error(n["start_tls"].Mark(), path + ".start_tls is for ldap:// urls (ldaps:// is TLS from the start)");
  }
  if (out->bind_dn.empty() != out->bind_password_file.empty()) {
    return r.Error(n.Mark(), path + ".bind_dn and bind_password_file go together");
  }
  if (out->username_attribute.empty()) {
    return r.Error(n["username_attribute"].Mark(), path + ".username_attribute must not be empty");
  }
  if (out->user_filter.find("{username}") == std::string::npos) {
    return r.Error(n["user_filter"].Mark(), path + ".user_filter must contain {username}");
  }
  if (!out->group_base.empty() && !out->member_of.empty()) {
    return r.Error(n["member_of"].Mark(), path + ": group_base (a group search) and member_of are exclusive");
  }
  // Passwords never cross the network in cleartext unless the operator says so.
  const bool plaintext = out->url.rfind("ldap://", 0) == 0 && !out->start_tls;
  if (plaintext && !out->insecure_plaintext) {
    return r.Error(n["url"].Mark(), path +
                                        ".url: ldap:// without start_tls sends every password in cleartext; set "
                                        "start_tls: true or use ldaps:// (or insecure_plaintext: true to accept it)");
  }
  if (!plaintext && out->insecure_plaintext) {
    return r.Error(n["insecure_plaintext"].Mark(),
                   path + ".insecure_plaintext is only for ldap:// without start_tls (this connection is TLS)");
  }
  if (plaintext && !out->ca_file.empty()) {
    return r.Error(n["ca_file"].Mark(), path + ".ca_file is unused without TLS (set start_tls: true or use ldaps://)");
  }
  return Status::Ok();
}

Status ParseAuth(Reader& r, const YAML::Node& n, AuthConfig* out) {
  BERTH_TRY(r.CheckMap(n, "auth", {"mode", "token", "ldap"}));
  if (YAML::Node l = n["ldap"]; l && !l.IsNull()) BERTH_TRY(ParseLdap(r, l, &out->ldap));
  BERTH_TRY(r.GetString(n, "mode", "auth", &out->mode));
  BERTH_TRY(r.OneOf(n, "mode", out->mode, {"token", "none"}));
  if (YAML::Node t = n["token"]; t && !t.IsNull()) {
    BERTH_TRY(r.CheckMap(t, "auth.token",
                         {"service", "issuer", "key", "key_type", "expiration", "refresh_expiration", "previous_keys",
                          "bundle", "jwks_file"}));
    BERTH_TRY(r.GetString(t, "service", "auth.token", &out->token.service));
    BERTH_TRY(r.GetString(t, "issuer", "auth.token", &out->token.issuer));
    BERTH_TRY(r.GetString(t, "key", "auth.token", &out->token.key));
    BERTH_TRY(r.GetString(t, "key_type", "auth.token", &out->token.key_type));
    BERTH_TRY(r.OneOf(t, "key_type", out->token.key_type, {"rsa", "ec"}));
    BERTH_TRY(r.GetInt(t, "expiration", "auth.token", 10, 86400, &out->token.expiration));
    BERTH_TRY(r.GetInt(t, "refresh_expiration", "auth.token", 60, 365LL * 86400, &out->token.refresh_expiration));
    BERTH_TRY(r.GetStringList(t, "previous_keys", "auth.token", &out->token.previous_keys));
    for (const auto& k : out->token.previous_keys) {
      if (k.empty()) return r.Error(t["previous_keys"].Mark(), "auth.token.previous_keys: an empty path");
    }
    BERTH_TRY(r.GetString(t, "bundle", "auth.token", &out->token.bundle));
    BERTH_TRY(r.GetString(t, "jwks_file", "auth.token", &out->token.jwks_file));
    for (const std::string* v : {&out->token.service, &out->token.issuer}) {
      if (v->empty() || v->find_first_of("\"\\\r\n") != std::string::npos) {
        return r.Error(t.Mark(), "auth.token.service and issuer must be non-empty and contain no quotes");
      }
    }
  }
  return Status::Ok();
}

Status ParseUsers(Reader& r, const YAML::Node& n, std::vector<UserConfig>* out) {
  if (!n.IsMap()) return r.Error(n.Mark(), "users must be a mapping of user name to {password: <bcrypt hash>}");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string name = it->first.Scalar();
    if (name.empty() || name.size() > 128 || name.find(':') != std::string::npos ||
        name.find_first_of(" \t\r\n") != std::string::npos) {
      return r.Error(it->first.Mark(), "user name '" + name + "' must be 1-128 characters without ':' or spaces");
    }
    const std::string path = "users." + name;
    BERTH_TRY(r.CheckMap(it->second, path, {"password", "robot"}));
    UserConfig user{name, "", PosOf(it->second["password"] ? it->second["password"].Mark() : it->second.Mark())};
    BERTH_TRY(r.GetString(it->second, "password", path, &user.password));
    BERTH_TRY(r.GetBool(it->second, "robot", path, &user.robot));
    if (user.robot && it->second["password"]) {
      return r.Error(it->second["password"].Mark(), path + ": a robot has no password (it logs in with access tokens)");
    }
    // A name given twice: the last entry counts.
    std::erase_if(*out, [&](const UserConfig& u) { return u.name == name; });
    out->push_back(std::move(user));
  }
  return Status::Ok();
}

bool IsValidGroupName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.front() == '@') return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status ParseGroups(Reader& r, const YAML::Node& n, std::vector<GroupConfig>* out) {
  if (!n.IsMap()) return r.Error(n.Mark(), "groups must be a mapping of group name to a list of user names");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : "";
    if (!IsValidGroupName(name)) {
      return r.Error(
          it->first.Mark(),
          "group name '" + name + "' must be 1-128 characters, not starting with '@', without control characters");
    }
    const std::string path = "groups." + name;
    GroupConfig group{name, {}, PosOf(it->first.Mark()), {}};
    const YAML::Node members = it->second;  // a copy: it->second is a temporary
    if (members.IsNull()) {
      // `developers:` with nothing after it: an empty group.
    } else if (!members.IsSequence()) {
      return r.Error(members.Mark(), path + " must be a list of user names");
    } else {
      for (const auto& m : members) {
        if (!m.IsScalar() || m.Scalar().empty()) return r.Error(m.Mark(), path + " must contain user names");
        group.members.push_back(m.Scalar());
        group.member_pos.push_back(PosOf(m.Mark()));
      }
    }
    for (const auto& g : *out) {
      if (g.name == name) return r.Error(it->first.Mark(), "group '" + name + "' is defined twice");
    }
    out->push_back(std::move(group));
  }
  return Status::Ok();
}

Status ParseAcl(Reader& r, const YAML::Node& n, std::vector<AclEntryConfig>* out) {
  if (!n.IsSequence()) return r.Error(n.Mark(), "acl must be a list of entries");
  int index = 0;
  for (const auto& e : n) {
    const std::string path = "acl[" + std::to_string(index++) + "]";
    BERTH_TRY(r.CheckMap(e, path, {"account", "name", "type", "ip", "service", "actions", "comment"}));
    AclEntryConfig entry;
    entry.line = e.Mark().line + 1;
    for (const char* key : {"account", "name", "service", "type", "comment"}) {
      if (e[key] && !e[key].IsNull() && !e[key].IsScalar())
        return r.Error(e[key].Mark(), path + "." + key + " must be a string");
    }
    // The patterns are compiled (and their errors reported at these positions) by auth/access_rules.h.
    for (auto [key, field, pos] :
         {std::tuple{"account", &entry.account, &entry.account_pos}, std::tuple{"name", &entry.name, &entry.name_pos},
          std::tuple{"service", &entry.service, &entry.service_pos}}) {
      if (e[key] && !e[key].IsNull()) {
        *field = e[key].Scalar();
        *pos = PosOf(e[key].Mark());
      }
    }
    if (e["type"] && !e["type"].IsNull()) {
      std::string type = e["type"].Scalar();
      BERTH_TRY(r.OneOf(e, "type", type, {"repository", "registry"}));
      entry.type = type;
    }
    std::vector<std::string> ips;
    BERTH_TRY(r.GetStringList(e, "ip", path, &ips));
    for (const auto& ip : ips) {
      auto range = IpRange::Parse(ip);
      if (!range.ok()) return r.Error(e["ip"].Mark(), path + ".ip: " + range.status().message());
      entry.ips.push_back(*range);
    }
    YAML::Node actions = e["actions"];
    if (!actions || !actions.IsSequence()) {
      return r.Error(actions ? actions.Mark() : e.Mark(),
                     path + ".actions must be a list (of pull, push, delete, admin, *; [] denies)");
    }
    for (const auto& a : actions) {
      std::string v = a.IsScalar() ? a.Scalar() : "";
      if (v != "pull" && v != "push" && v != "delete" && v != "admin" && v != "*") {
        return r.Error(a.Mark(), path + ".actions: '" + v + "' is not one of pull, push, delete, admin, *");
      }
      entry.actions.insert(v);
    }
    BERTH_TRY(r.GetString(e, "comment", path, &entry.comment));
    out->push_back(std::move(entry));
  }
  return Status::Ok();
}

Status ParsePolicies(Reader& r, const YAML::Node& n, std::vector<PolicyConfig>* out) {
  if (!n.IsSequence()) return r.Error(n.Mark(), "policies must be a list of entries");
  int index = 0;
  for (const auto& e : n) {
    const std::string path = "policies[" + std::to_string(index++) + "]";
    BERTH_TRY(r.CheckMap(e, path, {"name", "immutable_tags", "retention", "quota", "comment"}));
    PolicyConfig p;
    p.line = e.Mark().line + 1;
    if (!e["name"] || !e["name"].IsScalar() || e["name"].Scalar().empty()) {
      return r.Error(e["name"] ? e["name"].Mark() : e.Mark(), path + ".name must be a repository name pattern");
    }
    p.name = e["name"].Scalar();
    p.name_pos = PosOf(e["name"].Mark());
    if (YAML::Node c = e["comment"]; c && !c.IsNull() && !c.IsScalar()) {
      return r.Error(c.Mark(), path + ".comment must be a string");
    }
    // Tag pattern lists keep each pattern's position (policy/policy_set.h compiles them).
    auto patterns = [&](const YAML::Node& parent, const char* key, const std::string& where,
                        std::vector<std::string>* texts, std::vector<SourcePos>* pos) -> Status {
      YAML::Node l = parent[key];
      if (!l || l.IsNull()) return Status::Ok();
      if (!l.IsSequence()) return r.Error(l.Mark(), where + "." + key + " must be a list of tag patterns");
      for (const auto& item : l) {
        if (!item.IsScalar() || item.Scalar().empty()) {
          return r.Error(item.Mark(), where + "." + key + " must contain tag patterns");
        }
        texts->push_back(item.Scalar());
        pos->push_back(PosOf(item.Mark()));
      }
      return Status::Ok();
    };
    BERTH_TRY(patterns(e, "immutable_tags", path, &p.immutable_tags, &p.immutable_tags_pos));
    if (YAML::Node ret = e["retention"]; ret && !ret.IsNull()) {
      const std::string rp = path + ".retention";
      BERTH_TRY(r.CheckMap(ret, rp, {"keep_tags", "keep_last", "keep_pushed_within", "keep_pulled_within"}));
      RetentionConfig rc;
      BERTH_TRY(patterns(ret, "keep_tags", rp, &rc.keep_tags, &rc.keep_tags_pos));
      if (ret["keep_last"] && !ret["keep_last"].IsNull()) {
        int64_t keep_last = 0;
        BERTH_TRY(r.GetInt(ret, "keep_last", rp, 0, 1'000'000'000, &keep_last));
        rc.keep_last = keep_last;
      }
      BERTH_TRY(r.GetDays(ret, "keep_pushed_within", rp, &rc.keep_pushed_within_s));
      BERTH_TRY(r.GetDays(ret, "keep_pulled_within", rp, &rc.keep_pulled_within_s));
      p.retention = std::move(rc);
    }
    if (YAML::Node q = e["quota"]; q && !q.IsNull()) {
      const std::string qp = path + ".quota";
      BERTH_TRY(r.CheckMap(q, qp, {"bytes"}));
      YAML::Node b = q["bytes"];
      if (!b || b.IsNull()) return r.Error(q.Mark(), qp + ".bytes is required (like 50GiB)");
      auto size = b.IsScalar() ? ParseSize(b.Scalar()) : Result<int64_t>(Status::Invalid(""));
      if (!size.ok() || *size <= 0) {
        return r.Error(b.Mark(), qp + ".bytes must be a positive size like 50GiB, 500MB or 1073741824");
      }
      p.quota_bytes = *size;
    }
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> ParseSize(std::string_view text) {
  const Status bad = Status::Invalid("'" + std::string(text.substr(0, 64)) + "' is not a size like 50GiB");
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 15) return bad;
  const int64_t whole = std::stoll(std::string(text.substr(0, i)));
  // An optional fraction of up to 6 digits ("1.5GiB").
  int64_t frac = 0, frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    size_t j = i + 1;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9' && j - i <= 6) {
      frac = frac * 10 + (text[j] - '0');
      frac_scale *= 10;
      ++j;
    }
    if (j == i + 1) return bad;
    i = j;
  }
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KB", 1000},
      {"MB", 1000'000},
      {"GB", 1000'000'000},
      {"TB", 1000'000'000'000},
      {"KiB", 1LL << 10},
      {"MiB", 1LL << 20},
      {"GiB", 1LL << 30},
      {"TiB", 1LL << 40},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (whole > (int64_t{1} << 62) / factor) return bad;
    const int64_t bytes = whole * factor + frac * factor / frac_scale;
    if (bytes > (int64_t{1} << 62)) return bad;
    return bytes;
  }
  return bad;
}

Result<int64_t> ParseDays(std::string_view s) {
  const std::optional<int64_t> total = DurationSeconds(s, /*days=*/true);
  if (!total) return Status::Invalid("'" + std::string(s.substr(0, 64)) + "' is not a duration like 30d");
  return *total;
}

std::string FormatSize(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  // One decimal, without a trailing ".0" ("50 GiB", "49.9 GiB").
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string text = buf;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text + " " + kUnits[u];
}

Status ErrorAt(const std::string& source, SourcePos pos, const std::string& what) {
  if (pos.line <= 0) return Status::Invalid(source + ": " + what);
  return Status::Invalid(source + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + what);
}

std::string TokenKeyPath(const Config& c) {
  if (!c.auth.token.key.empty()) return c.auth.token.key;
  std::string root = c.storage.filesystem_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/token-key.pem";
}

std::string MetadataDbPath(const Config& c) {
  if (!c.storage.metadata.path.empty()) return c.storage.metadata.path;
  std::string root = c.storage.filesystem_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/metadata.db";
}

namespace {
// "<dir>/token-key.pem" -> "<dir>/<name>"
std::string NextToTokenKey(const Config& c, const char* name) {
  const std::string key = TokenKeyPath(c);
  const size_t slash = key.rfind('/');
  if (slash == std::string::npos) return name;
  return key.substr(0, slash + 1) + name;
}
}  // namespace

std::string TokenBundlePath(const Config& c) {
  if (!c.auth.token.bundle.empty()) return c.auth.token.bundle;
  return NextToTokenKey(c, "token-bundle.pem");
}

std::string TokenJwksPath(const Config& c) {
  if (!c.auth.token.jwks_file.empty()) return c.auth.token.jwks_file;
  return NextToTokenKey(c, "token-jwks.json");
}

std::string EventQueueDir(const Config& c) {
  if (!c.notifications.queue_dir.empty()) return c.notifications.queue_dir;
  return c.storage.filesystem_root + "/_events";
}

Config DefaultConfig() { return Config{}; }

Result<Config> ParseConfig(std::string_view yaml, const std::string& source) {
  Reader r(source);
  Config cfg = DefaultConfig();
  cfg.source = source;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return cfg;  // an empty file means all defaults
    BERTH_TRY(r.CheckMap(root, "the top level",
                         {"version", "server", "storage", "log", "auth", "users", "groups", "acl", "proxy", "ui",
                          "policies", "notifications"}));
    if (YAML::Node n = root["server"]; n && !n.IsNull()) BERTH_TRY(ParseServer(r, n, &cfg.server));
    if (YAML::Node n = root["storage"]; n && !n.IsNull()) BERTH_TRY(ParseStorage(r, n, &cfg.storage));
    if (YAML::Node n = root["log"]; n && !n.IsNull()) BERTH_TRY(ParseLog(r, n, &cfg.log));
    if (YAML::Node n = root["auth"]; n && !n.IsNull()) BERTH_TRY(ParseAuth(r, n, &cfg.auth));
    if (YAML::Node n = root["users"]; n && !n.IsNull()) BERTH_TRY(ParseUsers(r, n, &cfg.users));
    if (YAML::Node n = root["groups"]; n && !n.IsNull()) BERTH_TRY(ParseGroups(r, n, &cfg.groups));
    if (YAML::Node n = root["acl"]; n && !n.IsNull()) BERTH_TRY(ParseAcl(r, n, &cfg.acl));
    if (YAML::Node n = root["proxy"]; n && !n.IsNull()) BERTH_TRY(ParseProxy(r, n, &cfg.proxy));
    if (YAML::Node n = root["ui"]; n && !n.IsNull()) {
      BERTH_TRY(r.CheckMap(n, "ui", {"enabled", "session_ttl"}));
      BERTH_TRY(r.GetBool(n, "enabled", "ui", &cfg.ui.enabled));
      BERTH_TRY(r.GetDuration(n, "session_ttl", "ui", &cfg.ui.session_ttl_s));
    }
    if (YAML::Node n = root["policies"]; n && !n.IsNull()) BERTH_TRY(ParsePolicies(r, n, &cfg.policies));
    if (YAML::Node n = root["notifications"]; n && !n.IsNull()) {
      BERTH_TRY(ParseNotifications(r, n, &cfg.notifications));
      if (cfg.storage.s3_enabled && cfg.notifications.queue_dir.empty() && !cfg.notifications.endpoints.empty()) {
        return r.Error(n.Mark(), "notifications.queue_dir is required with storage.s3 (a local directory per replica)");
      }
    }
  } catch (const YAML::Exception& e) {
    return r.Error(e.mark, e.msg);
  }
  return cfg;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

}  // namespace berth::config
