// Unit tests for auth/key_ring.h: signing-key rotation. A token verifies with
// the key its kid names (current or accepted), an unknown kid is refused
// without trying any key, retiring a key refuses its tokens, and the ring is
// published as a PEM bundle and a JWKS.
#include "auth/key_ring.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <fstream>

#include "util/base64.h"
#include "auth/jwt.h"
#include "temp_dir.h"

namespace berth::auth {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;

std::shared_ptr<const SigningKey> NewKey(KeyType t) {
  auto k = SigningKey::Generate(t);
  if (!k.ok()) throw std::runtime_error(k.status().message());
  return *k;
}

std::shared_ptr<const KeyRing> Ring(std::shared_ptr<const SigningKey> current,
                                    std::vector<std::shared_ptr<const SigningKey>> accepted = {}) {
  auto r = KeyRing::Make(std::move(current), std::move(accepted));
  if (!r.ok()) throw std::runtime_error(r.status().message());
  return *r;
}

std::shared_ptr<const SigningKey> VerifierOf(const SigningKey& k) {
  auto v = SigningKey::FromCertificatePem(k.certificate_pem());
  if (!v.ok()) throw std::runtime_error(v.status().message());
  return *v;
}

json Claims() { return {{"iss", "berth"}, {"aud", "registry"}, {"sub", "alice"}, {"exp", kNow + 300}, {"iat", kNow}}; }
JwtExpectations Expect() { return {"berth", "registry", kNow, 60}; }

std::string Sign(const SigningKey& k) {
  auto t = SignJwt(k, Claims());
  if (!t.ok()) throw std::runtime_error(t.status().message());
  return *t;
}

class KeyRingTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyRingTest, RotationKeepsTheOldTokensUntilTheOldKeyIsRetired) {
  auto old_key = NewKey(GetParam());
  auto new_key = NewKey(GetParam());
  const std::string old_token = Sign(*old_key);

  // Before: only the old key.
  auto before = Ring(old_key);
  EXPECT_TRUE(VerifyJwt(*before, old_token, Expect()).ok());
  // Step 1 (several replicas): the next key is accepted everywhere before anyone signs with it.
  auto next_published = Ring(old_key, {VerifierOf(*new_key)});
  EXPECT_TRUE(VerifyJwt(*next_published, Sign(*new_key), Expect()).ok());
  EXPECT_EQ(next_published->current().kid(), old_key->kid()) << "still signing with the old key";
  // Step 2: the new key signs; the old one is still accepted.
  auto rotated = Ring(new_key, {VerifierOf(*old_key)});
  EXPECT_TRUE(VerifyJwt(*rotated, old_token, Expect()).ok()) << "a token issued before the rotation";
  EXPECT_TRUE(VerifyJwt(*rotated, Sign(rotated->current()), Expect()).ok()) << "a token issued after it";
  // Step 3: the old key retired: its tokens fail at once.
  auto retired = Ring(new_key);
  auto refused = VerifyJwt(*retired, old_token, Expect());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("unknown key"), std::string::npos) << refused.status().message();
}

TEST_P(KeyRingTest, UnknownKidIsRefusedWithoutTryingAnyKey) {
  auto a = NewKey(GetParam());
  auto b = NewKey(GetParam());
  auto ring = Ring(a, {VerifierOf(*b)});
  // A token really signed by `a`, but naming a kid nobody has: refused although
  // trying every key would have found one that verifies it.
  json header = {{"typ", "JWT"}, {"alg", a->alg()}, {"kid", "AAAA:BBBB:CCCC"}};
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(Claims().dump());
  auto sig = a->Sign(input);
  ASSERT_TRUE(sig.ok());
  auto r = VerifyJwt(*ring, input + "." + Base64UrlEncode(*sig), Expect());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key"), std::string::npos);
  // A token naming `b` but signed by `a`: checked against `b` only, so refused.
  header["kid"] = b->kid();
  const std::string input_b = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(Claims().dump());
  auto sig_b = a->Sign(input_b);
  ASSERT_TRUE(sig_b.ok());
  EXPECT_FALSE(VerifyJwt(*ring, input_b + "." + Base64UrlEncode(*sig_b), Expect()).ok());
}

TEST_P(KeyRingTest, VerificationOnlyKeysCannotSignAndCannotBeCurrent) {
  auto k = NewKey(GetParam());
  auto v = VerifierOf(*k);
  EXPECT_FALSE(v->can_sign());
  EXPECT_FALSE(v->Sign("x").ok());
  EXPECT_EQ(v->kid(), k->kid());
  EXPECT_FALSE(KeyRing::Make(v).ok());
  EXPECT_FALSE(KeyRing::Make(nullptr).ok());
}

TEST_P(KeyRingTest, BundleAndJwksListEveryKeyCurrentFirst) {
  auto a = NewKey(GetParam());
  auto b = NewKey(GetParam());
  auto ring = Ring(a, {VerifierOf(*b), VerifierOf(*a), VerifierOf(*b)});  // duplicates kept once
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->CertificateBundlePem(), a->certificate_pem() + b->certificate_pem());
  json jwks = ring->Jwks();
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], a->kid());
  EXPECT_EQ(jwks["keys"][1]["kid"], b->kid());
  for (const auto& k : jwks["keys"]) {
    EXPECT_EQ(k["use"], "sig");
    EXPECT_EQ(k["alg"], std::string(a->alg()));
    EXPECT_EQ(k["x5c"].size(), 1u);
    EXPECT_FALSE(k.contains("d")) << "no private part";
    if (GetParam() == KeyType::kRsa) {
      EXPECT_EQ(k["kty"], "RSA");
      EXPECT_EQ(k["e"], "AQAB");
      EXPECT_EQ(Base64UrlDecode(k["n"].get<std::string>())->size(), 256u);
    } else {
      EXPECT_EQ(k["kty"], "EC");
      EXPECT_EQ(k["crv"], "P-256");
      EXPECT_EQ(Base64UrlDecode(k["x"].get<std::string>())->size(), 32u);
      EXPECT_EQ(Base64UrlDecode(k["y"].get<std::string>())->size(), 32u);
    }
  }
}

TEST_P(KeyRingTest, LoadVerifierReadsACertificateOrAPrivateKeyFile) {
  testing_util::TempDir dir;
  auto k = NewKey(GetParam());
  const std::string cert = dir.path() + "/old.crt";
  const std::string key = dir.path() + "/old.pem";
  std::ofstream(cert) << k->certificate_pem();
  std::ofstream(key) << k->PrivateKeyPem();
  for (const std::string& path : {cert, key}) {
    auto v = SigningKey::LoadVerifier(path);
    ASSERT_TRUE(v.ok()) << path << ": " << v.status().message();
    EXPECT_EQ((*v)->kid(), k->kid());
    EXPECT_FALSE((*v)->can_sign());
    EXPECT_TRUE(VerifyJwt(**v, Sign(*k), Expect()).ok());
  }
  EXPECT_FALSE(SigningKey::LoadVerifier(dir.path() + "/missing.crt").ok());
  std::ofstream(dir.path() + "/junk.crt") << "not a key";
  EXPECT_FALSE(SigningKey::LoadVerifier(dir.path() + "/junk.crt").ok());
}

INSTANTIATE_TEST_SUITE_P(Keys, KeyRingTest, ::testing::Values(KeyType::kRsa, KeyType::kEc),
                         [](const auto& info) { return info.param == KeyType::kRsa ? "Rsa" : "Ec"; });

}  // namespace
}  // namespace berth::auth
