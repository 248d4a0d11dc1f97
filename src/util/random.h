// Random values, the two kinds Berth needs, in one place:
//  - RandomBytes / RandomHex / RandomUuid come from OpenSSL's CSPRNG: for
//    secrets and for ids a client sees and must not guess (passwords, salts,
//    keys, upload ids, token ids, certificate serials).
//  - FastRandom64 is a per-thread splitmix64 seeded once from the OS: no lock
//    and no syscall, for values that only need to differ (request ids,
//    temporary file names, retry jitter). Never for secrets.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace berth {

// Fills n bytes at `out` from the CSPRNG; false when it could not (no entropy).
[[nodiscard]] bool RandomBytes(void* out, size_t n);

// 2*bytes lowercase hex characters from the CSPRNG.
std::string RandomHex(size_t bytes);

// A version 4 UUID from the CSPRNG, lowercase: "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx".
std::string RandomUuid();

// Fast, not cryptographic (see above).
uint64_t FastRandom64();

}  // namespace berth
