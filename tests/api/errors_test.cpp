// Hostile and malformed input: invalid repository names (path traversal), bad
// digests, unknown endpoints, wrong methods; every error is a spec error body.
#include <filesystem>
#include <set>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

namespace fs = std::filesystem;

const std::string kDigest = Repeat("sha256:", 64, 'a');
constexpr char kUuid[] = "0f0f0f0f-1111-4222-8333-444444444444";

class ErrorsTest : public ServerSuite<ErrorsTest> {
 protected:
  // A response that must be a JSON error with the given status and code.
  void ExpectError(const ClientResponse& r, unsigned status, const std::string& code, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), code) << what;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << what;
  }

  // Every endpoint that takes a repository name.
  void ExpectNameInvalidEverywhere(const std::string& name) {
    const std::string base = "/v2/" + name;
    struct Call {
      const char* method;
      std::string target;
      std::string body;
    };
    const Call calls[] = {
        {"GET", base + "/tags/list", ""},
        {"GET", base + "/manifests/latest", ""},
        {"HEAD", base + "/manifests/latest", ""},
        {"PUT", base + "/manifests/latest", R"({"schemaVersion":2,"config":{},"layers":[]})"},
        {"DELETE", base + "/manifests/latest", ""},
        {"GET", base + "/blobs/" + kDigest, ""},
        {"DELETE", base + "/blobs/" + kDigest, ""},
        {"POST", base + "/blobs/uploads/", ""},
        {"POST", base + "/blobs/uploads/?digest=" + Sha256("x"), "x"},
        {"POST", base + "/blobs/uploads/?mount=" + kDigest + "&from=library/busybox", ""},
        {"GET", base + "/blobs/uploads/" + kUuid, ""},
        {"PATCH", base + "/blobs/uploads/" + kUuid, "data"},
        {"PUT", base + "/blobs/uploads/" + kUuid + "?digest=" + kDigest, ""},
        {"DELETE", base + "/blobs/uploads/" + kUuid, ""},
        {"GET", base + "/referrers/" + kDigest, ""},
    };
    for (const auto& c : calls) {
      auto r = Do(client(), c.method, c.target, {}, c.body);
      const std::string what = std::string(c.method) + " " + c.target.substr(0, 120);
      EXPECT_EQ(r.status, 400u) << what << ": " << r.body;
      if (std::string_view(c.method) != "HEAD") {
        EXPECT_EQ(ErrorCode(r), "NAME_INVALID") << what;
      }
    }
  }
};

TEST_F(ErrorsTest, UpperCaseNameIsNameInvalid) { ExpectNameInvalidEverywhere("Library/busybox"); }

TEST_F(ErrorsTest, DotDotNameIsNameInvalid) {
  ExpectNameInvalidEverywhere("..");
  ExpectNameInvalidEverywhere("a/../b");
}

TEST_F(ErrorsTest, PercentEncodedDotDotIsNameInvalid) {
  ExpectNameInvalidEverywhere("%2e%2e");
  ExpectNameInvalidEverywhere("a/%2E%2E/b");
  ExpectNameInvalidEverywhere("a%2f..%2fb");
}

TEST_F(ErrorsTest, EmptyComponentIsNameInvalid) {
  ExpectNameInvalidEverywhere("a//b");
  ExpectNameInvalidEverywhere("a/");
}

TEST_F(ErrorsTest, OtherMalformedNamesAreNameInvalid) {
  for (const char* name : {"-leading", "trailing-", "a..b", "a___b", "_uploads", "a/_layers", "a%00b", "a%20b", "a.",
                           "caf%C3%A9", "a%5cb"}) {
    auto r = Do(client(), "GET", std::string("/v2/") + name + "/tags/list");
    ExpectError(r, 400, "NAME_INVALID", name);
  }
}

TEST_F(ErrorsTest, OverlongNameIsNameInvalid) {
  const std::string long_one(256, 'a');
  ExpectNameInvalidEverywhere(long_one);
  const std::string long_nested = std::string(128, 'a') + Repeat("/", 127, 'b');  // 256 characters
  ExpectError(Do(client(), "GET", "/v2/" + long_nested + "/tags/list"), 400, "NAME_INVALID", "256 chars nested");
  // 255 characters is still a valid name: just unknown.
  const std::string max = std::string(128, 'a') + Repeat("/", 126, 'b');
  ExpectError(Do(client(), "GET", "/v2/" + max + "/tags/list"), 404, "NAME_UNKNOWN", "255 chars");
  EXPECT_EQ(Do(client(), "POST", "/v2/" + max + "/blobs/uploads/").status, 202u);
}

