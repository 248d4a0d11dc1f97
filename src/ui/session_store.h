// SessionStore: the web UI's sign-in sessions (docs/ui.md "Sessions").
//
// A session is found by an opaque id (256 random bits, sent only in an
// HttpOnly; SameSite=Strict cookie) and holds who signed in, a fingerprint of
// the credential they signed in with, a CSRF token and its expiry. The id is
// kept only as its SHA-256, so the table (or a dump of it) holds nothing a
// client could present. The fingerprint lets the caller end a session whose
// credential changed: the keyed hash of the user's current password hash (a
// password change ends it), or the access token's id (a revoked token ends it).
// In memory: sessions end when the process does (and each replica has its own).
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/token_store.h"
#include "util/mutex.h"

namespace berth::ui {

struct Session {
  std::string user;
  // How the user signed in, checked on every request (SessionStore::PasswordFingerprint,
  // or empty for a directory (LDAP) user, whose session lasts until it expires).
  std::string fingerprint;
  std::string token_id;                           // signed in with this access token ("" when a password)
  std::shared_ptr<const auth::TokenLimit> limit;  // what that token limits grants to (null: a password)
  std::string csrf;                               // required in X-CSRF-Token on every state-changing call
  int64_t expires_at = 0;                         // Unix seconds
};

class SessionStore {
 public:
  // `ttl_s`: how long a session lasts after sign-in; at most `max_sessions`
  // live at once (the oldest-expiring goes first).
  explicit SessionStore(int64_t ttl_s, size_t max_sessions = 100'000);

  // Starts a session for `s` (its csrf and expires_at are set here); returns its id.
  std::string Create(Session s, int64_t now) EXCLUDES(mu_);
  // The session `id` names, if it exists and has not expired.
  std::optional<Session> Find(std::string_view id, int64_t now) EXCLUDES(mu_);
  void Remove(std::string_view id) EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);
  int64_t ttl_s() const { return ttl_s_; }

  // The fingerprint of a YAML user's password hash (a keyed hash: the hash itself is not kept).
  std::string PasswordFingerprint(std::string_view password_hash) const;

 private:
  static std::string Key(std::string_view id);
  void EvictLocked(int64_t now) REQUIRES(mu_);

  const int64_t ttl_s_;
  const size_t max_sessions_;
  unsigned char fingerprint_key_[32];
  mutable Mutex mu_;
  std::map<std::string, Session, std::less<>> sessions_ GUARDED_BY(mu_);  // SHA-256(id) -> session
};

}  // namespace berth::ui
