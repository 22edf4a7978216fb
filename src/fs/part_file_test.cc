#include "fs/part_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>

#include "testing/temp_dir.h"

namespace tandem::fs {
namespace {

using testing::RandomBytes;
using testing::ReadFile;
using testing::TempDir;

struct Piece {
  uint64_t offset;
  uint64_t size;
};

// Cuts [0, size) into pieces of 1..max_piece bytes, the way blocks of
// varying size follow one another in a file.
std::vector<Piece> Cut(uint64_t size, uint64_t max_piece, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Piece> pieces;
  for (uint64_t at = 0; at < size;) {
    uint64_t n = std::min<uint64_t>(size - at, 1 + rng() % max_piece);
    pieces.push_back({at, n});
    at += n;
  }
  return pieces;
}

// Whether the folder's filesystem takes O_DIRECT (ext4 does; tmpfs before
// Linux 6.6 does not), so a test can insist on direct writes where they work.
bool TakesDirectWrites(const std::filesystem::path& dir) {
  int fd = ::open((dir / "probe").c_str(), O_CREAT | O_WRONLY | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  std::filesystem::remove(dir / "probe");
  return true;
}

// Writes the pieces from two threads in a shuffled order, as block answers
// come back from the network.
void WriteShuffled(PartFile& part, const std::string& content, std::vector<Piece> pieces, uint32_t seed) {
  std::shuffle(pieces.begin(), pieces.end(), std::mt19937(seed));
  auto write_every_other = [&](size_t first) {
    for (size_t i = first; i < pieces.size(); i += 2) {
      ByteView bytes = AsBytes(content).subspan(pieces[i].offset, pieces[i].size);
      ASSERT_TRUE(part.Write(pieces[i].offset, bytes));
    }
  };
  std::thread other(write_every_other, 1);
  write_every_other(0);
  other.join();
}

TEST(PartFile, ALargeNewFileGoesAroundThePageCacheAndComesOutWhole) {
  TempDir dir;
  SegmentBufferPool buffers(64);
  // Whole segments, and a tail that is not a multiple of the alignment.
  const uint64_t size = 12 * PartFile::kSegmentSize + 12345;
  std::string content = RandomBytes(size, 1);
  {
    auto part = PartFile::Open(dir / "big.part", size, /*fresh=*/true, buffers);
    ASSERT_TRUE(part) << part.error().message;
    WriteShuffled(**part, content, Cut(size, 200'000, 2), 3);
    ASSERT_TRUE((*part)->Flush());
    if (TakesDirectWrites(dir.path())) {
      EXPECT_EQ((*part)->direct_bytes(), 12 * PartFile::kSegmentSize) << "every whole segment, around the page cache";
    } else {
      EXPECT_EQ((*part)->direct_bytes(), 0u);
    }
  }
  EXPECT_EQ(ReadFile(dir / "big.part"), content);
  EXPECT_EQ(buffers.allocated(), 0u) << "buffers are given back once no part file is open";
}

TEST(PartFile, SmallAndResumedFilesGoThroughThePageCache) {
  TempDir dir;
  SegmentBufferPool buffers(64);
  for (auto [size, fresh] : {std::pair<uint64_t, bool>{PartFile::kDirectFrom - 1, true},
                             std::pair<uint64_t, bool>{PartFile::kDirectFrom * 2, false}}) {
    std::string content = RandomBytes(size, size);
    auto part = PartFile::Open(dir / "f.part", size, fresh, buffers);
    ASSERT_TRUE(part);
    WriteShuffled(**part, content, Cut(size, 100'000, 4), 5);
    EXPECT_EQ((*part)->direct_bytes(), 0u);
    part->reset();
    EXPECT_EQ(ReadFile(dir / "f.part"), content);
  }
}

TEST(PartFile, WhatAnAbandonedFileHeldIsOnDiskForTheResume) {
  TempDir dir;
  SegmentBufferPool buffers(64);
  const uint64_t size = 10 * PartFile::kSegmentSize;
  std::string content = RandomBytes(size, 6);
  std::vector<Piece> pieces = Cut(size, 100'000, 7);
  std::vector<bool> written(pieces.size());
  {
    auto part = PartFile::Open(dir / "f.part", size, true, buffers);
    ASSERT_TRUE(part);
    // Every third piece: no segment completes, everything is held.
    for (size_t i = 0; i < pieces.size(); i += 3) {
      ASSERT_TRUE((*part)->Write(pieces[i].offset, AsBytes(content).subspan(pieces[i].offset, pieces[i].size)));
      written[i] = true;
    }
    EXPECT_EQ((*part)->direct_bytes(), 0u);
  }
  std::string on_disk = ReadFile(dir / "f.part");
  ASSERT_EQ(on_disk.size(), size);
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::string_view got = std::string_view(on_disk).substr(pieces[i].offset, pieces[i].size);
    if (written[i]) {
      EXPECT_EQ(got, std::string_view(content).substr(pieces[i].offset, pieces[i].size)) << "piece " << i;
    } else {
      EXPECT_EQ(got, std::string(pieces[i].size, '\0')) << "piece " << i;
    }
  }
}

TEST(PartFile, AResumeCanTellWhatWasNeverWritten) {
  TempDir dir;
  SegmentBufferPool buffers(64);
  const uint64_t size = 4 * PartFile::kSegmentSize;
  const uint64_t written_at = 2 * PartFile::kSegmentSize;
  auto part = PartFile::Open(dir / "f.part", size, /*fresh=*/false, buffers);
  ASSERT_TRUE(part);
  int fd = (*part)->fd();
  EXPECT_FALSE(MayHoldData(fd, 0, size)) << "a new part file is all holes";
  ASSERT_TRUE((*part)->Write(written_at, AsBytes(std::string_view("ten bytes!"))));
  ASSERT_TRUE((*part)->Flush());
  EXPECT_TRUE(MayHoldData(fd, 0, size));
  EXPECT_TRUE(MayHoldData(fd, written_at, 10));
  EXPECT_TRUE(MayHoldData(fd, written_at - 100, 200)) << "a range that ends inside the data";
  EXPECT_FALSE(MayHoldData(fd, 0, written_at)) << "a range that ends where the data starts";
  EXPECT_FALSE(MayHoldData(fd, written_at + PartFile::kSegmentSize / 2, PartFile::kSegmentSize / 2))
      << "after the data: holes to the end";
}

TEST(PartFile, WhenBuffersRunOutSegmentsGoThroughThePageCache) {
  TempDir dir;
  SegmentBufferPool buffers(2);
  const uint64_t size = 16 * PartFile::kSegmentSize;
  std::string content = RandomBytes(size, 8);
  auto part = PartFile::Open(dir / "f.part", size, true, buffers);
  ASSERT_TRUE(part);
  // Every segment is started before any is complete: only the first two
  // find a buffer, and only they go around the page cache.
  std::vector<Piece> starters, rest;
  for (Piece piece : Cut(size, 300'000, 9)) {
    while (piece.size > 0) {  // split at segment edges
      uint64_t n = std::min(piece.size, PartFile::kSegmentSize - piece.offset % PartFile::kSegmentSize);
      bool first_of_segment = piece.offset % PartFile::kSegmentSize == 0;
      (first_of_segment ? starters : rest).push_back({piece.offset, n});
      piece.offset += n, piece.size -= n;
    }
  }
  ASSERT_EQ(starters.size(), 16u);
  starters.insert(starters.end(), rest.begin(), rest.end());
  for (const Piece& piece : starters) {
    ASSERT_TRUE((*part)->Write(piece.offset, AsBytes(content).subspan(piece.offset, piece.size)));
  }
  ASSERT_TRUE((*part)->Flush());
  if (TakesDirectWrites(dir.path())) EXPECT_EQ((*part)->direct_bytes(), 2 * PartFile::kSegmentSize);
  part->reset();
  EXPECT_EQ(ReadFile(dir / "f.part"), content);
  EXPECT_EQ(buffers.allocated(), 0u);
}

TEST(PartFile, OverlappingBytesInAGatheredSegmentAreRefused) {
  TempDir dir;
  if (!TakesDirectWrites(dir.path())) GTEST_SKIP() << "this filesystem takes no O_DIRECT, so nothing is gathered";
  SegmentBufferPool buffers(4);
  const uint64_t size = PartFile::kDirectFrom;
  std::string first(1000, 'a'), second(1000, 'b');
  auto part = PartFile::Open(dir / "f.part", size, true, buffers);
  ASSERT_TRUE(part);
  ASSERT_TRUE((*part)->Write(5000, AsBytes(first)));
  for (uint64_t offset : {4001u, 5000u, 5999u}) {
    auto written = (*part)->Write(offset, AsBytes(second));
    ASSERT_FALSE(written) << offset;
    EXPECT_EQ(written.error().code, ErrorCode::kInternal);
  }
  part->reset();
  std::string on_disk = ReadFile(dir / "f.part");
  EXPECT_EQ(on_disk.substr(5000, 1000), first);
  EXPECT_EQ(on_disk.find('b'), std::string::npos);
}

TEST(PartFile, ABlockPastTheEndIsRefusedAndNothingIsWritten) {
  TempDir dir;
  SegmentBufferPool buffers(4);
  const uint64_t size = PartFile::kDirectFrom;
  auto part = PartFile::Open(dir / "f.part", size, true, buffers);
  ASSERT_TRUE(part);
  std::string block(100, 'x');
  for (uint64_t offset : {size - 99, size, size + 1, ~uint64_t{0} - 10}) {
    auto written = (*part)->Write(offset, AsBytes(block));
    ASSERT_FALSE(written) << offset;
    EXPECT_EQ(written.error().code, ErrorCode::kInvalidArgument);
  }
  part->reset();
  EXPECT_EQ(ReadFile(dir / "f.part"), std::string(size, '\0'));
}

TEST(PartFile, AFileThatCannotBeCreatedSaysWhy) {
  TempDir dir;
  SegmentBufferPool buffers(4);
  auto part = PartFile::Open(dir / "missing-folder" / "f.part", 10, true, buffers);
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().code, ErrorCode::kIo);
  EXPECT_NE(part.error().message.find("missing-folder/f.part"), std::string::npos) << part.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir / "missing-folder"));
}

}  // namespace
}  // namespace tandem::fs
