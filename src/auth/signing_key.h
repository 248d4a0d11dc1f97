// SigningKey: the token signing key (RSA 2048 -> RS256, or EC P-256 -> ES256)
// and its self-signed certificate. The certificate goes into each token's x5c
// header and is what a CNCF distribution configured with
// auth.token.rootcertbundle trusts. kid is libtrust's key id (what Docker's
// registry expects). Immutable once loaded; thread-safe.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace berth::auth {

enum class KeyType { kRsa, kEc };

class SigningKey {
 public:
  ~SigningKey();

  // Loads the PEM private key at `key_path`, or creates one (mode 0600) when the
  // file is missing. The certificate is kept next to it (CertificatePathFor).
  static Result<std::shared_ptr<const SigningKey>> LoadOrCreate(const std::string& key_path, KeyType new_key_type);
  // From PEM text, with a fresh in-memory certificate (tests).
  static Result<std::shared_ptr<const SigningKey>> FromPem(std::string_view private_key_pem);
  static Result<std::shared_ptr<const SigningKey>> Generate(KeyType type);
  // A verification-only key (a previous or a next key of a rotation) from its
  // PEM certificate; Sign() fails on it.
  static Result<std::shared_ptr<const SigningKey>> FromCertificatePem(std::string_view certificate_pem);
  // A verification-only key from a file holding its PEM certificate, or its
  // private key (then the certificate next to it, CertificatePathFor, is used
  // when present). Never creates anything.
  static Result<std::shared_ptr<const SigningKey>> LoadVerifier(const std::string& path);

  std::string_view alg() const { return type_ == KeyType::kRsa ? "RS256" : "ES256"; }
  KeyType type() const { return type_; }
  const std::string& kid() const { return kid_; }
  const std::string& certificate_der_base64() const { return cert_der_b64_; }
  const std::string& certificate_pem() const { return cert_pem_; }
  std::string PrivateKeyPem() const;
  bool can_sign() const { return can_sign_; }
  // The public key as a JSON Web Key (RFC 7517): kty, kid, use "sig", alg,
  // n/e (RSA) or crv/x/y (EC), and x5c with the certificate.
  nlohmann::json Jwk() const;

  // JWS signature bytes (raw r||s for ES256).
  Result<std::string> Sign(std::string_view data) const;
  bool Verify(std::string_view data, std::string_view signature) const;

 private:
  SigningKey() = default;
  Status Init(EVP_PKEY* key, std::string cert_pem);  // takes ownership of key

  EVP_PKEY* key_ = nullptr;
  KeyType type_ = KeyType::kRsa;
  std::string kid_;
  std::string cert_der_b64_;
  std::string cert_pem_;
  bool can_sign_ = true;
};

// "<dir>/token-key.pem" -> "<dir>/token-key.crt"
std::string CertificatePathFor(const std::string& key_path);

// Writes `content` to `path` atomically (a temporary file renamed over it) with exactly `mode`.
Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode);

}  // namespace berth::auth
