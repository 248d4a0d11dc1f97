#include "oci/digest.h"

// SHA256_Init & co. are deprecated in OpenSSL 3 but remain supported; see Hasher::Ctx.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstdint>
#include <cstring>

#include "util/hex.h"

namespace berth::oci {

std::string_view AlgorithmName(DigestAlgorithm a) { return a == DigestAlgorithm::kSha256 ? "sha256" : "sha512"; }

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

// The low-level SHA-2 interface (deprecated in OpenSSL 3, still supported) is
// used instead of EVP because its state is a plain struct: an upload's running
// hash can be saved to storage and resumed in another process (or replica).
// The same assembly (SHA-NI where present) does the work either way.
struct Hasher::Ctx {
  SHA256_CTX sha256;
  SHA512_CTX sha512;
};

Hasher::Hasher(DigestAlgorithm a) : algorithm_(a), ctx_(std::make_unique<Ctx>()) {
  if (a == DigestAlgorithm::kSha256) {
    SHA256_Init(&ctx_->sha256);
  } else {
    SHA512_Init(&ctx_->sha512);
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;

Hasher Hasher::Clone() const {
  Hasher copy(algorithm_);
  *copy.ctx_ = *ctx_;
  return copy;
}
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(const void* data, size_t len) {
  if (len == 0) return;
  if (algorithm_ == DigestAlgorithm::kSha256) {
    SHA256_Update(&ctx_->sha256, data, len);
  } else {
    SHA512_Update(&ctx_->sha512, data, len);
  }
}

Digest Hasher::Current() const {
  // Finalise a copy so the running state stays usable (chunked uploads).
  unsigned char out[SHA512_DIGEST_LENGTH];
  unsigned n = 0;
  if (algorithm_ == DigestAlgorithm::kSha256) {
    SHA256_CTX copy = ctx_->sha256;
    SHA256_Final(out, &copy);
    n = SHA256_DIGEST_LENGTH;
  } else {
    SHA512_CTX copy = ctx_->sha512;
    SHA512_Final(out, &copy);
    n = SHA512_DIGEST_LENGTH;
  }
  return Digest(algorithm_, HexEncode(out, n));
}

// Saved state: "berth-hash-v1 <alg>\n" then the context's fields, little-endian,
// field by field (not the struct's bytes), so the format does not depend on padding.
namespace {
constexpr std::string_view kStateMagic = "berth-hash-v1 ";

template <class T>
void PutLe(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}
template <class T>
bool GetLe(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  uint64_t x = 0;
  for (size_t i = 0; i < sizeof(T); ++i) x |= static_cast<uint64_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  *v = static_cast<T>(x);
  in->remove_prefix(sizeof(T));
  return true;
}
bool GetBytes(std::string_view* in, void* dst, size_t n) {
  if (in->size() < n) return false;
  std::memcpy(dst, in->data(), n);
  in->remove_prefix(n);
  return true;
}
}  // namespace

std::string Hasher::SaveState() const {
  std::string out(kStateMagic);
  out += AlgorithmName(algorithm_);
  out += '\n';
  if (algorithm_ == DigestAlgorithm::kSha256) {
    const SHA256_CTX& c = ctx_->sha256;
    for (auto h : c.h) PutLe(&out, h);
    PutLe(&out, c.Nl);
    PutLe(&out, c.Nh);
    out.append(reinterpret_cast<const char*>(c.data), sizeof c.data);
    PutLe(&out, c.num);
    PutLe(&out, c.md_len);
  } else {
    const SHA512_CTX& c = ctx_->sha512;
    for (auto h : c.h) PutLe(&out, h);
    PutLe(&out, c.Nl);
    PutLe(&out, c.Nh);
    out.append(reinterpret_cast<const char*>(c.u.p), sizeof c.u.p);
    PutLe(&out, c.num);
    PutLe(&out, c.md_len);
  }
  return out;
}

Result<Hasher> Hasher::RestoreState(std::string_view state) {
  const auto bad = [] { return Status::Invalid("malformed hash state"); };
  if (state.substr(0, kStateMagic.size()) != kStateMagic) return bad();
  state.remove_prefix(kStateMagic.size());
  auto nl = state.find('\n');
  if (nl == std::string_view::npos) return bad();
  std::string_view alg = state.substr(0, nl);
  state.remove_prefix(nl + 1);
  if (alg == "sha256") {
    Hasher h(DigestAlgorithm::kSha256);
    SHA256_CTX& c = h.ctx_->sha256;
    for (auto& x : c.h) {
      if (!GetLe(&state, &x)) return bad();
    }
    if (!GetLe(&state, &c.Nl) || !GetLe(&state, &c.Nh) || !GetBytes(&state, c.data, sizeof c.data) ||
        !GetLe(&state, &c.num) || !GetLe(&state, &c.md_len) || !state.empty()) {
      return bad();
    }
    if (c.num >= SHA256_CBLOCK || c.md_len != SHA256_DIGEST_LENGTH) return bad();
    return h;
  }
  if (alg == "sha512") {
    Hasher h(DigestAlgorithm::kSha512);
    SHA512_CTX& c = h.ctx_->sha512;
    for (auto& x : c.h) {
      if (!GetLe(&state, &x)) return bad();
    }
    if (!GetLe(&state, &c.Nl) || !GetLe(&state, &c.Nh) || !GetBytes(&state, c.u.p, sizeof c.u.p) ||
        !GetLe(&state, &c.num) || !GetLe(&state, &c.md_len) || !state.empty()) {
      return bad();
    }
    if (c.num >= SHA512_CBLOCK || c.md_len != SHA512_DIGEST_LENGTH) return bad();
    return h;
  }
  return bad();
}

Digest DigestOf(std::string_view data, DigestAlgorithm a) {
  Hasher h(a);
  h.Update(data);
  return h.Current();
}

}  // namespace berth::oci
