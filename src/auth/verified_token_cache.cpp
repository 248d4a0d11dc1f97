#include "auth/verified_token_cache.h"

namespace berth::auth {

VerifiedTokenCache::VerifiedTokenCache(size_t capacity, int64_t leeway)
    : capacity_(capacity == 0 ? 1 : capacity), leeway_(leeway) {}

std::optional<VerifiedToken> VerifiedTokenCache::Find(std::string_view token, uint64_t ring_generation, int64_t now) {
  MutexLock lock(mu_);
  auto it = index_.find(token);
  if (it == index_.end()) return std::nullopt;
  const Entry& e = *it->second;
  // (the key ring was swapped, or the token's time is over: drop it; the full check decides)
  if (e.ring_generation != ring_generation || e.token.expires + leeway_ < now || e.token.not_before - leeway_ > now) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->token;
}

void VerifiedTokenCache::Insert(std::string_view token, uint64_t ring_generation, VerifiedToken verified) {
  if (token.size() > kMaxCachedTokenBytes) return;
  MutexLock lock(mu_);
  if (auto it = index_.find(token); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (lru_.size() >= capacity_) {
    index_.erase(lru_.back().token_text);
    lru_.pop_back();
  }
  lru_.push_front(Entry{std::string(token), ring_generation, std::move(verified)});
  index_.emplace(lru_.front().token_text, lru_.begin());
}

size_t VerifiedTokenCache::size() const {
  MutexLock lock(mu_);
  return lru_.size();
}

}  // namespace berth::auth
