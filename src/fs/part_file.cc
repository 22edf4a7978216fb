#include "fs/part_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace tandem::fs {
namespace {

// Offsets, lengths and memory of a direct write are kept to this multiple,
// which covers every logical block size in common use.
constexpr uint64_t kDirectAlignment = 4096;

// Left to itself the kernel starts writing only once gigabytes are dirty, so
// the fsync before the rename would wait for the whole file; writeback
// started every few MiB lets the disk work while the network does.
constexpr uint64_t kWritebackEvery = 8u << 20;

// A direct write is done once the device has it, but the device (here the
// VM host) may still hold it in a cache that only a flush empties, and the
// fsync before the rename waited 0.1-0.8 s for a whole gigabyte's flush.
// Flushing every few dozen MiB as segments land leaves it almost nothing.
constexpr uint64_t kSyncEvery = 64u << 20;

Error IoError(const std::string& what, int err) { return MakeError(ErrorCode::kIo, what + ": " + ErrnoReason(err)); }

// Writes all of `data`; errno is kept from the failing call.
bool WriteAll(int fd, const uint8_t* data, uint64_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data += n, size -= static_cast<uint64_t>(n), offset += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

bool MayHoldData(int fd, uint64_t offset, uint64_t size) {
  off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) return errno != ENXIO;  // ENXIO: nothing but holes from offset on
  return static_cast<uint64_t>(data) - offset < size;
}

SegmentBufferPool::~SegmentBufferPool() {
  for (uint8_t* buffer : idle_) std::free(buffer);
}

uint8_t* SegmentBufferPool::Take() {
  std::lock_guard lock(mu_);
  if (!idle_.empty()) {
    uint8_t* buffer = idle_.back();
    idle_.pop_back();
    return buffer;
  }
  if (allocated_ >= max_buffers_) return nullptr;
  auto* buffer = static_cast<uint8_t*>(std::aligned_alloc(kDirectAlignment, PartFile::kSegmentSize));
  if (buffer) ++allocated_;
  return buffer;
}

void SegmentBufferPool::Give(uint8_t* buffer) {
  std::lock_guard lock(mu_);
  if (users_ > 0) {
    idle_.push_back(buffer);
    return;
  }
  std::free(buffer);
  --allocated_;
}

void SegmentBufferPool::Join() {
  std::lock_guard lock(mu_);
  ++users_;
}

void SegmentBufferPool::Leave() {
  std::lock_guard lock(mu_);
  if (--users_ > 0) return;
  for (uint8_t* buffer : idle_) std::free(buffer);
  allocated_ -= idle_.size();
  idle_.clear();
}

size_t SegmentBufferPool::allocated() const {
  std::lock_guard lock(mu_);
  return allocated_;
}

Result<std::unique_ptr<PartFile>> PartFile::Open(const std::filesystem::path& path, uint64_t size, bool fresh,
                                                 SegmentBufferPool& buffers) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;  // before the message's allocation
    return IoError("cannot create " + path.string(), err);
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("cannot size " + path.string(), err);
  }
  // A second descriptor, so the page-cache path keeps its ordinary one.
  // Filesystems without O_DIRECT refuse the open; that file then goes
  // through the page cache.
  int direct_fd = fresh && size >= kDirectFrom ? ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC) : -1;
  std::unique_ptr<PartFile> part(new PartFile(fd, direct_fd, size, buffers));
  if (direct_fd >= 0) {
    try {
      part->writer_ = std::thread([raw = part.get()] { raw->WriterLoop(); });
    } catch (const std::system_error&) {
      part->direct_off_ = true;  // no thread to spare (a limit on threads): the page cache it is
    }
  }
  return part;
}

PartFile::PartFile(int fd, int direct_fd, uint64_t size, SegmentBufferPool& buffers)
    : fd_(fd), direct_fd_(direct_fd), size_(size), buffers_(buffers) {
  buffers_.Join();
}

PartFile::~PartFile() {
  (void)Flush();  // best effort: what does not reach the disk is fetched again
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  changed_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (direct_fd_ >= 0) ::close(direct_fd_);
  ::close(fd_);
  buffers_.Leave();
}

uint64_t PartFile::SegmentLength(uint64_t index) const {
  return std::min(kSegmentSize, size_ - index * kSegmentSize);
}

bool PartFile::Gathers(uint64_t index) const {
  return direct_fd_ >= 0 && !direct_off_.load(std::memory_order_relaxed) &&
         SegmentLength(index) % kDirectAlignment == 0;
}

