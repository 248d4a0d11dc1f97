#include "config/config.h"

#include <fstream>
#include <initializer_list>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "http/server.h"

namespace berth::config {
namespace {

// Walks the YAML tree with a source name for error messages. yaml-cpp throws;
// everything here converts that into Status at this edge.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(const YAML::Mark& m, const std::string& what) const {
    if (m.line < 0) return Status::Invalid(source_ + ": " + what);
    return Status::Invalid(source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " +
                           what);
  }

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

#define BERTH_TRY(expr)             \
  do {                              \
    if (Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

Status ParseServer(Reader& r, const YAML::Node& n, ServerConfig* out) {
  BERTH_TRY(r.CheckMap(n, "server", {"addr", "tls"}));
  BERTH_TRY(r.GetString(n, "addr", "server", &out->addr));
  std::string host;
  uint16_t port;
  if (Status s = http::ParseListenAddress(out->addr, &host, &port); !s.ok()) {
    return r.Error(n["addr"].Mark(), "server.addr: " + s.message());
  }
  if (YAML::Node tls = n["tls"]; tls && !tls.IsNull()) {
    BERTH_TRY(r.CheckMap(tls, "server.tls", {"enabled", "certificate", "key"}));
    BERTH_TRY(r.GetBool(tls, "enabled", "server.tls", &out->tls.enabled));
    BERTH_TRY(r.GetString(tls, "certificate", "server.tls", &out->tls.certificate));
    BERTH_TRY(r.GetString(tls, "key", "server.tls", &out->tls.key));
    if (out->tls.enabled && (out->tls.certificate.empty() || out->tls.key.empty())) {
      return r.Error(tls.Mark(), "server.tls.enabled needs both certificate and key");
    }
  }
  return Status::Ok();
}

Status ParseStorage(Reader& r, const YAML::Node& n, StorageConfig* out) {
  BERTH_TRY(r.CheckMap(n, "storage", {"filesystem", "delete"}));
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

}  // namespace

Config DefaultConfig() { return Config{}; }

Result<Config> ParseConfig(std::string_view yaml, const std::string& source) {
  Reader r(source);
  Config cfg = DefaultConfig();
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return cfg;  // an empty file means all defaults
    BERTH_TRY(r.CheckMap(root, "the top level", {"version", "server", "storage", "log"}));
    if (YAML::Node n = root["server"]; n && !n.IsNull()) BERTH_TRY(ParseServer(r, n, &cfg.server));
    if (YAML::Node n = root["storage"]; n && !n.IsNull()) BERTH_TRY(ParseStorage(r, n, &cfg.storage));
    if (YAML::Node n = root["log"]; n && !n.IsNull()) BERTH_TRY(ParseLog(r, n, &cfg.log));
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
