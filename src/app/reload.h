// AuthReloader: the live reload of users, ACL, policies and token keys, on SIGHUP and
// when the config file changes. The policy: a file that does not load, or whose users and ACL
// do not compile, is rejected and the running ones stay; so is a file with no
// users and no ACL while running ones exist (most likely caught half-written
// by an editor: applying it would lock everyone out). The token key ring is
// rebuilt from auth.token.key and previous_keys (the key must already exist: a
// reload never creates one); a ring that does not load is rejected and the
// running one stays. The published bundle and JWKS are rewritten. Other
// settings change only at restart. Thread-safe: one reload at a time.
#pragma once

#include <functional>
#include <string>

#include "auth/auth_service.h"
#include "auth/key_ring.h"
#include "config/config.h"
#include "policy/policy_set.h"
#include "util/status.h"
#include "util/mutex.h"

namespace berth::app {

// The token key ring `cfg` names: auth.token.key signs (created when missing
// only if `create_current`), every auth.token.previous_keys entry verifies. An
// error names the file.
Result<std::shared_ptr<const auth::KeyRing>> LoadKeyRing(const config::Config& cfg, bool create_current);
// Writes the ring's certificate bundle and JWKS where `cfg` says (atomically, mode 0644).
Status PublishKeyRing(const auth::KeyRing& ring, const config::Config& cfg);
// "kid1,kid2": the ids of every key on the ring, the current one first (for the log).
std::string KeyIds(const auth::KeyRing& ring);

class AuthReloader {
 public:
  // `announce` shows a bootstrap admin password, as at startup (see auth/bootstrap.h).
  // `policies` (may be null) gets the file's `policies:` with the users and ACL.
  AuthReloader(std::string config_path, std::string data_root, auth::AuthService& auth, bool running_has_rules,
               std::function<void(const std::string&)> announce, policy::PolicyHolder* policies = nullptr);

  // Reads the config file again and applies its users, ACL and keys, or logs why not.
  void Reload() EXCLUDES(mu_);

 private:
  void ReloadKeys(const config::Config& cfg) REQUIRES(mu_);

  const std::string config_path_;
  const std::string data_root_;  // where the bootstrap admin's hash is kept
  auth::AuthService& auth_;
  const std::function<void(const std::string&)> announce_;
  policy::PolicyHolder* const policies_;
  Mutex mu_;                                // one reload at a time
  bool running_has_rules_ GUARDED_BY(mu_);  // the running policy came from configured users or ACL
};

}  // namespace berth::app
