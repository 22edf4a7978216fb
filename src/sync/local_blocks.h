// Reading a block out of a file on this device's disk, checked against its
// id: what a pull copies from local files instead of fetching, and what the
// block server sends. Pure disk reads; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "base/bytes.h"
#include "crypto/keyed_hash.h"
#include "store/repository.h"

namespace tandem::sync {

// The block's bytes read from `path` at `offset` into `out`, if they hash
// to `id`. With `indexed` (serving to a peer), a file whose stat data is
// still as indexed, before and after the read, holds what the scan hashed
// and is not hashed again: serving costs a read instead of a read and an
// HMAC. The receiver verifies every block it opens, so a rewrite the stat
// data cannot show (within one timestamp tick) costs it a retry, not a bad
// file. Blocks copied into this device's own files always pass `indexed` =
// nullptr: nobody after us would catch a bad one.
bool ReadVerifiedBlockInto(const std::filesystem::path& path, uint64_t offset, const crypto::BlockId& id,
                           const crypto::Key32& id_key, const store::BlockLocation::IndexedFile* indexed,
                           std::span<uint8_t> out);

std::optional<Bytes> ReadVerifiedBlock(const std::filesystem::path& path, uint64_t offset, uint32_t size,
                                       const crypto::BlockId& id, const crypto::Key32& id_key,
                                       const store::BlockLocation::IndexedFile* indexed = nullptr);

// Whether the file at `path` holds no data in its first `size` bytes (all
// holes: a part file whose fetch got nothing).
bool HoldsNoData(const std::filesystem::path& path, uint64_t size);

}  // namespace tandem::sync
