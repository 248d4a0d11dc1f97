// log.format: json — every line the server writes to stderr is a JSON object;
// request-scoped lines carry request_id, user, repository and action; pushes,
// deletes and denied requests leave audit lines; no secret is ever logged.
#include <sstream>

#include "api_helpers.h"
#include "util/base64.h"
#include "auth/password.h"
#include "auth/signing_key.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

constexpr char kPassword[] = "Sup3r-Secret-Pa55";

std::string Basic() { return "Basic " + Base64UrlEncode(std::string("alice:") + kPassword); }

class JsonLogTest : public ServerSuite<JsonLogTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.log = "{level: info, format: json, accesslog: true}";
    auto hash = auth::HashPassword(kPassword, 4);
    o.extra_config = "users:\n  alice: {password: \"" + *hash + "\"}\n" +
                     "acl:\n  - {account: \"alice\", name: \"*\", actions: [\"*\"]}\n";
    return o;
  }
};

std::vector<json> ParseLines(const std::string& log) {
  std::vector<json> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
    if (!j.is_object()) continue;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    out.push_back(std::move(j));
  }
  return out;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "<missing " + std::string(key) + ">";
}

TEST_F(JsonLogTest, RequestAndAuditLines) {
  const std::string repo = "team/app";
  const Headers auth = {{"Authorization", Basic()}};
  // Denied: no credentials.
  auto denied = Do(client(), "GET", "/v2/" + repo + "/tags/list", {{"X-Request-Id", "req-denied-1"}});
  ASSERT_EQ(denied.status, 401u);
  // Push a blob and a manifest as alice.
  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const std::string digest = Sha256(config);
  Headers h = auth;
  h.emplace_back("X-Request-Id", "req-blob-1");
  auto blob = Do(client(), "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest, h, config);
  ASSERT_EQ(blob.status, 201u) << blob.body;
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifest},
                   {"config", Descriptor(kOciConfig, digest, config.size())},
                   {"layers", json::array()}};
  const std::string body = manifest.dump();
  h = auth;
  h.emplace_back("Content-Type", std::string(kOciManifest));
  h.emplace_back("X-Request-Id", "req-manifest-1");
  auto put = Do(client(), "PUT", "/v2/" + repo + "/manifests/v1", h, body);
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("X-Request-Id"), "req-manifest-1");
  auto del = Do(client(), "DELETE", "/v2/" + repo + "/manifests/" + Sha256(body), auth);
  ASSERT_EQ(del.status, 202u) << del.body;
  const std::string del_id = del.header("X-Request-Id");
  ASSERT_EQ(del_id.size(), 16u);
  // A failed token request is audited as a denial too.
  EXPECT_EQ(Do(client(), "GET", "/v2/token", {{"Authorization", "Basic " + Base64UrlEncode("alice:nope")}}).status,
            401u);

  const int code = server().Stop();
  EXPECT_EQ(code, 0);
  const std::string log = server().LogSinceStart();
  // No secrets: neither the password nor the credentials nor an Authorization header.
  EXPECT_EQ(log.find(kPassword), std::string::npos);
  EXPECT_EQ(log.find(Base64UrlEncode(std::string("alice:") + kPassword)), std::string::npos);
  EXPECT_EQ(log.find("Authorization"), std::string::npos);
  EXPECT_EQ(log.find("nope"), std::string::npos);

  const std::vector<json> lines = ParseLines(log);
  ASSERT_FALSE(lines.empty());
  std::map<std::string, json> request_by_id;  // access log lines
  std::vector<json> audits;
  int login_failures = 0;
  for (const json& j : lines) {
    if (j["msg"] == "request") {
      EXPECT_FALSE(Str(j, "request_id").empty()) << j.dump();
      EXPECT_TRUE(j.contains("user")) << j.dump();
      EXPECT_TRUE(j.contains("route")) << j.dump();
      request_by_id[Str(j, "request_id")] = j;
    }
    // Handler and authentication lines are request-scoped too.
    for (const char* scoped : {"login failed", "access denied", "token issued", "token refused", "request failed"}) {
      if (j["msg"] == scoped) EXPECT_FALSE(Str(j, "request_id").empty()) << j.dump();
    }
    if (j["msg"] == "login failed") ++login_failures;
    if (j["msg"] == "audit") {
      EXPECT_EQ(j["level"], "info");
      EXPECT_EQ(Str(j, "audit"), "true");
      EXPECT_FALSE(Str(j, "request_id").empty()) << j.dump();
      EXPECT_EQ(Str(j, "client_ip"), "127.0.0.1") << j.dump();
      audits.push_back(j);
    }
  }
  // Access log lines.
  ASSERT_EQ(request_by_id.count("req-denied-1"), 1u);
  const json& d = request_by_id["req-denied-1"];
  EXPECT_EQ(Str(d, "user"), "");
  EXPECT_EQ(Str(d, "repository"), repo);
  EXPECT_EQ(Str(d, "action"), "pull");
  EXPECT_EQ(Str(d, "status"), "401");
  ASSERT_EQ(request_by_id.count("req-manifest-1"), 1u);
  const json& m = request_by_id["req-manifest-1"];
  EXPECT_EQ(Str(m, "user"), "alice");
  EXPECT_EQ(Str(m, "repository"), repo);
  EXPECT_EQ(Str(m, "action"), "push");
  EXPECT_EQ(Str(m, "route"), "manifest");
  EXPECT_EQ(Str(m, "status"), "201");
  ASSERT_EQ(request_by_id.count(del_id), 1u);
  EXPECT_EQ(Str(request_by_id[del_id], "action"), "delete");

  // Audit lines: one per push, delete and denial.
  auto find_audit = [&](const std::string& id) -> const json* {
    for (const json& a : audits) {
      if (Str(a, "request_id") == id) return &a;
    }
    return nullptr;
  };
  const json* a_denied = find_audit("req-denied-1");
  ASSERT_NE(a_denied, nullptr);
  EXPECT_EQ(Str(*a_denied, "event"), "denied");
  EXPECT_EQ(Str(*a_denied, "repository"), repo);
  EXPECT_EQ(Str(*a_denied, "status"), "401");
  const json* a_blob = find_audit("req-blob-1");
  ASSERT_NE(a_blob, nullptr);
  EXPECT_EQ(Str(*a_blob, "event"), "push");
  EXPECT_EQ(Str(*a_blob, "target"), "blob");
  EXPECT_EQ(Str(*a_blob, "digest"), digest);
  EXPECT_EQ(Str(*a_blob, "user"), "alice");
  EXPECT_EQ(Str(*a_blob, "outcome"), "success");
  const json* a_manifest = find_audit("req-manifest-1");
  ASSERT_NE(a_manifest, nullptr);
  EXPECT_EQ(Str(*a_manifest, "event"), "push");
  EXPECT_EQ(Str(*a_manifest, "target"), "manifest");
  EXPECT_EQ(Str(*a_manifest, "reference"), "v1");
  EXPECT_EQ(Str(*a_manifest, "repository"), repo);
  EXPECT_EQ(Str(*a_manifest, "action"), "push");
  EXPECT_EQ(Str(*a_manifest, "outcome"), "success");
  const json* a_delete = find_audit(del_id);
  ASSERT_NE(a_delete, nullptr);
  EXPECT_EQ(Str(*a_delete, "event"), "delete");
  EXPECT_EQ(Str(*a_delete, "reference"), Sha256(body));
  EXPECT_EQ(Str(*a_delete, "user"), "alice");
  int token_denials = 0;
  for (const json& a : audits) {
    if (Str(a, "route") == "token" && Str(a, "event") == "denied") {
      ++token_denials;
      EXPECT_EQ(Str(a, "attempted_user"), "alice");
    }
  }
  EXPECT_EQ(token_denials, 1);
  EXPECT_EQ(login_failures, 1);
  // Reads leave no audit line: these five, plus the anonymous GET /v2/ with
  // which TestServer waits for the server to come up (a denial too).
  int others = 0;
  for (const json& a : audits) others += Str(a, "route") == "base" ? 0 : 1;
  EXPECT_EQ(others, 5);
}

}  // namespace
}  // namespace berth::apitest
