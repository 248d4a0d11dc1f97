// Blob uploads: POST/PATCH/PUT/GET/DELETE /v2/<name>/blobs/uploads/..., mounts, resume after restart.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "api_helpers.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

constexpr char kUnknownUuid[] = "0f0f0f0f-1111-4222-8333-444444444444";

std::string Uuid(const std::string& location) { return location.substr(location.rfind('/') + 1); }

class UploadTest : public ServerSuite<UploadTest> {};

TEST_F(UploadTest, PostStartsUploadSession) {
  auto r = Do(client(), "POST", "/v2/up/start/blobs/uploads/");
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string loc = r.header("Location");
  EXPECT_EQ(loc.rfind("/v2/up/start/blobs/uploads/", 0), 0u) << loc;
  EXPECT_FALSE(r.header("Docker-Upload-UUID").empty());
  EXPECT_EQ(Uuid(loc), r.header("Docker-Upload-UUID"));
  EXPECT_EQ(r.header("Range"), "0-0");
  EXPECT_EQ(r.header("Content-Length"), "0");
  // Two sessions never share an id.
  auto r2 = Do(client(), "POST", "/v2/up/start/blobs/uploads/");
  EXPECT_NE(r2.header("Location"), loc);
}

TEST_F(UploadTest, PostThenPutWithBody) {
  const std::string content = RandomBytes(5000, 11);
  const std::string digest = Sha256(content);
  const std::string loc = StartUpload(client(), "up/postput");
  ASSERT_FALSE(loc.empty());
  auto put = Do(client(), "PUT", WithDigest(loc, digest), {{"Content-Type", "application/octet-stream"}}, content);
  EXPECT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Location"), "/v2/up/postput/blobs/" + digest);
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  auto g = Do(client(), "GET", put.header("Location"));
  EXPECT_EQ(g.status, 200u);
  EXPECT_TRUE(g.body == content);
  // The finished session is gone.
  auto status = Do(client(), "GET", loc);
  EXPECT_EQ(status.status, 404u);
  EXPECT_EQ(ErrorCode(status), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadTest, ChunkedPatchesWithContentRange) {
  const std::string content = RandomBytes(3000, 12);
  const std::string digest = Sha256(content);
  std::string loc = StartUpload(client(), "up/chunks");
  ASSERT_FALSE(loc.empty());

  auto p1 = Do(client(), "PATCH", loc, {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-999"}},
               std::string_view(content).substr(0, 1000));
  ASSERT_EQ(p1.status, 202u) << p1.body;
  EXPECT_EQ(p1.header("Range"), "0-999");
  EXPECT_EQ(p1.header("Docker-Upload-UUID"), Uuid(loc));
  ASSERT_FALSE(p1.header("Location").empty());
  loc = p1.header("Location");

  auto p2 = Do(client(), "PATCH", loc, {{"Content-Type", "application/octet-stream"}, {"Content-Range", "1000-2999"}},
               std::string_view(content).substr(1000));
  ASSERT_EQ(p2.status, 202u) << p2.body;
  EXPECT_EQ(p2.header("Range"), "0-2999");
  loc = p2.header("Location");

  auto status = Do(client(), "GET", loc);
  EXPECT_EQ(status.status, 204u);
  EXPECT_EQ(status.header("Range"), "0-2999");

  auto put = Do(client(), "PUT", WithDigest(loc, digest));
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  auto g = Do(client(), "GET", "/v2/up/chunks/blobs/" + digest);
  EXPECT_TRUE(g.body == content);
}

// Large bodies are received, hashed and written (O_DIRECT where possible) as a
// pipeline of 1 MiB pieces. A client that goes away in the middle of a multi-MiB
// PATCH leaves exactly the bytes that arrived, with a hash that matches them:
// the upload resumes from the reported size and commits with the right digest.
TEST_F(UploadTest, LargePatchCutMidBodyResumesWithMatchingDigest) {
  const std::string content = RandomBytes((9 << 20) + 12345, 31);
  const std::string digest = Sha256(content);
  std::string loc = StartUpload(client(), "up/pipeline");
  ASSERT_FALSE(loc.empty());
  // An unaligned first chunk, so later pieces start off a block boundary.
  const size_t first = (3 << 20) + 777;
  auto p1 = Do(client(), "PATCH", loc, {{"Content-Type", "application/octet-stream"}}, content.substr(0, first));
  ASSERT_EQ(p1.status, 202u) << p1.body;
  loc = p1.header("Location");

  // Announce the rest but send only part of it, then close.
  const size_t sent = (4 << 20) + 4321;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(server().port());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::string req = "PATCH " + loc + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" +
                      "Content-Length: " + std::to_string(content.size() - first) + "\r\n\r\n" +
                      content.substr(first, sent);
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      off += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  // The server notices the cut and releases the upload; then it reports what it kept.
  // (The range is taken from the empty PATCH that found the upload free: a status
  // GET before it may still see the cut request's last pieces being written.)
  std::string range;
  for (int i = 0; i < 200; ++i) {
    auto st = Do(client(), "GET", loc);
    ASSERT_EQ(st.status, 204u) << st.body;
    auto resumed = Do(client(), "PATCH", loc, {{"Content-Type", "application/octet-stream"}}, "");
    if (resumed.status == 202u) {  // not busy any more
      range = resumed.header("Range");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(range.rfind("0-", 0), 0u) << range;
  const size_t kept = std::stoul(range.substr(2)) + 1;
  EXPECT_GE(kept, first);
  EXPECT_LE(kept, first + sent);
  // Resume from there with the rest and commit.
  auto p3 = Do(client(), "PATCH", loc,
               {{"Content-Type", "application/octet-stream"},
                {"Content-Range", std::to_string(kept) + "-" + std::to_string(content.size() - 1)}},
               content.substr(kept));
  ASSERT_EQ(p3.status, 202u) << p3.body;
  auto put = Do(client(), "PUT", WithDigest(p3.header("Location"), digest));
  ASSERT_EQ(put.status, 201u) << put.body;
  auto g = Do(client(), "GET", "/v2/up/pipeline/blobs/" + digest);
  ASSERT_EQ(g.status, 200u);
  EXPECT_TRUE(g.body == content);
}

TEST_F(UploadTest, FinalChunkInPut) {
  const std::string content = RandomBytes(20, 13);
  const std::string digest = Sha256(content);
  const std::string loc = StartUpload(client(), "up/finalput");
  auto p = Do(client(), "PATCH", loc, {{"Content-Range", "0-9"}}, std::string_view(content).substr(0, 10));
  ASSERT_EQ(p.status, 202u) << p.body;
  auto put = Do(client(), "PUT", WithDigest(p.header("Location"), digest),
                {{"Content-Range", "10-19"}, {"Content-Type", "application/octet-stream"}},
                std::string_view(content).substr(10));
  EXPECT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(Do(client(), "GET", "/v2/up/finalput/blobs/" + digest).body, content);
}

TEST_F(UploadTest, PatchWithoutContentRangeAppends) {
  const std::string content = RandomBytes(300, 14);
  const std::string digest = Sha256(content);
  std::string loc = StartUpload(client(), "up/streamed");
  for (int i = 0; i < 3; ++i) {
    auto p = Do(client(), "PATCH", loc, {}, std::string_view(content).substr(i * 100, 100));
    ASSERT_EQ(p.status, 202u) << p.body;
    EXPECT_EQ(p.header("Range"), "0-" + std::to_string(i * 100 + 99));
    loc = p.header("Location");
  }
  EXPECT_EQ(Do(client(), "PUT", WithDigest(loc, digest)).status, 201u);
}

TEST_F(UploadTest, ChunkedTransferEncodingPatch) {
  const std::string content = RandomBytes(3 * 1000 * 1000 + 17, 15);
  const std::string digest = Sha256(content);
  const std::string loc = StartUpload(client(), "up/te-chunked");
  ASSERT_FALSE(loc.empty());
  // Pieces of irregular sizes, each becomes one HTTP chunk.
  const size_t sizes[] = {1, 1000, 65536, 7, 1 << 20, 333333};
  size_t off = 0;
  int i = 0;
  auto r = client().RequestStream("PATCH", loc, {{"Content-Type", "application/octet-stream"}}, -1,
                                  [&](char* buf, size_t n) -> size_t {
                                    size_t k = std::min({n, sizes[i++ % 6], content.size() - off});
                                    std::copy_n(content.data() + off, k, buf);
                                    off += k;
                                    return k;
                                  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->status, 202u) << r->body;
  EXPECT_EQ(r->header("Range"), "0-" + std::to_string(content.size() - 1));
  auto put = Do(client(), "PUT", WithDigest(r->header("Location"), digest));
  EXPECT_EQ(put.status, 201u) << put.body;
  auto g = Do(client(), "GET", "/v2/up/te-chunked/blobs/" + digest);
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(Sha256(g.body), digest);
}

TEST_F(UploadTest, ChunkedTransferEncodingMonolithicPost) {
  const std::string content = RandomBytes(100000, 16);
  const std::string digest = Sha256(content);
  size_t off = 0;
  auto r = client().RequestStream("POST", "/v2/up/te-post/blobs/uploads/?digest=" + digest, {}, -1,
                                  [&](char* buf, size_t n) -> size_t {
                                    size_t k = std::min<size_t>({n, 4096, content.size() - off});
                                    std::copy_n(content.data() + off, k, buf);
                                    off += k;
                                    return k;
                                  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 201u) << r->body;
  EXPECT_EQ(r->header("Docker-Content-Digest"), digest);
}

TEST_F(UploadTest, OutOfOrderChunkIs416WithRange) {
  const std::string content = RandomBytes(30, 17);
  const std::string loc = StartUpload(client(), "up/ooo");
  auto p1 = Do(client(), "PATCH", loc, {{"Content-Range", "0-9"}}, std::string_view(content).substr(0, 10));
  ASSERT_EQ(p1.status, 202u);
  // Skips bytes 10-19.
  auto bad = Do(client(), "PATCH", loc, {{"Content-Range", "20-29"}}, std::string_view(content).substr(20, 10));
  EXPECT_EQ(bad.status, 416u);
  EXPECT_EQ(bad.header("Range"), "0-9");
  EXPECT_EQ(bad.header("Location"), loc);
  // Re-sends bytes already received.
  auto overlap = Do(client(), "PATCH", loc, {{"Content-Range", "5-14"}}, std::string_view(content).substr(5, 10));
  EXPECT_EQ(overlap.status, 416u);
  EXPECT_EQ(overlap.header("Range"), "0-9");
  // (Resuming at once after a 416 is ResumingRightAfterA416IsNeverRefusedAsBusy's subject.)
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The upload is still intact and resumes where the server says.
  auto p2 = Do(client(), "PATCH", loc, {{"Content-Range", "10-29"}}, std::string_view(content).substr(10));
  ASSERT_EQ(p2.status, 202u) << p2.body;
  EXPECT_EQ(p2.header("Range"), "0-29");
  EXPECT_EQ(Do(client(), "PUT", WithDigest(loc, Sha256(content))).status, 201u);
}

TEST_F(UploadTest, ResumingRightAfterA416IsNeverRefusedAsBusy) {
  // The spec tells a client that got 416 to resume at once from the Range it
  // was given. The refused request must have released the upload by the time
  // its response is read, or the resume races into a 409.
  const std::string loc = StartUpload(client(), "up/resume416");
  ASSERT_FALSE(loc.empty());
  size_t size = 0;
  int busy = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string bad = std::to_string(size + 5) + "-" + std::to_string(size + 5);
    auto refused = Do(client(), "PATCH", loc, {{"Content-Range", bad}}, "x");
    if (refused.status == 409u) {  // still held by the previous refused request
      ++busy;
      continue;
    }
    ASSERT_EQ(refused.status, 416u) << refused.body;
    const std::string good = std::to_string(size) + "-" + std::to_string(size);
    auto resumed = Do(client(), "PATCH", loc, {{"Content-Range", good}}, "y");
    if (resumed.status == 409u) {
      ++busy;
      continue;
    }
    ASSERT_EQ(resumed.status, 202u) << resumed.body;
    ++size;
  }
  EXPECT_EQ(busy, 0) << busy
                     << " of 200 requests were refused with 409: the upload was still held by the "
                        "previous (refused) request although its response had been read";
}

TEST_F(UploadTest, FirstChunkMustStartAtZero) {
  const std::string loc = StartUpload(client(), "up/notzero");
  auto r = Do(client(), "PATCH", loc, {{"Content-Range", "1-10"}}, "0123456789");
  EXPECT_EQ(r.status, 416u);
  EXPECT_EQ(r.header("Range"), "0-0");
}

TEST_F(UploadTest, MalformedContentRangeIsRejected) {
  for (const char* range : {"garbage", "4-", "-7", "7-4", "4-7-9"}) {
    const std::string loc = StartUpload(client(), "up/badrange");
    ASSERT_EQ(Do(client(), "PATCH", loc, {{"Content-Range", "0-3"}}, "abcd").status, 202u);
    auto r = Do(client(), "PATCH", loc, {{"Content-Range", range}}, "efgh");
    // The spec: "A 416 will be returned ... [for an] invalid Content-Range header format".
    EXPECT_EQ(r.status, 416u) << range << ": " << r.status;
    EXPECT_EQ(ErrorCode(r), "BLOB_UPLOAD_INVALID") << range << ": " << r.body;
    EXPECT_EQ(r.header("Range"), "0-3") << range;
    EXPECT_EQ(r.header("Location"), loc) << range;
    // Nothing of the refused chunk was appended.
    EXPECT_EQ(Do(client(), "GET", loc).header("Range"), "0-3") << range;
  }
}

TEST_F(UploadTest, PutWithALastChunkChecksContentRangeAsPatchDoes) {
  for (const char* range : {"garbage", "7-4", "9-12"}) {
    const std::string loc = StartUpload(client(), "up/putrange");
    ASSERT_EQ(Do(client(), "PATCH", loc, {{"Content-Range", "0-3"}}, "abcd").status, 202u);
    auto patch = Do(client(), "PATCH", loc, {{"Content-Range", range}}, "efgh");
    auto put = Do(client(), "PUT", WithDigest(loc, Sha256("abcdefgh")), {{"Content-Range", range}}, "efgh");
    EXPECT_EQ(put.status, 416u) << range << ": " << put.body;
    EXPECT_EQ(put.status, patch.status) << range;
    EXPECT_EQ(ErrorCode(put), ErrorCode(patch)) << range;
    EXPECT_EQ(put.header("Range"), "0-3") << range;
    EXPECT_EQ(put.header("Location"), loc) << range;
    EXPECT_EQ(Do(client(), "GET", loc).header("Range"), "0-3") << range;
  }
}

TEST_F(UploadTest, ContentLengthMustMatchContentRange) {
  const std::string loc = StartUpload(client(), "up/lengthrange");
  auto r = Do(client(), "PATCH", loc, {{"Content-Range", "0-9"}}, "only five");
  EXPECT_TRUE(r.status == 400u || r.status == 416u) << r.status;
  EXPECT_TRUE(IsSpecErrorCode(ErrorCode(r))) << r.body;
  EXPECT_EQ(Do(client(), "GET", loc).header("Range"), "0-0");
}

TEST_F(UploadTest, UploadStatus) {
  const std::string loc = StartUpload(client(), "up/status");
  auto s0 = Do(client(), "GET", loc);
  EXPECT_EQ(s0.status, 204u);
  EXPECT_EQ(s0.header("Range"), "0-0");
  EXPECT_EQ(s0.header("Docker-Upload-UUID"), Uuid(loc));
  EXPECT_EQ(s0.header("Location"), loc);
  EXPECT_TRUE(s0.body.empty());
  ASSERT_EQ(Do(client(), "PATCH", loc, {}, std::string(123, 'x')).status, 202u);
  auto s1 = Do(client(), "GET", loc);
  EXPECT_EQ(s1.status, 204u);
  EXPECT_EQ(s1.header("Range"), "0-122");
  EXPECT_EQ(s1.header("Docker-Upload-UUID"), Uuid(loc));
}

TEST_F(UploadTest, CancelUpload) {
  const std::string loc = StartUpload(client(), "up/cancel");
  ASSERT_EQ(Do(client(), "PATCH", loc, {}, "some data").status, 202u);
  auto d = Do(client(), "DELETE", loc);
  EXPECT_EQ(d.status, 204u) << d.body;
  auto s = Do(client(), "GET", loc);
  EXPECT_EQ(s.status, 404u);
  EXPECT_EQ(ErrorCode(s), "BLOB_UPLOAD_UNKNOWN");
  auto p = Do(client(), "PATCH", loc, {}, "more");
  EXPECT_EQ(p.status, 404u);
  EXPECT_EQ(ErrorCode(p), "BLOB_UPLOAD_UNKNOWN");
  auto put = Do(client(), "PUT", WithDigest(loc, Sha256("some data")));
  EXPECT_EQ(put.status, 404u);
  EXPECT_EQ(ErrorCode(put), "BLOB_UPLOAD_UNKNOWN");
  auto again = Do(client(), "DELETE", loc);
  EXPECT_EQ(again.status, 404u);
  EXPECT_EQ(ErrorCode(again), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadTest, DigestMismatchOnPut) {
  const std::string content = "the real content";
  const std::string claimed = Sha256("something else");
  const std::string loc = StartUpload(client(), "up/mismatch");
  auto put = Do(client(), "PUT", WithDigest(loc, claimed), {}, content);
  EXPECT_EQ(put.status, 400u);
  EXPECT_EQ(ErrorCode(put), "DIGEST_INVALID");
  auto g = Do(client(), "GET", "/v2/up/mismatch/blobs/" + claimed);
  EXPECT_EQ(g.status, 404u);
  EXPECT_EQ(ErrorCode(g), "BLOB_UNKNOWN");
  EXPECT_EQ(Do(client(), "HEAD", "/v2/up/mismatch/blobs/" + Sha256(content)).status, 404u);
}

TEST_F(UploadTest, DigestMismatchOnMonolithicPost) {
  const std::string claimed = Sha256("not this");
  auto r = Do(client(), "POST", "/v2/up/mismatch-post/blobs/uploads/?digest=" + claimed, {}, "this");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(ErrorCode(r), "DIGEST_INVALID");
  EXPECT_EQ(Do(client(), "GET", "/v2/up/mismatch-post/blobs/" + claimed).status, 404u);
}

TEST_F(UploadTest, PutWithoutDigestIsRejected) {
  const std::string loc = StartUpload(client(), "up/nodigest");
  auto r = Do(client(), "PUT", loc, {}, "data");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(ErrorCode(r), "DIGEST_INVALID");
}

TEST_F(UploadTest, Sha512Digest) {
  const std::string content = RandomBytes(2500, 18);
  const std::string digest = Sha512(content);
  const std::string loc = StartUpload(client(), "up/sha512");
  ASSERT_EQ(Do(client(), "PATCH", loc, {{"Content-Range", "0-999"}}, std::string_view(content).substr(0, 1000)).status,
            202u);
  auto put = Do(client(), "PUT", WithDigest(loc, digest), {{"Content-Range", "1000-2499"}},
                std::string_view(content).substr(1000));
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(put.header("Location"), "/v2/up/sha512/blobs/" + digest);
  auto g = Do(client(), "GET", "/v2/up/sha512/blobs/" + digest);
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.header("Docker-Content-Digest"), digest);
  EXPECT_TRUE(g.body == content);
  // The same bytes are not known under their sha256 digest.
  EXPECT_EQ(Do(client(), "HEAD", "/v2/up/sha512/blobs/" + Sha256(content)).status, 404u);
}

TEST_F(UploadTest, Sha512MonolithicPost) {
  const std::string content = "sha512 monolithic";
  const std::string digest = Sha512(content);
  auto r = Do(client(), "POST", "/v2/up/sha512-post/blobs/uploads/?digest=" + digest, {}, content);
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(Do(client(), "GET", "/v2/up/sha512-post/blobs/" + digest).body, content);
}

TEST_F(UploadTest, UploadIdOfAnotherRepositoryIsUnknown) {
  const std::string loc = StartUpload(client(), "up/owner");
  ASSERT_EQ(Do(client(), "PATCH", loc, {}, "abc").status, 202u);
  const std::string foreign = "/v2/up/intruder/blobs/uploads/" + Uuid(loc);
  for (auto [method, body] : {std::pair{"GET", ""}, std::pair{"PATCH", "xyz"}, std::pair{"DELETE", ""}}) {
    auto r = Do(client(), method, foreign, {}, body);
    EXPECT_EQ(r.status, 404u) << method;
    EXPECT_EQ(ErrorCode(r), "BLOB_UPLOAD_UNKNOWN") << method;
  }
  auto put = Do(client(), "PUT", WithDigest(foreign, Sha256("abc")));
  EXPECT_EQ(put.status, 404u);
  EXPECT_EQ(ErrorCode(put), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(Do(client(), "HEAD", "/v2/up/intruder/blobs/" + Sha256("abc")).status, 404u);
  // The owner's upload is untouched.
  auto s = Do(client(), "GET", loc);
  EXPECT_EQ(s.status, 204u);
  EXPECT_EQ(s.header("Range"), "0-2");
}

TEST_F(UploadTest, UnknownAndMalformedUploadIds) {
  for (const std::string& id : {std::string(kUnknownUuid), std::string("not-a-uuid"), std::string("..")}) {
    auto r = Do(client(), "GET", "/v2/up/unknown/blobs/uploads/" + id);
    EXPECT_EQ(r.status, 404u) << id;
    EXPECT_EQ(ErrorCode(r), "BLOB_UPLOAD_UNKNOWN") << id;
  }
  auto p = Do(client(), "PATCH", std::string("/v2/up/unknown/blobs/uploads/") + kUnknownUuid, {}, "data");
  EXPECT_EQ(p.status, 404u);
  EXPECT_EQ(ErrorCode(p), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(UploadTest, CrossRepositoryMount) {
  const std::string content = "mount me";
  const std::string digest = PushBlob(client(), "up/mount-src", content);
  auto r = Do(client(), "POST", "/v2/up/mount-dst/blobs/uploads/?mount=" + digest + "&from=up/mount-src");
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.header("Location"), "/v2/up/mount-dst/blobs/" + digest);
  EXPECT_EQ(r.header("Docker-Content-Digest"), digest);
  auto g = Do(client(), "GET", "/v2/up/mount-dst/blobs/" + digest);
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.body, content);
}

TEST_F(UploadTest, MountFallsBackToUploadWhenSourceLacksBlob) {
  const std::string content = "not in the source repository";
  const std::string digest = Sha256(content);
  // The source repository exists but does not have this blob.
  PushBlob(client(), "up/mount-empty-src", "something else");
  auto r = Do(client(), "POST", "/v2/up/mount-fallback/blobs/uploads/?mount=" + digest + "&from=up/mount-empty-src");
  ASSERT_EQ(r.status, 202u) << r.body;
  const std::string loc = r.header("Location");
  EXPECT_EQ(loc.rfind("/v2/up/mount-fallback/blobs/uploads/", 0), 0u) << loc;
  EXPECT_EQ(Do(client(), "HEAD", "/v2/up/mount-fallback/blobs/" + digest).status, 404u);
  // The session it started is a normal upload.
  auto put = Do(client(), "PUT", WithDigest(loc, digest), {}, content);
  EXPECT_EQ(put.status, 201u) << put.body;
}

TEST_F(UploadTest, MountDoesNotLeakBlobsFromRepositoriesThatDoNotLinkThem) {
  // The blob exists in the registry (in repository A) but not in B: mounting it from B must not work.
  const std::string digest = PushBlob(client(), "up/leak-a", "private to a");
  PushBlob(client(), "up/leak-b", "b's own blob");
  auto r = Do(client(), "POST", "/v2/up/leak-c/blobs/uploads/?mount=" + digest + "&from=up/leak-b");
  EXPECT_EQ(r.status, 202u) << r.body;
  EXPECT_EQ(Do(client(), "HEAD", "/v2/up/leak-c/blobs/" + digest).status, 404u);
  // Nor from a source name that is not a valid repository.
  auto bad = Do(client(), "POST", "/v2/up/leak-c/blobs/uploads/?mount=" + digest + "&from=../up/leak-a");
  EXPECT_EQ(bad.status, 202u) << bad.body;
  EXPECT_EQ(Do(client(), "HEAD", "/v2/up/leak-c/blobs/" + digest).status, 404u);
}

// Own server: the test restarts it.
// storage.maintenance.uploadpurging with a one-second age and interval: an
// upload left alone disappears (404 BLOB_UPLOAD_UNKNOWN), pushes still work.
class UploadPurgeTest : public ServerSuite<UploadPurgeTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.storage_extra = "  maintenance:\n    uploadpurging: {enabled: true, age: 1s, interval: 1s}\n";
    return o;
  }
};

TEST_F(UploadPurgeTest, AbandonedUploadIsPurged) {
  const std::string loc = StartUpload(client(), "purge/old");
  ASSERT_FALSE(loc.empty());
  auto p = Do(client(), "PATCH", loc, {}, RandomBytes(1000, 31));
  ASSERT_EQ(p.status, 202u) << p.body;
  unsigned status = 0;
  ClientResponse last;
  for (int i = 0; i < 100 && status != 404; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    last = Do(client(), "GET", loc);
    status = last.status;
  }
  ASSERT_EQ(status, 404u) << "the abandoned upload was not purged within 10 s";
  EXPECT_NE(last.body.find("BLOB_UPLOAD_UNKNOWN"), std::string::npos) << last.body;
  const std::string dir = server().dir() + "/data/docker/registry/v2/repositories/purge/old/_uploads/" + Uuid(loc);
  EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir;
  // A whole push right after is unaffected (it finishes well within the age).
  const std::string content = RandomBytes(5000, 32);
  const std::string digest = PushBlob(client(), "purge/new", content);
  auto g = Do(client(), "GET", "/v2/purge/new/blobs/" + digest);
  EXPECT_EQ(g.status, 200u);
  EXPECT_TRUE(g.body == content);
}

class UploadRestartTest : public ServerSuite<UploadRestartTest> {};

TEST_F(UploadRestartTest, ResumesAfterServerRestart) {
  const std::string content = RandomBytes((2 << 20) + 12345, 19);
  const size_t half = content.size() / 2;
  const std::string digest = Sha256(content);
  const std::string loc = StartUpload(client(), "restart/resume");
  ASSERT_FALSE(loc.empty());
  auto p1 = Do(client(), "PATCH", loc, {{"Content-Range", "0-" + std::to_string(half - 1)}},
               std::string_view(content).substr(0, half));
  ASSERT_EQ(p1.status, 202u) << p1.body;

  client().Close();
  int exit_code = 0;
  std::string err = server().Restart(&exit_code);
  EXPECT_EQ(exit_code, 0) << "not a graceful shutdown";
  ASSERT_EQ(err, "");
  auto c = server().Client();

  auto s = Do(*c, "GET", loc);
  EXPECT_EQ(s.status, 204u) << s.body;
  EXPECT_EQ(s.header("Range"), "0-" + std::to_string(half - 1));
  EXPECT_EQ(s.header("Docker-Upload-UUID"), Uuid(loc));

  auto p2 = Do(*c, "PATCH", loc, {{"Content-Range", std::to_string(half) + "-" + std::to_string(content.size() - 1)}},
               std::string_view(content).substr(half));
  ASSERT_EQ(p2.status, 202u) << p2.body;
  EXPECT_EQ(p2.header("Range"), "0-" + std::to_string(content.size() - 1));

  auto put = Do(*c, "PUT", WithDigest(loc, digest));
  ASSERT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(put.header("Docker-Content-Digest"), digest);
  auto g = Do(*c, "GET", "/v2/restart/resume/blobs/" + digest);
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(Sha256(g.body), digest);
}

TEST_F(UploadRestartTest, DataSurvivesRestart) {
  Image img = PushImage(client(), "restart/persist", "v1", "persist");
  client().Close();
  int exit_code = 0;
  ASSERT_EQ(server().Restart(&exit_code), "");
  EXPECT_EQ(exit_code, 0);
  auto c = server().Client();
  auto m = Do(*c, "GET", "/v2/restart/persist/manifests/v1");
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.body, img.body);
  EXPECT_EQ(Do(*c, "GET", "/v2/restart/persist/blobs/" + Sha256(img.config)).body, img.config);
}

}  // namespace
}  // namespace berth::apitest
