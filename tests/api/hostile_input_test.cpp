// Hostile input, table-driven, for every endpoint kind: path traversal in
// names, references and upload ids (.., %2e%2e, %2f, absolute paths, %00),
// upper case, over-long values, bad digests, bad Content-Range/Range headers,
// huge and negative sizes, oversized and deeply nested manifests, mediaType vs
// Content-Type, and upload ids of other repositories. Each row asserts the
// status and the spec error code; after every test the test directory is
// walked to check that nothing was created outside the data root and nothing
// unexpected inside it. (Names are also covered by errors_test.cpp; connection limits,
// slow clients and oversized heads by limits_test.cpp.)
#include <filesystem>
#include <functional>
#include <set>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

namespace fs = std::filesystem;

constexpr char kRepo[] = "hostile/repo";
constexpr char kOther[] = "hostile/other";
constexpr char kUuid[] = "0f0f0f0f-1111-4222-8333-444444444444";

struct Case {
  std::string method;
  std::string target;
  unsigned status;
  std::string code;  // "" for HEAD (no body)
  Headers headers = {};
  std::string body = {};
  std::string note = {};  // names the row in failure messages
};

class HostileInputTest : public ServerSuite<HostileInputTest> {
 protected:
  void Run(const std::vector<Case>& cases) {
    for (const auto& c : cases) {
      auto r = Do(client(), c.method, c.target, c.headers, c.body);
      const std::string what = c.method + " " + c.target.substr(0, 160) + (c.note.empty() ? "" : " [" + c.note + "]");
      EXPECT_EQ(r.status, c.status) << what << ": " << r.body.substr(0, 300);
      EXPECT_LT(r.status, 500u) << what;
      if (c.method != "HEAD" && !c.code.empty()) {
        EXPECT_EQ(ErrorCode(r), c.code) << what << ": " << r.body.substr(0, 300);
        EXPECT_EQ(r.header("Content-Type"), "application/json") << what;
      }
      if (c.method == "HEAD") {
        EXPECT_TRUE(r.body.empty()) << what;
      }
    }
  }

  // After every test (each may run in its own process under ctest): nothing
  // outside the data root, and only expected entries inside it.
  void TearDown() override {
    ServerSuite<HostileInputTest>::TearDown();
    if (server_) CheckDirectories();
  }

  static void CheckDirectories() {
    std::set<std::string> top;
    for (const auto& e : fs::directory_iterator(server().dir())) top.insert(e.path().filename().string());
    EXPECT_EQ(top, (std::set<std::string>{"config.yaml", "data", "server.log"}));
    const fs::path data = server().data_dir();
    const fs::path v2 = data / "docker/registry/v2";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(data, ec)) {
      const std::string n = e.path().filename().string();
      // (metadata.db with SQLite's WAL and shared-memory files: the metadata database;
      // metadata.db.locks: its repositories' cross-process locks, docs/metadata.md)
      const bool metadata =
          n == "metadata.db" || n == "metadata.db-wal" || n == "metadata.db-shm" || n == "metadata.db.locks";
      EXPECT_TRUE(n == "docker" || n == "_berth_tmp" || n == "token-key.pem" || metadata) << "unexpected " << e.path();
    }
    for (const auto& e : fs::directory_iterator(v2, ec)) {
      const std::string n = e.path().filename().string();
      EXPECT_TRUE(n == "blobs" || n == "repositories") << "unexpected " << e.path();
    }
    // Repositories: only the ones this suite pushes to.
    for (const auto& e : fs::directory_iterator(v2 / "repositories", ec)) {
      EXPECT_EQ(e.path().filename().string(), "hostile") << "unexpected " << e.path();
    }
    for (const auto& e : fs::directory_iterator(v2 / "repositories/hostile", ec)) {
      const std::string n = e.path().filename().string();
      EXPECT_TRUE(n == "repo" || n == "other") << "unexpected " << e.path();
    }
    // No component anywhere looks like a traversal or carries an escape.
    for (auto it = fs::recursive_directory_iterator(server().dir(), ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      EXPECT_EQ(name.find("escape"), std::string::npos) << it->path();
      EXPECT_EQ(name.find("passwd"), std::string::npos) << it->path();
      EXPECT_EQ(name.find('%'), std::string::npos) << it->path();
      EXPECT_NE(name, "..") << it->path();
    }
    EXPECT_FALSE(fs::exists("/tmp/escape"));
    EXPECT_FALSE(fs::exists(fs::path(server().dir()).parent_path() / "escape"));
    EXPECT_FALSE(fs::exists(data.parent_path() / "escape"));
  }

