// TokenCache: an upstream's Bearer tokens by scope ("repository:<name>:pull"),
// each until shortly before it expires (UpstreamClient). Bounded: a proxy
// serving many repositories gets a token per repository, so an insert first
// drops the expired entries and, when the cache is still full, the entry that
// expires first (the oldest for tokens of one lifetime). A dropped token only
// costs one more token request.
// Not thread-safe: UpstreamClient guards it with its mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace berth::proxy {

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kDefaultCapacity = 1024;

  explicit TokenCache(size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The token for `scope` when it has not expired at `now` (an expired one is dropped).
  std::optional<std::string> Find(const std::string& scope, Clock::time_point now) {
    auto it = tokens_.find(scope);
    if (it == tokens_.end()) return std::nullopt;
    if (now < it->second.expires) return it->second.token;
    tokens_.erase(it);
    return std::nullopt;
  }

  void Insert(const std::string& scope, std::string token, Clock::time_point expires, Clock::time_point now) {
    tokens_.erase(scope);
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = now < it->second.expires ? std::next(it) : tokens_.erase(it);
    }
    // Still full: one linear scan per insert is nothing next to the token request that preceded it.
    while (tokens_.size() >= capacity_) {
      auto first = tokens_.begin();
      for (auto it = tokens_.begin(); it != tokens_.end(); ++it) {
        if (it->second.expires < first->second.expires) first = it;
      }
      tokens_.erase(first);
    }
    tokens_[scope] = Entry{std::move(token), expires};
  }

  size_t size() const { return tokens_.size(); }

 private:
  struct Entry {
    std::string token;
    Clock::time_point expires;
  };
  size_t capacity_;
  std::map<std::string, Entry> tokens_;
};

}  // namespace berth::proxy
