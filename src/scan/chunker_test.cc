#include "scan/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "testing/temp_dir.h"

namespace tandem::scan {
namespace {

constexpr size_t kMiB = 1 << 20;

// An in-memory file that hands out at most `max_read` bytes per call (all
// that is asked when 0), or a random count from 1 to `max_read` when
// `random_reads`. Optionally fails once `fail_at` bytes have been read.
class MemoryFile final : public fs::ReadableFile {
 public:
  explicit MemoryFile(std::string_view data, size_t max_read = 0, bool random_reads = false)
      : data_(data), max_read_(max_read), random_reads_(random_reads) {}

  void FailAt(size_t offset) { fail_at_ = offset; }
  size_t largest_request() const { return largest_request_; }

  Result<size_t> Read(std::span<uint8_t> buffer) override {
    largest_request_ = std::max(largest_request_, buffer.size());
    if (offset_ >= fail_at_) return MakeError(ErrorCode::kIo, "injected read error");
    size_t n = std::min(buffer.size(), data_.size() - offset_);
    if (max_read_ > 0) {
      size_t limit = random_reads_ ? std::uniform_int_distribution<size_t>(1, max_read_)(rng_)
                                   : max_read_;
      n = std::min(n, limit);
    }
    n = std::min(n, fail_at_ - offset_);
    std::memcpy(buffer.data(), data_.data() + offset_, n);
    offset_ += n;
    return n;
  }

  Result<fs::FileInfo> Stat() override {
    return fs::FileInfo{.kind = fs::FileKind::kRegular, .size = data_.size()};
  }

 private:
  std::string_view data_;
  size_t max_read_;
  bool random_reads_;
  size_t offset_ = 0;
  size_t fail_at_ = SIZE_MAX;
  size_t largest_request_ = 0;
  std::mt19937_64 rng_{42};
};

ByteView View(std::string_view s) { return AsBytes(s); }

// Chunks of `data` by repeated FindCutPoint over the whole buffer.
std::vector<std::string_view> ChunkAll(std::string_view data, const ChunkerParams& params) {
  std::vector<std::string_view> chunks;
  size_t offset = 0;
  while (offset < data.size()) {
    size_t length = FindCutPoint(View(data.substr(offset)), params);
    EXPECT_GT(length, 0u);
    if (length == 0) break;
    chunks.push_back(data.substr(offset, length));
    offset += length;
  }
  return chunks;
}

// Chunks through StreamChunker, one at a time or (`batched`) by NextBatch.
std::vector<std::string> StreamAll(fs::ReadableFile& file, const ChunkerParams& params, bool batched = false) {
  StreamChunker chunker(file, params);
  std::vector<std::string> chunks;
  while (batched) {
    auto batch = chunker.NextBatch();
    EXPECT_TRUE(batch) << batch.error().message;
    if (!batch || batch->empty()) return chunks;
    for (ByteView chunk : *batch) {
      EXPECT_FALSE(chunk.empty());
      chunks.emplace_back(AsChars(chunk));
    }
  }
  while (true) {
    auto chunk = chunker.Next();
    EXPECT_TRUE(chunk) << chunk.error().message;
    if (!chunk || chunk->empty()) break;
    chunks.emplace_back(AsChars(*chunk));
  }
  return chunks;
}

std::vector<std::string> Copy(const std::vector<std::string_view>& views) {
  return std::vector<std::string>(views.begin(), views.end());
}

// How many chunks of `b` do not occur in `a`.
size_t NewChunks(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  std::set<std::string_view> known(a.begin(), a.end());
  return static_cast<size_t>(
      std::count_if(b.begin(), b.end(), [&](std::string_view c) { return !known.count(c); }));
}

// 16 MiB of random bytes, made once for the tests that need a big input.
const std::string& Big() {
  static const std::string big = testing::RandomBytes(16 * kMiB, 1);
  return big;
}

TEST(Chunker, BoundariesSurviveInsertion) {
  const ChunkerParams params;
  const std::vector<std::string_view> before = ChunkAll(Big(), params);
  ASSERT_GT(before.size(), 100u);
  for (size_t at : {size_t{0}, Big().size() / 3, Big().size() / 2, Big().size() - 1, Big().size()}) {
    std::string edited = Big();
    edited.insert(edited.begin() + static_cast<long>(at), '\x5a');
    const std::vector<std::string_view> after = ChunkAll(edited, params);
    EXPECT_LE(NewChunks(before, after), 3u) << "insertion at " << at;
    EXPECT_LE(NewChunks(after, before), 3u) << "insertion at " << at;
  }
}

TEST(Chunker, BoundariesSurviveDeletionAndOverwrite) {
  const ChunkerParams params;
  const std::vector<std::string_view> before = ChunkAll(Big(), params);
  std::string deleted = Big();
  deleted.erase(deleted.begin() + static_cast<long>(deleted.size() / 2));
  EXPECT_LE(NewChunks(before, ChunkAll(deleted, params)), 3u);

  std::string overwritten = Big();
  overwritten[overwritten.size() / 2] ^= 0x55;
  std::vector<std::string_view> after = ChunkAll(overwritten, params);
  EXPECT_LE(NewChunks(before, after), 3u);
  EXPECT_GE(NewChunks(before, after), 1u);
}

TEST(Chunker, ChunkSizesRespectMinAndMax) {
  const ChunkerParams param_sets[] = {
      {},
      {.min_size = 64, .avg_size = 256, .max_size = 1024},
      {.min_size = 2048, .avg_size = 8192, .max_size = 9000},
  };
  const std::string zeros(3 * kMiB, '\0');
  for (const ChunkerParams& params : param_sets) {
    for (const std::string* data : {&Big(), &zeros}) {
      std::vector<std::string_view> chunks = ChunkAll(*data, params);
      ASSERT_FALSE(chunks.empty());
      for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_LE(chunks[i].size(), params.max_size) << "chunk " << i;
        if (i + 1 < chunks.size()) {
          EXPECT_GT(chunks[i].size(), params.min_size) << "chunk " << i;
        } else {
          EXPECT_GE(chunks[i].size(), 1u);
        }
      }
    }
  }
}

TEST(Chunker, AverageSizeIsNearTheTarget) {
  const ChunkerParams params;
  std::vector<std::string_view> chunks = ChunkAll(Big(), params);
  double mean = static_cast<double>(Big().size()) / static_cast<double>(chunks.size());
  EXPECT_GT(mean, params.avg_size / 2.0);
  EXPECT_LT(mean, params.avg_size * 2.0);
}

TEST(Chunker, ChunksConcatenateToTheInput) {
  std::vector<std::string_view> chunks = ChunkAll(Big(), {});
  std::string joined;
  joined.reserve(Big().size());
  for (std::string_view c : chunks) joined.append(c);
  EXPECT_TRUE(joined == Big());
}

TEST(Chunker, EmptyInputGivesNoChunk) {
  EXPECT_EQ(FindCutPoint({}, {}), 0u);
  EXPECT_TRUE(ChunkAll("", {}).empty());
  MemoryFile file("");
  StreamChunker chunker(file);
  auto chunk = chunker.Next();
  ASSERT_TRUE(chunk);
  EXPECT_TRUE(chunk->empty());
  // And stays at end of file.
  auto again = chunker.Next();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(Chunker, InputUpToMinSizeIsOneChunk) {
  const ChunkerParams params;
  for (size_t n : {size_t{1}, size_t{100}, params.min_size}) {
    std::string data = testing::RandomBytes(n, n);
    EXPECT_EQ(FindCutPoint(View(data), params), n);
    std::vector<std::string_view> chunks = ChunkAll(data, params);
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0], data);
  }
}