  static void Append(std::vector<Case>& to, const std::vector<Case>& more) {
    to.insert(to.end(), more.begin(), more.end());
  }
};

// Repository names at every endpoint kind, HEAD and the digest forms included.
TEST_F(HostileInputTest, HostileNamesAreNameInvalidEverywhere) {
  const std::string d = Repeat("sha256:", 64, 'a');
  const std::vector<std::string> names = {"..",
                                          "a/..",
                                          "../a",
                                          "%2e%2e",
                                          "%2E%2E/a",
                                          "a/%2e%2e/%2e%2e/%2e%2e/etc",
                                          "%2fetc%2fpasswd",
                                          "%2e",
                                          "a%2f..%2f..%2fb",
                                          "a%00",
                                          "%00/a",
                                          "a%00b/c",
                                          "UPPER/case",
                                          "a/B",
                                          std::string(256, 'a'),
                                          "a/" + std::string(300, 'b'),
                                          "a%2F%2Fb",
                                          "a%5c..%5cb",
                                          "a%0ab",
                                          "a%20",
                                          "a/%C0%AE%C0%AE/b",
                                          "..%00"};
  std::vector<Case> cases;
  for (const std::string& n : names) {
    const std::string base = "/v2/" + n;
    Append(cases,
           {
               {"GET", base + "/blobs/" + d, 400, "NAME_INVALID"},
               {"HEAD", base + "/blobs/" + d, 400, ""},
               {"DELETE", base + "/blobs/" + d, 400, "NAME_INVALID"},
               {"POST", base + "/blobs/uploads/", 400, "NAME_INVALID"},
               {"POST", base + "/blobs/uploads/?digest=" + Sha256("x"), 400, "NAME_INVALID", {}, "x"},
               {"GET", base + "/blobs/uploads/" + kUuid, 400, "NAME_INVALID"},
               {"PATCH", base + "/blobs/uploads/" + kUuid, 400, "NAME_INVALID", {}, "x"},
               {"PUT", base + "/blobs/uploads/" + kUuid + "?digest=" + Sha256("x"), 400, "NAME_INVALID", {}, "x"},
               {"DELETE", base + "/blobs/uploads/" + kUuid, 400, "NAME_INVALID"},
               {"GET", base + "/manifests/latest", 400, "NAME_INVALID"},
               {"HEAD", base + "/manifests/" + d, 400, ""},
               {"PUT",
                base + "/manifests/latest",
                400,
                "NAME_INVALID",
                {{"Content-Type", std::string(kOciManifest)}},
                "{}"},
               {"DELETE", base + "/manifests/" + d, 400, "NAME_INVALID"},
               {"GET", base + "/tags/list", 400, "NAME_INVALID"},
               {"GET", base + "/referrers/" + d, 400, "NAME_INVALID"},
           });
  }
  Run(cases);
}

// Tags: traversal, NUL, over-long, characters outside [A-Za-z0-9_.-], leading . or -.
TEST_F(HostileInputTest, HostileTagsAreRejected) {
  Image img = MakeImage(client(), kRepo, "tags");
  const Headers ct = {{"Content-Type", std::string(kOciManifest)}};
  const std::vector<std::string> tags = {"..",
                                         "%2e%2e",
                                         ".",
                                         "%2e",
                                         "..%2f..%2fescape",
                                         "%2fetc%2fpasswd",
                                         "a%00",
                                         "%00",
                                         "a%00b",
                                         std::string(129, 'a'),
                                         std::string(4000, 'a'),
                                         "-a",
                                         ".a",
                                         "a%20b",
                                         "a%2fb",
                                         "a@b",
                                         "a%5cb",
                                         "%C3%A9"};
  std::vector<Case> cases;
  for (const auto& t : tags) {
    const std::string target = std::string("/v2/") + kRepo + "/manifests/" + t;
    // A read of a tag that cannot exist is 404 (the OCI conformance suite's
    // .INVALID_MANIFEST_NAME); a write of one is 400 (docs/api.md).
    Append(cases, {{"GET", target, 404, "MANIFEST_UNKNOWN"},
                   {"HEAD", target, 404, ""},
                   {"DELETE", target, 400, "MANIFEST_INVALID"},
                   {"PUT", target, 400, "MANIFEST_INVALID", ct, img.body}});
  }
  Run(cases);
}

