// berth check-config (see commands.h).
#include <iostream>

#include "app/commands.h"
#include "app/load_config.h"

namespace berth::app {

int CheckConfig(const std::string& path) {
  auto loaded = LoadConfig(path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().message() << "\n";
    return 1;
  }
  std::cout << path << ": OK (" << loaded->config.users.size() << " users, " << loaded->config.acl.size()
            << " acl entries)\n";
  return 0;
}

}  // namespace berth::app
