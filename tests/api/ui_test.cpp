// The web UI's HTTP side (docs/ui.md), against the real binary: the page and
// its headers, embedded assets (gzip, ETag, caching), `ui: {enabled: false}`,
// and with users: sign-in (wrong password, the header it needs), the session
// cookie, CSRF on state-changing calls, what a user may see (the ACL's pull),
// delete (the ACL's delete), who can access (admin), and a password change
// ending the session.
#include <signal.h>
#include <stdio.h>

#include <cstdlib>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api_helpers.h"
#include "auth/password.h"
#include "test_server.h"
#include "util/base64.h"

namespace berth::apitest {
namespace {

size_t Count(const ClientResponse& r, std::string_view name) {
  size_t n = 0;
  for (const auto& [k, v] : r.headers)
    n += k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0;
  return n;
}

// --- without users (auth: none): the page and the assets ---

class UiOpenTest : public ServerSuite<UiOpenTest> {};

TEST_F(UiOpenTest, ThePageHasItsOwnStrictPolicyAndIsNeverFramed) {
  for (const char* path : {"/", "/storage", "/repositories/some/repo"}) {
    auto r = Do(client(), "GET", path);
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(Count(r, "Content-Security-Policy"), 1u) << "the page's policy replaces the API's";
    const std::string csp = r.header("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("object-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.header("Cache-Control"), "no-cache");
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_NE(r.body.find("<script type=\"module\" src=\"/ui/assets/app.js?v="), std::string::npos);
    EXPECT_EQ(r.body.find("<script>"), std::string::npos) << "no inline script";
  }
  // The API keeps its own policy.
  auto api = Do(client(), "GET", "/v2/");
  EXPECT_EQ(api.header("Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'");
}

TEST_F(UiOpenTest, AssetsAreCompressedAndCachedByContent) {
  auto page = Do(client(), "GET", "/");
  const size_t at = page.body.find("/ui/assets/app.js?v=");
  ASSERT_NE(at, std::string::npos);
  const std::string hash = page.body.substr(at + 20, 16);

  auto plain = Do(client(), "GET", "/ui/assets/app.js?v=" + hash);
  ASSERT_EQ(plain.status, 200u);
  EXPECT_EQ(plain.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.header("ETag"), "\"" + hash + "\"");
  EXPECT_EQ(plain.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.header("Content-Encoding"), "");
  EXPECT_NE(plain.body.find("textContent"), std::string::npos);

  auto gz = Do(client(), "GET", "/ui/assets/app.js?v=" + hash, {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_EQ(gz.status, 200u);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
  EXPECT_LT(gz.body.size(), plain.body.size() / 2);
  EXPECT_EQ(gz.body.substr(0, 2), "\x1f\x8b");

  auto unnamed = Do(client(), "GET", "/ui/assets/app.js");
  EXPECT_EQ(unnamed.header("Cache-Control"), "no-cache") << "without its hash, revalidated";
  auto again = Do(client(), "GET", "/ui/assets/app.js", {{"If-None-Match", "\"" + hash + "\""}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());

  EXPECT_EQ(Do(client(), "GET", "/ui/assets/nope.js").status, 404u);
  EXPECT_EQ(Do(client(), "GET", "/ui/assets/index.html").status, 404u);
}

TEST_F(UiOpenTest, TheJsonApiListsRepositoriesAndTagsWithoutUsers) {
  PushImage(client(), "open/app", "v1", "open-1");
  auto session = Do(client(), "GET", "/ui/api/session");
  ASSERT_EQ(session.status, 200u);
  auto s = json::parse(session.body);
  EXPECT_FALSE(s["auth"].get<bool>());
  auto list = Do(client(), "GET", "/ui/api/repositories?filter=open");
  ASSERT_EQ(list.status, 200u) << list.body;
  auto l = json::parse(list.body);
  ASSERT_EQ(l["repositories"].size(), 1u);
  EXPECT_EQ(l["repositories"][0]["name"], "open/app");
  EXPECT_EQ(l["repositories"][0]["tags"], 1);
  auto repo = Do(client(), "GET", "/ui/api/repositories/open/app/summary");
  ASSERT_EQ(repo.status, 200u) << repo.body;
  auto j = json::parse(repo.body);
  EXPECT_EQ(j["pull_host"], "127.0.0.1:" + std::to_string(server_->port())) << "no public_url: the request's Host";
  EXPECT_EQ(j["tags"][0]["name"], "v1");
  EXPECT_TRUE(j["can_delete"].get<bool>());
  EXPECT_EQ(Do(client(), "GET", "/ui/api/repositories/open/none/summary").status, 404u);
  auto manifest = Do(client(), "GET", "/ui/api/repositories/open/app/manifests/v1");
  ASSERT_EQ(manifest.status, 200u) << manifest.body;
  auto m = json::parse(manifest.body);
  EXPECT_EQ(m["manifest"]["layers"].size(), 2u);
  EXPECT_EQ(m["config"]["os"], "linux");
  EXPECT_TRUE(m["raw"].is_string());
  auto storage = Do(client(), "GET", "/ui/api/storage");
  ASSERT_EQ(storage.status, 200u) << storage.body;
  auto st = json::parse(storage.body);
  EXPECT_EQ(st["namespaces"][0]["name"], "open");
  EXPECT_GT(st["namespaces"][0]["bytes"].get<int64_t>(), 0);
  EXPECT_GE(st["totals"]["repositories"].get<int64_t>(), 1) << "the open registry shows the whole store";
  EXPECT_TRUE(st["gc"].is_null()) << "storage.gc is off";
}

class UiQuotaTest : public ServerSuite<UiQuotaTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.extra_config = "policies:\n  - name: \"quota/**\"\n    quota: {bytes: 1GiB}\n";
    return o;
  }
};

TEST_F(UiQuotaTest, TheStoragePageShowsEachQuotaAgainstItsLimit) {
  PushImage(client(), "quota/app", "v1", "quota-1");
  auto storage = Do(client(), "GET", "/ui/api/storage");
  ASSERT_EQ(storage.status, 200u) << storage.body;
  auto st = json::parse(storage.body);
  ASSERT_EQ(st["quotas"].size(), 1u) << storage.body;
  EXPECT_EQ(st["quotas"][0]["policy"], "policies[0] \"quota/**\"");
  EXPECT_EQ(st["quotas"][0]["limit"].get<int64_t>(), int64_t{1} << 30);
  EXPECT_GT(st["quotas"][0]["used"].get<int64_t>(), 0) << "the pushed image's blobs and manifest";
}

class UiDisabledTest : public ServerSuite<UiDisabledTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.extra_config = "ui: {enabled: false}\n";
    return o;
  }
};

TEST_F(UiDisabledTest, NothingOfTheUiIsServed) {
  for (const char* path : {"/", "/storage", "/ui/api/session", "/ui/assets/app.js", "/ui/api/repositories"}) {
    auto r = Do(client(), "GET", path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(ErrorCode(r), "UNSUPPORTED") << path;
  }
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 200u);
}

// --- with users and an ACL ---

const char kAdminPw[] = "admin-pw-1";
const char kDevPw[] = "dev-pw-2";

class UiAuthTest : public ServerSuite<UiAuthTest> {
 public:
  static std::string UsersYaml(const std::string& dev_hash) {
    return "users:\n  admin: {password: \"" + *auth::HashPassword(kAdminPw, 4) + "\"}\n  dev: {password: \"" +
           dev_hash +
           "\"}\n"
           "acl:\n"
           "  - {account: admin, name: \"*\", actions: [\"*\"], comment: everything}\n"
           "  - {account: dev, name: \"team/*\", actions: [pull, push]}\n";
  }
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.log = "{level: info, accesslog: false}";
    o.extra_config = UsersYaml(*auth::HashPassword(kDevPw, 4));
    return o;
  }

