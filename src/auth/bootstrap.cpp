#include "auth/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/password.h"
#include "util/base64.h"
#include "util/random.h"

namespace berth::auth {

std::string BootstrapPasswordFile(const std::string& data_root) {
  std::string root = data_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/berth-admin.htpasswd";
}

Result<std::shared_ptr<const AuthPolicy>> MakePolicy(UserTable users, std::vector<AclEntry> acl,
                                                     const std::string& data_root,
                                                     const std::function<void(const std::string&)>& announce,
                                                     std::shared_ptr<ldap::Directory> directory) {
  auto policy = std::make_shared<AuthPolicy>();
  if (!users.empty() || !acl.empty() || directory != nullptr) {
    policy->directory = std::move(directory);
    policy->users = std::move(users);
    policy->acl = Acl(std::move(acl));
    return std::shared_ptr<const AuthPolicy>(policy);
  }
  const std::string file = BootstrapPasswordFile(data_root);
  std::string hash;
  std::ifstream in(file);
  if (in) {
    std::string line;
    std::getline(in, line);
    if (line.rfind("admin:", 0) != 0 || !IsBcryptHash(line.substr(6))) {
      return Status::Invalid(file + ": expected one line 'admin:<bcrypt hash>'");
    }
    hash = line.substr(6);
  } else {
    unsigned char raw[18];
    if (!RandomBytes(raw, sizeof raw)) return Status::IoError("no randomness for the admin password");
    std::string password = Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
    auto h = HashPassword(password, 10);
    if (!h.ok()) return h.status();
    hash = *h;
    ::mkdir(data_root.c_str(), 0755);
    std::string content = "admin:" + hash + "\n";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IoError("cannot create " + file + ": " + std::strerror(errno));
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Status::IoError("cannot write " + file);
    announce(password);
  }
  policy->users["admin"] = hash;
  AclEntry admin;
  admin.account = *Pattern::Compile("admin");
  admin.name = *Pattern::Compile("*");
  admin.actions = {"*"};
  admin.comment = "bootstrap: no users or acl configured";
  policy->acl = Acl({admin});
  return std::shared_ptr<const AuthPolicy>(policy);
}

}  // namespace berth::auth
