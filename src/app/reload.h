// AuthReloader: the live reload of users and ACL, on SIGHUP and when the config
// file changes. The policy: a file that does not load, or whose users and ACL
// do not compile, is rejected and the running ones stay; so is a file with no
// users and no ACL while running ones exist (most likely caught half-written
// by an editor: applying it would lock everyone out). Other settings change
// only at restart. Thread-safe: one reload at a time.
#pragma once

#include <functional>
#include <string>

#include "auth/auth_service.h"
#include "util/mutex.h"

namespace berth::app {

class AuthReloader {
 public:
  // `announce` shows a bootstrap admin password, as at startup (see auth/bootstrap.h).
  AuthReloader(std::string config_path, std::string data_root, auth::AuthService& auth, bool running_has_rules,
               std::function<void(const std::string&)> announce);

  // Reads the config file again and applies its users and ACL, or logs why not.
  void Reload() EXCLUDES(mu_);

 private:
  const std::string config_path_;
  const std::string data_root_;  // where the bootstrap admin's hash is kept
  auth::AuthService& auth_;
  const std::function<void(const std::string&)> announce_;
  Mutex mu_;  // one reload at a time
  bool running_has_rules_ GUARDED_BY(mu_);  // the running policy came from configured users or ACL
};

}  // namespace berth::app
