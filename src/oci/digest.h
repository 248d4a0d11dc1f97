// Content digests ("sha256:<hex>") and the incremental hasher that produces them.
// Digest is an immutable value type. Hasher is not thread-safe: one per stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::oci {

enum class DigestAlgorithm { kSha256, kSha512 };

std::string_view AlgorithmName(DigestAlgorithm a);
size_t HexLength(DigestAlgorithm a);

class Digest {
 public:
  Digest() = default;
  // Accepts only "sha256:<64 lowercase hex>" and "sha512:<128 lowercase hex>".
  static Result<Digest> Parse(std::string_view text);

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithm_name() const { return AlgorithmName(algorithm_); }
  const std::string& hex() const { return hex_; }
  std::string str() const;

  bool operator==(const Digest&) const = default;
  bool empty() const { return hex_.empty(); }

 private:
  Digest(DigestAlgorithm a, std::string hex) : algorithm_(a), hex_(std::move(hex)) {}
  friend class Hasher;
  DigestAlgorithm algorithm_ = DigestAlgorithm::kSha256;
  std::string hex_;
};

// Streaming SHA-256/SHA-512 (OpenSSL). The running state can be saved and
// restored, so an upload can continue in another process. Not thread-safe.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm a = DigestAlgorithm::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(const void* data, size_t len);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // The digest of everything so far; the hasher can keep going afterwards.
  Digest Current() const;
  DigestAlgorithm algorithm() const { return algorithm_; }
  // Serialises the running state (a few hundred bytes; not secret: it is a hash
  // of data the server stores anyway). RestoreState is its inverse.
  std::string SaveState() const;
  static Result<Hasher> RestoreState(std::string_view state);
  // An independent copy of the running state (cheap: a few hundred bytes).
  Hasher Clone() const;

 private:
  DigestAlgorithm algorithm_;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest DigestOf(std::string_view data, DigestAlgorithm a = DigestAlgorithm::kSha256);

}  // namespace berth::oci
