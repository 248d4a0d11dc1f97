// The secure default for a registry configured with no users and no ACL:
// at first start an `admin` user gets a random password, printed once to
// stderr; its bcrypt hash is kept in <data>/berth-admin.htpasswd (0600) and
// used from then on. The default ACL gives admin everything and nobody else
// anything (anonymous included). Thread-safe (a function of its inputs and the file).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "auth/auth_service.h"
#include "auth/ldap/directory.h"
#include "util/status.h"

namespace berth::auth {

// Users and ACL as configured (and the LDAP directory, when there is one), or the bootstrap admin when both are empty.
// `announce` receives the one-time banner with a freshly generated password.
Result<std::shared_ptr<const AuthPolicy>> MakePolicy(UserTable users, std::vector<AclEntry> acl,
                                                     const std::string& data_root,
                                                     const std::function<void(const std::string&)>& announce,
                                                     std::shared_ptr<ldap::Directory> directory = nullptr);

std::string BootstrapPasswordFile(const std::string& data_root);

}  // namespace berth::auth
