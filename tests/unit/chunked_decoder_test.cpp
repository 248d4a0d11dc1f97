#include "http/chunked_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace berth::http {
namespace {

struct Outcome {
  bool ok = true;
  std::string error;
  std::string payload;
  size_t consumed = 0;  // total input bytes consumed
  bool done = false;
};

// Feeds `input` in the pieces given by `cuts` (positions where a new piece starts),
// decoding into an output buffer of `cap` bytes. Like a real caller it re-offers the
// unconsumed rest of a piece when the decoder stops because the output is full.
Outcome DecodePieces(const std::string& input, const std::vector<size_t>& cuts, size_t cap) {
  ChunkedDecoder dec;
  Outcome o;
  std::vector<char> out(cap == 0 ? 1 : cap);
  std::vector<size_t> bounds = cuts;
  bounds.push_back(input.size());
  size_t begin = 0;
  for (size_t end : bounds) {
    if (end < begin) continue;
    std::string_view piece(input.data() + begin, end - begin);
    while (!piece.empty() && !dec.done()) {
      auto step = dec.Decode(piece, out.data(), cap);
      if (!step.ok()) {
        o.ok = false;
        o.error = step.status().message();
        o.done = dec.done();
        return o;
      }
      EXPECT_LE(step->consumed, piece.size());
      EXPECT_LE(step->produced, cap);
      o.payload.append(out.data(), step->produced);
      o.consumed += step->consumed;
      piece.remove_prefix(step->consumed);
      if (step->consumed == 0 && step->produced == 0) {
        ADD_FAILURE() << "decoder made no progress";
        return o;
      }
    }
    if (dec.done()) break;
    begin = end;
  }
  o.done = dec.done();
  return o;
}

Outcome DecodeAll(const std::string& input, size_t cap = 65536) { return DecodePieces(input, {}, cap); }

Outcome DecodeByteByByte(const std::string& input, size_t cap = 65536) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return DecodePieces(input, cuts, cap);
}

// Encodes `payload` into chunks of the given sizes (the rest as one last chunk).
std::string Encode(const std::string& payload, const std::vector<size_t>& sizes, bool upper = false) {
  std::string out;
  size_t pos = 0;
  char buf[32];
  auto emit = [&](size_t n) {
    snprintf(buf, sizeof buf, upper ? "%zX" : "%zx", n);
    out += buf;
    out += "\r\n";
    out.append(payload, pos, n);
    out += "\r\n";
    pos += n;
  };
  for (size_t s : sizes) {
    if (pos >= payload.size()) break;
    emit(std::min(s, payload.size() - pos));
  }
  if (pos < payload.size()) emit(payload.size() - pos);
  out += "0\r\n\r\n";
  return out;
}

const std::string kSimple = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

TEST(ChunkedDecoderTest, DecodesSimpleBody) {
  Outcome o = DecodeAll(kSimple);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, "hello world");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, kSimple.size());
}

TEST(ChunkedDecoderTest, SingleCallReportsCounts) {
  ChunkedDecoder dec;
  char out[64];
  auto step = dec.Decode(kSimple, out, sizeof out);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->consumed, kSimple.size());
  EXPECT_EQ(step->produced, 11u);
  EXPECT_EQ(std::string(out, step->produced), "hello world");
  EXPECT_TRUE(dec.done());
}

TEST(ChunkedDecoderTest, EmptyBody) {
  Outcome o = DecodeAll("0\r\n\r\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, "");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, 5u);
}

TEST(ChunkedDecoderTest, StopsAtEndOfBody) {
  // Bytes after the terminating CRLF belong to the next request on the connection.
  const std::string input = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  ChunkedDecoder dec;
  char out[64];
  auto step = dec.Decode(input, out, sizeof out);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->consumed, 13u);
  EXPECT_EQ(step->produced, 3u);
  EXPECT_TRUE(dec.done());
  auto again = dec.Decode(std::string_view(input).substr(step->consumed), out, sizeof out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->consumed, 0u);
  EXPECT_EQ(again->produced, 0u);
  EXPECT_TRUE(dec.done());
}

