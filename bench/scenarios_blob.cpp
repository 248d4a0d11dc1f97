// Large blobs: push-blob (monolithic), push-chunked (PATCH pieces), pull-blob
// (GET to a sink that only counts). Blobs are generated, never held in memory.
#include <cstdio>

#include "generator.h"
#include "scenario.h"

namespace berth::bench {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

// Blob i of thread t; thread 0's first blob is the one pull-blob reads.
BlobSpec SpecFor(const Context& ctx, int64_t size, int t, int i, int count) {
  return BlobSpec{ctx.opt.seed + static_cast<uint64_t>(t) * static_cast<uint64_t>(count) + static_cast<uint64_t>(i),
                  size};
}

// A source over bytes [offset, offset+n) of the blob.
http::HttpClient::Source PieceSource(BlobSpec spec, int64_t offset, int64_t n) {
  auto pos = std::make_shared<int64_t>(offset);
  const int64_t end = offset + n;
  return [spec, pos, end](char* buf, size_t want) {
    size_t take = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(want), end - *pos));
    FillBlob(spec, *pos, buf, take);
    *pos += static_cast<int64_t>(take);
    return take;
  };
}

Result<std::vector<Phase>> Push(Context& ctx, bool chunked) {
  const int64_t size = Or(ctx.opt.size, kGiB);
  const int count = static_cast<int>(Or(int64_t{ctx.opt.count}, 1));
  const int threads = static_cast<int>(Or(int64_t{ctx.opt.concurrency}, 1));
  const int64_t chunk = ctx.opt.chunk_size;
  std::vector<std::unique_ptr<RegistryClient>> clients;
  for (int t = 0; t < threads; ++t) clients.push_back(ctx.NewClient());
  std::vector<std::vector<std::pair<BlobSpec, oci::Digest>>> blobs(static_cast<size_t>(threads));

  auto prepare = [&](int t) -> Status {
    // The digest pre-pass: the same stream is generated again for the upload.
    for (int i = 0; i < count; ++i) {
      BlobSpec spec = SpecFor(ctx, size, t, i, count);
      blobs[t].emplace_back(spec, BlobDigest(spec));
    }
    return clients[t]->Authorize(ctx.opt.repo, "pull,push");
  };
  auto work = [&](int t, WorkerStats& s) {
    for (const auto& [spec, digest] : blobs[t]) {
      auto start = Clock::now();
      Status st;
      if (chunked) {
        BlobSpec blob = spec;
        st = clients[t]->PushBlobChunked(ctx.opt.repo, digest, size, chunk,
                                         [blob](int64_t off, int64_t n) { return PieceSource(blob, off, n); });
        s.requests += 2 + (size + chunk - 1) / chunk;
      } else {
        BlobSpec blob = spec;
        st = clients[t]->PushBlob(
            ctx.opt.repo, digest, size, [blob] { return BlobSource(blob); }, ctx.opt.single_post);
        s.requests += ctx.opt.single_post ? 1 : 2;
      }
      s.latencies.Add(std::chrono::duration<double>(Clock::now() - start).count());
      if (!st.ok()) {
        s.Fail(st);
        continue;
      }
      s.bytes += size;
      ++s.items;
    }
  };
  return std::vector<Phase>{RunPhase(ctx, "push", "MB/s", threads, prepare, work)};
}

}  // namespace

Result<std::vector<Phase>> PushBlob(Context& ctx) { return Push(ctx, false); }
Result<std::vector<Phase>> PushChunked(Context& ctx) { return Push(ctx, true); }

Result<std::vector<Phase>> PullBlob(Context& ctx) {
  const int64_t size = Or(ctx.opt.size, kGiB);
  const int count = static_cast<int>(Or(int64_t{ctx.opt.count}, 1));
  const int threads = static_cast<int>(Or(int64_t{ctx.opt.concurrency}, 1));
  // The same blob push-blob's first upload writes (same seed and size): pushed
  // here, untimed, only when the repository does not have it yet.
  const BlobSpec spec{ctx.opt.seed, size};
  const oci::Digest digest = BlobDigest(spec);
  const std::string target = "/v2/" + ctx.opt.repo + "/blobs/" + digest.str();
  ctx.info["blob_digest"] = digest.str();
  {
    auto setup = ctx.NewClient();
    if (Status s = setup->Authorize(ctx.opt.repo, "pull,push"); !s.ok()) return s;
    auto head = setup->Call("HEAD", target);
    if (!head.ok()) return head.status();
    if (head->status == 404) {
      std::fprintf(stderr, "pull-blob: pushing the %lld-byte blob first (untimed)\n", static_cast<long long>(size));
      if (Status s = setup->PushBlob(ctx.opt.repo, digest, size, [spec] { return BlobSource(spec); }); !s.ok()) {
        return s;
      }
    } else if (head->status != 200) {
      return Unexpected("HEAD " + target, *head);
    }
    if (ctx.opt.warm) {
      int64_t got = 0;
      auto r = setup->CallDownload("GET", target, {}, [&](const char*, size_t n) { got += static_cast<int64_t>(n); });
      if (!r.ok()) return r.status();
      if (Status s = Expect(*r, 200, "GET " + target); !s.ok()) return s;
      if (got != size) return Status::IoError("GET " + target + ": got " + std::to_string(got) + " bytes");
    }
  }
  std::vector<std::unique_ptr<RegistryClient>> clients;
  for (int t = 0; t < threads; ++t) clients.push_back(ctx.NewClient());
  auto prepare = [&](int t) -> Status {
    if (Status s = clients[t]->Authorize(ctx.opt.repo, "pull"); !s.ok()) return s;
    auto r = clients[t]->Call("HEAD", target);  // connect and authenticate before the clock starts
    if (!r.ok()) return r.status();
    return Expect(*r, 200, "HEAD " + target);
  };
  auto work = [&](int t, WorkerStats& s) {
    for (int i = 0; i < count; ++i) {
      int64_t got = 0;
      std::optional<oci::Hasher> hasher;
      if (ctx.opt.verify) hasher.emplace();
      auto start = Clock::now();
      auto r = clients[t]->CallDownload("GET", target, {}, [&](const char* data, size_t n) {
        got += static_cast<int64_t>(n);
        if (hasher) hasher->Update(data, n);
      });
      s.latencies.Add(std::chrono::duration<double>(Clock::now() - start).count());
      Status st = r.ok() ? Expect(*r, 200, "GET " + target) : r.status();
      if (st.ok() && got != size) st = Status::IoError("GET " + target + ": got " + std::to_string(got) + " bytes");
      if (st.ok() && hasher && !(hasher->Current() == digest))
        st = Status::IoError("GET " + target + ": digest mismatch");
      if (!st.ok()) {
        s.Fail(st);
        continue;
      }
      s.bytes += got;
      ++s.requests;
      ++s.items;
    }
  };
  return std::vector<Phase>{RunPhase(ctx, "get", "MB/s", threads, prepare, work)};
}

}  // namespace berth::bench
