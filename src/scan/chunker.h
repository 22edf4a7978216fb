// Content-defined chunking (FastCDC with normalized chunking): cut points
// depend only on the bytes just before them, so an insertion or deletion moves
// only the chunks it touches and every other block keeps its id.
//
// StreamChunker reads a file through a fixed buffer: memory is bounded by the
// buffer size, whatever the file size. One instance per file, one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "fs/filesystem.h"

namespace tandem::scan {

struct ChunkerParams {
  size_t min_size = 16 * 1024;
  size_t avg_size = 64 * 1024;  // REQUIRES: a power of two
  size_t max_size = 256 * 1024;
};

// The length of the chunk that starts at data[0]: at most max_size, and
// data.size() only if no cut point lies within. Pure.
size_t FindCutPoint(ByteView data, const ChunkerParams& params);

class StreamChunker {
 public:
  // `expected_size`, when known, sizes the buffer for a small file (most
  // files are): a 4 KiB file needs no 1.25 MiB buffer. The chunks are the
  // same whatever it says; a file longer than it is read in more calls.
  StreamChunker(fs::ReadableFile& file, const ChunkerParams& params = {},
                uint64_t expected_size = UINT64_MAX);

  // The next chunk's bytes; empty at end of file. Chunks stay valid until
  // the second call after the one that gave them (see spare_).
  Result<ByteView> Next();

  // Every chunk that the bytes read so far decide (about a read's worth), in
  // file order; empty at end of file. The same chunks as Next() gives, in
  // fewer calls: for hashing several at once. A batch stays valid through the
  // next call, so it can be hashed while the next one is read and cut.
  Result<std::vector<ByteView>> NextBatch();

 private:
  Result<void> Fill();

  fs::ReadableFile& file_;
  ChunkerParams params_;
  std::unique_ptr<uint8_t[]> buffer_;  // not zeroed: every byte is read before use
  // The unconsumed tail moves here, and the two swap, when more must be
  // read: what was handed out from buffer_ outlives one more call. Only a
  // file longer than one read needs it.
  std::unique_ptr<uint8_t[]> spare_;
  size_t capacity_;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte read
  bool eof_ = false;
};

}  // namespace tandem::scan
