// ReadNewPassword: a password from the terminal (typed twice, without echo,
// prompts on stderr), or one line from stdin when it is not a terminal.
// Not thread-safe (the terminal is process state).
#pragma once

#include <optional>
#include <string>

namespace berth::app {

// nullopt when the two entries at the terminal differ.
std::optional<std::string> ReadNewPassword();

}  // namespace berth::app