Result<void> PartFile::Write(uint64_t offset, ByteView data) {
  if (offset > size_ || data.size() > size_ - offset) {
    return MakeError(ErrorCode::kInvalidArgument, "a block beyond the end of the file being assembled");
  }
  while (!data.empty()) {
    uint64_t index = offset / kSegmentSize;
    uint64_t start = index * kSegmentSize;
    ByteView piece = data.first(std::min<uint64_t>(data.size(), start + SegmentLength(index) - offset));
    uint64_t at = offset - start;
    uint8_t* buffer = nullptr;
    if (Gathers(index)) {
      std::lock_guard lock(mu_);
      if (failure_) return *failure_;
      auto [found, added] = segments_.try_emplace(index);
      Segment& segment = found->second;
      if (added) segment.buffer = buffers_.Take();
      buffer = segment.buffer;
      // The piece is claimed before it is copied (unlocked): a piece that
      // overlaps another would make the count of bytes lie about the holes.
      if (buffer) {
        for (auto [other, other_size] : segment.pieces) {
          if (at < other + other_size && other < at + piece.size()) {
            return MakeError(ErrorCode::kInternal, "two blocks overlap in the file being assembled");
          }
        }
        segment.pieces.emplace_back(at, piece.size());
      }
    }
    if (!buffer) {
      if (auto written = WriteBuffered(offset, piece); !written) return written;
    } else {
      std::memcpy(buffer + at, piece.data(), piece.size());
      bool complete = false;
      {
        std::lock_guard lock(mu_);
        Segment& segment = segments_.at(index);
        segment.filled += piece.size();
        complete = segment.filled == SegmentLength(index);
        if (complete) {
          segments_.erase(index);
          ready_.emplace_back(index, buffer);
        }
      }
      if (complete) changed_.notify_all();
    }
    offset += piece.size();
    data = data.subspan(piece.size());
  }
  return Ok();
}

void PartFile::WriterLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return closing_ || !ready_.empty(); });
    if (ready_.empty()) return;
    auto [index, buffer] = ready_.front();
    ready_.pop_front();
    writing_ = true;
    lock.unlock();
    auto written = WriteSegment(index, buffer);
    buffers_.Give(buffer);
    lock.lock();
    writing_ = false;
    if (!written && !failure_) failure_ = written.error();
    changed_.notify_all();
  }
}

Result<void> PartFile::WriteBuffered(uint64_t offset, ByteView data) {
  if (!WriteAll(fd_, data.data(), data.size(), offset)) {
    int err = errno;
    return IoError("cannot write a block", err);
  }
  uint64_t before = buffered_bytes_.fetch_add(data.size());
  if ((before + data.size()) / kWritebackEvery != before / kWritebackEvery) {
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  return Ok();
}

Result<void> PartFile::WriteSegment(uint64_t index, const uint8_t* buffer) {
  uint64_t length = SegmentLength(index);
  uint64_t offset = index * kSegmentSize;
  if (direct_off_.load(std::memory_order_relaxed)) return WriteBuffered(offset, ByteView(buffer, length));
  ssize_t n;
  do {
    n = ::pwrite(direct_fd_, buffer, length, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  int err = errno;
  if (n < 0 && err != EINVAL) return IoError("cannot write a block", err);
  uint64_t done = n > 0 ? static_cast<uint64_t>(n) : 0;
  // EINVAL (this filesystem wants another alignment) or a short write: the
  // rest, and every later segment, go through the page cache.
  if (done < length) direct_off_ = true;
  uint64_t before = direct_bytes_.fetch_add(done);
  // An error is reported once, to this descriptor: the fsync before the
  // rename would not see it again.
  if ((before + done) / kSyncEvery != before / kSyncEvery && ::fdatasync(direct_fd_) != 0) {
    err = errno;
    return IoError("cannot flush a block to disk", err);
  }
  if (done == length) return Ok();
  return WriteBuffered(offset + done, ByteView(buffer + done, length - done));
}

Result<void> PartFile::Flush() {
  std::map<uint64_t, Segment> held;
  Result<void> result = Ok();
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return ready_.empty() && !writing_; });
    held.swap(segments_);
    if (failure_) result = *failure_;
  }
  for (auto& [index, segment] : held) {
    if (!segment.buffer) continue;
    for (auto [at, size] : segment.pieces) {
      if (!result) break;
      result = WriteBuffered(index * kSegmentSize + at, ByteView(segment.buffer + at, size));
    }
    buffers_.Give(segment.buffer);
  }
  return result;
}

Result<void> PartFile::Stamp(uint32_t mode, int64_t mtime_ns) {
  if (SetModeAndMtime(fd_, mode, mtime_ns)) return Ok();
  return IoError("cannot set its mode and time", errno);
}

}  // namespace tandem::fs
