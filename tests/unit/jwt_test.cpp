// Unit tests for auth/jwt.h and auth/signing_key.h: signing and verifying
// registry tokens, the attacks verification must refuse, base64url, kid and
// x5c, and the on-disk key.
#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "auth/signing_key.h"
#include "util/base64.h"
#include "temp_dir.h"

namespace berth::auth {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;

const SigningKey& RsaKey() {
  static const std::shared_ptr<const SigningKey> k = [] {
    auto r = SigningKey::Generate(KeyType::kRsa);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return *r;
  }();
  return *k;
}

const SigningKey& EcKey() {
  static const std::shared_ptr<const SigningKey> k = [] {
    auto r = SigningKey::Generate(KeyType::kEc);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return *r;
  }();
  return *k;
}

const SigningKey& OtherRsaKey() {
  static const std::shared_ptr<const SigningKey> k = [] {
    auto r = SigningKey::Generate(KeyType::kRsa);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return *r;
  }();
  return *k;
}

const SigningKey& OtherEcKey() {
  static const std::shared_ptr<const SigningKey> k = [] {
    auto r = SigningKey::Generate(KeyType::kEc);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return *r;
  }();
  return *k;
}

JwtExpectations Expect(int64_t now = kNow) { return JwtExpectations{"berth-issuer", "registry.example", now, 60}; }

json Claims(int64_t now = kNow) {
  return json{{"iss", "berth-issuer"},
              {"sub", "alice"},
              {"aud", "registry.example"},
              {"exp", now + 300},
              {"nbf", now},
              {"iat", now},
              {"access", json::array({{{"type", "repository"}, {"name", "myorg/app"}, {"actions", {"pull"}}}})}};
}

std::string Sign(const SigningKey& key, const json& claims) {
  auto t = SignJwt(key, claims);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : std::string();
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string Decode(const std::string& b64) {
  auto d = Base64UrlDecode(b64);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? *d : std::string();
}

json Header(const std::string& token) { return json::parse(Decode(Split(token).at(0))); }

// A token with the given header and claims, signed by `key` over exactly that signing input.
std::string Forge(const SigningKey& key, const json& header, const json& claims) {
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  auto sig = key.Sign(input);
  EXPECT_TRUE(sig.ok());
  return input + "." + Base64UrlEncode(sig.ok() ? *sig : std::string());
}

void ExpectRefused(const SigningKey& key, const std::string& token, const JwtExpectations& e, const std::string& why) {
  auto r = VerifyJwt(key, token, e);
  EXPECT_FALSE(r.ok()) << why << ": accepted " << token.substr(0, 200);
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << why;
  }
}

std::string HmacSha256(const std::string& secret, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// The certificate of `key` parsed independently with OpenSSL.
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
std::unique_ptr<X509, X509Deleter> Certificate(const SigningKey& key) {
  const std::string& pem = key.certificate_pem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return std::unique_ptr<X509, X509Deleter>(x);
}

std::string PublicKeyPem(const SigningKey& key) {
  auto cert = Certificate(key);
  if (!cert) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, X509_get0_pubkey(cert.get()));
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string CertificateDer(const SigningKey& key) {
  auto cert = Certificate(key);
  if (!cert) return "";
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// Standard (RFC 4648) base64 with padding, written here independently of the code under test.
std::string StdBase64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// libtrust's key id, computed independently: base32(SHA-256(DER SPKI)[:30]) in ':'-joined groups of 4.
std::string LibtrustKid(const SigningKey& key) {
  auto cert = Certificate(key);
  if (!cert) return "";
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  unsigned char hash[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), hash);
  OPENSSL_free(der);
  static constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string b32;
  uint64_t buffer = 0;
  int bits = 0;
  for (int i = 0; i < 30; ++i) {
    buffer = buffer << 8 | hash[i];
    bits += 8;
    while (bits >= 5) {
      b32 += kB32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  std::string kid;
  for (size_t i = 0; i < b32.size(); i += 4) kid += (i ? ":" : "") + b32.substr(i, 4);
  return kid;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------
// Round trips

class JwtKeyTest : public ::testing::TestWithParam<KeyType> {
 protected:
  const SigningKey& key() const { return GetParam() == KeyType::kRsa ? RsaKey() : EcKey(); }
  const SigningKey& other() const { return GetParam() == KeyType::kRsa ? OtherRsaKey() : OtherEcKey(); }
};

TEST_P(JwtKeyTest, RoundTrip) {
  EXPECT_EQ(key().type(), GetParam());
  EXPECT_EQ(key().alg(), GetParam() == KeyType::kRsa ? "RS256" : "ES256");
  const json claims = Claims();
  const std::string token = Sign(key(), claims);
  ASSERT_EQ(Split(token).size(), 3u);
  auto v = VerifyJwt(key(), token, Expect());
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, claims);

  const json header = Header(token);
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(header["alg"], GetParam() == KeyType::kRsa ? "RS256" : "ES256");
  EXPECT_EQ(header["kid"], key().kid());
  // JWS signature bytes: raw r||s (64 bytes) for ES256, the modulus size for RS256.
  EXPECT_EQ(Decode(Split(token)[2]).size(), GetParam() == KeyType::kRsa ? 256u : 64u);
}

TEST_P(JwtKeyTest, SignVerifyBytes) {
  auto sig = key().Sign("hello");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(key().Verify("hello", *sig));
  EXPECT_FALSE(key().Verify("hellp", *sig));
  EXPECT_FALSE(other().Verify("hello", *sig));
  EXPECT_FALSE(key().Verify("hello", ""));
  std::string flipped = *sig;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_FALSE(key().Verify("hello", flipped));
}

TEST_P(JwtKeyTest, TamperedPayloadRefused) {
  const std::string token = Sign(key(), Claims());
  auto parts = Split(token);
  json tampered = Claims();
  tampered["sub"] = "admin";
  tampered["access"][0]["actions"] = {"pull", "push", "delete"};
  ExpectRefused(key(), parts[0] + "." + Base64UrlEncode(tampered.dump()) + "." + parts[2], Expect(), "tampered claims");

  json later = Claims();
  later["exp"] = kNow + 999999;
  ExpectRefused(key(), parts[0] + "." + Base64UrlEncode(later.dump()) + "." + parts[2], Expect(), "extended exp");

  // A tampered header (even an equivalent one) breaks the signature too.
  json header = Header(token);
  header["typ"] = "jwt";
  ExpectRefused(key(), Base64UrlEncode(header.dump()) + "." + parts[1] + "." + parts[2], Expect(), "tampered header");

  // A flipped signature bit.
  std::string sig = Decode(parts[2]);
  sig[5] ^= 0x20;
  ExpectRefused(key(), parts[0] + "." + parts[1] + "." + Base64UrlEncode(sig), Expect(), "flipped signature");
  // No signature at all.
  ExpectRefused(key(), parts[0] + "." + parts[1] + ".", Expect(), "empty signature");
}

TEST_P(JwtKeyTest, SignatureFromAnotherKeyRefused) {
  // Another key's own token (its own kid).
  ExpectRefused(key(), Sign(other(), Claims()), Expect(), "token of another key");
  // Our header (our kid, our alg, our x5c), signed by another key of the same type.
  const std::string ours = Sign(key(), Claims());
  ExpectRefused(key(), Forge(other(), Header(ours), Claims()), Expect(), "our header, other key's signature");
}

TEST_P(JwtKeyTest, OtherKidRefused) {
  json header = Header(Sign(key(), Claims()));
  header["kid"] = other().kid();
  // Correctly signed by our key, but naming another key.
  ExpectRefused(key(), Forge(key(), header, Claims()), Expect(), "other kid");
  header["kid"] = "";
  ExpectRefused(key(), Forge(key(), header, Claims()), Expect(), "empty kid");
  header["kid"] = 42;
  ExpectRefused(key(), Forge(key(), header, Claims()), Expect(), "non-string kid");
  header["kid"] = key().kid();
  auto ok = VerifyJwt(key(), Forge(key(), header, Claims()), Expect());
  EXPECT_TRUE(ok.ok()) << "control (same header rebuilt): " << ok.status().message();
}

TEST_P(JwtKeyTest, AlgNoneRefused) {
  const json claims = Claims();
  for (const json& header :
       {json{{"alg", "none"}, {"typ", "JWT"}}, json{{"alg", "none"}, {"typ", "JWT"}, {"kid", key().kid()}},
        json{{"alg", "None"}, {"kid", key().kid()}}, json{{"alg", "NONE"}}, json{{"typ", "JWT"}, {"kid", key().kid()}},
        json{{"alg", nullptr}, {"kid", key().kid()}}}) {
    ExpectRefused(key(), Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump()) + ".", Expect(),
                  "unsigned " + header.dump());
  }
}

TEST_P(JwtKeyTest, AlgSwitchedToHs256Refused) {
  const json claims = Claims();
  const json header = {{"typ", "JWT"}, {"alg", "HS256"}, {"kid", key().kid()}};
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  const std::string pub_pem = PublicKeyPem(key());
  ASSERT_NE(pub_pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  const std::string cert_pem = key().certificate_pem();
  ASSERT_NE(cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  for (const std::string& secret : {pub_pem, cert_pem, CertificateDer(key()), key().certificate_der_base64()}) {
    ExpectRefused(key(), input + "." + Base64UrlEncode(HmacSha256(secret, input)), Expect(), "HS256 forgery");
  }
}

TEST_P(JwtKeyTest, OtherAlgorithmsRefused) {
  const json claims = Claims();
  // Correct signature by our key but a header naming another algorithm.
  for (const char* alg : {"RS256", "ES256", "RS384", "ES384", "PS256", "rs256", "es256"}) {
    if (alg == key().alg()) continue;
    json header = {{"typ", "JWT"}, {"alg", alg}, {"kid", key().kid()}};
    ExpectRefused(key(), Forge(key(), header, claims), Expect(), std::string("alg ") + alg);
  }
}

TEST_P(JwtKeyTest, ClaimsChecked) {
  const std::string token = Sign(key(), Claims());
  // issuer and audience
  ExpectRefused(key(), token, JwtExpectations{"other-issuer", "registry.example", kNow, 60}, "issuer");
  ExpectRefused(key(), token, JwtExpectations{"berth-issuer", "other.example", kNow, 60}, "audience");
  ExpectRefused(key(), token, JwtExpectations{"", "", kNow, 60}, "empty expectations");

  // aud as an array
  json arr = Claims();
  arr["aud"] = {"a.example", "registry.example"};
  EXPECT_TRUE(VerifyJwt(key(), Sign(key(), arr), Expect()).ok());
  arr["aud"] = {"a.example", "b.example"};
  ExpectRefused(key(), Sign(key(), arr), Expect(), "aud array without us");
  arr["aud"] = json::array();
  ExpectRefused(key(), Sign(key(), arr), Expect(), "empty aud array");
  arr["aud"] = {1, 2};
  ExpectRefused(key(), Sign(key(), arr), Expect(), "aud array of numbers");
  json no_aud = Claims();
  no_aud.erase("aud");
  ExpectRefused(key(), Sign(key(), no_aud), Expect(), "no aud");
  json no_iss = Claims();
  no_iss.erase("iss");
  ExpectRefused(key(), Sign(key(), no_iss), Expect(), "no iss");
  json num_iss = Claims();
  num_iss["iss"] = 7;
  ExpectRefused(key(), Sign(key(), num_iss), Expect(), "numeric iss");

  // exp, with 60 s of leeway
  const int64_t exp = kNow + 300;
  EXPECT_TRUE(VerifyJwt(key(), token, Expect(exp)).ok());
  EXPECT_TRUE(VerifyJwt(key(), token, Expect(exp + 59)).ok());
  EXPECT_TRUE(VerifyJwt(key(), token, Expect(exp + 60)).ok());
  ExpectRefused(key(), token, Expect(exp + 61), "expired beyond leeway");
  ExpectRefused(key(), token, Expect(exp + 100000), "long expired");
  ExpectRefused(key(), token, JwtExpectations{"berth-issuer", "registry.example", exp + 1, 0}, "expired, no leeway");

  json no_exp = Claims();
  no_exp.erase("exp");
  ExpectRefused(key(), Sign(key(), no_exp), Expect(), "no exp");
  json str_exp = Claims();
  str_exp["exp"] = std::to_string(kNow + 300);
  ExpectRefused(key(), Sign(key(), str_exp), Expect(), "string exp");
  json float_exp = Claims();
  float_exp["exp"] = static_cast<double>(kNow + 300) + 0.5;
  ExpectRefused(key(), Sign(key(), float_exp), Expect(), "fractional exp");

  // nbf in the future
  json future = Claims();
  future["nbf"] = kNow + 61;
  ExpectRefused(key(), Sign(key(), future), Expect(), "nbf beyond leeway");
  future["nbf"] = kNow + 3600;
  ExpectRefused(key(), Sign(key(), future), Expect(), "nbf an hour ahead");
  future["nbf"] = kNow + 60;
  EXPECT_TRUE(VerifyJwt(key(), Sign(key(), future), Expect()).ok());
  future["nbf"] = "soon";
  ExpectRefused(key(), Sign(key(), future), Expect(), "string nbf");
  json no_nbf = Claims();
  no_nbf.erase("nbf");
  EXPECT_TRUE(VerifyJwt(key(), Sign(key(), no_nbf), Expect()).ok());
}

TEST_P(JwtKeyTest, NonObjectPartsRefused) {
  json header = Header(Sign(key(), Claims()));
  // Valid signatures over claims that are not a JSON object.
  for (const std::string& claims_text :
       {std::string("[1,2]"), std::string("\"x\""), std::string("{"), std::string("")}) {
    std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims_text);
    auto sig = key().Sign(input);
    ASSERT_TRUE(sig.ok());
    ExpectRefused(key(), input + "." + Base64UrlEncode(*sig), Expect(), "claims '" + claims_text + "'");
  }
  // And a header that is not an object.
  std::string input =
      Base64UrlEncode("[\"" + std::string(key().alg()) + "\"]") + "." + Base64UrlEncode(Claims().dump());
  auto sig = key().Sign(input);
  ASSERT_TRUE(sig.ok());
  ExpectRefused(key(), input + "." + Base64UrlEncode(*sig), Expect(), "array header");
}

INSTANTIATE_TEST_SUITE_P(JwtKeys, JwtKeyTest, ::testing::Values(KeyType::kRsa, KeyType::kEc),
                         [](const ::testing::TestParamInfo<KeyType>& i) {
                           return i.param == KeyType::kRsa ? std::string("Rsa") : std::string("Ec");
                         });

TEST(JwtTest, KeysOfOtherTypesRefuseEachOther) {
  ExpectRefused(RsaKey(), Sign(EcKey(), Claims()), Expect(), "ES256 token for an RSA key");
  ExpectRefused(EcKey(), Sign(RsaKey(), Claims()), Expect(), "RS256 token for an EC key");
}

// ---------------------------------------------------------------------------
// Malformed tokens

TEST(JwtTest, MalformedTokensRefused) {
  const SigningKey& key = RsaKey();
  const std::string token = Sign(key, Claims());
  auto p = Split(token);
  ASSERT_EQ(p.size(), 3u);
  ExpectRefused(key, "", Expect(), "empty");
  ExpectRefused(key, ".", Expect(), "one dot");
  ExpectRefused(key, "..", Expect(), "two dots");
  ExpectRefused(key, p[0] + "." + p[1], Expect(), "2 parts");
  ExpectRefused(key, p[0], Expect(), "1 part");
  ExpectRefused(key, token + "." + p[2], Expect(), "4 parts");
  ExpectRefused(key, token + ".", Expect(), "trailing dot");
  ExpectRefused(key, p[0] + "." + p[1] + "." + p[2] + "==", Expect(), "padded signature");
  ExpectRefused(key, p[0] + "=." + p[1] + "." + p[2], Expect(), "padded header");
  ExpectRefused(key, p[0] + "." + p[1] + "!" + "." + p[2], Expect(), "bad character");
  std::string std_alphabet = p[2];
  for (char& c : std_alphabet) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_alphabet != p[2]) ExpectRefused(key, p[0] + "." + p[1] + "." + std_alphabet, Expect(), "standard alphabet");
  ExpectRefused(key, p[0] + "." + p[1] + "." + p[2].substr(0, p[2].size() - 1), Expect(), "truncated signature");
  ExpectRefused(key, " " + token, Expect(), "leading space");
  ExpectRefused(key, token + "\n", Expect(), "trailing newline");
  ExpectRefused(key, "Bearer " + token, Expect(), "with scheme");
}

TEST(JwtTest, OversizedTokenRefused) {
  const SigningKey& key = EcKey();
  // Grow a padding claim until the (validly signed) token passes 16 KiB.
  std::string last_accepted, first_refused;
  for (size_t pad = 11000; pad < 13000; pad += 16) {
    json c = Claims();
    c["pad"] = std::string(pad, 'p');
    std::string t = Sign(key, c);
    if (t.size() <= kMaxTokenBytes) {
      last_accepted = t;
    } else {
      first_refused = t;
      break;
    }
  }
  ASSERT_FALSE(last_accepted.empty());
  ASSERT_FALSE(first_refused.empty());
  EXPECT_GT(last_accepted.size(), kMaxTokenBytes - 64);
  auto ok = VerifyJwt(key, last_accepted, Expect());
  EXPECT_TRUE(ok.ok()) << last_accepted.size() << " bytes: " << ok.status().message();
  EXPECT_GT(first_refused.size(), kMaxTokenBytes);
  ExpectRefused(key, first_refused, Expect(), "oversized token");
  ExpectRefused(key, std::string(kMaxTokenBytes + 1, 'a'), Expect(), "16 KiB + 1 of junk");
  ExpectRefused(key, std::string(1 << 20, 'a'), Expect(), "1 MiB of junk");
}

// ---------------------------------------------------------------------------
// base64url

TEST(JwtTest, Base64UrlRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += (n < 10 ? 1 : 37)) {
    std::string data = all.substr(0, n);
    std::string enc = Base64UrlEncode(data);
    EXPECT_EQ(enc.find_first_of("+/=\n"), std::string::npos) << enc;
    auto dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(*dec, data);
  }
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(Base64Encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
}

TEST(JwtTest, Base64UrlDecodeRejectsNonCanonical) {
  EXPECT_EQ(*Base64UrlDecode("QQ"), "A");
  EXPECT_EQ(*Base64UrlDecode("QUI"), "AB");
  EXPECT_EQ(*Base64UrlDecode(""), "");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), "\xfb\xff\xbf");
  // Leftover bits that are not zero: "QR" and "QUJ" decode to the same bytes as
  // "QQ" and "QUI" in a lenient decoder.
  for (const char* bad : {"QR", "QS", "QUJ", "QUK", "Q", "QUJDR", "QQ==", "QQ=", "Zg==", "+/+/", "QQ QQ", "QQ\n",
                          "Q\xc3\xa9", "Zm9v.", "Zm9v%3D"}) {
    auto d = Base64UrlDecode(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "' decoded";
  }
}

// ---------------------------------------------------------------------------
// kid and x5c

TEST(JwtTest, KidIsLibtrustFormat) {
  const std::regex kid_format("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$");
  for (const SigningKey* k : {&RsaKey(), &EcKey(), &OtherRsaKey()}) {
    EXPECT_TRUE(std::regex_match(k->kid(), kid_format)) << k->kid();
    EXPECT_EQ(k->kid().size(), 59u);
    EXPECT_EQ(k->kid(), LibtrustKid(*k));
  }
  EXPECT_NE(RsaKey().kid(), OtherRsaKey().kid());
  EXPECT_NE(EcKey().kid(), OtherEcKey().kid());
}

TEST(JwtTest, X5cHeaderHoldsTheCertificate) {
  for (const SigningKey* k : {&RsaKey(), &EcKey()}) {
    const std::string der = CertificateDer(*k);
    ASSERT_FALSE(der.empty());
    EXPECT_EQ(k->certificate_der_base64(), StdBase64(der));
    json header = Header(Sign(*k, Claims()));
    ASSERT_TRUE(header["x5c"].is_array());
    ASSERT_EQ(header["x5c"].size(), 1u);
    EXPECT_EQ(header["x5c"][0], StdBase64(der));
    // The certificate carries our public key.
    auto cert = Certificate(*k);
    ASSERT_TRUE(cert);
    EXPECT_EQ(PublicKeyPem(*k).empty(), false);
    auto reloaded = SigningKey::FromPem(k->PrivateKeyPem());
    ASSERT_TRUE(reloaded.ok());
    EXPECT_EQ((*reloaded)->kid(), k->kid());
  }
}

TEST(JwtTest, FromPemRefusesWeakOrForeignKeys) {
  EXPECT_FALSE(SigningKey::FromPem("").ok());
  EXPECT_FALSE(SigningKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  ASSERT_NE(small, nullptr);
  ASSERT_NE(p384, nullptr);
  for (EVP_PKEY* k : {small, p384}) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    auto r = SigningKey::FromPem(pem);
    EXPECT_FALSE(r.ok()) << pem.substr(0, 40);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
    EVP_PKEY_free(k);
  }
}

// ---------------------------------------------------------------------------
// LoadOrCreate

TEST(JwtTest, CertificatePathFor) {
  EXPECT_EQ(CertificatePathFor("/data/token-key.pem"), "/data/token-key.crt");
  EXPECT_EQ(CertificatePathFor("/data/key"), "/data/key.crt");
  EXPECT_EQ(CertificatePathFor(".pem"), ".pem.crt");
}

class JwtLoadOrCreateTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(JwtLoadOrCreateTest, CreatesOnceThenLoads) {
  testing_util::TempDir dir("berth-jwt");
  const std::string key_path = dir.path() + "/token-key.pem";
  const std::string crt_path = dir.path() + "/token-key.crt";
  auto created = SigningKey::LoadOrCreate(key_path, GetParam());
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ((*created)->type(), GetParam());

  struct stat st;
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(crt_path.c_str(), &st), 0);
  EXPECT_EQ(ReadAll(crt_path), (*created)->certificate_pem());
  EXPECT_NE(ReadAll(key_path).find("PRIVATE KEY-----"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(key_path + ".tmp"));

  auto loaded = SigningKey::LoadOrCreate(key_path, GetParam() == KeyType::kRsa ? KeyType::kEc : KeyType::kRsa);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->kid(), (*created)->kid());
  EXPECT_EQ((*loaded)->type(), GetParam());  // the existing key wins over new_key_type
  EXPECT_EQ((*loaded)->certificate_pem(), (*created)->certificate_pem());
  EXPECT_EQ((*loaded)->certificate_der_base64(), (*created)->certificate_der_base64());

  // A token of the first instance verifies with the reloaded one.
  std::string token = Sign(**created, Claims());
  EXPECT_TRUE(VerifyJwt(**loaded, token, Expect()).ok());
}

TEST_P(JwtLoadOrCreateTest, MissingCertificateIsRecreated) {
  testing_util::TempDir dir("berth-jwt");
  const std::string key_path = dir.path() + "/k.pem";
  auto created = SigningKey::LoadOrCreate(key_path, GetParam());
  ASSERT_TRUE(created.ok());
  std::filesystem::remove(dir.path() + "/k.crt");
  auto loaded = SigningKey::LoadOrCreate(key_path, GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->kid(), (*created)->kid());
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/k.crt"));
  EXPECT_EQ(ReadAll(dir.path() + "/k.crt"), (*loaded)->certificate_pem());
}

INSTANTIATE_TEST_SUITE_P(JwtKeys, JwtLoadOrCreateTest, ::testing::Values(KeyType::kRsa, KeyType::kEc),
                         [](const ::testing::TestParamInfo<KeyType>& i) {
                           return i.param == KeyType::kRsa ? std::string("Rsa") : std::string("Ec");
                         });

TEST(JwtTest, LoadOrCreateRefusesGarbageKeyFile) {
  testing_util::TempDir dir("berth-jwt");
  const std::string key_path = dir.path() + "/token-key.pem";
  {
    std::ofstream out(key_path);
    out << "not a key\n";
  }
  auto r = SigningKey::LoadOrCreate(key_path, KeyType::kRsa);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(ReadAll(key_path), "not a key\n");  // never overwritten
}

}  // namespace
}  // namespace berth::auth
