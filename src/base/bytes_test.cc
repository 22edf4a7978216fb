#include "base/bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "testing/temp_dir.h"

namespace tandem {
namespace {

struct EncodingCase {
  std::string_view plain;
  std::string_view encoded;
};

TEST(Hex, EncodesKnownVectorsAndDecodesThemBack) {
  const EncodingCase cases[] = {
      {"", ""},
      {std::string_view("\0", 1), "00"},
      {"\xde\xad\xbe\xef", "deadbeef"},
      {"\x01\x23\x45\x67\x89\xab\xcd\xef", "0123456789abcdef"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HexEncode(AsBytes(c.plain)), c.encoded);
    auto decoded = HexDecode(c.encoded);
    ASSERT_TRUE(decoded) << c.encoded;
    EXPECT_EQ(AsChars(*decoded), c.plain);
  }
}

// Regression: HexDecode("") handed sodium_hex2bin the null data() of an empty
// vector, a parameter declared nonnull (UBSan: "null pointer passed as argument 1").
TEST(Hex, EmptyTextDecodesToNoBytes) {
  auto decoded = HexDecode("");
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

TEST(Hex, RoundTripsEveryLength) {
  for (size_t n = 0; n < 70; ++n) {
    std::string plain = testing::RandomBytes(n, n);
    auto decoded = HexDecode(HexEncode(AsBytes(plain)));
    ASSERT_TRUE(decoded) << n;
    EXPECT_EQ(AsChars(*decoded), plain);
  }
}

TEST(Hex, AcceptsUpperCase) {
  auto decoded = HexDecode("DEADBEEF");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(HexEncode(*decoded), "deadbeef");
}

TEST(Hex, RejectsMalformedText) {
  for (std::string_view bad : {"0", "abc", "zz", "0g", "de ad", "de:ad", " dead", "dead "}) {
    auto decoded = HexDecode(bad);
    ASSERT_FALSE(decoded) << "'" << bad << "'";
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Base64Url, EncodesRfc4648VectorsWithoutPadding) {
  // RFC 4648 §10, padding removed.
  const EncodingCase cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Base64UrlEncode(AsBytes(c.plain)), c.encoded);
    auto decoded = Base64UrlDecode(c.encoded);
    ASSERT_TRUE(decoded) << c.encoded;
    EXPECT_EQ(AsChars(*decoded), c.plain);
  }
}

TEST(Base64Url, UsesTheUrlSafeAlphabet) {
  // 0xfb 0xff is "+/8" in standard base64.
  EXPECT_EQ(Base64UrlEncode(AsBytes("\xfb\xff")), "-_8");
  auto decoded = Base64UrlDecode("-_8");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(AsChars(*decoded), "\xfb\xff");
}

TEST(Base64Url, RoundTripsEveryLength) {
  for (size_t n = 0; n < 100; ++n) {
    std::string plain = testing::RandomBytes(n, 1000 + n);
    std::string text = Base64UrlEncode(AsBytes(plain));
    EXPECT_EQ(text.find('='), std::string::npos);
    auto decoded = Base64UrlDecode(text);
    ASSERT_TRUE(decoded) << n;
    EXPECT_EQ(AsChars(*decoded), plain);
  }
}

TEST(Base64Url, RejectsNonZeroPaddingBits) {
  // "Zg" is "f"; "Zh".."Zv" carry the same byte with padding bits set, so a
  // lenient decoder would map several texts to one byte string.
  const std::string_view alphabet = "hijklmnopqrstuv";
  for (char c : alphabet) {
    std::string text = std::string("Z") + c;
    EXPECT_FALSE(Base64UrlDecode(text)) << text;
  }
  // Two bytes leave two padding bits: "Zm8" is "fo", "Zm9" is not.
  EXPECT_TRUE(Base64UrlDecode("Zm8"));
  EXPECT_FALSE(Base64UrlDecode("Zm9"));
}

TEST(Base64Url, RejectsOtherAlphabetsPaddingAndImpossibleLengths) {
  for (std::string_view bad : {"Zg==", "Zg=", "+/8", "Zm9v+A", "Zm9v/A", "Z", "Zm9vY", "Zm 9v",
                               "Zm9v\n", "Zm9v!"}) {
    auto decoded = Base64UrlDecode(bad);
    ASSERT_FALSE(decoded) << "'" << bad << "'";
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Base32, EncodesRfc4648VectorsWithoutPadding) {
  // RFC 4648 §10, padding removed.
  const EncodingCase cases[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& c : cases) EXPECT_EQ(Base32Encode(AsBytes(c.plain)), c.encoded) << c.plain;
}

TEST(Base32, EncodesThirtyTwoBytesInFiftyTwoCharacters) {
  Bytes zeros(32, 0);
  EXPECT_EQ(Base32Encode(zeros), std::string(52, 'A'));
  Bytes ones(32, 0xff);
  EXPECT_EQ(Base32Encode(ones), std::string(51, '7') + "Q");
}

TEST(BigEndian, RoundTripsAndPutsTheMostSignificantByteFirst) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708}, ~uint64_t{0}}) {
    Bytes out;
    AppendU64BE(out, v);
    ASSERT_EQ(out.size(), 8u);
    EXPECT_EQ(ReadU64BE(out), v);
  }
  Bytes out;
  AppendU64BE(out, 0x0102030405060708);
  EXPECT_EQ(out, (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  Bytes a{1, 2, 3};
  EXPECT_TRUE(ConstantTimeEqual(a, Bytes{1, 2, 3}));
  EXPECT_FALSE(ConstantTimeEqual(a, Bytes{1, 2, 4}));
  EXPECT_FALSE(ConstantTimeEqual(a, Bytes{1, 2}));
  EXPECT_FALSE(ConstantTimeEqual(a, Bytes{1, 2, 3, 0}));
  EXPECT_TRUE(ConstantTimeEqual(Bytes{}, Bytes{}));
}

}  // namespace
}  // namespace tandem
