#include "auth/signing_key.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/base64.h"
#include "util/random.h"

namespace berth::auth {
namespace {

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

// Writes `content` to `path` atomically with the given mode.
Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + std::strerror(errno));
  // fchmod: the mode exactly, whatever the umask (published files must be world-readable).
  bool ok = ::fchmod(fd, mode) == 0 &&
            ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// libtrust key id: base32 of the first 240 bits of SHA-256(DER SubjectPublicKeyInfo), in 4-char groups.
std::string LibtrustKeyId(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  unsigned char hash[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), hash);
  OPENSSL_free(der);
  static constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string b32;
  // 30 bytes = 240 bits = 48 base32 characters, no padding.
  for (int bit = 0; bit < 240; bit += 5) {
    int byte = bit / 8, off = bit % 8;
    int v = (hash[byte] << 8 | (byte + 1 < 32 ? hash[byte + 1] : 0)) >> (11 - off) & 31;
    b32 += kB32[v];
  }
  std::string kid;
  for (size_t i = 0; i < b32.size(); i += 4) {
    if (i) kid += ':';
    kid += b32.substr(i, 4);
  }
  return kid;
}

Result<std::string> SelfSignedCertificate(EVP_PKEY* key) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  unsigned char serial[16];
  (void)RandomBytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("berth token signer"), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, key, EVP_sha256()) == 0) {
    X509_free(x);
    return Status::IoError("cannot sign the token certificate");
  }
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  std::string pem = BioToString(bio);
  BIO_free(bio);
  X509_free(x);
  return pem;
}

EVP_PKEY* NewKey(KeyType type) {
  return type == KeyType::kRsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
}

}  // namespace

std::string CertificatePathFor(const std::string& key_path) {
  if (key_path.size() > 4 && key_path.compare(key_path.size() - 4, 4, ".pem") == 0) {
    return key_path.substr(0, key_path.size() - 4) + ".crt";
  }
  return key_path + ".crt";
}

SigningKey::~SigningKey() { EVP_PKEY_free(key_); }

Status SigningKey::Init(EVP_PKEY* key, std::string cert_pem) {
  key_ = key;
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    type_ = KeyType::kRsa;
    if (EVP_PKEY_get_bits(key) < 2048) return Status::Invalid("RSA token keys must have at least 2048 bits");
  } else if (id == EVP_PKEY_EC) {
    type_ = KeyType::kEc;
    char group[64] = {0};
    size_t glen = 0;
    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &glen);
    if (std::string_view(group) != "prime256v1") return Status::Invalid("EC token keys must use P-256");
  } else {
    return Status::Invalid("token key must be RSA or EC P-256");
  }
  kid_ = LibtrustKeyId(key);
  if (cert_pem.empty()) {
    auto pem = SelfSignedCertificate(key);
    if (!pem.ok()) return pem.status();
    cert_pem = std::move(*pem);
  }
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) return Status::Invalid("unreadable token certificate");
  EVP_PKEY* cert_key = X509_get0_pubkey(x);
  bool matches = cert_key != nullptr && EVP_PKEY_eq(cert_key, key) == 1;
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  cert_der_b64_ = Base64Encode(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  X509_free(x);
  if (!matches) return Status::Invalid("token certificate does not match the key");
  cert_pem_ = std::move(cert_pem);
  return Status::Ok();
}

Result<std::shared_ptr<const SigningKey>> SigningKey::Generate(KeyType type) {
  EVP_PKEY* key = NewKey(type);
  if (key == nullptr) return Status::IoError("key generation failed");
  std::shared_ptr<SigningKey> k(new SigningKey());
  if (Status s = k->Init(key, ""); !s.ok()) return s;
  return std::shared_ptr<const SigningKey>(k);
}

Result<std::shared_ptr<const SigningKey>> SigningKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return Status::Invalid("not a PEM private key");
  std::shared_ptr<SigningKey> k(new SigningKey());
  if (Status s = k->Init(key, ""); !s.ok()) return s;
  return std::shared_ptr<const SigningKey>(k);
}

Result<std::shared_ptr<const SigningKey>> SigningKey::FromCertificatePem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) return Status::Invalid("not a PEM certificate");
  EVP_PKEY* key = X509_get_pubkey(x);  // a reference of our own
  X509_free(x);
  if (key == nullptr) return Status::Invalid("certificate without a public key");
  std::shared_ptr<SigningKey> k(new SigningKey());
  k->can_sign_ = false;
  if (Status s = k->Init(key, std::string(pem)); !s.ok()) return s;
  return std::shared_ptr<const SigningKey>(k);
}

