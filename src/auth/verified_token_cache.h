// VerifiedTokenCache: remembers bearer tokens whose signature and claims were
// already checked, so that a client sending the same token on every request
// (docker, containerd and skopeo all do, for minutes) pays for the signature
// check and the JSON parse once instead of on every request.
//
// What stays per request: the expiry and not-before times are compared with
// `now` on every lookup (with the same leeway as the full check), and an entry
// only counts for the key ring generation it was verified against (the owner
// counts ring swaps), so a key rotation or reload makes every cached token
// verify afresh — a retired key's tokens fail at once, as before.
// Only tokens that verified are stored: a flood of forged or random tokens
// never enters the cache. Its size is bounded (least recently used entries
// go first). It keys on the whole token, compared byte for byte (a hash of
// part of it, say the signature, would let a token with another payload hit);
// tokens longer than kMaxCachedTokenBytes are not cached, so the cache holds
// at most capacity × 4 KiB.
// Thread-safe (one mutex; a lookup is a hash and a map probe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/scope.h"
#include "util/mutex.h"

namespace berth::auth {

struct TokenLimit;

struct VerifiedToken {
  std::string subject;
  std::vector<Scope> access;
  std::shared_ptr<const TokenLimit> limit;  // the access token limit it was issued under (null: none)
  int64_t not_before = 0;                   // nbf, unix seconds (0: none)
  int64_t expires = 0;                      // exp, unix seconds
};

class VerifiedTokenCache {
 public:
  static constexpr size_t kMaxCachedTokenBytes = 4096;

  explicit VerifiedTokenCache(size_t capacity = 1024, int64_t leeway = 60);

  // The cached verification of `token` if it was verified against that ring and
  // is valid at `now`; nullopt otherwise (the caller verifies in full).
  std::optional<VerifiedToken> Find(std::string_view token, uint64_t ring_generation, int64_t now) EXCLUDES(mu_);
  // Remembers a token that just verified against the ring of `ring_generation`.
  void Insert(std::string_view token, uint64_t ring_generation, VerifiedToken verified) EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);

 private:
  struct Entry {
    std::string token_text;
    uint64_t ring_generation;
    VerifiedToken token;
  };

  const size_t capacity_;
  const int64_t leeway_;
  mutable Mutex mu_;
  std::list<Entry> lru_ GUARDED_BY(mu_);  // most recently used first
  // Keys view the entries' token_text (a list node never moves).
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_ GUARDED_BY(mu_);
};

}  // namespace berth::auth
