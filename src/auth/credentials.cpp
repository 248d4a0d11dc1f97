#include "auth/credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/password.h"
#include "util/random.h"

namespace berth::auth {
namespace {
constexpr size_t kMaxCacheEntries = 10000;
}

CredentialVerifier::CredentialVerifier() { (void)RandomBytes(hmac_key_, sizeof hmac_key_); }

std::string CredentialVerifier::DummyHash(const UserTable& users) {
  std::map<int, int> costs;
  for (const auto& [name, hash] : users) {
    if (hash.size() > 6 && hash[0] == '$') ++costs[(hash[4] - '0') * 10 + (hash[5] - '0')];
  }
  int cost = 10;
  int most = 0;
  for (const auto& [c, n] : costs) {
    if (n > most) {
      most = n;
      cost = c;
    }
  }
  {
    MutexLock lock(mu_);
    if (auto it = dummy_hashes_.find(cost); it != dummy_hashes_.end()) return it->second;
  }
  const std::string secret = RandomHex(8);
  auto h = HashPassword(secret, cost);
  std::string hash = h.ok() ? *h : std::string();
  MutexLock lock(mu_);
  dummy_hashes_[cost] = hash;
  return hash;
}

std::string CredentialVerifier::CacheKey(std::string_view user, std::string_view password,
                                         std::string_view hash) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string msg;
  msg.reserve(user.size() + password.size() + hash.size() + 2);
  msg.append(user).push_back('\0');
  msg.append(hash).push_back('\0');
  msg.append(password);
  HMAC(EVP_sha256(), hmac_key_, sizeof hmac_key_, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out,
       &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  return std::string(reinterpret_cast<char*>(out), len);
}

bool CredentialVerifier::IsCached(const UserTable& users, std::string_view user, std::string_view password) {
  auto it = users.find(user);
  if (it == users.end()) return false;
  std::string key = CacheKey(user, password, it->second);
  MutexLock lock(mu_);
  auto c = cache_.find(key);
  return c != cache_.end() && c->second > std::chrono::steady_clock::now();
}

bool CredentialVerifier::Verify(const UserTable& users, std::string_view user, std::string_view password) {
  auto it = users.find(user);
  if (it == users.end()) {
    VerifyPassword(password, DummyHash(users));  // spend the same time as for a real user
    return false;
  }
  std::string key = CacheKey(user, password, it->second);
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(mu_);
    auto c = cache_.find(key);
    if (c != cache_.end()) {
      if (c->second > now) return true;
      cache_.erase(c);
    }
  }
  if (!VerifyPassword(password, it->second)) return false;
  MutexLock lock(mu_);
  if (cache_.size() >= kMaxCacheEntries) {
    for (auto e = cache_.begin(); e != cache_.end();) e = e->second <= now ? cache_.erase(e) : std::next(e);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  }
  cache_[key] = now + kCacheTtl;
  return true;
}

}  // namespace berth::auth
