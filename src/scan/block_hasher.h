// Block ids of a batch of chunks, on two cores at once when there is a
// helper: hashing (HMAC-SHA-256) is as costly per byte as finding the cut
// points, so a scan of a large file otherwise keeps only one core busy.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "crypto/record.h"

namespace tandem::scan {

// Runs a task on another thread, soon. The task may also run late, after
// HashChunks has returned: it then finds nothing left to do.
using Helper = std::function<void(std::function<void()>)>;

// Appends {id, size} of each chunk, in order, to `out`. This thread hashes
// whatever the helper has not taken, so the result never waits on a helper
// that has not started (the pool may be busy, or be this very thread).
void HashChunks(const crypto::Key32& id_key, std::span<const ByteView> chunks, const Helper& helper,
                std::vector<crypto::BlockRef>& out);

}  // namespace tandem::scan