 protected:
  static Headers Basic(const std::string& user, const std::string& pw) {
    return {{"Authorization", "Basic " + Base64Encode(user + ":" + pw)}};
  }

  // Pushes a one-layer image as admin.
  void Push(const std::string& repo, const std::string& tag, const std::string& seed) {
    Image img = MakeImage(client(), repo, seed, /*push_blobs=*/false);
    for (const std::string* blob : {&img.config, &img.layers[0], &img.layers[1]}) {
      auto r = Do(client(), "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + Sha256(*blob), Basic("admin", kAdminPw),
                  *blob);
      ASSERT_EQ(r.status, 201u) << r.body;
    }
    Headers h = Basic("admin", kAdminPw);
    h.emplace_back("Content-Type", std::string(kOciManifest));
    auto r = Do(client(), "PUT", "/v2/" + repo + "/manifests/" + tag, h, img.body);
    ASSERT_EQ(r.status, 201u) << r.body;
  }

  // Signs in; returns the cookie ("" when refused) and sets *csrf.
  std::string SignIn(const std::string& user, const std::string& pw, unsigned* status = nullptr,
                     std::string* csrf = nullptr) {
    const std::string body = json{{"user", user}, {"password", pw}}.dump();
    auto r = Do(client(), "POST", "/ui/api/session", {{"X-Berth-UI", "1"}, {"Content-Type", "application/json"}}, body);
    if (status != nullptr) *status = r.status;
    if (r.status != 200) return "";
    const std::string set = r.header("Set-Cookie");
    EXPECT_NE(set.find("; HttpOnly"), std::string::npos) << set;
    EXPECT_NE(set.find("; SameSite=Strict"), std::string::npos) << set;
    EXPECT_NE(set.find("; Path=/"), std::string::npos) << set;
    EXPECT_EQ(set.find("Secure"), std::string::npos) << "no https public_url: " << set;
    const std::string cookie = set.substr(0, set.find(';'));
    if (csrf != nullptr) {
      auto s = Do(client(), "GET", "/ui/api/session", {{"Cookie", cookie}});
      *csrf = json::parse(s.body).value("csrf", "");
    }
    return cookie;
  }

