// Deterministic blob content: any (seed, size) always yields the same bytes, so
// a blob's digest can be computed in a pre-pass and the same stream generated
// again for the upload. Nothing is held in memory but one shared 1 MiB pattern
// (random bytes from a fixed PRNG); each 1 MiB block is that pattern with its
// first 16 bytes replaced by (seed, block index), so blobs never collide.
#pragma once

#include <cstdint>
#include <string>

#include "http/client.h"
#include "oci/digest.h"

namespace berth::bench {

struct BlobSpec {
  uint64_t seed = 1;
  int64_t size = 0;
};

class BlobStream {
 public:
  explicit BlobStream(BlobSpec spec) : spec_(spec) {}
  // Fills up to n bytes; 0 at the end.
  size_t Read(char* buf, size_t n);
  int64_t position() const { return pos_; }

 private:
  BlobSpec spec_;
  int64_t pos_ = 0;
};

// Bytes [offset, offset+n) of the blob.
void FillBlob(BlobSpec spec, int64_t offset, char* out, size_t n);

// The blob in memory (for small blobs only).
std::string BlobBytes(BlobSpec spec);

// SHA-256 of the whole blob, generated in 1 MiB pieces.
oci::Digest BlobDigest(BlobSpec spec);

// A fresh source over the blob for HttpClient::RequestStream.
http::HttpClient::Source BlobSource(BlobSpec spec);

}  // namespace berth::bench
