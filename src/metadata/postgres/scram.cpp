#include "metadata/postgres/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>

#include "util/base64.h"

namespace berth::metadata::postgres {

namespace {

constexpr size_t kKeyLength = 32;  // SHA-256

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// The value of attribute `name` ("r", "s", "i", "v", "e") at the front of
// `*rest` ("name=value[,...]"); advances past it. Empty optional-like failure
// when the next attribute has another name.
bool TakeAttribute(std::string_view* rest, char name, std::string_view* value) {
  if (rest->size() < 2 || (*rest)[0] != name || (*rest)[1] != '=') return false;
  const size_t comma = rest->find(',');
  *value = rest->substr(2, comma == std::string_view::npos ? std::string_view::npos : comma - 2);
  rest->remove_prefix(comma == std::string_view::npos ? rest->size() : comma + 1);
  return true;
}

// RFC 5802 saslname: ',' and '=' escaped as =2C and =3D.
std::string SaslName(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  return Hex(digest, len);
}

}  // namespace

ScramSha256::ScramSha256(std::string user, std::string password, std::string client_nonce)
    : user_(std::move(user)), password_(std::move(password)), client_nonce_(std::move(client_nonce)) {
  if (client_nonce_.empty()) {
    unsigned char raw[18];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      // Practically unreachable; a nonce from a failed RNG must not be used, and
      // an empty one makes ClientFinalMessage fail.
      return;
    }
    client_nonce_ = Base64Encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  }
}

std::string ScramSha256::ClientFirstMessage() {
  client_first_bare_ = "n=" + SaslName(user_) + ",r=" + client_nonce_;
  return "n,," + client_first_bare_;
}

Result<std::string> ScramSha256::ClientFinalMessage(std::string_view server_first) {
  if (client_nonce_.empty() || client_first_bare_.empty()) return Status::Invalid("SCRAM: no client-first message");
  std::string_view rest = server_first;
  std::string_view nonce, salt_b64, iterations_text;
  if (TakeAttribute(&rest, 'm', &nonce)) return Status::Invalid("SCRAM: the server requires an unknown extension");
  if (!TakeAttribute(&rest, 'r', &nonce) || !TakeAttribute(&rest, 's', &salt_b64) ||
      !TakeAttribute(&rest, 'i', &iterations_text)) {
    return Status::Invalid("SCRAM: malformed server-first-message");
  }
  // Extensions may follow; none is mandatory for the client.
  if (nonce.size() <= client_nonce_.size() || nonce.substr(0, client_nonce_.size()) != client_nonce_) {
    return Status::Invalid("SCRAM: the server's nonce does not extend the client's");
  }
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return Status::Invalid("SCRAM: bad character in the server's nonce");
  }
  auto salt = Base64Decode(salt_b64);
  if (!salt.ok() || salt->empty()) return Status::Invalid("SCRAM: bad salt");
  int64_t iterations = 0;
  const char* end = iterations_text.data() + iterations_text.size();
  auto [p, ec] = std::from_chars(iterations_text.data(), end, iterations);
  if (ec != std::errc() || p != end || iterations < 1 || iterations > kMaxIterations) {
    return Status::Invalid("SCRAM: bad iteration count");
  }

  unsigned char salted[kKeyLength];
  if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                        reinterpret_cast<const unsigned char*>(salt->data()), static_cast<int>(salt->size()),
                        static_cast<int>(iterations), EVP_sha256(), sizeof salted, salted) != 1) {
    return Status::IoError("SCRAM: PBKDF2 failed");
  }
  const std::string_view salted_password(reinterpret_cast<char*>(salted), sizeof salted);
  const std::string client_key = Hmac(salted_password, "Client Key");
  const std::string stored_key = Sha256(client_key);
  const std::string final_without_proof = "c=biws,r=" + std::string(nonce);  // biws = base64("n,,")
  const std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + final_without_proof;
  const std::string client_signature = Hmac(stored_key, auth_message);
  std::string proof(kKeyLength, '\0');
  for (size_t i = 0; i < kKeyLength; ++i) proof[i] = static_cast<char>(client_key[i] ^ client_signature[i]);
  const std::string server_key = Hmac(salted_password, "Server Key");
  expected_server_signature_ = Hmac(server_key, auth_message);
  OPENSSL_cleanse(salted, sizeof salted);
  return final_without_proof + ",p=" + Base64Encode(proof);
}

Status ScramSha256::VerifyServerFinal(std::string_view server_final) const {
  if (expected_server_signature_.empty()) return Status::Invalid("SCRAM: no client-final message sent");
  std::string_view rest = server_final;
  std::string_view value;
  if (TakeAttribute(&rest, 'e', &value)) {
    return Status::Invalid("SCRAM: the server refused the proof: " + std::string(value));
  }
  if (!TakeAttribute(&rest, 'v', &value)) return Status::Invalid("SCRAM: malformed server-final-message");
  auto signature = Base64Decode(value);
  if (!signature.ok() || signature->size() != expected_server_signature_.size() ||
      CRYPTO_memcmp(signature->data(), expected_server_signature_.data(), signature->size()) != 0) {
    return Status::Invalid("SCRAM: the server's signature is wrong (it does not know the password)");
  }
  return Status::Ok();
}

std::string Md5PasswordHash(std::string_view user, std::string_view password, std::string_view salt) {
  const std::string inner = Md5Hex(std::string(password) + std::string(user));
  return "md5" + Md5Hex(inner + std::string(salt));
}

}  // namespace berth::metadata::postgres