// Digests as blob, manifest and referrers references and as ?digest= / ?mount=.
TEST_F(HostileInputTest, HostileDigestsAreDigestInvalid) {
  const std::string repo = std::string("/v2/") + kRepo;
  PushBlob(client(), kRepo, "digest-victim");
  const std::vector<std::string> digests = {
      "sha256:..",
      "sha256:%2e%2e%2f%2e%2e%2fescape",
      "sha256:" + std::string(62, 'a') + "%2f" + "..",
      "..",
      "%2e%2e",
      "%2fetc%2fpasswd",
      Repeat("sha256:", 64, 'a') + "%00",
      Repeat("sha256:", 63, 'a') + "%00",
      Repeat("sha256%00:", 64, 'a'),
      Repeat("sha384:", 96, 'a'),      // not an algorithm Berth accepts
      Repeat("sha256+b64:", 64, 'a'),  // algorithm with a component
      Repeat("SHA256:", 64, 'a'),      // upper-case algorithm
      Repeat("sha256:", 4096, 'a'),    // over-long
      Repeat("sha512:", 64, 'a'),      // wrong length for the algorithm
      Repeat("sha256:", 64, 'g'),      // not hex
      "sha256:" + std::string(63, 'a') + "%20",
      "sha256:-1",
      "a:b",  // a ':' makes a manifest reference a digest
      Repeat("sha256::", 64, 'a'),
  };
  std::vector<Case> cases;
  for (const auto& d : digests) {
    const std::string loc = StartUpload(client(), kRepo);
    Append(cases, {
                      {"GET", repo + "/blobs/" + d, 400, "DIGEST_INVALID"},
                      {"HEAD", repo + "/blobs/" + d, 400, ""},
                      {"DELETE", repo + "/blobs/" + d, 400, "DIGEST_INVALID"},
                      {"POST", repo + "/blobs/uploads/?digest=" + d, 400, "DIGEST_INVALID", {}, "x"},
                      {"PUT", WithDigest(loc, d), 400, "DIGEST_INVALID", {}, "x"},
                      {"GET", repo + "/referrers/" + d, 400, "DIGEST_INVALID"},
                  });
    // A manifest reference with a ':' is a digest; without one it is a tag.
    const bool digest_like = d.find(':') != std::string::npos || d.find("%3A") != std::string::npos;
    const std::string code = digest_like ? "DIGEST_INVALID" : "MANIFEST_INVALID";
    const unsigned read_status = digest_like ? 400 : 404;
    const std::string read_code = digest_like ? "DIGEST_INVALID" : "MANIFEST_UNKNOWN";
    Append(cases, {
                      {"GET", repo + "/manifests/" + d, read_status, read_code},
                      {"HEAD", repo + "/manifests/" + d, read_status, ""},
                      {"DELETE", repo + "/manifests/" + d, 400, code},
                      {"PUT", repo + "/manifests/" + d, 400, code, {{"Content-Type", std::string(kOciManifest)}}, "{}"},
                  });
  }
  // A well-formed digest with a hostile mount source falls back to a plain upload.
  Append(cases,
         {{"POST", repo + "/blobs/uploads/?mount=" + Sha256("digest-victim") + "&from=..%2f..%2fescape", 202, ""},
          {"POST", repo + "/blobs/uploads/?mount=..%2f..%2fescape&from=" + kRepo, 202, ""},
          {"POST", repo + "/blobs/uploads/?mount=" + Sha256("digest-victim") + "&from=%00", 202, ""}});
  Run(cases);
}