TEST_F(ErrorsTest, TraversalAttemptsCreateNothingOutsideTheDataDirectory) {
  const std::string up = "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/";
  const std::vector<std::string> names = {up + "escape",     "../../../../../../../escape",
                                          up + "tmp/escape", "..%2f..%2f..%2f..%2f..%2f..%2fescape",
                                          "%2fescape",       "%2e/escape"};
  for (const auto& name : names) {
    const std::string base = "/v2/" + name;
    Do(client(), "POST", base + "/blobs/uploads/");
    Do(client(), "POST", base + "/blobs/uploads/?digest=" + Sha256("payload"), {}, "payload");
    Image img = MakeImage(client(), "errors/valid", "traversal", false);
    Do(client(), "PUT", base + "/manifests/latest", {{"Content-Type", std::string(kOciManifest)}}, img.body);
    Do(client(), "PUT", base + "/manifests/" + img.digest, {{"Content-Type", std::string(kOciManifest)}}, img.body);
  }
  // The test directory holds exactly what the fixture put there.
  std::set<std::string> top;
  for (const auto& e : fs::directory_iterator(server().dir())) top.insert(e.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"config.yaml", "data", "server.log"}));
  // Nothing named "escape" anywhere below it.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(server().dir(), ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    EXPECT_EQ(it->path().string().find("escape"), std::string::npos) << it->path();
  }
  EXPECT_FALSE(fs::exists("/tmp/escape"));
  EXPECT_FALSE(fs::exists(fs::path(server().dir()).parent_path() / "escape"));
}

TEST_F(ErrorsTest, BadDigestsAreDigestInvalid) {
  const std::vector<std::string> bad = {
      "sha256:abc",                          // too short
      Repeat("sha256:", 65, 'a'),            // too long
      Repeat("sha512:", 64, 'a'),            // wrong length for the algorithm
      Repeat("md5:", 32, 'a'),               // unknown algorithm
      Repeat("sha256:", 64, 'z'),            // not hex
      Repeat("sha256:", 64, 'A'),            // upper-case hex
      "sha256:",                             // empty hex
      Repeat(":", 64, 'a'),                  // empty algorithm
      Repeat("sha256%3A", 63, 'a') + "%00",  // NUL byte
  };
  PushBlob(client(), "errors/digests", "exists");
  for (const auto& d : bad) {
    ExpectError(Do(client(), "GET", "/v2/errors/digests/blobs/" + d), 400, "DIGEST_INVALID", "GET blob " + d);
    ExpectError(Do(client(), "DELETE", "/v2/errors/digests/blobs/" + d), 400, "DIGEST_INVALID", "DELETE blob " + d);
    ExpectError(Do(client(), "GET", "/v2/errors/digests/referrers/" + d), 400, "DIGEST_INVALID", "referrers " + d);
    ExpectError(Do(client(), "POST", "/v2/errors/digests/blobs/uploads/?digest=" + d, {}, "x"), 400, "DIGEST_INVALID",
                "POST ?digest=" + d);
    const std::string loc = StartUpload(client(), "errors/digests");
    ExpectError(Do(client(), "PUT", WithDigest(loc, d), {}, "x"), 400, "DIGEST_INVALID", "PUT ?digest=" + d);
  }
  // Blob digests without an algorithm at all.
  ExpectError(Do(client(), "GET", Repeat("/v2/errors/digests/blobs/", 64, 'a')), 400, "DIGEST_INVALID", "no algorithm");
}

