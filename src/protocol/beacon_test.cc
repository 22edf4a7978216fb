#include "protocol/beacon.h"

#include <gtest/gtest.h>

namespace tandem::protocol {
namespace {

Beacon Sample(size_t tags) {
  Beacon beacon;
  for (size_t i = 0; i < kBeaconNonceSize; ++i) beacon.nonce[i] = static_cast<uint8_t>(i + 1);
  beacon.port = 20209;
  for (size_t t = 0; t < tags; ++t) {
    BeaconTag tag;
    tag.fill(static_cast<uint8_t>(0xa0 + t));
    beacon.tags.push_back(tag);
  }
  return beacon;
}

TEST(Beacon, RoundTripsWithOneTagAndWithTheMost) {
  for (size_t tags : {size_t{1}, kMaxBeaconTags}) {
    const Bytes bytes = EncodeBeacon(Sample(tags));
    EXPECT_EQ(bytes.size(), 24 + 16 * tags);
    auto decoded = DecodeBeacon(bytes);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, Sample(tags));
  }
}

TEST(Beacon, EveryTruncationAndEveryExtraByteIsRefused) {
  const Bytes bytes = EncodeBeacon(Sample(3));
  for (size_t length = 0; length < bytes.size(); ++length) {
    auto decoded = DecodeBeacon(ByteView(bytes.data(), length));
    ASSERT_FALSE(decoded) << length;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorrupt);
  }
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(DecodeBeacon(longer));
}

TEST(Beacon, AWrongMagicVersionPortOrTagCountIsRefused) {
  const Bytes good = EncodeBeacon(Sample(2));
  struct Case {
    const char* what;
    size_t at;
    uint8_t value;
  };
  for (const Case& c : {Case{"magic", 0, 'X'}, Case{"version", 4, 2}, Case{"tag count", 23, 3},
                        Case{"tag count zero", 23, 0}}) {
    Bytes bad = good;
    bad[c.at] = c.value;
    EXPECT_FALSE(DecodeBeacon(bad)) << c.what;
  }
  Bytes no_port = good;
  no_port[21] = no_port[22] = 0;
  EXPECT_FALSE(DecodeBeacon(no_port));
  Bytes too_many = EncodeBeacon(Sample(kMaxBeaconTags));
  too_many[23] = static_cast<uint8_t>(kMaxBeaconTags + 1);
  too_many.insert(too_many.end(), kBeaconTagSize, 0);
  EXPECT_FALSE(DecodeBeacon(too_many));
}

}  // namespace
}  // namespace tandem::protocol
