// Base64 (RFC 4648): the standard alphabet with padding (certificates, SCRAM,
// S3's Content-MD5) and the URL alphabet without padding (JWTs, JWKs).
// Decoders are strict: a character outside the alphabet, a bad length or
// non-canonical trailing bits is an error, never a guess. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace berth {

std::string Base64Encode(std::string_view data);
// Standard alphabet; the length must be a multiple of 4 (with '=' padding).
Result<std::string> Base64Decode(std::string_view text);

std::string Base64UrlEncode(std::string_view data);
// URL alphabet ('-', '_'), no padding.
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace berth
