#include "ui/session_store.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "util/random.h"

namespace berth::ui {

SessionStore::SessionStore(int64_t ttl_s, size_t max_sessions) : ttl_s_(ttl_s), max_sessions_(max_sessions) {
  if (!RandomBytes(fingerprint_key_, sizeof fingerprint_key_)) throw std::runtime_error("no randomness for sessions");
}

std::string SessionStore::Key(std::string_view id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string SessionStore::PasswordFingerprint(std::string_view password_hash) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), fingerprint_key_, sizeof fingerprint_key_,
       reinterpret_cast<const unsigned char*>(password_hash.data()), password_hash.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string SessionStore::Create(Session s, int64_t now) {
  const std::string id = RandomHex(32);
  s.csrf = RandomHex(32);
  s.expires_at = now + ttl_s_;
  MutexLock lock(mu_);
  EvictLocked(now);
  sessions_[Key(id)] = std::move(s);
  return id;
}

std::optional<Session> SessionStore::Find(std::string_view id, int64_t now) {
  // Only ids of our own form are looked up (64 hex digits).
  if (id.size() != 64) return std::nullopt;
  const std::string key = Key(id);
  MutexLock lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_at <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::Remove(std::string_view id) {
  const std::string key = Key(id);
  MutexLock lock(mu_);
  sessions_.erase(key);
}

size_t SessionStore::size() const {
  MutexLock lock(mu_);
  return sessions_.size();
}

void SessionStore::EvictLocked(int64_t now) {
  if (sessions_.size() < max_sessions_) return;
  // Full: drop the expired, then (still full) the one that expires first.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.expires_at <= now ? sessions_.erase(it) : std::next(it);
  }
  while (sessions_.size() >= max_sessions_) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.expires_at < oldest->second.expires_at) oldest = it;
    }
    sessions_.erase(oldest);
  }
}

}  // namespace berth::ui
