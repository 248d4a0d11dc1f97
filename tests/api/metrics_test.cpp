// GET /metrics: the Prometheus text format (checked by a strict parser written
// here), counters that move by exactly what was done, the unauthenticated
// server.debug_addr listener, and who may scrape the main port when auth is on.
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "api_helpers.h"
#include "util/base64.h"
#include "auth/password.h"
#include "auth/signing_key.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

using Labels = std::map<std::string, std::string>;

// A parsed exposition document. Parse() is strict: every line is a HELP/TYPE
// comment or `name{labels} value`; anything else is an error.
struct Scrape {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::pair<std::string, Labels>, double> samples;
  std::string error;  // first problem found; empty when the document is valid

  double Get(const std::string& name, const Labels& labels = {}) const {
    auto it = samples.find({name, labels});
    return it == samples.end() ? 0 : it->second;
  }
  bool Has(const std::string& name, const Labels& labels = {}) const { return samples.count({name, labels}) != 0; }
};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

bool ParseName(std::string_view& s, std::string* out, bool metric) {
  size_t i = 0;
  while (i < s.size() && (i == 0 ? IsNameStart(s[i]) : IsNameChar(s[i])) && (metric || s[i] != ':')) ++i;
  if (i == 0) return false;
  *out = std::string(s.substr(0, i));
  s.remove_prefix(i);
  return true;
}

bool ParseValue(std::string_view s, double* out) {
  if (s == "+Inf")
    *out = INFINITY;
  else if (s == "-Inf")
    *out = -INFINITY;
  else if (s == "NaN")
    *out = NAN;
  else {
    std::string text(s);
    char* end = nullptr;
    *out = std::strtod(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size();
  }
  return true;
}

// The family a sample name belongs to (histogram series carry suffixes).
std::string FamilyOf(const Scrape& sc, const std::string& name) {
  for (std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string base = name.substr(0, name.size() - suffix.size());
      auto it = sc.types.find(base);
      if (it != sc.types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

Scrape Parse(const std::string& text) {
  Scrape sc;
  auto fail = [&](const std::string& why, std::string_view line) {
    if (sc.error.empty()) sc.error = why + " in line: " + std::string(line);
  };
  if (text.empty() || text.back() != '\n') fail("document does not end with a newline", "");
  std::istringstream in(text);
  std::map<std::string, bool> helped;
  for (std::string line_s; std::getline(in, line_s);) {
    std::string_view line = line_s;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool is_type = line[2] == 'T';
      std::string_view rest = line.substr(7);
      std::string name;
      if (!ParseName(rest, &name, true) || rest.empty() || rest[0] != ' ') {
        fail("bad comment", line);
        continue;
      }
      rest.remove_prefix(1);
      if (is_type) {
        if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" && rest != "untyped") {
          fail("unknown type", line);
        }
        if (sc.types.count(name) != 0) fail("second TYPE for a family", line);
        sc.types[name] = std::string(rest);
        if (rest == "counter" && (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)) {
          fail("counter name does not end in _total", line);
        }
      } else {
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' && (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))) {
            fail("bad escape in HELP", line);
          }
          if (rest[i] == '\\') ++i;
        }
        if (helped[name]) fail("second HELP for a family", line);
        helped[name] = true;
      }
      continue;
    }
    if (!line.empty() && line[0] == '#') {
      fail("unexpected comment", line);
      continue;
    }
    std::string name;
    std::string_view rest = line;
    if (!ParseName(rest, &name, true)) {
      fail("bad metric name", line);
      continue;
    }
    Labels labels;
    if (!rest.empty() && rest[0] == '{') {
      rest.remove_prefix(1);
      bool ok = true;
      while (ok && !rest.empty() && rest[0] != '}') {
        std::string lname;
        if (!ParseName(rest, &lname, false) || rest.size() < 2 || rest[0] != '=' || rest[1] != '"') {
          ok = false;
          break;
        }
        rest.remove_prefix(2);
        std::string value;
        while (!rest.empty() && rest[0] != '"') {
          if (rest[0] == '\n') ok = false;
          if (rest[0] == '\\') {
            if (rest.size() < 2) {
              ok = false;
              break;
            }
            if (rest[1] == '\\')
              value += '\\';
            else if (rest[1] == '"')
              value += '"';
            else if (rest[1] == 'n')
              value += '\n';
            else
              ok = false;
            rest.remove_prefix(2);
          } else {
            value += rest[0];
            rest.remove_prefix(1);
          }
        }
        if (rest.empty()) ok = false;
        if (!ok) break;
        rest.remove_prefix(1);                                 // closing quote
        if (!labels.emplace(lname, value).second) ok = false;  // duplicate label
        if (!rest.empty() && rest[0] == ',') rest.remove_prefix(1);
      }
      if (!ok || rest.empty() || rest[0] != '}') {
        fail("bad label set", line);
        continue;
      }
      rest.remove_prefix(1);
    }
    double value = 0;
    if (rest.empty() || rest[0] != ' ' || !ParseValue(rest.substr(1), &value)) {
      fail("bad value (or extra tokens)", line);
      continue;
    }
    const std::string family = FamilyOf(sc, name);
    if (sc.types.count(family) == 0) fail("sample before its TYPE line", line);
    if (sc.types[family] == "histogram" && name == family + "_bucket" && labels.count("le") == 0) {
      fail("bucket without le", line);
    }
    if (!sc.samples.emplace(std::make_pair(name, labels), value).second) fail("duplicate series", line);
  }
  // Histograms: buckets cumulative and +Inf == _count.
  for (const auto& [key, value] : sc.samples) {
    const auto& [name, labels] = key;
    if (name.size() < 7 || name.compare(name.size() - 7, 7, "_bucket") != 0) continue;
    Labels base = labels;
    base.erase("le");
    const std::string fam = name.substr(0, name.size() - 7);
    std::vector<std::pair<double, double>> buckets;
    for (const auto& [k2, v2] : sc.samples) {
      if (k2.first != name) continue;
      Labels other = k2.second;
      double le = 0;
      auto le_it = other.find("le");
      if (le_it == other.end() || !ParseValue(le_it->second, &le)) continue;
      other.erase("le");
      if (other == base) buckets.emplace_back(le, v2);
    }
    std::sort(buckets.begin(), buckets.end());
    for (size_t i = 1; i < buckets.size(); ++i) {
      if (buckets[i].second < buckets[i - 1].second) fail("histogram buckets not cumulative", fam);
    }
    if (buckets.empty() || !std::isinf(buckets.back().first))
      fail("histogram without +Inf bucket", fam);
    else if (sc.Get(fam + "_count", base) != buckets.back().second)
      fail("+Inf bucket != _count", fam);
    if (!sc.Has(fam + "_sum", base)) fail("histogram without _sum", fam);
  }
  return sc;
}

