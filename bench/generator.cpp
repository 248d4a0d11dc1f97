#include "generator.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace berth::bench {
namespace {

constexpr int64_t kBlock = 1 << 20;
constexpr size_t kStamp = 16;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

const char* Pattern() {
  static const std::vector<char> pattern = [] {
    std::vector<char> p(kBlock);
    uint64_t state = 0x6265727468ULL;  // "berth"
    for (size_t i = 0; i < p.size(); i += 8) {
      uint64_t v = SplitMix64(state);
      std::memcpy(p.data() + i, &v, 8);
    }
    return p;
  }();
  return pattern.data();
}

}  // namespace

void FillBlob(BlobSpec spec, int64_t offset, char* out, size_t n) {
  const char* pattern = Pattern();
  while (n > 0) {
    int64_t block = offset / kBlock;
    int64_t in_block = offset % kBlock;
    size_t take = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), kBlock - in_block));
    std::memcpy(out, pattern + in_block, take);
    if (in_block < static_cast<int64_t>(kStamp)) {
      char stamp[kStamp];
      uint64_t words[2] = {spec.seed, static_cast<uint64_t>(block)};
      std::memcpy(stamp, words, kStamp);
      size_t k = std::min(take, kStamp - static_cast<size_t>(in_block));
      std::memcpy(out, stamp + in_block, k);
    }
    out += take;
    offset += static_cast<int64_t>(take);
    n -= take;
  }
}

size_t BlobStream::Read(char* buf, size_t n) {
  size_t take = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), spec_.size - pos_));
  FillBlob(spec_, pos_, buf, take);
  pos_ += static_cast<int64_t>(take);
  return take;
}

std::string BlobBytes(BlobSpec spec) {
  std::string s(static_cast<size_t>(spec.size), '\0');
  FillBlob(spec, 0, s.data(), s.size());
  return s;
}

oci::Digest BlobDigest(BlobSpec spec) {
  oci::Hasher hasher;
  std::vector<char> buf(kBlock);
  BlobStream stream(spec);
  while (size_t n = stream.Read(buf.data(), buf.size())) hasher.Update(buf.data(), n);
  return hasher.Current();
}

http::HttpClient::Source BlobSource(BlobSpec spec) {
  auto stream = std::make_shared<BlobStream>(spec);
  return [stream](char* buf, size_t n) { return stream->Read(buf, n); };
}

}  // namespace berth::bench