TEST(ChunkedDecoderTest, ChunkExtensions) {
  const std::string input = "5;name=value\r\nhello\r\n6 ; a=\"b;c\"; flag\r\n world\r\n0;last\r\n\r\n";
  Outcome o = DecodeAll(input);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, "hello world");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size());
  Outcome b = DecodeByteByByte(input);
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(b.payload, "hello world");
  EXPECT_TRUE(b.done);
}

TEST(ChunkedDecoderTest, Trailers) {
  const std::string input = "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
  Outcome o = DecodeAll(input);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, "hello");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size());
  Outcome b = DecodeByteByByte(input);
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(b.payload, "hello");
  EXPECT_TRUE(b.done);
  EXPECT_EQ(b.consumed, input.size());
}

TEST(ChunkedDecoderTest, HexCase) {
  const std::string payload(0xAB + 0x1f, 'x');
  for (const std::string& input :
       {"ab\r\n" + payload.substr(0, 0xab) + "\r\n1f\r\n" + payload.substr(0xab) + "\r\n0\r\n\r\n",
        "AB\r\n" + payload.substr(0, 0xab) + "\r\n1F\r\n" + payload.substr(0xab) + "\r\n0\r\n\r\n",
        "aB\r\n" + payload.substr(0, 0xab) + "\r\n01f\r\n" + payload.substr(0xab) + "\r\n000\r\n\r\n"}) {
    Outcome o = DecodeAll(input);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.payload.size(), payload.size());
    EXPECT_EQ(o.payload, payload);
    EXPECT_TRUE(o.done);
  }
}

TEST(ChunkedDecoderTest, LargeChunkSizes) {
  std::string payload(70000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  const std::string lower = Encode(payload, {0x10000, 100});
  const std::string upper = Encode(payload, {0xFFFF, 0xABC}, /*upper=*/true);
  ASSERT_NE(lower.find("10000\r\n"), std::string::npos);
  ASSERT_NE(upper.find("FFFF\r\n"), std::string::npos);
  for (const std::string& input : {lower, upper}) {
    Outcome o = DecodeAll(input);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.payload, payload);
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.consumed, input.size());
  }
}

TEST(ChunkedDecoderTest, FifteenHexDigitsAreAccepted) {
  const std::string input = "000000000000005\r\nhello\r\n0\r\n\r\n";
  Outcome o = DecodeAll(input);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, "hello");
  EXPECT_TRUE(o.done);
}

std::string BinaryPayload(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

TEST(ChunkedDecoderTest, EveryTwoPieceSplit) {
  // Payload bytes that look like framing must not confuse the decoder.
  const std::string payload = "The quick brown fox jumps over the lazy dog\r\n0\r\n\r\n";
  ASSERT_EQ(payload.size(), 7u + 0x1Au + 0x11u);
  const std::string input = "7;ext=1\r\n" + payload.substr(0, 7) + "\r\n" + "1A\r\n" + payload.substr(7, 0x1A) +
                            "\r\n" + "11\r\n" + payload.substr(7 + 0x1A) + "\r\n0\r\nTrailer: x\r\n\r\n";
  Outcome whole = DecodeAll(input);
  ASSERT_TRUE(whole.ok) << whole.error;
  ASSERT_EQ(whole.payload, payload);
  for (size_t cap : {size_t{1}, size_t{5}, size_t{65536}}) {
    for (size_t cut = 0; cut <= input.size(); ++cut) {
      Outcome o = DecodePieces(input, {cut}, cap);
      ASSERT_TRUE(o.ok) << "cut at " << cut << " cap " << cap << ": " << o.error;
      EXPECT_EQ(o.payload, payload) << "cut at " << cut << " cap " << cap;
      EXPECT_TRUE(o.done) << "cut at " << cut << " cap " << cap;
      EXPECT_EQ(o.consumed, input.size()) << "cut at " << cut << " cap " << cap;
    }
  }
}

TEST(ChunkedDecoderTest, OneByteAtATime) {
  const std::string payload = BinaryPayload(3000, 1);
  const std::string input = Encode(payload, {1, 2, 3, 100, 1000, 17});
  Outcome o = DecodeByteByByte(input);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, payload);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size());
  // One byte at a time in both directions.
  Outcome p = DecodeByteByByte(input, 1);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.payload, payload);
  EXPECT_TRUE(p.done);
}

