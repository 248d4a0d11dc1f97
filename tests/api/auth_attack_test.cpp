// Attacks on the built-in token auth, against the real binary: tokens replayed
// to another repository, forged with the server's own key but for another
// audience/issuer/time window, or with a switched algorithm or kid; and a
// cross-repository mount from a repository the user may not pull.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api_helpers.h"
#include "util/base64.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/signing_key.h"
#include "test_server.h"

namespace berth::apitest {
namespace {

const char kAlicePw[] = "alice-secret-1";
const char kBobPw[] = "bob-secret-2";

std::string Base64(std::string_view s) { return Base64Encode(s); }

class AuthAttackTest : public ServerSuite<AuthAttackTest> {
 public:
  static TestServerOptions ServerOptions() {
    TestServerOptions o;
    o.auth_none = false;
    o.extra_config = "users:\n  alice: {password: \"" + *auth::HashPassword(kAlicePw, 4) + "\"}\n  bob: {password: \"" +
                     *auth::HashPassword(kBobPw, 4) +
                     "\"}\n"
                     "acl:\n"
                     "  - {account: alice, name: \"alice/*\", actions: [\"*\"]}\n"
                     "  - {account: bob, name: \"bob/*\", actions: [\"*\"]}\n";
    return o;
  }

 protected:
  static Headers Basic(const std::string& user, const std::string& pw) {
    return {{"Authorization", "Basic " + Base64(user + ":" + pw)}};
  }
  static Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  std::string TokenFor(const std::string& user, const std::string& pw, const std::string& scope) {
    auto r = Do(*client_, "GET", "/v2/token?service=berth&scope=" + scope, Basic(user, pw));
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false).value("token", "");
  }

  // The server's own signing key, read from its data directory: forged tokens
  // below are validly signed, so only the claim checks can refuse them.
  std::shared_ptr<const auth::SigningKey> ServerKey() {
    auto key = auth::SigningKey::LoadOrCreate(server_->data_dir() + "/token-key.pem", auth::KeyType::kRsa);
    EXPECT_TRUE(key.ok()) << key.status().message();
    return key.ok() ? *key : nullptr;
  }

  nlohmann::json Claims(const std::string& repo) {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    return {{"iss", "berth"},  {"sub", "alice"},
            {"aud", "berth"},  {"iat", now},
            {"nbf", now - 10}, {"exp", now + 300},
            {"jti", "forged"}, {"access", {{{"type", "repository"}, {"name", repo}, {"actions", {"pull", "push"}}}}}};
  }