Scrape ScrapeOk(HttpClient& c, const Headers& headers = {}) {
  auto r = Do(c, "GET", "/metrics", headers);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  Scrape sc = Parse(r.body);
  EXPECT_EQ(sc.error, "") << r.body;
  return sc;
}

// The server counts a request just after sending its response, so a scrape on
// another connection may not see it yet: scrape until `ready` holds (5 s at most).
Scrape ScrapeWhen(HttpClient& c, const std::function<bool(const Scrape&)>& ready) {
  Scrape sc;
  for (int i = 0; i < 250; ++i) {
    sc = ScrapeOk(c);
    if (ready(sc)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return sc;
}

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + Base64UrlEncode(user + ":" + password);
}

// --- the parser itself must refuse what is not the format ---

TEST(ExpositionParserTest, RefusesMalformedDocuments) {
  EXPECT_EQ(Parse("# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 1\n").error, "");
  EXPECT_NE(Parse("a_total 1\n").error, "");                                     // no TYPE
  EXPECT_NE(Parse("# TYPE a_total counter\na_total{k=v} 1\n").error, "");        // unquoted
  EXPECT_NE(Parse("# TYPE a_total counter\na_total{k=\"\\x\"} 1\n").error, "");  // bad escape
  EXPECT_NE(Parse("# TYPE a_total counter\na_total 1 2 3\n").error, "");         // extra tokens
  EXPECT_NE(Parse("# TYPE a counter\na 1\n").error, "");                         // counter without _total
  EXPECT_NE(Parse("# TYPE a_total counter\na_total 1").error, "");               // no final newline
  EXPECT_NE(Parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n").error,
            "");                                                                                    // not cumulative
  EXPECT_NE(Parse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n").error, "");  // +Inf != count
}

// --- open registry, with a debug listener ---

class MetricsTest : public ServerSuite<MetricsTest> {
 public:
  static TestServerOptions ServerOptions() {
    debug_port_ = PickFreePort();
    TestServerOptions o;
    o.server_extra = "  debug_addr: \"127.0.0.1:" + std::to_string(debug_port_) + "\"\n";
    return o;
  }
  static inline uint16_t debug_port_ = 0;
};

TEST_F(MetricsTest, ScrapeIsValidAndHasEveryFamily) {
  Scrape sc = ScrapeOk(client());
  for (const char* fam :
       {"berth_http_requests_total", "berth_http_request_duration_seconds", "berth_http_request_bytes_total",
        "berth_http_response_bytes_total", "berth_uploads_in_progress", "berth_blob_uploads_total",
        "berth_token_requests_total", "berth_auth_denials_total", "process_resident_memory_bytes",
        "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds"}) {
    EXPECT_EQ(sc.types.count(fam), 1u) << fam;
  }
  EXPECT_EQ(sc.types["berth_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(sc.types["berth_uploads_in_progress"], "gauge");
  EXPECT_EQ(sc.Get("berth_uploads_in_progress"), 0);
  EXPECT_GT(sc.Get("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(sc.Get("process_open_fds"), 2);
  EXPECT_GT(sc.Get("process_start_time_seconds"), 1.6e9);
  // The scrape before this one was counted, under its endpoint kind and never its path.
  Scrape again = ScrapeOk(client());
  EXPECT_GE(again.Get("berth_http_requests_total", {{"method", "GET"}, {"route", "metrics"}, {"status", "200"}}), 1);
  for (const auto& [key, v] : again.samples) {
    auto it = key.second.find("route");
    if (it == key.second.end()) continue;
    EXPECT_EQ(it->second.find('/'), std::string::npos) << "a raw path as a label: " << it->second;
  }
}

TEST_F(MetricsTest, CountersMoveByWhatWasDone) {
  Scrape before = ScrapeOk(client());
  const std::string repo = "metrics/counted";
  Image img = MakeImage(client(), repo, "counted");  // pushes 3 blobs (config, 2 layers)
  auto put = PutManifest(client(), repo, "v1", img.body);
  ASSERT_EQ(put.status, 201u) << put.body;
  auto get = Do(client(), "GET", "/v2/" + repo + "/manifests/v1", {{"Accept", std::string(kOciManifest)}});
  ASSERT_EQ(get.status, 200u);
  EXPECT_EQ(Do(client(), "GET", "/v2/" + repo + "/manifests/nope").status, 404u);
  EXPECT_EQ(Do(client(), "GET", "/no/such/path/at/all").status, 404u);
  // (On the same keep-alive connection, each request is counted before the next is read.)
  Scrape after = ScrapeOk(client());

  auto delta = [&](const std::string& name, const Labels& l) { return after.Get(name, l) - before.Get(name, l); };
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "POST"}, {"route", "upload"}, {"status", "201"}}), 3);
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "PUT"}, {"route", "manifest"}, {"status", "201"}}), 1);
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "GET"}, {"route", "manifest"}, {"status", "200"}}), 1);
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "GET"}, {"route", "manifest"}, {"status", "404"}}), 1);
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "GET"}, {"route", "other"}, {"status", "404"}}), 1);
  EXPECT_EQ(delta("berth_http_request_duration_seconds_count", {{"method", "POST"}, {"route", "upload"}}), 3);
  EXPECT_EQ(delta("berth_http_request_duration_seconds_count", {{"method", "PUT"}, {"route", "manifest"}}), 1);
  EXPECT_EQ(delta("berth_blob_uploads_total", {{"result", "success"}}), 3);
  EXPECT_EQ(delta("berth_blob_uploads_total", {{"result", "failure"}}), 0);
  const double blob_bytes = static_cast<double>(img.config.size() + img.layers[0].size() + img.layers[1].size());
  EXPECT_EQ(delta("berth_http_request_bytes_total", {{"route", "upload"}}), blob_bytes);
  EXPECT_EQ(delta("berth_http_request_bytes_total", {{"route", "manifest"}}), static_cast<double>(img.body.size()));
  EXPECT_GE(delta("berth_http_response_bytes_total", {{"route", "manifest"}}), static_cast<double>(img.body.size()));
  EXPECT_EQ(delta("berth_auth_denials_total", {}), 0);

  // A failed completion counts as a failure.
  const std::string bad = Sha256("not the content");
  auto r = Do(client(), "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + bad, {}, "the content");
  EXPECT_EQ(r.status, 400u);
  const Labels failures = {{"result", "failure"}};
  Scrape last = ScrapeWhen(client(), [&](const Scrape& sc) {
    return sc.Get("berth_blob_uploads_total", failures) > after.Get("berth_blob_uploads_total", failures);
  });
  EXPECT_EQ(last.Get("berth_blob_uploads_total", {{"result", "failure"}}) -
                after.Get("berth_blob_uploads_total", {{"result", "failure"}}),
            1);
}

