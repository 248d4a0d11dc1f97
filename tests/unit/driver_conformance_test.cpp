// One suite of StorageDriver semantics the registry relies on, run against
// every driver: the filesystem driver always, the S3 driver when
// BERTH_TEST_S3_ENDPOINT (plus _BUCKET, _ACCESS_KEY, _SECRET_KEY, _REGION) names
// a real S3 service (ctest's s3.* tests start Ceph RGW for it; see
// tests/tools/ceph_rgw.sh). "Another process" is simulated by dropping every
// writer and opening a fresh driver instance on the same storage.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <set>
#include <thread>

#include "http/client.h"
#include "storage/filesystem_driver.h"
#include "storage/s3/s3_driver.h"
#include "read_all.h"
#include "temp_dir.h"
#include "util/random.h"

namespace berth::storage {
namespace {

constexpr int64_t kChunk = s3::kMinChunkSize;  // 5 MiB: the smallest the S3 driver allows

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool S3Configured() { return !Env("BERTH_TEST_S3_ENDPOINT").empty(); }

s3::S3DriverOptions S3Options(const std::string& root) {
  s3::S3DriverOptions o;
  o.client.endpoint = Env("BERTH_TEST_S3_ENDPOINT");
  o.client.region = Env("BERTH_TEST_S3_REGION").empty() ? "us-east-1" : Env("BERTH_TEST_S3_REGION");
  o.client.bucket = Env("BERTH_TEST_S3_BUCKET");
  o.client.credentials = {Env("BERTH_TEST_S3_ACCESS_KEY"), Env("BERTH_TEST_S3_SECRET_KEY")};
  o.client.force_path_style = true;
  o.root_directory = root;
  o.chunk_size = kChunk;
  return o;
}

// Deterministic, incompressible-looking bytes.
std::string Bytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::string ReadAll(FileReader& r, size_t buf_size = 64 * 1024) { return testing_util::ReadAll(r, buf_size); }

// An empty directory may linger on a filesystem; on S3 it simply does not exist.
bool GoneOrEmpty(StorageDriver& d, const std::string& path) {
  auto names = d.List(path);
  return names.status().IsNotFound() || (names.ok() && names->empty());
}

std::set<std::string> AsSet(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

class DriverConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "s3") {
      if (!S3Configured()) GTEST_SKIP() << "BERTH_TEST_S3_ENDPOINT not set (ctest -R s3 starts Ceph RGW)";
      root_ = "/conformance-" + RandomHex(6);  // a fresh namespace per test
    } else {
      tmp_ = std::make_unique<testing_util::TempDir>("berth-conformance");
      root_ = tmp_->path() + "/root";
    }
    driver_ = Open();
    ASSERT_NE(driver_, nullptr);
  }
  void TearDown() override {
    if (driver_ && GetParam() == "s3") {
      Status s = driver_->Delete("/");  // the test's whole root prefix
      EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.message();
      if (s.ok()) {
        EXPECT_TRUE(driver_->Stat("/").status().IsNotFound());
      }
    }
  }

  // A new driver instance on the same storage: what another process sees.
  std::unique_ptr<StorageDriver> Open() {
    if (GetParam() == "s3") {
      auto d = s3::S3Driver::Open(S3Options(root_));
      EXPECT_TRUE(d.ok()) << d.status().message();
      return d.ok() ? std::unique_ptr<StorageDriver>(std::move(*d)) : nullptr;
    }
    auto d = FilesystemDriver::Open(root_);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? std::unique_ptr<StorageDriver>(std::move(*d)) : nullptr;
  }

  void ExpectContent(StorageDriver& d, const std::string& path, const std::string& want) {
    auto info = d.Stat(path);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_FALSE(info->is_dir);
    EXPECT_EQ(info->size, static_cast<int64_t>(want.size()));
    auto r = d.Reader(path, 0);
    ASSERT_TRUE(r.ok()) << r.status().message();
    std::string got = ReadAll(**r);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "content of " << path << " differs";
  }

