// Password hashing and verification: bcrypt through libxcrypt's crypt_rn, as
// htpasswd -B and docker_auth write them ($2y$, $2b$, $2a$). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::auth {

bool IsBcryptHash(std::string_view hash);
// Constant-time in the length of the hash; false for anything malformed.
bool VerifyPassword(std::string_view password, std::string_view bcrypt_hash);
// A fresh "$2y$<cost>$..." hash (cost 4..31).
Result<std::string> HashPassword(std::string_view password, int cost = 10);
// Comparison whose time does not depend on where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace berth::auth
