// AccessRules: the config's `users` and `acl` (plain data in config::Config)
// turned into what AuthService checks against. This is where the auth half of
// a config file is judged: every password must be a bcrypt hash and every
// account/name/service pattern must compile; an error names the file, line
// and column like the config's own errors. A function of its input; thread-safe.
#pragma once

#include <vector>

#include "auth/acl.h"
#include "auth/credentials.h"
#include "config/config.h"
#include "util/status.h"

namespace berth::auth {

struct AccessRules {
  UserTable users;            // name -> bcrypt hash
  std::vector<AclEntry> acl;  // in file order
};

Result<AccessRules> CompileAccessRules(const config::Config& cfg);

}  // namespace berth::auth
