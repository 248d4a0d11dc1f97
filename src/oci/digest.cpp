#include "oci/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace berth::oci {

std::string_view AlgorithmName(DigestAlgorithm a) {
  return a == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

size_t HexLength(DigestAlgorithm a) { return a == DigestAlgorithm::kSha256 ? 64 : 128; }

Result<Digest> Digest::Parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return Status::Invalid("digest has no algorithm prefix");
  std::string_view alg = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  DigestAlgorithm a;
  if (alg == "sha256") {
    a = DigestAlgorithm::kSha256;
  } else if (alg == "sha512") {
    a = DigestAlgorithm::kSha512;
  } else {
    return Status::Unsupported("unsupported digest algorithm");
  }
  if (hex.size() != HexLength(a)) return Status::Invalid("digest has the wrong length");
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Status::Invalid("digest is not lowercase hex");
    }
  }
  return Digest(a, std::string(hex));
}

std::string Digest::str() const {
  std::string s(algorithm_name());
  s += ':';
  s += hex_;
  return s;
}

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(DigestAlgorithm a) : algorithm_(a), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  const EVP_MD* md = a == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest init failed");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(const void* data, size_t len) {
  if (len > 0) EVP_DigestUpdate(ctx_->md, data, len);
}

Digest Hasher::Current() const {
  // Finalise a copy so the running state stays usable (chunked uploads).
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, ctx_->md);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(copy, out, &n);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(n * 2, '0');
  for (unsigned i = 0; i < n; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 15];
  }
  return Digest(algorithm_, std::move(hex));
}

Digest DigestOf(std::string_view data, DigestAlgorithm a) {
  Hasher h(a);
  h.Update(data);
  return h.Current();
}

}  // namespace berth::oci
