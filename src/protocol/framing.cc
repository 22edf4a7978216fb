#include "protocol/framing.h"

#include <cassert>
#include <cstring>

namespace tandem::protocol {
namespace {

constexpr size_t kKeptBufferSize = 1u << 20;

}  // namespace

EncodedFrame EncodeFrame(const wire::Frame& frame) {
  size_t size = frame.ByteSizeLong();
  assert(size <= kMaxFrameSize);
  EncodedFrame encoded(kFrameHeaderSize + size);
  uint8_t* out = encoded.data();
  out[0] = static_cast<uint8_t>(size >> 24);
  out[1] = static_cast<uint8_t>(size >> 16);
  out[2] = static_cast<uint8_t>(size >> 8);
  out[3] = static_cast<uint8_t>(size);
  frame.SerializeToArray(out + kFrameHeaderSize, static_cast<int>(size));
  return encoded;
}

void FrameDecoder::Feed(ByteView bytes) {
  if (failed_) return;
  // Drop what was consumed before growing, so the buffer holds one frame at most.
  if (consumed_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(consumed_));
    consumed_ = 0;
    // One large frame (a record of a huge file) must not keep its buffer
    // for the life of the connection.
    if (buffer_.capacity() > kKeptBufferSize && buffer_.size() <= kKeptBufferSize) {
      Bytes smaller;
      smaller.reserve(kKeptBufferSize);
      smaller.assign(buffer_.begin(), buffer_.end());
      buffer_.swap(smaller);
    }
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<wire::Frame>> FrameDecoder::Next() {
  if (failed_) return MakeError(ErrorCode::kCorrupt, "connection already failed");
  size_t available = buffer_.size() - consumed_;
  if (available < kFrameHeaderSize) return std::optional<wire::Frame>();
  const uint8_t* p = buffer_.data() + consumed_;
  size_t size = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (size > kMaxFrameSize) {
    failed_ = true;
    return MakeError(ErrorCode::kCorrupt, "frame of " + std::to_string(size) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(kMaxFrameSize));
  }
  if (available < kFrameHeaderSize + size) return std::optional<wire::Frame>();
  wire::Frame frame;
  if (!frame.ParseFromArray(p + kFrameHeaderSize, static_cast<int>(size)) ||
      frame.body_case() == wire::Frame::BODY_NOT_SET) {
    failed_ = true;
    return MakeError(ErrorCode::kCorrupt, "malformed or unknown frame");
  }
  consumed_ += kFrameHeaderSize + size;
  decoded_bytes_ += kFrameHeaderSize + size;
  return std::optional<wire::Frame>(std::move(frame));
}

}  // namespace tandem::protocol