TEST_F(MetricsTest, RequestIdIsEchoedOrMade) {
  auto r = Do(client(), "GET", "/v2/", {{"X-Request-Id", "trace-abc_1.2"}});
  EXPECT_EQ(r.header("X-Request-Id"), "trace-abc_1.2");
  auto made = Do(client(), "GET", "/v2/", {{"X-Request-Id", "no spaces allowed"}});
  EXPECT_EQ(made.header("X-Request-Id").size(), 16u);
  auto other = Do(client(), "GET", "/v2/");
  EXPECT_EQ(other.header("X-Request-Id").size(), 16u);
  EXPECT_NE(made.header("X-Request-Id"), other.header("X-Request-Id"));
}

TEST_F(MetricsTest, DebugListenerServesMetricsAndProbesOnly) {
  HttpClient debug("127.0.0.1", debug_port_);
  Scrape sc = ScrapeOk(debug);
  EXPECT_EQ(sc.types.count("berth_http_requests_total"), 1u);
  EXPECT_EQ(Do(debug, "GET", "/healthz").status, 200u);
  EXPECT_EQ(Do(debug, "GET", "/readyz").status, 200u);
  EXPECT_EQ(Do(debug, "GET", "/v2/").status, 404u);
  EXPECT_EQ(Do(debug, "GET", "/v2/_catalog").status, 404u);
  EXPECT_EQ(Do(debug, "POST", "/metrics").status, 405u);
}