  int TagsStatus(const std::string& repo, const std::string& token) {
    return Do(*client_, "GET", "/v2/" + repo + "/tags/list", Bearer(token)).status;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    client_ = server_->Client();
  }
  std::unique_ptr<http::HttpClient> client_;
};

TEST_F(AuthAttackTest, TokenIsBoundToItsRepository) {
  const std::string token = TokenFor("alice", kAlicePw, "repository:alice/app:pull");
  ASSERT_FALSE(token.empty());
  EXPECT_NE(TagsStatus("alice/app", token), 401);  // 404 NAME_UNKNOWN: allowed, nothing there
  auto other = Do(*client_, "GET", "/v2/alice/other/tags/list", Bearer(token));
  EXPECT_EQ(other.status, 401);
  EXPECT_EQ(ErrorCode(other), "DENIED");  // authenticated, but the token does not cover this repository
  EXPECT_EQ(TagsStatus("bob/app", token), 401);
  // A pull token does not start an upload in the same repository.
  EXPECT_EQ(Do(*client_, "POST", "/v2/alice/app/blobs/uploads/", Bearer(token)).status, 401);
}

TEST_F(AuthAttackTest, ValidlySignedTokensWithWrongClaimsAreRefused) {
  auto key = ServerKey();
  ASSERT_NE(key, nullptr);
  auto sign = [&](const nlohmann::json& claims) {
    auto t = auth::SignJwt(*key, claims);
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : std::string();
  };
  const std::string repo = "alice/app";
  // The control: the same forging path with correct claims is accepted.
  ASSERT_NE(TagsStatus(repo, sign(Claims(repo))), 401) << "forged-but-correct token refused: test is broken";

  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto other_service = Claims(repo);
  other_service["aud"] = "another-registry";
  EXPECT_EQ(TagsStatus(repo, sign(other_service)), 401) << "token for another service";
  auto other_issuer = Claims(repo);
  other_issuer["iss"] = "someone-else";
  EXPECT_EQ(TagsStatus(repo, sign(other_issuer)), 401) << "token from another issuer";
  auto expired = Claims(repo);
  expired["exp"] = now - 3600;
  expired["iat"] = now - 7200;
  expired["nbf"] = now - 7200;
  EXPECT_EQ(TagsStatus(repo, sign(expired)), 401) << "expired token";
  auto not_yet = Claims(repo);
  not_yet["nbf"] = now + 3600;
  EXPECT_EQ(TagsStatus(repo, sign(not_yet)), 401) << "token not valid yet";
  auto no_exp = Claims(repo);
  no_exp.erase("exp");
  EXPECT_EQ(TagsStatus(repo, sign(no_exp)), 401) << "token without exp";
}

TEST_F(AuthAttackTest, SwitchedAlgorithmOrKidIsRefused) {
  auto key = ServerKey();
  ASSERT_NE(key, nullptr);
  const nlohmann::json claims = Claims("alice/app");
  const std::string payload = Base64UrlEncode(claims.dump());
  auto header = [&](const std::string& alg, const std::string& kid) {
    return Base64UrlEncode(nlohmann::json{{"typ", "JWT"}, {"alg", alg}, {"kid", kid}}.dump());
  };
  // alg "none" with an empty signature.
  EXPECT_EQ(TagsStatus("alice/app", header("none", key->kid()) + "." + payload + "."), 401);
  // HS256 keyed with the public certificate (the classic RS256/HS256 confusion).
  std::string cert_pem;
  FILE* f = std::fopen((server_->data_dir() + "/token-key.crt").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  char buf[8192];
  size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  cert_pem.assign(buf, n);
  const std::string signing_input = header("HS256", key->kid()) + "." + payload;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  HMAC(EVP_sha256(), cert_pem.data(), static_cast<int>(cert_pem.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_len);
  const std::string hs256 =
      signing_input + "." + Base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), mac_len));
  EXPECT_EQ(TagsStatus("alice/app", hs256), 401);
  // A correctly signed token whose kid names another key.
  const std::string foreign_kid = "AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:GGGG:HHHH:IIII:JJJJ:KKKK:LLLL";
  const std::string other_kid_input = header(std::string(key->alg()), foreign_kid) + "." + payload;
  auto sig = key->Sign(other_kid_input);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(TagsStatus("alice/app", other_kid_input + "." + Base64UrlEncode(*sig)), 401);
}

TEST_F(AuthAttackTest, MountFromARepositoryTheUserCannotPullDoesNotLinkTheBlob) {
  // alice stores a blob in her repository.
  const std::string alice_token = TokenFor("alice", kAlicePw, "repository:alice/src:pull,push");
  const std::string content = "alice's private layer";
  const std::string digest = Sha256(content);
  auto put = Do(*client_, "POST", "/v2/alice/src/blobs/uploads/?digest=" + digest,
                {{"Authorization", "Bearer " + alice_token}, {"Content-Type", "application/octet-stream"}}, content);
  ASSERT_EQ(put.status, 201) << put.body;

  // bob, who may push to bob/* but not pull alice/*, asks to mount it.
  const std::string bob_token = TokenFor("bob", kBobPw, "repository:bob/dst:pull,push&scope=repository:alice/src:pull");
  auto mount =
      Do(*client_, "POST", "/v2/bob/dst/blobs/uploads/?mount=" + digest + "&from=alice/src", Bearer(bob_token));
  // The spec: a mount that cannot be done starts an ordinary upload (202), never 201.
  EXPECT_EQ(mount.status, 202) << mount.body;
  auto head = Do(*client_, "HEAD", "/v2/bob/dst/blobs/" + digest, Bearer(bob_token));
  EXPECT_EQ(head.status, 404);
  auto get = Do(*client_, "GET", "/v2/bob/dst/blobs/" + digest, Bearer(bob_token));
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(get.body.find("private"), std::string::npos);
}