TEST_F(ErrorsTest, BadManifestDigestReferenceIsDigestInvalid) {
  for (const std::string& d : {std::string("sha256:abc"), Repeat("md5:", 32, 'a'), Repeat("sha256:", 64, 'Z')}) {
    ExpectError(Do(client(), "GET", "/v2/errors/mref/manifests/" + d), 400, "DIGEST_INVALID", "GET " + d);
    ExpectError(
        Do(client(), "PUT", "/v2/errors/mref/manifests/" + d, {{"Content-Type", std::string(kOciManifest)}}, "{}"), 400,
        "DIGEST_INVALID", "PUT " + d);
    ExpectError(Do(client(), "DELETE", "/v2/errors/mref/manifests/" + d), 400, "DIGEST_INVALID", "DELETE " + d);
  }
}

TEST_F(ErrorsTest, MountWithBadDigestFallsBackToUpload) {
  auto r = Do(client(), "POST", "/v2/errors/mount/blobs/uploads/?mount=sha256:nothex&from=errors/other");
  EXPECT_EQ(r.status, 202u) << r.body;
  EXPECT_FALSE(r.header("Location").empty());
}

TEST_F(ErrorsTest, UnknownEndpointsAre404) {
  for (const char* target : {"/v1/", "/v3/", "/v2/foo", "/v2/foo/manifests", "/v2/foo/bar/baz",
                             "/v2/foo/tags/other", "/v2/_catalog/extra", "/favicon.ico", "/v2/foo/blobs"}) {
    auto r = Do(client(), "GET", target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(ErrorCode(r).front() == '<', false) << target << ": " << r.body;
  }
}

TEST_F(ErrorsTest, WrongMethodsAre405) {
  const std::string n = "/v2/errors/methods";
  const std::vector<std::pair<const char*, std::string>> calls = {
      {"POST", "/v2/"},
      {"DELETE", "/v2/"},
      {"PUT", "/v2/_catalog"},
      {"POST", n + "/tags/list"},
      {"DELETE", n + "/tags/list"},
      {"POST", n + "/manifests/latest"},
      {"PATCH", n + "/manifests/latest"},
      {"PUT", n + "/blobs/" + kDigest},
      {"POST", n + "/blobs/" + kDigest},
      {"PATCH", n + "/blobs/" + kDigest},
      {"GET", n + "/blobs/uploads/"},
      {"PUT", n + "/blobs/uploads/"},
      {"POST", n + "/blobs/uploads/" + kUuid},
      {"HEAD", n + "/blobs/uploads/" + kUuid},
      {"DELETE", n + "/referrers/" + kDigest},
      {"OPTIONS", n + "/manifests/latest"},
  };
  for (const auto& [method, target] : calls) {
    auto r = Do(client(), method, target);
    EXPECT_EQ(r.status, 405u) << method << " " << target << ": " << r.body;
    if (std::string_view(method) != "HEAD") {
      EXPECT_EQ(ErrorCode(r), "UNSUPPORTED") << method << " " << target;
    }
  }
}

TEST_F(ErrorsTest, ErrorBodiesFollowTheSpecFormat) {
  // A sample of errors from every endpoint family: {"errors":[{"code","message",...}]}.
  const std::vector<std::pair<const char*, std::string>> calls = {
      {"GET", "/v2/errors/fmt/manifests/nope"},   {"GET", "/v2/errors/fmt/blobs/" + kDigest},
      {"GET", "/v2/errors/fmt/tags/list"},        {"GET", std::string("/v2/errors/fmt/blobs/uploads/") + kUuid},
      {"GET", "/v2/errors/FMT/tags/list"},        {"GET", "/v2/errors/fmt/referrers/sha256:x"},
      {"PUT", "/v2/errors/fmt/manifests/latest"}, {"POST", "/v2/errors/fmt/tags/list"},
  };
  for (const auto& [method, target] : calls) {
    auto r = Do(client(), method, target);
    EXPECT_GE(r.status, 400u) << target;
    EXPECT_LT(r.status, 500u) << target;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << target;
    json doc = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << target << ": " << r.body;
    ASSERT_TRUE(doc["errors"].is_array() && !doc["errors"].empty()) << target << ": " << r.body;
    for (const auto& e : doc["errors"]) {
      ASSERT_TRUE(e.contains("code") && e["code"].is_string()) << target;
      EXPECT_TRUE(IsSpecErrorCode(e["code"].get<std::string>())) << target << ": " << e["code"];
      EXPECT_TRUE(!e.contains("message") || e["message"].is_string()) << target;
    }
  }
}

}  // namespace
}  // namespace berth::apitest
