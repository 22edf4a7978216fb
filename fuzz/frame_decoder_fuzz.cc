// The frame decoder over bytes as a hostile peer might send them: the first
// byte picks how the stream is cut into reads, the rest is the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <google/protobuf/stubs/logging.h>

#include "protocol/framing.h"

// Protobuf logs every string field that is not UTF-8; a fuzzer makes
// millions of them.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  tandem::protocol::FrameDecoder decoder;
  for (size_t at = 1; at < size; at += piece) {
    decoder.Feed({data + at, std::min(piece, size - at)});
    while (true) {
      auto next = decoder.Next();
      if (!next || !*next) break;
      // A frame that decoded encodes again within the limit.
      if ((*next)->ByteSizeLong() <= tandem::protocol::kMaxFrameSize) (void)tandem::protocol::EncodeFrame(**next);
    }
  }
  return 0;
}
