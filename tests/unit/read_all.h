// ReadAll: drains a storage FileReader into a string, for the driver tests.
// A read error is a test failure (and ends the read).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/driver.h"

namespace berth::testing_util {

// `buf_size` small values exercise readers that are asked for less than they have.
inline std::string ReadAll(storage::FileReader& r, size_t buf_size) {
  std::string out;
  std::vector<char> buf(buf_size);
  while (true) {
    auto n = r.Read(buf.data(), buf.size());
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok() || *n == 0) break;
    out.append(buf.data(), *n);
  }
  return out;
}

}  // namespace berth::testing_util