  json Names(const std::string& cookie) {
    auto r = Do(client(), "GET", "/ui/api/repositories", {{"Cookie", cookie}});
    EXPECT_EQ(r.status, 200u) << r.body;
    json names = json::array();
    const json page = json::parse(r.body);
    for (const auto& repo : page["repositories"]) names.push_back(repo["name"]);
    return names;
  }
};

TEST_F(UiAuthTest, SignInChecksThePasswordAndNeedsTheUiHeader) {
  unsigned status = 0;
  const size_t audited = server_->CountInLog("outcome=unauthorized");
  EXPECT_EQ(SignIn("admin", "wrong", &status), "");
  EXPECT_EQ(status, 401u);
  EXPECT_TRUE(server_->WaitForLog("outcome=unauthorized", audited + 1, 5000)) << "a refused sign-in is audited";
  EXPECT_EQ(SignIn("nobody", kAdminPw, &status), "");
  EXPECT_EQ(status, 401u);
  // Without X-Berth-UI (what a cross-site form would send): refused before the password is looked at.
  auto forged = Do(client(), "POST", "/ui/api/session", {{"Content-Type", "application/json"}},
                   json{{"user", "admin"}, {"password", kAdminPw}}.dump());
  EXPECT_EQ(forged.status, 403u);
  auto malformed = Do(client(), "POST", "/ui/api/session", {{"X-Berth-UI", "1"}}, "{\"user\": 1}");
  EXPECT_EQ(malformed.status, 400u);
  const std::string cookie = SignIn("admin", kAdminPw, &status);
  ASSERT_EQ(status, 200u);
  auto s = json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", cookie}}).body);
  EXPECT_EQ(s["user"], "admin");
  EXPECT_TRUE(s["signed_in"].get<bool>());
  EXPECT_EQ(s["csrf"].get<std::string>().size(), 64u);
  // A made-up session id is anonymous.
  auto fake =
      json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", "berth_session=" + std::string(64, 'a')}}).body);
  EXPECT_FALSE(fake["signed_in"].get<bool>());
}

TEST_F(UiAuthTest, EachUserSeesWhatTheAclLetsThemPull) {
  Push("team/app", "v1", "team-app");
  Push("secret/app", "v1", "secret-app");
  EXPECT_EQ(Names(""), json::array()) << "anonymous may pull nothing";
  EXPECT_EQ(Names(SignIn("admin", kAdminPw)), json::array({"secret/app", "team/app"}));
  const std::string dev = SignIn("dev", kDevPw);
  EXPECT_EQ(Names(dev), json::array({"team/app"}));
  for (const char* path : {"/ui/api/repositories/secret/app/summary", "/ui/api/repositories/secret/app/manifests/v1",
                           "/ui/api/repositories/secret/app/tags/v1", "/repositories/secret/app",
                           "/repositories/secret/app/manifests/v1"}) {
    EXPECT_EQ(Do(client(), "GET", path, {{"Cookie", dev}}).status, 404u) << path;
  }
  auto summary = Do(client(), "GET", "/ui/api/repositories/team/app/summary", {{"Cookie", dev}});
  ASSERT_EQ(summary.status, 200u) << summary.body;
  auto j = json::parse(summary.body);
  EXPECT_FALSE(j["can_delete"].get<bool>());
  EXPECT_FALSE(j["can_see_access"].get<bool>());
  EXPECT_EQ(Do(client(), "GET", "/ui/api/repositories/team/app/access", {{"Cookie", dev}}).status, 403u);
}

TEST_F(UiAuthTest, AdminsSeeWhichAclEntriesDecide) {
  Push("team/who", "v1", "team-who");
  const std::string admin = SignIn("admin", kAdminPw);
  auto r = Do(client(), "GET", "/ui/api/repositories/team/who/access", {{"Cookie", admin}});
  ASSERT_EQ(r.status, 200u) << r.body;
  auto entries = json::parse(r.body)["entries"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["account"], "admin");
  EXPECT_EQ(entries[0]["comment"], "everything");
  EXPECT_EQ(entries[1]["account"], "dev");
  EXPECT_EQ(entries[1]["actions"], json::array({"pull", "push"}));
}

TEST_F(UiAuthTest, DeletingATagNeedsTheCsrfTokenAndTheDeleteAction) {
  Push("team/del", "v1", "team-del-1");
  Push("team/del", "v2", "team-del-2");
  std::string dev_csrf;
  const std::string dev = SignIn("dev", kDevPw, nullptr, &dev_csrf);
  EXPECT_EQ(
      Do(client(), "DELETE", "/ui/api/repositories/team/del/tags/v1", {{"Cookie", dev}, {"X-CSRF-Token", dev_csrf}})
          .status,
      403u)
      << "dev may not delete";
  std::string csrf;
  const std::string admin = SignIn("admin", kAdminPw, nullptr, &csrf);
  auto estimate = Do(client(), "GET", "/ui/api/repositories/team/del/tags/v1", {{"Cookie", admin}});
  ASSERT_EQ(estimate.status, 200u) << estimate.body;
  EXPECT_GT(json::parse(estimate.body)["bytes"].get<int64_t>(), 0);
  EXPECT_EQ(Do(client(), "DELETE", "/ui/api/repositories/team/del/tags/v1", {{"Cookie", admin}}).status, 403u)
      << "no CSRF token";
  EXPECT_EQ(
      Do(client(), "DELETE", "/ui/api/repositories/team/del/tags/v1", {{"Cookie", admin}, {"X-CSRF-Token", dev_csrf}})
          .status,
      403u)
      << "another session's token";
  auto ok =
      Do(client(), "DELETE", "/ui/api/repositories/team/del/tags/v1", {{"Cookie", admin}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(ok.status, 200u) << ok.body;
  auto tags = Do(client(), "GET", "/v2/team/del/tags/list", Basic("admin", kAdminPw));
  EXPECT_EQ(json::parse(tags.body)["tags"], json::array({"v2"}));
  // Signing out needs the token too, and ends the session.
  EXPECT_EQ(Do(client(), "DELETE", "/ui/api/session", {{"Cookie", admin}}).status, 403u);
  EXPECT_EQ(Do(client(), "DELETE", "/ui/api/session", {{"Cookie", admin}, {"X-CSRF-Token", csrf}}).status, 200u);
  auto after = json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", admin}}).body);
  EXPECT_FALSE(after["signed_in"].get<bool>());
}

// Runs `berth <args>` on the test server's config; its output (stdout).
std::string Berth(const TestServer& server, const std::string& args) {
  const char* env = std::getenv("BERTH_TEST_BINARY");
  const std::string binary = env != nullptr && *env != '\0' ? env : BERTH_BINARY;
  const std::string cmd = binary + " " + args + " --config " + server.dir() + "/config.yaml 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd << "\n" << out;
  return out;
}

TEST_F(UiAuthTest, AnAccessTokenSignsInUntilItIsRevoked) {
  const std::string created = Berth(*server_, "token create --user dev --name ui-test");
  const size_t at = created.find("berth_pat_");
  ASSERT_NE(at, std::string::npos) << created;
  const std::string token = created.substr(at, created.find('\n', at) - at);
  const size_t id_at = created.find("access token ") + 13;
  const std::string id = created.substr(id_at, created.find(' ', id_at) - id_at);
  const std::string session = SignIn("dev", token);
  ASSERT_FALSE(session.empty());
  EXPECT_TRUE(json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", session}}).body)["signed_in"].get<bool>());
  EXPECT_EQ(SignIn("admin", token), "") << "a token signs in only its own user";
  Berth(*server_, "token revoke " + id);
  auto after = json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", session}}).body);
  EXPECT_FALSE(after["signed_in"].get<bool>()) << "revoking the token ends the session";
}

TEST_F(UiAuthTest, APasswordChangeEndsTheSession) {
  const std::string dev = SignIn("dev", kDevPw);
  ASSERT_FALSE(dev.empty());
  ASSERT_TRUE(json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", dev}}).body)["signed_in"].get<bool>());
  // The same config with dev's new password, reloaded.
  std::ifstream in(server_->dir() + "/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string config = ss.str();
  const size_t users = config.find("users:");
  ASSERT_NE(users, std::string::npos);
  config = config.substr(0, users) + UsersYaml(*auth::HashPassword("dev-new-pw", 4));
  std::ofstream(server_->dir() + "/config.yaml", std::ios::trunc) << config;
  server_->Signal(SIGHUP);
  ASSERT_TRUE(server_->WaitForLog("users and acl reloaded", 1, 10000)) << server_->LogSinceStart();
  auto s = json::parse(Do(client(), "GET", "/ui/api/session", {{"Cookie", dev}}).body);
  EXPECT_FALSE(s["signed_in"].get<bool>());
  EXPECT_FALSE(SignIn("dev", "dev-new-pw").empty());
}

}  // namespace
}  // namespace berth::apitest
