// PartFile: a file being assembled from blocks that arrive in any order,
// written from any thread. A large new file is gathered in memory one
// aligned segment at a time and each whole segment goes to the disk around
// the page cache (O_DIRECT): copying a gigabyte into the page cache cost the
// receiver more CPU than checking it, and on a VM whose memory is faulted in
// on first touch, several times more. Direct writes are flushed to the device
// as they go, so the fsync before the rename has little left. Everything else (small files, a resumed
// file, the file's unaligned tail, filesystems without O_DIRECT) is written
// through the page cache with writeback started as it goes, so the final
// fsync finds little left to do. Safe to call from several threads at once;
// whole segments are written by a thread the part file owns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "fs/filesystem.h"

namespace tandem::fs {

// Memory for segments under assembly, shared by the part files of one share
// so that many large files at once stay within one bound; a segment that
// finds none free goes through the page cache instead. Buffers are kept
// while any part file is open (faulting in fresh pages costs more than the
// copy they save) and given back when the last one closes. Thread-safe.
class SegmentBufferPool {
 public:
  explicit SegmentBufferPool(size_t max_buffers) : max_buffers_(max_buffers) {}
  ~SegmentBufferPool();
  SegmentBufferPool(const SegmentBufferPool&) = delete;
  SegmentBufferPool& operator=(const SegmentBufferPool&) = delete;

  // A buffer of PartFile::kSegmentSize bytes aligned for O_DIRECT, or
  // nullptr when all are in use.
  uint8_t* Take();
  void Give(uint8_t* buffer);
  void Join();   // a part file opened
  void Leave();  // a part file closed

  size_t allocated() const;

 private:
  const size_t max_buffers_;
  mutable std::mutex mu_;
  size_t users_ = 0;
  size_t allocated_ = 0;
  std::vector<uint8_t*> idle_;
};

// Whether any byte of the file in [offset, offset + size) was ever written.
// A part file left by a failed transfer is mostly holes: reading a hole
// costs as much as reading data (the kernel zero-fills it) and checking the
// zeros costs a hash, so a resume asks first. True when the filesystem
// cannot tell (no SEEK_DATA): the caller then reads.
bool MayHoldData(int fd, uint64_t offset, uint64_t size);

class PartFile final : public FileInAssembly {
 public:
  // Opens `path`, creating it if missing, and sets its size to `size`.
  // With `fresh`, every byte of the file is still to come, each once: only
  // then are segments gathered in memory (a segment is written when its last
  // byte arrives). kIo if the file cannot be created or sized.
  // Segment buffers come from `buffers`, which must outlive the part file.
  static Result<std::unique_ptr<PartFile>> Open(const std::filesystem::path& path, uint64_t size, bool fresh,
                                                SegmentBufferPool& buffers);
  // Writes what unfinished segments hold, so a later resume keeps it.
  ~PartFile() override;
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  // Places `data` at `offset`. kInvalidArgument past the end (nothing is
  // written), kInternal if it overlaps bytes already placed in a segment
  // being gathered (a fresh file's bytes come once), kIo if the disk
  // refused this or an earlier segment.
  Result<void> Write(uint64_t offset, ByteView data) override;
  // Waits for the segments being written, then writes what unfinished ones
  // hold (none when every byte came); kIo if the disk refused anything
  // since the file was opened. The file is not synced.
  // REQUIRES: no Write is running.
  Result<void> Flush() override;
  bool MayHoldData(uint64_t offset, uint64_t size) override { return fs::MayHoldData(fd_, offset, size); }
  Result<void> Stamp(uint32_t mode, int64_t mtime_ns) override;

  int fd() const { return fd_; }
  // Bytes that went around the page cache; for tests and benchmarks.
  uint64_t direct_bytes() const { return direct_bytes_.load(); }

  static constexpr uint64_t kSegmentSize = 1u << 20;
  static constexpr uint64_t kDirectFrom = 8u << 20;  // smaller files stay in the page cache

 private:
  struct Segment {
    uint8_t* buffer = nullptr;  // nullptr: this segment goes through the page cache
    uint64_t filled = 0;
    std::vector<std::pair<uint64_t, uint64_t>> pieces;  // (offset in segment, size) held
  };

  PartFile(int fd, int direct_fd, uint64_t size, SegmentBufferPool& buffers);
  uint64_t SegmentLength(uint64_t index) const;
  bool Gathers(uint64_t index) const;
  Result<void> WriteBuffered(uint64_t offset, ByteView data);
  Result<void> WriteSegment(uint64_t index, const uint8_t* buffer);
  void WriterLoop();

  const int fd_;
  const int direct_fd_;  // -1 when the file is not gathered or the filesystem refuses
  const uint64_t size_;
  SegmentBufferPool& buffers_;
  std::atomic<uint64_t> buffered_bytes_{0};
  std::atomic<uint64_t> direct_bytes_{0};
  // The filesystem turned down a direct write, or no writer thread could be
  // started: everything from then on goes through the page cache.
  std::atomic<bool> direct_off_{false};

  std::mutex mu_;
  std::map<uint64_t, Segment> segments_;  // being gathered, or set to go through the page cache
  // Whole segments go to the disk on a thread of their own: a direct write
  // and the periodic flush block, and on the two-thread worker pool they
  // held up the checking of the blocks behind them.
  std::thread writer_;
  std::condition_variable changed_;
  std::deque<std::pair<uint64_t, uint8_t*>> ready_;  // whole segments waiting for the writer
  bool writing_ = false;                             // the writer holds one
  bool closing_ = false;
  std::optional<Error> failure_;  // the first the disk reported
};

}  // namespace tandem::fs