Result<std::shared_ptr<const SigningKey>> SigningKey::LoadVerifier(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return Status::NotFound(path + ": cannot read");
  if (text->find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
    auto k = FromCertificatePem(*text);
    if (!k.ok()) return Status::Invalid(path + ": " + k.status().message());
    return k;
  }
  // A private key: use its certificate when there is one (the same the key's
  // tokens carried), else derive the public key from the private one.
  if (auto cert = ReadFile(CertificatePathFor(path)); cert.ok()) {
    auto k = FromCertificatePem(*cert);
    auto priv = FromPem(*text);
    if (k.ok() && priv.ok() && (*k)->kid() == (*priv)->kid()) return k;
  }
  auto priv = FromPem(*text);
  if (!priv.ok()) return Status::Invalid(path + ": neither a PEM certificate nor a PEM private key");
  return FromCertificatePem((*priv)->certificate_pem());
}

nlohmann::json SigningKey::Jwk() const {
  auto b64url_param = [this](const char* name, size_t pad) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key_, name, &bn);
    std::string bytes(pad > 0 ? pad : static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    BN_free(bn);
    return Base64UrlEncode(bytes);
  };
  nlohmann::json j = {{"kid", kid_}, {"use", "sig"}, {"alg", alg()}};
  if (type_ == KeyType::kRsa) {
    j["kty"] = "RSA";
    j["n"] = b64url_param("n", 0);
    j["e"] = b64url_param("e", 0);
  } else {
    j["kty"] = "EC";
    j["crv"] = "P-256";
    j["x"] = b64url_param("qx", 32);
    j["y"] = b64url_param("qy", 32);
  }
  j["x5c"] = nlohmann::json::array({cert_der_b64_});
  return j;
}

std::string SigningKey::PrivateKeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key_, nullptr, nullptr, 0, nullptr, nullptr);
  std::string pem = BioToString(bio);
  BIO_free(bio);
  return pem;
}

Result<std::shared_ptr<const SigningKey>> SigningKey::LoadOrCreate(const std::string& key_path, KeyType new_type) {
  const std::string cert_path = CertificatePathFor(key_path);
  std::shared_ptr<SigningKey> k(new SigningKey());
  auto pem = ReadFile(key_path);
  if (pem.ok()) {
    BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) return Status::Invalid(key_path + ": not a PEM private key");
    auto cert = ReadFile(cert_path);
    Status s = k->Init(key, cert.ok() ? *cert : "");
    if (!s.ok() && cert.ok()) {
      // A stale or foreign certificate: make a new one for this key.
      k.reset(new SigningKey());
      BIO* b2 = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
      s = k->Init(PEM_read_bio_PrivateKey(b2, nullptr, nullptr, nullptr), "");
      BIO_free(b2);
    }
    if (!s.ok()) return Status::Invalid(key_path + ": " + s.message());
    if (!cert.ok() || *cert != k->cert_pem_) {
      if (Status w = WriteFileAtomic(cert_path, k->cert_pem_, 0644); !w.ok()) return w;
    }
    return std::shared_ptr<const SigningKey>(k);
  }
  EVP_PKEY* key = NewKey(new_type);
  if (key == nullptr) return Status::IoError("key generation failed");
  if (Status s = k->Init(key, ""); !s.ok()) return s;
  if (Status s = WriteFileAtomic(key_path, k->PrivateKeyPem(), 0600); !s.ok()) return s;
  if (Status s = WriteFileAtomic(cert_path, k->cert_pem_, 0644); !s.ok()) return s;
  return std::shared_ptr<const SigningKey>(k);
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  if (!can_sign_) return Status::Invalid("a verification-only key cannot sign");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::IoError("signing failed");
  if (type_ == KeyType::kRsa) return sig;
  // ECDSA: DER SEQUENCE{r,s} -> fixed-width r||s as JWS requires.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (es == nullptr) return Status::IoError("bad ECDSA signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return raw;
}

bool SigningKey::Verify(std::string_view data, std::string_view signature) const {
  std::string der;
  if (type_ == KeyType::kEc) {
    if (signature.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    ECDSA_SIG_set0(es, r, s);
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es, &out);
    ECDSA_SIG_free(es);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace berth::auth
