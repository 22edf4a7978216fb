#include "scan/chunker.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>

namespace tandem::scan {
namespace {

// The gear table is part of the format (it decides block boundaries, hence
// dedupe across versions): 256 values from splitmix64 with a fixed seed.
constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t state = 0x74616e64656d3031ULL;  // "tandem01"
  for (auto& value : gear) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    value = z ^ (z >> 31);
  }
  return gear;
}

constexpr std::array<uint64_t, 256> kGear = MakeGear();

// The gear hash shifts left, so its high bits depend on the most recent
// 64 bytes; masks take their bits from the top.
constexpr uint64_t TopBits(int n) { return n == 0 ? 0 : ~uint64_t{0} << (64 - n); }

constexpr size_t kReadSize = 1 << 20;

}  // namespace

namespace {

// The first i in [from, to) where the gear hash, rolled on from `fp`, has
// none of `mask`'s bits set; `to` if there is none. Same result as rolling
// one byte at a time (fp = (fp << 1) + kGear[byte], testing each), but the
// hash four bytes on is computed straight from the hash four bytes back:
// one shift and one add of a sum worked out beside it, instead of a chain
// of four shifts and four adds, which bounded the loop by its latency.
size_t FindMaskZero(const uint8_t* data, size_t from, size_t to, uint64_t& fp, uint64_t mask) {
  size_t i = from;
  for (; i + 4 <= to; i += 4) {
    uint64_t g0 = kGear[data[i]], g1 = kGear[data[i + 1]], g2 = kGear[data[i + 2]], g3 = kGear[data[i + 3]];
    uint64_t s1 = (g0 << 1) + g1;
    uint64_t s2 = (s1 << 1) + g2;
    uint64_t s3 = (s2 << 1) + g3;
    uint64_t f0 = (fp << 1) + g0;
    uint64_t f1 = (fp << 2) + s1;
    uint64_t f2 = (fp << 3) + s2;
    uint64_t f3 = (fp << 4) + s3;
    if (((f0 & mask) == 0) | ((f1 & mask) == 0) | ((f2 & mask) == 0) | ((f3 & mask) == 0)) {
      if ((f0 & mask) == 0) return fp = f0, i;
      if ((f1 & mask) == 0) return fp = f1, i + 1;
      if ((f2 & mask) == 0) return fp = f2, i + 2;
      return fp = f3, i + 3;
    }
    fp = f3;
  }
  for (; i < to; ++i) {
    fp = (fp << 1) + kGear[data[i]];
    if ((fp & mask) == 0) return i;
  }
  return to;
}

}  // namespace

size_t FindCutPoint(ByteView data, const ChunkerParams& params) {
  size_t n = data.size();
  if (n <= params.min_size) return n;
  if (n > params.max_size) n = params.max_size;
  size_t normal = params.avg_size < n ? params.avg_size : n;
  // Normalized chunking (level 2): harder to cut before the average size,
  // easier after, which narrows the size distribution around the average.
  int bits = std::countr_zero(params.avg_size);
  const uint64_t mask_small = TopBits(bits + 2);
  const uint64_t mask_large = TopBits(bits - 2);
  uint64_t fp = 0;
  size_t at = FindMaskZero(data.data(), params.min_size, normal, fp, mask_small);
  if (at < normal) return at + 1;
  at = FindMaskZero(data.data(), normal, n, fp, mask_large);
  return at < n ? at + 1 : n;
}

StreamChunker::StreamChunker(fs::ReadableFile& file, const ChunkerParams& params, uint64_t expected_size)
    // Room for more than max_size bytes ahead of a chunk start keeps every
    // cut point in view; one byte past the expected size sees the end of file.
    : file_(file), params_(params),
      capacity_(static_cast<size_t>(std::clamp<uint64_t>(std::max(expected_size, expected_size + 1),
                                                         params.max_size + 1, kReadSize + params.max_size))) {
  buffer_.reset(new uint8_t[capacity_]);
  assert(std::has_single_bit(params.avg_size));
  assert(params.min_size < params.avg_size && params.avg_size < params.max_size);
}

Result<void> StreamChunker::Fill() {
  // Keep at least max_size bytes ahead so every cut point is seen.
  if (!eof_ && begin_ > 0 && end_ - begin_ < params_.max_size) {
    if (!spare_) spare_.reset(new uint8_t[capacity_]);
    std::memcpy(spare_.get(), buffer_.get() + begin_, end_ - begin_);
    std::swap(buffer_, spare_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (!eof_ && end_ - begin_ < params_.max_size) {
    TANDEM_ASSIGN_OR_RETURN(size_t n, file_.Read({buffer_.get() + end_, capacity_ - end_}));
    if (n == 0) eof_ = true;
    end_ += n;
  }
  return Ok();
}

Result<ByteView> StreamChunker::Next() {
  TANDEM_RETURN_IF_ERROR(Fill());
  ByteView pending(buffer_.get() + begin_, end_ - begin_);
  size_t length = FindCutPoint(pending, params_);
  begin_ += length;
  return pending.first(length);
}

Result<std::vector<ByteView>> StreamChunker::NextBatch() {
  TANDEM_RETURN_IF_ERROR(Fill());
  std::vector<ByteView> chunks;
  // A cut point is final once max_size bytes after the chunk's start are
  // read (or the file has ended): stop where that no longer holds.
  while (begin_ < end_ && (eof_ || end_ - begin_ >= params_.max_size)) {
    ByteView pending(buffer_.get() + begin_, end_ - begin_);
    size_t length = FindCutPoint(pending, params_);
    chunks.push_back(pending.first(length));
    begin_ += length;
  }
  return chunks;
}

}  // namespace tandem::scan
