// Unit tests for util/hex.h and util/random.h: the one hex encoder and the
// random values (CSPRNG bytes, hex ids, UUIDs, the fast per-thread generator).
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "util/hex.h"
#include "util/random.h"

namespace berth {
namespace {

TEST(HexTest, EncodesEveryByteLowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  EXPECT_EQ(HexEncode("Berth"), "4265727468");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string hex = HexEncode(all);
  ASSERT_EQ(hex.size(), 512u);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(std::stoi(hex.substr(static_cast<size_t>(2 * i), 2), nullptr, 16), i);
  }
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(HexTest, EncodeToWritesExactlyTwoCharactersPerByte) {
  const unsigned char in[3] = {0xde, 0xad, 0x01};
  char out[8];
  std::fill(std::begin(out), std::end(out), '#');
  HexEncodeTo(in, sizeof in, out);
  EXPECT_EQ(std::string(out, 8), "dead01##");
}

TEST(HexTest, PercentEscapeIsUppercase) {
  std::string s = "a";
  AppendPercentEscape(&s, ' ');
  AppendPercentEscape(&s, 0xe1);
  AppendPercentEscape(&s, 0x0f);
  EXPECT_EQ(s, "a%20%E1%0F");
}

TEST(HexTest, DigitValues) {
  const std::string digits = "0123456789abcdefABCDEF";
  const int values[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < digits.size(); ++i) EXPECT_EQ(HexDigitValue(digits[i]), values[i]) << digits[i];
  for (char c : std::string("gG/:@`\0 x-", 10)) EXPECT_EQ(HexDigitValue(c), -1) << static_cast<int>(c);
}

TEST(RandomTest, BytesAreFilledAndDiffer) {
  unsigned char a[32] = {}, b[32] = {};
  ASSERT_TRUE(RandomBytes(a, sizeof a));
  ASSERT_TRUE(RandomBytes(b, sizeof b));
  EXPECT_NE(std::string(reinterpret_cast<char*>(a), 32), std::string(reinterpret_cast<char*>(b), 32));
  EXPECT_NE(std::string(reinterpret_cast<char*>(a), 32), std::string(32, '\0'));
  EXPECT_TRUE(RandomBytes(a, 0));
}

TEST(RandomTest, HexHasTwoLowercaseDigitsPerByteAndDoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string h = RandomHex(8);
    ASSERT_EQ(h.size(), 16u);
    ASSERT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(RandomHex(0), "");
  EXPECT_EQ(RandomHex(16).size(), 32u);
}

TEST(RandomTest, UuidIsVersion4Lowercase) {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string u = RandomUuid();
    ASSERT_TRUE(std::regex_match(u, v4)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(RandomTest, FastRandomDiffersAcrossCallsAndThreads) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(FastRandom64());
  EXPECT_EQ(seen.size(), 10000u);
  // Each thread has its own seed: two threads do not produce the same sequence.
  std::vector<uint64_t> first(2);
  std::thread t1([&] { first[0] = FastRandom64(); });
  std::thread t2([&] { first[1] = FastRandom64(); });
  t1.join();
  t2.join();
  EXPECT_NE(first[0], first[1]);
}

}  // namespace
}  // namespace berth