// A personal access token limited to one repository keeps its limit through
// the token endpoint: the catalog seen with the bearer token issued from it
// shows what the access token allows, as Basic credentials with it do.
TEST_F(AuthAttackTest, AccessTokenLimitNarrowsTheCatalogOfItsBearerTokens) {
  const Headers alice = Basic("alice", kAlicePw);
  for (const std::string repo : {"alice/cat-a", "alice/cat-b"}) {
    Image image = MakeImage(*client_, repo, repo, /*push_blobs=*/false);
    std::vector<std::string> blobs = image.layers;
    blobs.push_back(image.config);
    for (const std::string& blob : blobs) {
      auto put = Do(*client_, "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + Sha256(blob), alice, blob);
      ASSERT_EQ(put.status, 201) << put.body;
    }
    Headers manifest_headers = alice;
    manifest_headers.emplace_back("Content-Type", std::string(kOciManifest));
    auto put = Do(*client_, "PUT", "/v2/" + repo + "/manifests/v1", manifest_headers, image.body);
    ASSERT_EQ(put.status, 201) << put.body;
  }
  // berth token create, as an operator would (the CLI writes the database the server reads).
  const std::string cmd = std::string(ServerBinary()) + " token create --config " + server_->dir() +
                          "/config.yaml --user alice --name catalog-test --scope repository:alice/cat-a:pull 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  const size_t at = out.find("berth_pat_");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string pat = out.substr(at, out.find_first_of(" \r\n", at) - at);

  auto names = [](const ClientResponse& r) {
    std::vector<std::string> shown;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j["repositories"].is_array()) {
      for (const auto& name : j["repositories"]) {
        if (name.is_string() && name.get<std::string>().rfind("alice/cat-", 0) == 0) shown.push_back(name);
      }
    }
    return shown;
  };
  const std::vector<std::string> only_a{"alice/cat-a"};
  const std::vector<std::string> both{"alice/cat-a", "alice/cat-b"};
  // Controls: alice's password sees both; Basic with the access token sees its repository only.
  auto by_password = Do(*client_, "GET", "/v2/_catalog", alice);
  ASSERT_EQ(by_password.status, 200) << by_password.body;
  EXPECT_EQ(names(by_password), both) << by_password.body;
  auto by_basic_pat = Do(*client_, "GET", "/v2/_catalog", Basic("alice", pat));
  ASSERT_EQ(by_basic_pat.status, 200) << by_basic_pat.body;
  EXPECT_EQ(names(by_basic_pat), only_a) << by_basic_pat.body;
  // A bearer token from the access token, asked for the whole catalog (and by POST, as containerd asks).
  const std::string bearer = TokenFor("alice", pat, "registry:catalog:*");
  ASSERT_FALSE(bearer.empty());
  auto by_bearer = Do(*client_, "GET", "/v2/_catalog", Bearer(bearer));
  ASSERT_EQ(by_bearer.status, 200) << by_bearer.body;
  EXPECT_EQ(names(by_bearer), only_a) << by_bearer.body;
  // Its refresh token keeps the limit too.
  auto form = Do(*client_, "POST", "/v2/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "grant_type=password&service=berth&access_type=offline&client_id=t&username=alice&password=" + pat +
                     "&scope=registry:catalog:*");
  ASSERT_EQ(form.status, 200) << form.body;
  const std::string refresh = nlohmann::json::parse(form.body, nullptr, false).value("refresh_token", "");
  ASSERT_FALSE(refresh.empty()) << form.body;
  auto refreshed =
      Do(*client_, "POST", "/v2/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
         "grant_type=refresh_token&service=berth&client_id=t&refresh_token=" + refresh + "&scope=registry:catalog:*");
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  const std::string from_refresh = nlohmann::json::parse(refreshed.body, nullptr, false).value("access_token", "");
  auto by_refresh = Do(*client_, "GET", "/v2/_catalog", Bearer(from_refresh));
  ASSERT_EQ(by_refresh.status, 200) << by_refresh.body;
  EXPECT_EQ(names(by_refresh), only_a) << by_refresh.body;
  // A password bearer token keeps seeing both (the limit is the access token's, not alice's).
  auto by_password_bearer =
      Do(*client_, "GET", "/v2/_catalog", Bearer(TokenFor("alice", kAlicePw, "registry:catalog:*")));
  EXPECT_EQ(names(by_password_bearer), both) << by_password_bearer.body;
}

}  // namespace
}  // namespace berth::apitest
