#include "auth/password.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

#include "util/random.h"

namespace berth::auth {

bool IsBcryptHash(std::string_view h) {
  // $2y$NN$ + 53 characters of salt and hash
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (!(h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9')) return false;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  return cost >= 4 && cost <= 31;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool VerifyPassword(std::string_view password, std::string_view hash) {
  if (!IsBcryptHash(hash) || password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  std::string setting(hash);
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  bool ok = out != nullptr && ConstantTimeEquals(out, hash);
  OPENSSL_cleanse(pw.data(), pw.size());
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

Result<std::string> HashPassword(std::string_view password, int cost) {
  if (cost < 4 || cost > 31) return Status::Invalid("bcrypt cost must be between 4 and 31");
  if (password.find('\0') != std::string_view::npos) return Status::Invalid("password contains a NUL byte");
  // bcrypt uses only the first 72 bytes; say so rather than silently truncating.
  if (password.size() > 72) return Status::Invalid("bcrypt passwords are limited to 72 bytes");
  unsigned char random[16];
  if (!RandomBytes(random, sizeof random)) return Status::IoError("no randomness");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), reinterpret_cast<const char*>(random), sizeof random,
                       setting, sizeof setting) == nullptr) {
    return Status::IoError("crypt_gensalt failed");
  }
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_rn(pw.c_str(), setting, data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (out == nullptr || out[0] == '*') return Status::IoError("bcrypt hashing failed");
  return std::string(out);
}

}  // namespace berth::auth
