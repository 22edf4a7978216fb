// Frames on the wire: a 4-byte big-endian length, then a serialized
// wire::Frame. Pure functions and a pure incremental decoder: no sockets, no
// clocks, so they are tested with byte vectors and fuzzed directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "tandem.pb.h"

namespace tandem::protocol {

// 2: a sealed entry no longer repeats its record's block list.
inline constexpr uint32_t kProtocolVersion = 2;
// Big enough for a batch of records or a record with a very large block
// list; small enough that a hostile peer cannot make us buffer much.
inline constexpr size_t kMaxFrameSize = 32u << 20;
inline constexpr size_t kFrameHeaderSize = 4;

// A frame as it goes on the wire: the length prefix, then the serialized
// frame. The buffer is not zeroed first (serializing writes every byte):
// zeroing a 64 KiB block per frame cost as much as copying it.
class EncodedFrame {
 public:
  explicit EncodedFrame(size_t size) : data_(std::make_unique_for_overwrite<uint8_t[]>(size)), size_(size) {}
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  ByteView bytes() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_;
};

// REQUIRES: the frame fits kMaxFrameSize.
EncodedFrame EncodeFrame(const wire::Frame& frame);

// Splits a byte stream into frames. Feed it what arrives; take frames out
// with Next(). Holds at most one partial frame.
class FrameDecoder {
 public:
  void Feed(ByteView bytes);

  // The next complete frame; nullopt when more bytes are needed; kCorrupt
  // (and the decoder is dead) for an oversized or unparseable frame.
  Result<std::optional<wire::Frame>> Next();

  // Bytes of the frames Next() has given out so far, headers included: what
  // a transport with flow control credits back once those frames are used.
  uint64_t decoded_bytes() const { return decoded_bytes_; }

 private:
  Bytes buffer_;
  size_t consumed_ = 0;
  uint64_t decoded_bytes_ = 0;
  bool failed_ = false;
};

}  // namespace tandem::protocol