// Upload ids: traversal, NUL, absolute paths, over-long, wrong shape, or an
// id that belongs to another repository.
TEST_F(HostileInputTest, HostileUploadIdsAreUploadUnknown) {
  const std::string repo = std::string("/v2/") + kRepo + "/blobs/uploads/";
  const std::string victim = StartUpload(client(), kOther);  // /v2/hostile/other/blobs/uploads/<id>[?...]
  ASSERT_FALSE(victim.empty());
  std::string victim_id = victim.substr(victim.rfind('/') + 1);
  victim_id = victim_id.substr(0, victim_id.find('?'));
  ASSERT_EQ(Do(client(), "PATCH", victim, {{"Content-Type", "application/octet-stream"}}, "abc").status, 202u);

  const std::vector<std::string> ids = {"..",
                                        "%2e%2e",
                                        ".",
                                        "..%2f..%2f..%2fescape",
                                        "%2fetc%2fpasswd",
                                        "%2e%2e%2f_uploads",
                                        std::string(kUuid) + "%00",
                                        "%00",
                                        std::string(kUuid) + "%2f..",
                                        std::string(2000, 'a'),
                                        "0F0F0F0F-1111-4222-8333-444444444444",
                                        "not-a-uuid",
                                        "_berth_tmp",
                                        "..%2f..%2fother%2f_uploads%2f" + victim_id,
                                        victim_id};
  std::vector<Case> cases;
  for (const auto& id : ids) {
    Append(cases,
           {
               {"GET", repo + id, 404, "BLOB_UPLOAD_UNKNOWN"},
               {"PATCH", repo + id, 404, "BLOB_UPLOAD_UNKNOWN", {{"Content-Type", "application/octet-stream"}}, "zz"},
               {"PUT", repo + id + "?digest=" + Sha256("abczz"), 404, "BLOB_UPLOAD_UNKNOWN", {}, "zz"},
               {"DELETE", repo + id, 404, "BLOB_UPLOAD_UNKNOWN"},
           });
  }
  Run(cases);
  // The other repository's upload is untouched and still completes.
  auto status = Do(client(), "GET", victim);
  EXPECT_EQ(status.status, 204u) << status.body;
  EXPECT_EQ(status.header("Range"), "0-2");
  auto put = Do(client(), "PUT", WithDigest(victim, Sha256("abc")));
  EXPECT_EQ(put.status, 201u) << put.body;
}

TEST_F(HostileInputTest, BadContentRangeOnPatch) {
  std::vector<Case> cases;
  // (Surrounding whitespace, an empty value and the RFC form "bytes 0-1/2" are accepted.)
  for (const char* range :
       {"abc", "0-", "-5", "5-3", "-1-3", "0--1", "0-99999999999999999999999",
        "99999999999999999999999-99999999999999999999999", "bytes=0-1", "0-1,2-3", "0x0-0x1", "+0-1", "0-1%00",
        "0-9223372036854775807", "9223372036854775807-9223372036854775807", "1e3-2e3", "\t-\t"}) {
    const std::string loc = StartUpload(client(), kRepo);
    // Malformed and overflowing ranges are 416, as the distribution spec says.
    const std::string r = range;
    Case c{"PATCH",
           loc,
           416u,
           "BLOB_UPLOAD_INVALID",
           {{"Content-Type", "application/octet-stream"}, {"Content-Range", r}},
           "ab",
           "Content-Range: '" + r + "'"};
    cases.push_back(c);
  }
  Run(cases);
}

TEST_F(HostileInputTest, BadRangeOnBlobGetIsIgnoredOrUnsatisfiable) {
  const std::string content = "0123456789";
  const std::string digest = PushBlob(client(), kRepo, content);
  const std::string target = std::string("/v2/") + kRepo + "/blobs/" + digest;
  // Syntactically invalid ranges are ignored (RFC 9110 14.2): the whole blob.
  for (const char* range : {"bytes=abc", "bytes=5-3", "bytes=--1", "items=0-1", "bytes=0-1%00", "bytes=",
                            "bytes=99999999999999999999999-", "bytes=-99999999999999999999999", "bytes=0-1,3-4",
                            "bytes=-", "bytes 0-1", "bytes=9223372036854775806-", "bytes=0-9223372036854775807"}) {
    auto r = Do(client(), "GET", target, {{"Range", range}});
    EXPECT_TRUE(r.status == 200u || r.status == 416u) << range << ": " << r.status;
    if (r.status == 200u) {
      EXPECT_EQ(r.body, content) << range;
    } else {
      EXPECT_EQ(r.header("Content-Range"), "bytes */10") << range;
    }
  }
  // Well-formed but unsatisfiable: 416.
  for (const char* range : {"bytes=10-", "bytes=999999999999999999-", "bytes=-0"}) {
    auto r = Do(client(), "GET", target, {{"Range", range}});
    EXPECT_EQ(r.status, 416u) << range << ": " << r.body;
  }
}