TEST_F(MetricsTest, UploadsInProgressCountsSessionsBeingWritten) {
  HttpClient debug("127.0.0.1", debug_port_);
  const std::string location = StartUpload(client(), "metrics/inprogress");
  ASSERT_FALSE(location.empty());
  std::atomic<bool> release{false};
  std::atomic<int> calls{0};
  unsigned patch_status = 0;
  // A PATCH whose chunked body stalls after its first piece, holding the session.
  std::thread uploader([&] {
    HttpClient c("127.0.0.1", server().port());
    auto source = [&](char* buf, size_t n) -> size_t {
      if (calls++ == 0) {
        std::memset(buf, 'x', std::min<size_t>(n, 1000));
        return std::min<size_t>(n, 1000);
      }
      for (int i = 0; i < 1000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return 0;
    };
    auto r = c.RequestStream("PATCH", location, {{"Content-Type", "application/octet-stream"}}, -1, source);
    patch_status = r.ok() ? r->status : 0;
  });
  double held = -1;
  for (int i = 0; i < 500 && held != 1; ++i) {
    held = ScrapeOk(debug).Get("berth_uploads_in_progress");
    if (held != 1) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  release = true;
  uploader.join();
  EXPECT_EQ(held, 1);
  EXPECT_EQ(patch_status, 202u);
  EXPECT_EQ(ScrapeOk(debug).Get("berth_uploads_in_progress"), 0);  // released before the 202
}

// --- berth_storage_bytes: walked at start-up ---

class StorageBytesTest : public ServerSuite<StorageBytesTest> {};

TEST_F(StorageBytesTest, StartUpWalkCountsEveryBlobOnce) {
  Image a = PushImage(client(), "sizes/a", "v1", "size-a");
  // The same content in a second repository is stored once.
  ASSERT_EQ(PushBlob(client(), "sizes/b", a.layers[0]), Sha256(a.layers[0]));
  const double expected =
      static_cast<double>(a.config.size() + a.layers[0].size() + a.layers[1].size() + a.body.size());
  ASSERT_EQ(server().Restart(), "");
  client_ = server().Client();
  Scrape sc;
  for (int i = 0; i < 500; ++i) {  // the walk runs in the background after start-up
    sc = ScrapeOk(client());
    if (sc.Has("berth_storage_bytes")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(sc.Has("berth_storage_bytes"));
  EXPECT_EQ(sc.types["berth_storage_bytes"], "gauge");
  EXPECT_EQ(sc.Get("berth_storage_bytes"), expected);
  EXPECT_EQ(sc.Get("berth_storage_blobs"), 4);
}

// --- token auth on: who may scrape the main port ---

std::string AuthConfig() {
  auto hash = auth::HashPassword("pw", 4);
  return "users:\n"
         "  alice: {password: \"" +
         *hash +
         "\"}\n"
         "  prom: {password: \"" +
         *hash +
         "\"}\n"
         "  bob: {password: \"" +
         *hash +
         "\"}\n"
         "acl:\n"
         "  - {account: \"alice\", name: \"*\", actions: [\"*\"]}\n"
         "  - {account: \"prom\", type: registry, name: \"metrics\", actions: [\"*\"]}\n"
         "  - {account: \"bob\", name: \"team/*\", actions: [\"pull\"]}\n";
}

class MetricsAuthTest : public ServerSuite<MetricsAuthTest> {
 public:
  static TestServerOptions ServerOptions() {
    debug_port_ = PickFreePort();
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = AuthConfig();
    o.server_extra = "  debug_addr: \"127.0.0.1:" + std::to_string(debug_port_) + "\"\n";
    return o;
  }
  static inline uint16_t debug_port_ = 0;
};

TEST_F(MetricsAuthTest, AnonymousIsRefusedWithAChallenge) {
  auto r = Do(client(), "GET", "/metrics");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(ErrorCode(r), "UNAUTHORIZED");
  EXPECT_NE(r.header("WWW-Authenticate").find("scope=\"registry:metrics:*\""), std::string::npos)
      << r.header("WWW-Authenticate");
  EXPECT_EQ(r.body.find("berth_http_requests_total"), std::string::npos);
}

TEST_F(MetricsAuthTest, UserWithoutTheGrantIsDenied) {
  auto r = Do(client(), "GET", "/metrics", {{"Authorization", Basic("bob", "pw")}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(ErrorCode(r), "DENIED");
}

TEST_F(MetricsAuthTest, GrantedUserScrapesWithBasicOrBearer) {
  HttpClient debug("127.0.0.1", debug_port_);
  Scrape before = ScrapeOk(debug);
  ScrapeOk(client(), {{"Authorization", Basic("prom", "pw")}});
  ScrapeOk(client(), {{"Authorization", Basic("alice", "pw")}});
  auto tok =
      Do(client(), "GET", "/v2/token?service=berth&scope=registry:metrics:*", {{"Authorization", Basic("prom", "pw")}});
  ASSERT_EQ(tok.status, 200u) << tok.body;
  const std::string token = json::parse(tok.body)["token"];
  ScrapeOk(client(), {{"Authorization", "Bearer " + token}});
  // A token without the grant does not do.
  auto bob_tok =
      Do(client(), "GET", "/v2/token?service=berth&scope=registry:metrics:*", {{"Authorization", Basic("bob", "pw")}});
  ASSERT_EQ(bob_tok.status, 200u);
  auto r = Do(client(), "GET", "/metrics",
              {{"Authorization", "Bearer " + json::parse(bob_tok.body)["token"].get<std::string>()}});
  EXPECT_EQ(r.status, 401u);
  // Wrong password at the token endpoint.
  EXPECT_EQ(Do(client(), "GET", "/v2/token?service=berth", {{"Authorization", Basic("prom", "wrong")}}).status, 401u);
  const Labels token_401 = {{"method", "GET"}, {"route", "token"}, {"status", "401"}};
  Scrape after = ScrapeWhen(debug, [&](const Scrape& sc) {
    return sc.Get("berth_http_requests_total", token_401) > before.Get("berth_http_requests_total", token_401);
  });
  auto delta = [&](const std::string& name, const Labels& l) { return after.Get(name, l) - before.Get(name, l); };
  EXPECT_EQ(delta("berth_token_requests_total", {{"result", "granted"}}), 1);
  EXPECT_EQ(delta("berth_token_requests_total", {{"result", "denied"}}), 1);
  EXPECT_EQ(delta("berth_token_requests_total", {{"result", "unauthorized"}}), 1);
  EXPECT_EQ(delta("berth_auth_denials_total", {}), 1);
  // (Requests to the debug listener are not counted: they are not registry traffic.)
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "GET"}, {"route", "metrics"}, {"status", "200"}}), 3);
  EXPECT_EQ(delta("berth_http_requests_total", {{"method", "GET"}, {"route", "token"}, {"status", "401"}}), 1);
}

TEST_F(MetricsAuthTest, DebugListenerNeedsNoCredentials) {
  HttpClient debug("127.0.0.1", debug_port_);
  ScrapeOk(debug);
  EXPECT_EQ(Do(debug, "GET", "/v2/").status, 404u);
}

class PublicMetricsTest : public ServerSuite<PublicMetricsTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = AuthConfig();
    o.server_extra = "  metrics: {public: true}\n";
    return o;
  }
};

TEST_F(PublicMetricsTest, AnonymousMayScrapeWhenPublic) {
  ScrapeOk(client());
  EXPECT_EQ(Do(client(), "GET", "/v2/").status, 401u);  // the registry itself is still closed
}

class DisabledMetricsTest : public ServerSuite<DisabledMetricsTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.server_extra = "  metrics: {enabled: false}\n";
    return o;
  }
};

TEST_F(DisabledMetricsTest, NoMetricsOnTheMainPort) { EXPECT_EQ(Do(client(), "GET", "/metrics").status, 404u); }

}  // namespace
}  // namespace berth::apitest