TEST(StreamChunker, MatchesWholeBufferChunkingOfABigFile) {
  const ChunkerParams params;
  MemoryFile file(Big());
  std::vector<std::string> streamed = StreamAll(file, params);
  EXPECT_TRUE(streamed == Copy(ChunkAll(Big(), params)));
  MemoryFile again(Big());
  EXPECT_TRUE(StreamAll(again, params, /*batched=*/true) == streamed);
  // Memory stays bounded by the chunker's buffer, not the file size, and
  // without a size hint the reads are a full buffer's worth.
  EXPECT_LT(file.largest_request(), 4 * kMiB);
  EXPECT_GE(file.largest_request(), kMiB);
}

TEST(StreamChunker, MatchesWholeBufferChunkingAtBufferEdges) {
  const ChunkerParams params = {.min_size = 1024, .avg_size = 4096, .max_size = 16384};
  const size_t sizes[] = {1,         1023,          1024,          1025,
                          16384,     16385,         kMiB - 1,      kMiB,
                          kMiB + 1,  kMiB + 16384,  kMiB + 16385,  2 * kMiB + 16384 - 1,
                          2 * kMiB + 2 * 16384};
  for (size_t n : sizes) {
    std::string data = testing::RandomBytes(n, n);
    for (bool batched : {false, true}) {
      MemoryFile file(data);
      EXPECT_TRUE(StreamAll(file, params, batched) == Copy(ChunkAll(data, params))) << n << " batched " << batched;
    }
  }
}

