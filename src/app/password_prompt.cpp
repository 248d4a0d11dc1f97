#include "app/password_prompt.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace berth::app {

std::optional<std::string> ReadNewPassword() {
  if (!::isatty(STDIN_FILENO)) {
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string a, b;
  std::cerr << "Password: " << std::flush;
  std::getline(std::cin, a);
  std::cerr << "\n";
  std::cerr << "Again: " << std::flush;
  std::getline(std::cin, b);
  std::cerr << "\n";
  ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  if (a != b) return std::nullopt;
  return a;
}

}  // namespace berth::app