  std::unique_ptr<testing_util::TempDir> tmp_;
  std::string root_;
  std::unique_ptr<StorageDriver> driver_;
};

TEST_P(DriverConformance, PutGetReplace) {
  ASSERT_TRUE(driver_->PutContent("/a/b/c", "hello").ok());
  auto got = driver_->GetContent("/a/b/c");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "hello");
  ASSERT_TRUE(driver_->PutContent("/a/b/c", "world!").ok());
  EXPECT_EQ(*driver_->GetContent("/a/b/c"), "world!");
  ASSERT_TRUE(driver_->PutContent("/empty", "").ok());
  EXPECT_EQ(*driver_->GetContent("/empty"), "");
  EXPECT_TRUE(driver_->GetContent("/a/b/missing").status().IsNotFound());
  EXPECT_EQ(driver_->GetContent("/a/../b").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(DriverConformance, StatFilesAndDirectories) {
  ASSERT_TRUE(driver_->PutContent("/a/b/c", "12345").ok());
  auto f = driver_->Stat("/a/b/c");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->is_dir);
  EXPECT_EQ(f->size, 5);
  EXPECT_GT(f->modified_unix, 0);
  for (const char* dir : {"/a", "/a/b"}) {
    auto d = driver_->Stat(dir);
    ASSERT_TRUE(d.ok()) << dir << ": " << d.status().message();
    EXPECT_TRUE(d->is_dir) << dir;
  }
  EXPECT_TRUE(driver_->Stat("/a/b/c/d").status().IsNotFound());
  EXPECT_TRUE(driver_->Stat("/nothing").status().IsNotFound());
  EXPECT_TRUE(driver_->Stat("/a/b/").status().code() == StatusCode::kInvalidArgument);
}

TEST_P(DriverConformance, ListDirectChildren) {
  ASSERT_TRUE(driver_->PutContent("/d/x", "1").ok());
  ASSERT_TRUE(driver_->PutContent("/d/y/z", "2").ok());
  ASSERT_TRUE(driver_->PutContent("/d/y/w/v", "3").ok());
  ASSERT_TRUE(driver_->PutContent("/dd/sibling", "4").ok());
  auto names = driver_->List("/d");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(AsSet(*names), (std::set<std::string>{"x", "y"}));
  EXPECT_EQ(AsSet(*driver_->List("/d/y")), (std::set<std::string>{"z", "w"}));
  EXPECT_TRUE(driver_->List("/missing").status().IsNotFound());
  EXPECT_TRUE(driver_->List("/d/x").status().IsNotFound());  // a file has no children
}

