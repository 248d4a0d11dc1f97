// berth hash-password (see commands.h).
#include <iostream>

#include "app/commands.h"
#include "app/password_prompt.h"
#include "auth/password.h"

namespace berth::app {

int HashPassword(int cost) {
  std::optional<std::string> password = ReadNewPassword();
  if (!password) {
    std::cerr << "berth: the passwords do not match\n";
    return 1;
  }
  if (password->empty()) {
    std::cerr << "berth: empty password\n";
    return 1;
  }
  auto hash = auth::HashPassword(*password, cost);
  if (!hash.ok()) {
    std::cerr << "berth: " << hash.status().message() << "\n";
    return 1;
  }
  std::cout << *hash << "\n";
  return 0;
}

}  // namespace berth::app
