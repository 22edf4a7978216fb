#include "protocol/framing.h"

#include <gtest/gtest.h>

namespace tandem::protocol {
namespace {

wire::Frame Hello(const std::string& name) {
  wire::Frame frame;
  frame.mutable_hello()->set_protocol_version(kProtocolVersion);
  frame.mutable_hello()->set_device_name(name);
  return frame;
}

TEST(FrameDecoder, RoundTripsFramesFedOneByteAtATime) {
  Bytes stream = ToBytes(EncodeFrame(Hello("first")).bytes());
  EncodedFrame second = EncodeFrame(Hello("second"));
  stream.insert(stream.end(), second.data(), second.data() + second.size());
  FrameDecoder decoder;
  std::vector<std::string> names;
  for (uint8_t byte : stream) {
    decoder.Feed(ByteView(&byte, 1));
    auto next = decoder.Next();
    ASSERT_TRUE(next);
    if (*next) names.push_back((*next)->hello().device_name());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second"}));
}

TEST(FrameDecoder, WaitsForTheWholeFrame) {
  EncodedFrame frame = EncodeFrame(Hello("x"));
  FrameDecoder decoder;
  decoder.Feed(ByteView(frame.data(), frame.size() - 1));
  auto next = decoder.Next();
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);
}

TEST(FrameDecoder, RefusesAnOversizedLengthBeforeBufferingIt) {
  uint32_t size = kMaxFrameSize + 1;
  Bytes header{static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
               static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  FrameDecoder decoder;
  decoder.Feed(header);
  auto next = decoder.Next();
  ASSERT_FALSE(next);
  EXPECT_NE(next.error().message.find("exceeds the limit"), std::string::npos);
  decoder.Feed(EncodeFrame(Hello("after")).bytes());
  EXPECT_FALSE(decoder.Next()) << "a failed decoder stays failed";
}

TEST(FrameDecoder, RefusesGarbageAndEmptyFrames) {
  for (Bytes body : {Bytes{0xff, 0xff, 0xff, 0xff, 0x0f}, Bytes{}}) {
    Bytes frame{0, 0, 0, static_cast<uint8_t>(body.size())};
    frame.insert(frame.end(), body.begin(), body.end());
    FrameDecoder decoder;
    decoder.Feed(frame);
    auto next = decoder.Next();
    ASSERT_FALSE(next) << body.size();
    EXPECT_EQ(next.error().code, ErrorCode::kCorrupt);
  }
}

}  // namespace
}  // namespace tandem::protocol