TEST(StreamChunker, ShortReadsGiveIdenticalBoundaries) {
  const ChunkerParams params = {.min_size = 2048, .avg_size = 8192, .max_size = 32768};
  const std::string data = testing::RandomBytes(3 * kMiB + 12345, 11);
  const std::vector<std::string> expected = Copy(ChunkAll(data, params));
  struct Case {
    size_t max_read;
    bool random;
  };
  const Case cases[] = {{1, false},     {7, false},    {4096, false}, {65539, false},
                        {100, true},    {5000, true},  {300000, true}};
  for (const Case& c : cases) {
    for (bool batched : {false, true}) {
      MemoryFile file(data, c.max_read, c.random);
      EXPECT_TRUE(StreamAll(file, params, batched) == expected)
          << "reads of " << (c.random ? "up to " : "") << c.max_read << " bytes, batched " << batched;
    }
  }
}

TEST(StreamChunker, ReadErrorIsReported) {
  const std::string data = testing::RandomBytes(3 * kMiB, 12);
  MemoryFile file(data);
  file.FailAt(2 * kMiB);
  StreamChunker chunker(file);
  size_t total = 0;
  while (true) {
    auto chunk = chunker.Next();
    if (!chunk) {
      EXPECT_EQ(chunk.error().code, ErrorCode::kIo);
      break;
    }
    ASSERT_FALSE(chunk->empty()) << "reached end of file despite the read error";
    total += chunk->size();
  }
  EXPECT_LE(total, 2 * kMiB);
}

TEST(StreamChunker, ABatchStaysValidThroughTheNextCall) {
  // Hashing a batch while the next is read relies on this.
  std::string data = testing::RandomBytes(6 * kMiB + 12345, 9);
  MemoryFile file(data, 300 * 1024, /*random_reads=*/true);
  StreamChunker chunker(file, {});
  std::vector<ByteView> previous;
  size_t previous_offset = 0, offset = 0, batches = 0;
  while (true) {
    auto batch = chunker.NextBatch();
    ASSERT_TRUE(batch) << batch.error().message;
    size_t at = previous_offset;
    for (ByteView chunk : previous) {
      ASSERT_EQ(AsChars(chunk), std::string_view(data).substr(at, chunk.size())) << "batch " << batches;
      at += chunk.size();
    }
    if (batch->empty()) break;
    previous_offset = offset;
    for (ByteView chunk : *batch) offset += chunk.size();
    previous = std::move(*batch);
    ++batches;
  }
  EXPECT_EQ(offset, data.size());
  EXPECT_GT(batches, 3u) << "the file should take several reads";
}

}  // namespace
}  // namespace tandem::scan

namespace tandem::scan {
namespace {

// The cut points are part of the format: another device must cut the same
// file into the same blocks for them to dedupe. These were recorded from the
// first (byte-at-a-time) implementation.
TEST(Chunker, CutPointsAreThoseOfTheFormat) {
  std::string data = testing::RandomBytes(2 * kMiB, 11);
  std::vector<size_t> sizes;
  for (std::string_view chunk : ChunkAll(data, {})) sizes.push_back(chunk.size());
  // Small parameters cut often, so every position within an unrolled step is hit.
  uint64_t small_sum = 0, small_count = 0;
  for (std::string_view chunk : ChunkAll(data, {.min_size = 64, .avg_size = 256, .max_size = 1024})) {
    small_sum = small_sum * 31 + chunk.size();
    ++small_count;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{78193, 92421, 83788, 25621, 92681, 65010, 85215, 73594, 111474, 66872,
                                        79116, 70233, 52443, 69670, 106615, 82974, 17554, 73491, 68270, 43217,
                                        80210, 84731, 73202, 67491, 74026, 80805, 83597, 98188, 16450}));
  EXPECT_EQ(small_count, 7128u);
  EXPECT_EQ(small_sum, 5113871631996831856u);

  // Odd sizes put cuts, and the hand-over from the stricter mask to the
  // looser one, at every position within a four-byte step. Recorded by
  // building the old loop (3d83dc8:src/scan/chunker.cc) on its own.
  std::string odd_data = testing::RandomBytes(kMiB, 12);
  std::vector<std::pair<uint64_t, uint64_t>> odd;  // (rolled sum of sizes, count)
  for (auto params : {ChunkerParams{.min_size = 61, .avg_size = 256, .max_size = 1023},
                      ChunkerParams{.min_size = 3, .avg_size = 64, .max_size = 130}}) {
    uint64_t sum = 0, count = 0;
    for (std::string_view chunk : ChunkAll(odd_data, params)) sum = sum * 31 + chunk.size(), ++count;
    odd.emplace_back(sum, count);
  }
  EXPECT_EQ(odd, (std::vector<std::pair<uint64_t, uint64_t>>{{2650294136550592078u, 3585}, {2155979818458005138u, 14960}}));
}

}  // namespace
}  // namespace tandem::scan
