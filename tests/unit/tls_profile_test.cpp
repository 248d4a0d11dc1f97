#include "http/tls_profile.h"

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

namespace berth::http {
namespace {

struct Ctx {
  SSL_CTX* ctx;
  explicit Ctx(const SSL_METHOD* m) : ctx(SSL_CTX_new(m)) {}
  ~Ctx() { SSL_CTX_free(ctx); }
};

std::set<std::string> CipherNames(SSL_CTX* ctx) {
  std::set<std::string> out;
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) out.insert(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)));
  return out;
}

TEST(TlsProfileTest, IntermediateOffersOnlyEcdheAeadOnTls12AndTheStandardTls13Suites) {
  Ctx c(TLS_server_method());
  ASSERT_TRUE(ApplyServerTlsProfile(c.ctx, TlsProfile::kIntermediate).ok());
  const std::set<std::string> expected = {
      "TLS_AES_128_GCM_SHA256",        "TLS_AES_256_GCM_SHA384",        "TLS_CHACHA20_POLY1305_SHA256",
      "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",   "ECDHE-ECDSA-AES256-GCM-SHA384",
      "ECDHE-RSA-AES256-GCM-SHA384",   "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"};
  EXPECT_EQ(CipherNames(c.ctx), expected);
  for (const auto& name : CipherNames(c.ctx)) {
    EXPECT_EQ(name.find("CBC"), std::string::npos) << name;
    EXPECT_EQ(name.find("SHA1"), std::string::npos) << name;
  }
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c.ctx), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get_options(c.ctx) & SSL_OP_NO_TICKET, 0u);
  EXPECT_NE(SSL_CTX_get_options(c.ctx) & SSL_OP_NO_COMPRESSION, 0u);
}

TEST(TlsProfileTest, ModernIsTls13Only) {
  Ctx c(TLS_server_method());
  ASSERT_TRUE(ApplyServerTlsProfile(c.ctx, TlsProfile::kModern).ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c.ctx), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(c.ctx), TLS1_3_VERSION);
}

TEST(TlsProfileTest, ClientContextsGetTheSameSuites) {
  Ctx server(TLS_server_method());
  Ctx client(TLS_client_method());
  ASSERT_TRUE(ApplyServerTlsProfile(server.ctx, TlsProfile::kIntermediate).ok());
  ASSERT_TRUE(ApplyClientTlsProfile(client.ctx).ok());
  EXPECT_EQ(CipherNames(client.ctx), CipherNames(server.ctx));
  EXPECT_EQ(SSL_CTX_get_options(client.ctx) & SSL_OP_NO_TICKET, 0u);  // clients may resume with tickets
}

TEST(TlsProfileTest, ParsesProfileNames) {
  EXPECT_EQ(*ParseTlsProfile("intermediate"), TlsProfile::kIntermediate);
  EXPECT_EQ(*ParseTlsProfile("modern"), TlsProfile::kModern);
  EXPECT_FALSE(ParseTlsProfile("old").ok());
  EXPECT_FALSE(ParseTlsProfile("").ok());
  EXPECT_EQ(TlsProfileName(TlsProfile::kModern), "modern");
}

}  // namespace
}  // namespace berth::http