TEST_P(DriverConformance, ListPaginates) {
  // More children than one S3 listing page (1000).
  const int n = GetParam() == "s3" ? 1005 : 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < n; i += 8) {
        if (!driver_->PutContent("/many/f" + std::to_string(i), "x").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  auto names = driver_->List("/many");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(names->size(), static_cast<size_t>(n));
  ASSERT_TRUE(driver_->Delete("/many").ok());
  EXPECT_TRUE(driver_->List("/many").status().IsNotFound());
}

TEST_P(DriverConformance, DeleteFileAndTree) {
  ASSERT_TRUE(driver_->PutContent("/t/a", "1").ok());
  ASSERT_TRUE(driver_->PutContent("/t/b/c", "2").ok());
  ASSERT_TRUE(driver_->PutContent("/tt/keep", "3").ok());
  ASSERT_TRUE(driver_->Delete("/t/a").ok());
  EXPECT_TRUE(driver_->Stat("/t/a").status().IsNotFound());
  ASSERT_TRUE(driver_->Delete("/t").ok());
  EXPECT_TRUE(driver_->Stat("/t").status().IsNotFound());
  EXPECT_TRUE(driver_->Stat("/t/b/c").status().IsNotFound());
  EXPECT_TRUE(driver_->Stat("/tt/keep").ok());  // a sibling sharing the name prefix stays
  EXPECT_TRUE(driver_->Delete("/t").IsNotFound());
  EXPECT_TRUE(driver_->Delete("/never").IsNotFound());
}

TEST_P(DriverConformance, RangedReads) {
  const std::string small = Bytes(1000, 1);
  ASSERT_TRUE(driver_->PutContent("/r/small", small).ok());
  for (int64_t off : {0, 1, 500, 999}) {
    auto r = driver_->Reader("/r/small", off);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(ReadAll(**r, 7), small.substr(static_cast<size_t>(off))) << off;
  }
  auto end = driver_->Reader("/r/small", 1000);
  ASSERT_TRUE(end.ok()) << end.status().message();
  EXPECT_EQ(ReadAll(**end), "");
  EXPECT_TRUE(driver_->Reader("/r/missing", 0).status().IsNotFound());

  // A larger object, read in small pieces from the middle (streamed).
  const std::string big = Bytes(3 << 20, 2);
  ASSERT_TRUE(driver_->PutContent("/r/big", big).ok());
  auto r = driver_->Reader("/r/big", 1234567);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string got = ReadAll(**r, 4096 + 3);
  EXPECT_TRUE(got == big.substr(1234567));
  // A reader dropped half-way leaves the driver usable.
  {
    auto half = driver_->Reader("/r/big", 0);
    ASSERT_TRUE(half.ok());
    char buf[1000];
    ASSERT_TRUE((*half)->Read(buf, sizeof buf).ok());
  }
  EXPECT_EQ(*driver_->GetContent("/r/small"), small);
}

TEST_P(DriverConformance, WriterCrossesChunkSize) {
  // 2 full chunks and a bit, in odd-sized writes: parts plus a tail.
  const std::string data = Bytes(2 * kChunk + 12345, 3);
  {
    auto w = driver_->Writer("/up/data");
    ASSERT_TRUE(w.ok()) << w.status().message();
    size_t at = 0;
    while (at < data.size()) {
      size_t n = std::min<size_t>(1000003, data.size() - at);
      ASSERT_TRUE((*w)->Write(data.data() + at, n).ok());
      at += n;
      EXPECT_EQ((*w)->Size(), static_cast<int64_t>(at));
    }
    ASSERT_TRUE((*w)->Commit().ok());
    auto st = driver_->Stat("/up/data");
    ASSERT_TRUE(st.ok()) << st.status().message();
    EXPECT_EQ(st->size, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(driver_->Move("/up/data", "/blobs/x/data").ok());
  }
  ExpectContent(*driver_, "/blobs/x/data", data);
  EXPECT_TRUE(driver_->Stat("/up/data").status().IsNotFound());
  EXPECT_TRUE(GoneOrEmpty(*driver_, "/up"));  // nothing left behind (state, tails)
}

TEST_P(DriverConformance, WriterReopenAndContinueInAnotherProcess) {
  const std::string data = Bytes(kChunk + 3 * (1 << 20) + 777, 4);
  const size_t cut1 = 3 << 20;             // below one chunk: only a tail
  const size_t cut2 = kChunk + (1 << 20);  // crosses the chunk size
  {
    auto w = driver_->Writer("/u/data");
    ASSERT_TRUE(w.ok()) << w.status().message();
    ASSERT_TRUE((*w)->Write(data.data(), cut1).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  {
    auto other = Open();  // "replica B"
    auto st = other->Stat("/u/data");
    ASSERT_TRUE(st.ok()) << st.status().message();
    EXPECT_EQ(st->size, static_cast<int64_t>(cut1));
    auto w = other->Writer("/u/data");
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->Size(), static_cast<int64_t>(cut1));
    ASSERT_TRUE((*w)->Write(data.data() + cut1, cut2 - cut1).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    EXPECT_EQ(other->Stat("/u/data")->size, static_cast<int64_t>(cut2));
  }
  {
    auto third = Open();  // "replica C" finishes
    auto w = third->Writer("/u/data");
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->Size(), static_cast<int64_t>(cut2));
    ASSERT_TRUE((*w)->Write(data.data() + cut2, data.size() - cut2).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ASSERT_TRUE(third->Move("/u/data", "/blob/data").ok());
  }
  ExpectContent(*driver_, "/blob/data", data);
  EXPECT_TRUE(GoneOrEmpty(*driver_, "/u"));
}

TEST_P(DriverConformance, ReopenWithoutNewDataAndExactChunk) {
  // Exactly one chunk: no tail at all, then a reopen that adds nothing.
  const std::string data = Bytes(kChunk, 5);
  {
    auto w = driver_->Writer("/e/data");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data.data(), data.size()).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  {
    auto other = Open();
    auto w = other->Writer("/e/data");
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->Size(), kChunk);
    ASSERT_TRUE((*w)->Commit().ok());
    ASSERT_TRUE(other->Move("/e/data", "/e2/data").ok());
  }
  ExpectContent(*driver_, "/e2/data", data);
}

TEST_P(DriverConformance, ZeroByteBlob) {
  {
    auto w = driver_->Writer("/z/data");
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->Size(), 0);
    ASSERT_TRUE((*w)->Write("", 0).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ASSERT_TRUE(driver_->Move("/z/data", "/zb/data").ok());
  }
  ExpectContent(*driver_, "/zb/data", "");
  EXPECT_EQ(*driver_->GetContent("/zb/data"), "");
}

TEST_P(DriverConformance, MoveOfSmallUploadAndReplace) {
  ASSERT_TRUE(driver_->PutContent("/dst/data", "old content").ok());
  {
    auto w = driver_->Writer("/s/data");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("new", 3).ok());
    ASSERT_TRUE((*w)->Write(" content!", 9).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ASSERT_TRUE(driver_->Move("/s/data", "/dst/data").ok());
  }
  ExpectContent(*driver_, "/dst/data", "new content!");
  EXPECT_TRUE(driver_->Move("/s/data", "/elsewhere").IsNotFound());
  // Plain files move too.
  ASSERT_TRUE(driver_->PutContent("/p/f", "plain").ok());
  ASSERT_TRUE(driver_->Move("/p/f", "/q/g").ok());
  EXPECT_TRUE(driver_->Stat("/p/f").status().IsNotFound());
  EXPECT_EQ(*driver_->GetContent("/q/g"), "plain");
}

TEST_P(DriverConformance, UploadDirectoryListAndDelete) {
  // The registry's upload layout: _uploads/<id>/{startedat,data}.
  ASSERT_TRUE(driver_->PutContent("/r/_uploads/u1/startedat", "123").ok());
  const std::string data = Bytes(kChunk + 100, 6);
  {
    auto w = driver_->Writer("/r/_uploads/u1/data");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data.data(), data.size()).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto names = driver_->List("/r/_uploads/u1");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(AsSet(*names), (std::set<std::string>{"data", "startedat"}));
  EXPECT_EQ(AsSet(*driver_->List("/r/_uploads")), (std::set<std::string>{"u1"}));
  auto st = driver_->Stat("/r/_uploads/u1/data");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, static_cast<int64_t>(data.size()));
  if (GetParam() == "s3") {
    // An unfinished upload's bytes are not readable on S3: a clear error, not garbage.
    auto r = driver_->Reader("/r/_uploads/u1/data", 0);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.status().IsNotFound());
    EXPECT_NE(r.status().message().find("unfinished upload"), std::string::npos) << r.status().message();
  }
  ASSERT_TRUE(driver_->Delete("/r/_uploads/u1").ok());
  EXPECT_TRUE(driver_->Stat("/r/_uploads/u1").status().IsNotFound());
  EXPECT_TRUE(driver_->Stat("/r/_uploads/u1/data").status().IsNotFound());
  EXPECT_TRUE(GoneOrEmpty(*driver_, "/r/_uploads"));
}

TEST_P(DriverConformance, WriterOnExistingSmallFileAppends) {
  ASSERT_TRUE(driver_->PutContent("/w/f", "abc").ok());
  {
    auto w = driver_->Writer("/w/f");
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->Size(), 3);
    ASSERT_TRUE((*w)->Write("def", 3).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE(driver_->Move("/w/f", "/w/g").ok());
  EXPECT_EQ(*driver_->GetContent("/w/g"), "abcdef");
}

TEST_P(DriverConformance, ConcurrentSmallObjects) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string path = "/c/" + std::to_string(t) + "/" + std::to_string(i);
        const std::string body = Bytes(100 + static_cast<size_t>(i), static_cast<uint32_t>(t * 100 + i));
        if (!driver_->PutContent(path, body).ok()) ++failures;
        auto got = driver_->GetContent(path);
        if (!got.ok() || *got != body) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_P(DriverConformance, CheckWritableAndRedirect) {
  EXPECT_TRUE(driver_->CheckWritable().ok());
  ASSERT_TRUE(driver_->PutContent("/redir/obj", "direct bytes").ok());
  auto url = driver_->RedirectUrl("/redir/obj");
  EXPECT_EQ(driver_->Info().name, GetParam());
  EXPECT_EQ(driver_->Info().can_redirect, url.ok());  // the description says what RedirectUrl does
  EXPECT_EQ(driver_->Info().can_read_unfinished, GetParam() != "s3");
  if (GetParam() != "s3") {
    EXPECT_EQ(url.status().code(), StatusCode::kUnsupported);
    return;
  }
  ASSERT_TRUE(url.ok()) << url.status().message();
  // Fetch the presigned URL without any credentials: RGW must accept it.
  const std::string endpoint = Env("BERTH_TEST_S3_ENDPOINT");  // http://127.0.0.1:PORT
  ASSERT_EQ(url->rfind(endpoint, 0), 0u) << *url;
  const std::string hostport = endpoint.substr(7);
  const auto colon = hostport.rfind(':');
  http::HttpClient client(hostport.substr(0, colon), static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
  auto resp = client.Request("GET", url->substr(endpoint.size()));
  ASSERT_TRUE(resp.ok()) << resp.status().message();
  EXPECT_EQ(resp->status, 200u) << resp->body;
  EXPECT_EQ(resp->body, "direct bytes");
  // A tampered signature is refused.
  std::string bad = url->substr(endpoint.size());
  bad.back() = bad.back() == '0' ? '1' : '0';
  auto refused = client.Request("GET", bad);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403u);
}

// The s3 instances exist only when an S3 service is configured, so plain
// unit runs (and ctest's unit.*) do not list a row of skipped tests.
std::vector<std::string> DriverNames() {
  std::vector<std::string> names{"filesystem"};
  if (S3Configured()) names.push_back("s3");
  return names;
}

INSTANTIATE_TEST_SUITE_P(Drivers, DriverConformance, ::testing::ValuesIn(DriverNames()),
                         [](const auto& info) { return info.param; });

// S3-only: the start-up check explains the usual configuration mistakes.
TEST(S3DriverStartup, ExplainsBadCredentialsAndMissingBucket) {
  if (!S3Configured()) GTEST_SKIP() << "BERTH_TEST_S3_ENDPOINT not set";
  auto o = S3Options("/startup");
  o.client.credentials.secret_key = "wrong-secret";
  auto d = s3::S3Driver::Open(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("access denied"), std::string::npos) << d.status().message();
  o = S3Options("/startup");
  o.client.credentials.access_key = "NOSUCHKEY";
  d = s3::S3Driver::Open(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("accesskey"), std::string::npos) << d.status().message();
  o = S3Options("/startup");
  o.client.bucket = "no-such-bucket-" + RandomHex(4);
  d = s3::S3Driver::Open(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("does not exist"), std::string::npos) << d.status().message();
  o = S3Options("/startup");
  o.client.endpoint = "http://127.0.0.1:1";  // nothing listens there
  o.client.max_attempts = 1;
  d = s3::S3Driver::Open(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("cannot connect"), std::string::npos) << d.status().message();
}

// HTTPS: the certificate must chain to a trusted CA and name the host. The test
// CA is trusted through OpenSSL's SSL_CERT_FILE, which replaces the system bundle.
TEST(S3DriverTls, VerifiesCertificateAndHostName) {
  const std::string tls = Env("BERTH_TEST_S3_TLS_ENDPOINT");  // https://localhost:PORT
  const std::string ca = Env("BERTH_TEST_S3_CA_FILE");
  if (!S3Configured() || tls.empty() || ca.empty()) GTEST_SKIP() << "BERTH_TEST_S3_TLS_ENDPOINT/_CA_FILE not set";
  const std::string saved = Env("SSL_CERT_FILE");
  auto o = S3Options("/tls-" + RandomHex(4));
  o.client.endpoint = tls;
  o.client.max_attempts = 1;

  ::unsetenv("SSL_CERT_FILE");
  auto untrusted = s3::S3Driver::Open(o);
  ASSERT_FALSE(untrusted.ok()) << "a self-signed certificate was accepted";
  EXPECT_NE(untrusted.status().message().find("TLS handshake failed"), std::string::npos)
      << untrusted.status().message();

  ::setenv("SSL_CERT_FILE", ca.c_str(), 1);
  auto d = s3::S3Driver::Open(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const std::string big = Bytes(1 << 20, 9);
  ASSERT_TRUE((*d)->PutContent("/f", big).ok());
  auto r = (*d)->Reader("/f", 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(ReadAll(**r, 10000) == big.substr(10));
  EXPECT_TRUE((*d)->Delete("/f").ok());

  // The certificate names "localhost" only: 127.0.0.1 must not match it.
  auto wrong_name = o;
  wrong_name.client.endpoint = "https://127.0.0.1:" + tls.substr(tls.rfind(':') + 1);
  auto mismatch = s3::S3Driver::Open(wrong_name);
  EXPECT_FALSE(mismatch.ok()) << "a certificate for another host name was accepted";

  if (saved.empty()) {
    ::unsetenv("SSL_CERT_FILE");
  } else {
    ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  }
}

// Objects above CopyObject's 5 GiB limit move with a multipart copy; the
// limit is lowered here so the path runs on small objects.
TEST(S3DriverCopy, LargeMovesUseMultipartCopy) {
  if (!S3Configured()) GTEST_SKIP() << "BERTH_TEST_S3_ENDPOINT not set";
  auto o = S3Options("/copy-" + RandomHex(4));
  o.copy_limit = kChunk;
  o.copy_part = kChunk;
  auto d = s3::S3Driver::Open(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const std::string plain = Bytes(2 * kChunk + 4321, 7);  // 3 copy parts, the last one small
  ASSERT_TRUE((*d)->PutContent("/a/plain", plain).ok());
  ASSERT_TRUE((*d)->Move("/a/plain", "/b/plain").ok());
  EXPECT_TRUE((*d)->Stat("/a/plain").status().IsNotFound());
  EXPECT_TRUE(*(*d)->GetContent("/b/plain") == plain);
  // An unfinished upload above the limit: completed, then multipart-copied.
  const std::string upload = Bytes(kChunk + 99, 8);
  {
    auto w = (*d)->Writer("/u/data");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(upload.data(), upload.size()).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  ASSERT_TRUE((*d)->Move("/u/data", "/b/upload").ok());
  EXPECT_TRUE(*(*d)->GetContent("/b/upload") == upload);
  EXPECT_TRUE((*d)->Delete("/").ok());
}

TEST(S3DriverStartup, RejectsSmallChunkSize) {
  auto o = S3Options("/x");
  o.client.endpoint = "http://127.0.0.1:1";
  o.client.bucket = "b";
  o.chunk_size = 1 << 20;
  auto d = s3::S3Driver::Open(o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::storage
