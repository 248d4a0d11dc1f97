// ParseListenAddress: the "[host]:port" syntax of server.addr and
// server.debug_addr, checked when the config is read and used again when
// the server binds. A pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth {

// Splits "host:port" / ":port" / "[v6]:port"; "localhost" becomes 127.0.0.1 and
// an empty host means all interfaces. InvalidArgument when malformed.
Status ParseListenAddress(std::string_view addr, std::string* host, uint16_t* port);

}  // namespace berth
