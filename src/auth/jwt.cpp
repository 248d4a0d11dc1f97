#include "auth/jwt.h"

#include "util/base64.h"

namespace berth::auth {

Result<std::string> SignJwt(const SigningKey& key, const nlohmann::json& claims) {
  nlohmann::json header = {{"typ", "JWT"}, {"alg", key.alg()}, {"kid", key.kid()}};
  header["x5c"] = nlohmann::json::array({key.certificate_der_base64()});
  std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  auto sig = key.Sign(signing_input);
  if (!sig.ok()) return sig.status();
  return signing_input + "." + Base64UrlEncode(*sig);
}

namespace {

// `find(kid)` (kid empty when the token names none) is the only key tried.
template <class FindKey>
Result<nlohmann::json> Verify(const FindKey& find, std::string_view token, const JwtExpectations& expect) {
  if (token.size() > kMaxTokenBytes) return Status::Invalid("token too large");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Status::Invalid("malformed token");
  }
  auto header_raw = Base64UrlDecode(token.substr(0, dot1));
  auto claims_raw = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_raw.ok() || !claims_raw.ok() || !sig.ok()) return Status::Invalid("malformed token encoding");
  auto header = nlohmann::json::parse(*header_raw, nullptr, false);
  if (!header.is_object()) return Status::Invalid("malformed token header");
  std::string kid;
  if (auto k = header.find("kid"); k != header.end()) {
    if (!k->is_string() || k->get<std::string>().empty()) return Status::Invalid("malformed token kid");
    kid = k->get<std::string>();
  }
  const SigningKey* found = find(kid);
  if (found == nullptr) return Status::Invalid("token signed by an unknown key");
  const SigningKey& key = *found;
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != key.alg()) {
    return Status::Invalid("token algorithm not accepted");
  }
  if (!key.Verify(token.substr(0, dot2), *sig)) return Status::Invalid("bad token signature");
  auto claims = nlohmann::json::parse(*claims_raw, nullptr, false);
  if (!claims.is_object()) return Status::Invalid("malformed token claims");
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != expect.issuer) {
    return Status::Invalid("token issuer not accepted");
  }
  auto aud = claims.find("aud");
  bool aud_ok = false;
  if (aud != claims.end() && aud->is_string()) aud_ok = aud->get<std::string>() == expect.audience;
  if (aud != claims.end() && aud->is_array()) {
    for (const auto& a : *aud) aud_ok = aud_ok || (a.is_string() && a.get<std::string>() == expect.audience);
  }
  if (!aud_ok) return Status::Invalid("token audience not accepted");
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number_integer()) return Status::Invalid("token has no expiry");
  if (exp->get<int64_t>() + expect.leeway < expect.now) return Status::Invalid("token expired");
  if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
    if (!nbf->is_number_integer()) return Status::Invalid("malformed nbf");
    if (nbf->get<int64_t>() - expect.leeway > expect.now) return Status::Invalid("token not yet valid");
  }
  return claims;
}

}  // namespace

Result<nlohmann::json> VerifyJwt(const KeyRing& keys, std::string_view token, const JwtExpectations& expect) {
  auto find = [&keys](const std::string& kid) { return kid.empty() ? &keys.current() : keys.Find(kid); };
  return Verify(find, token, expect);
}

Result<nlohmann::json> VerifyJwt(const SigningKey& key, std::string_view token, const JwtExpectations& expect) {
  auto find = [&key](const std::string& kid) { return kid.empty() || kid == key.kid() ? &key : nullptr; };
  return Verify(find, token, expect);
}

}  // namespace berth::auth