TEST(ChunkedDecoderTest, RandomSplitsAndCapacities) {
  std::mt19937 rng(20240601);
  for (int iter = 0; iter < 300; ++iter) {
    const std::string payload = BinaryPayload(rng() % 5000, rng());
    std::vector<size_t> sizes;
    for (int k = rng() % 8; k > 0; --k) sizes.push_back(1 + rng() % 1500);
    std::string input = Encode(payload, sizes, iter % 2 == 1);
    std::vector<size_t> cuts;
    for (size_t pos = 0; pos < input.size();) {
      pos += 1 + rng() % 64;
      if (pos < input.size()) cuts.push_back(pos);
    }
    const size_t cap = 1 + rng() % 300;
    Outcome o = DecodePieces(input, cuts, cap);
    ASSERT_TRUE(o.ok) << "iteration " << iter << ": " << o.error;
    ASSERT_EQ(o.payload, payload) << "iteration " << iter;
    EXPECT_TRUE(o.done) << "iteration " << iter;
    EXPECT_EQ(o.consumed, input.size()) << "iteration " << iter;
  }
}

TEST(ChunkedDecoderTest, SmallOutputCapacityResumes) {
  const std::string input = "a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n";
  ChunkedDecoder dec;
  char out[4];
  std::string_view in = input;

  auto s1 = dec.Decode(in, out, 4);
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1->produced, 4u);
  EXPECT_EQ(std::string(out, 4), "0123");
  EXPECT_EQ(s1->consumed, 3u + 4u);  // size line + 4 data bytes
  EXPECT_FALSE(dec.done());
  in.remove_prefix(s1->consumed);

  auto s2 = dec.Decode(in, out, 4);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(std::string(out, s2->produced), "4567");
  EXPECT_EQ(s2->consumed, 4u);
  in.remove_prefix(s2->consumed);

  // The chunk's last two bytes, its CRLF and the next size line, then "a" of the next chunk
  // would exceed capacity: 2 + 2 (of "abc") = 4.
  auto s3 = dec.Decode(in, out, 4);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(std::string(out, s3->produced), "89ab");
  in.remove_prefix(s3->consumed);
  EXPECT_FALSE(dec.done());

  auto s4 = dec.Decode(in, out, 4);
  ASSERT_TRUE(s4.ok());
  EXPECT_EQ(std::string(out, s4->produced), "c");
  EXPECT_TRUE(dec.done());
  EXPECT_EQ(s4->consumed, in.size());
}

TEST(ChunkedDecoderTest, ZeroCapacityConsumesFramingOnly) {
  const std::string input = "5\r\nhello\r\n0\r\n\r\n";
  ChunkedDecoder dec;
  char out[8];
  auto s = dec.Decode(input, out, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->produced, 0u);
  EXPECT_EQ(s->consumed, 3u);  // the size line only: data waits for room
  EXPECT_FALSE(dec.done());
  auto t = dec.Decode(std::string_view(input).substr(3), out, sizeof out);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(std::string(out, t->produced), "hello");
  EXPECT_TRUE(dec.done());
}