// Content-Length that is negative, not a number or beyond int64 never reaches a handler.
TEST_F(HostileInputTest, BadContentLengthIs400) {
  const std::string loc = StartUpload(client(), kRepo);
  for (const char* len : {"-1", "abc", "99999999999999999999999", "1, 2", "0x10", "+5"}) {
    for (const std::string& head :
         {"PATCH " + loc + " HTTP/1.1\r\n", std::string("PUT /v2/") + kRepo + "/manifests/cl HTTP/1.1\r\n",
          std::string("POST /v2/") + kRepo + "/blobs/uploads/?digest=" + Sha256("ab") + " HTTP/1.1\r\n"}) {
      auto raw = client().Raw(head + "Host: x\r\nContent-Length: " + len + "\r\nConnection: close\r\n\r\nab", 5000);
      ASSERT_TRUE(raw.ok()) << raw.status().message();
      EXPECT_EQ(raw->rfind("HTTP/1.1 400", 0), 0u)
          << head << "Content-Length: " << len << " -> " << raw->substr(0, 200);
    }
  }
  // A huge but valid Content-Length on a manifest is refused up front (limit 4 MiB).
  auto raw = client().Raw(std::string("PUT /v2/") + kRepo + "/manifests/huge HTTP/1.1\r\nHost: x\r\nContent-Type: " +
                              std::string(kOciManifest) + "\r\nContent-Length: 9223372036854775807\r\n\r\n{",
                          5000);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->rfind("HTTP/1.1 413", 0), 0u) << raw->substr(0, 200);
  EXPECT_NE(raw->find("MANIFEST_INVALID"), std::string::npos) << raw->substr(0, 400);
}

TEST_F(HostileInputTest, HostileManifestsAreManifestInvalid) {
  Image img = MakeImage(client(), kRepo, "manifests");
  const std::string target = std::string("/v2/") + kRepo + "/manifests/";
  const Headers oci = {{"Content-Type", std::string(kOciManifest)}};
  const Headers index = {{"Content-Type", std::string(kOciIndex)}};
  auto with = [&](const std::function<void(json&)>& edit) {
    json m = img.manifest;
    edit(m);
    return m.dump();
  };
  // Deep nesting: well within the 4 MiB limit, far beyond any sane depth.
  const std::string deep_array = std::string(500000, '[') + std::string(500000, ']');
  const std::string deep_in_manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(kOciManifest) +
                                       R"(","annotations":)" + std::string(200000, '[') + std::string(200000, ']') +
                                       "}";
  const std::string deep_object = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += R"({"a":)";
    s += "1";
    s += std::string(100000, '}');
    return s;
  }();
  const std::vector<std::pair<std::string, Headers>> bodies = {
      {deep_array, oci},
      {deep_in_manifest, oci},
      {deep_object, oci},
      {std::string(4 << 20, '['), oci},
      // mediaType in the body disagrees with Content-Type.
      {with([](json& m) { m["mediaType"] = kOciIndex; }), oci},
      {img.body, index},
      {with([](json& m) { m["mediaType"] = kDockerManifest; }), oci},
      {with([](json& m) { m["mediaType"] = 42; }), oci},
      {with([](json& m) { m["mediaType"] = std::string(kOciManifest) + std::string(1, '\0'); }), oci},
      // Sizes: negative, fractional, beyond int64, not a number.
      {with([](json& m) { m["layers"][0]["size"] = -1; }), oci},
      {with([](json& m) { m["layers"][0]["size"] = 1.5; }), oci},
      {with([](json& m) { m["layers"][0]["size"] = 1e300; }), oci},
      {with([](json& m) { m["layers"][0]["size"] = 18446744073709551615ULL; }), oci},
      {with([](json& m) { m["config"]["size"] = "12"; }), oci},
      // Digests inside the manifest.
      {with([](json& m) { m["layers"][0]["digest"] = "sha256:../../../../etc/passwd"; }), oci},
      {with([](json& m) { m["config"]["digest"] = Repeat("md5:", 32, 'a'); }), oci},
      {with([](json& m) { m["layers"][0]["digest"] = 7; }), oci},
      {with([](json& m) {
         m["subject"] = json{{"mediaType", kOciManifest}, {"digest", "sha256:.."}, {"size", 2}};
       }),
       oci},
      {with([](json& m) { m["schemaVersion"] = -2; }), oci},
      {with([](json& m) { m["schemaVersion"] = 99999999999999999999.0; }), oci},
      {with([](json& m) { m["layers"] = json::object(); }), oci},
      {"\xEF\xBB\xBF" + img.body, oci},  // BOM
      {std::string("{\"schemaVersion\":2,\0}", 20), oci},
      {"", oci},
      {"null", oci},
  };
  std::vector<Case> cases;
  for (size_t i = 0; i < bodies.size(); ++i) {
    const auto& [body, headers] = bodies[i];
    const std::string note = "body #" + std::to_string(i) + ": " + body.substr(0, 60);
    cases.push_back({"PUT", target + "hostile", 400, "MANIFEST_INVALID", headers, body, note});
    cases.push_back({"PUT", target + Sha256(body), 400, "MANIFEST_INVALID", headers, body, note});
  }
  Run(cases);
  // None of them became visible.
  EXPECT_EQ(Do(client(), "GET", target + "hostile").status, 404u);
}