TEST(ChunkedDecoderTest, DoneOnlyAfterFinalCrlf) {
  const std::string input = "5\r\nhello\r\n0\r\n\r\n";
  ChunkedDecoder dec;
  char out[16];
  std::string got;
  for (size_t i = 0; i < input.size(); ++i) {
    EXPECT_FALSE(dec.done()) << "done before byte " << i;
    auto s = dec.Decode(std::string_view(input).substr(i, 1), out, sizeof out);
    ASSERT_TRUE(s.ok()) << "byte " << i << ": " << s.status().message();
    EXPECT_EQ(s->consumed, 1u) << "byte " << i;
    got.append(out, s->produced);
  }
  EXPECT_TRUE(dec.done());
  EXPECT_EQ(got, "hello");
}

TEST(ChunkedDecoderTest, NotDoneWithoutFinalCrlf) {
  for (const std::string input : {"5\r\nhello\r\n", "5\r\nhello\r\n0", "5\r\nhello\r\n0\r\n", "5\r\nhello\r\n0\r\n\r",
                                  "5\r\nhello\r\n0\r\nX-A: b\r\n"}) {
    Outcome o = DecodeAll(input);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.payload, "hello");
    EXPECT_FALSE(o.done) << input;
    EXPECT_EQ(o.consumed, input.size());
  }
}

void ExpectMalformed(const std::string& input) {
  Outcome whole = DecodeAll(input);
  EXPECT_FALSE(whole.ok) << "accepted: " << input;
  EXPECT_FALSE(whole.done);
  Outcome bytes = DecodeByteByByte(input);
  EXPECT_FALSE(bytes.ok) << "accepted byte by byte: " << input;
}

TEST(ChunkedDecoderTest, RejectsMissingCrlfAfterData) {
  ExpectMalformed("5\r\nhelloX\r\n0\r\n\r\n");
  ExpectMalformed("5\r\nhello\rX0\r\n\r\n");
  ExpectMalformed("5\r\nhello\n0\r\n\r\n");
  ExpectMalformed("5\r\nhello world\r\n0\r\n\r\n");  // size says 5, data is longer
  ExpectMalformed("5\r\nhello0\r\n\r\n");
}

TEST(ChunkedDecoderTest, RejectsNonHexSize) {
  ExpectMalformed("g\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5g\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("0x5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("-5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("+5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5\nhello\r\n0\r\n\r\n");  // bare LF after the size
  ExpectMalformed("5\rhello\r\n0\r\n\r\n");  // CR without LF
}

TEST(ChunkedDecoderTest, RejectsTooManyHexDigits) {
  ExpectMalformed("0000000000000005\r\nhello\r\n0\r\n\r\n");  // 16 digits
  ExpectMalformed("ffffffffffffffffff\r\n");
  ExpectMalformed("10000000000000000\r\n");
}

TEST(ChunkedDecoderTest, RejectsMissingSize) {
  ExpectMalformed("\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed(";ext\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed(" 5\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5\r\nhello\r\n\r\n");  // second size line empty
}

TEST(ChunkedDecoderTest, RejectsBadFinalLine) { ExpectMalformed("5\r\nhello\r\n0\r\n\rX"); }

TEST(ChunkedDecoderTest, RejectsOverlongExtensionAndTrailer) {
  ExpectMalformed("5;" + std::string(5000, 'x') + "\r\nhello\r\n0\r\n\r\n");
  ExpectMalformed("5\r\nhello\r\n0\r\nX-Long: " + std::string(5000, 'y') + "\r\n\r\n");
  // Reasonable lengths are fine.
  Outcome o =
      DecodeAll("5;" + std::string(1000, 'x') + "\r\nhello\r\n0\r\nX-A: " + std::string(1000, 'y') + "\r\n\r\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.payload, "hello");
  EXPECT_TRUE(o.done);
}

TEST(ChunkedDecoderTest, ErrorIsInvalidArgument) {
  ChunkedDecoder dec;
  char out[8];
  auto s = dec.Decode("zz\r\n", out, sizeof out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("chunked"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace berth::http