TEST_F(HostileInputTest, HostileListingParameters) {
  PushImage(client(), kRepo, "listed", "listing");
  const std::string tags = std::string("/v2/") + kRepo + "/tags/list";
  for (const char* q : {"?n=-1", "?n=abc", "?n=1e3", "?n=%00", "?n=0x10"}) {
    auto r = Do(client(), "GET", tags + q);
    EXPECT_EQ(r.status, 400u) << q << ": " << r.body;
    EXPECT_TRUE(IsSpecErrorCode(ErrorCode(r))) << q << ": " << r.body;
  }
  // A huge page size is clamped, an empty one is the default.
  for (const char* q : {"?n=99999999999999999999999", "?n="}) {
    auto r = Do(client(), "GET", tags + q);
    EXPECT_EQ(r.status, 200u) << q << ": " << r.body;
  }
  // Hostile `last` values are just strings to compare with: never paths.
  for (const char* q : {"?last=..%2f..%2f..", "?last=%00", "?last=%2fetc%2fpasswd", "?n=5&last=..", "?last=%FF"}) {
    auto r = Do(client(), "GET", tags + q);
    EXPECT_EQ(r.status, 200u) << q << ": " << r.body;
    EXPECT_TRUE(json::parse(r.body, nullptr, false).is_object()) << q;
    auto c = Do(client(), "GET", std::string("/v2/_catalog") + q);
    EXPECT_EQ(c.status, 200u) << q << ": " << c.body;
  }
  const std::string subject = Sha256("no such subject");
  for (const char* q : {"?artifactType=%00", "?artifactType=..%2f..", "?artifactType="}) {
    auto r = Do(client(), "GET", std::string("/v2/") + kRepo + "/referrers/" + subject + q);
    EXPECT_EQ(r.status, 200u) << q << ": " << r.body;
    json doc = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(doc.is_object() && doc["manifests"].is_array() && doc["manifests"].empty()) << q << ": " << r.body;
  }
}

// Traversal-shaped requests of each kind; TearDown then walks the directories.
TEST_F(HostileInputTest, TraversalShapedRequestsLeaveNothingOutsideTheRoot) {
  for (const std::string& n : {std::string("%2e%2e/%2e%2e/%2e%2e/escape"), std::string("..%2fescape")}) {
    Do(client(), "POST", "/v2/" + n + "/blobs/uploads/?digest=" + Sha256("e"), {}, "e");
    Do(client(), "POST", "/v2/" + n + "/blobs/uploads/");
    Do(client(), "PUT", "/v2/" + n + "/manifests/escape", {{"Content-Type", std::string(kOciManifest)}}, "{}");
  }
  for (const std::string& ref : {std::string("..%2f..%2fescape"), std::string("sha256:..%2fescape")}) {
    Do(client(), "PUT", std::string("/v2/") + kRepo + "/manifests/" + ref,
       {{"Content-Type", std::string(kOciManifest)}}, "{}");
  }
  Do(client(), "PATCH", std::string("/v2/") + kRepo + "/blobs/uploads/..%2f..%2f..%2fescape", {}, "e");
}

}  // namespace
}  // namespace berth::apitest
