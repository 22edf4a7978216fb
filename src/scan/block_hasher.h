// Block ids of a batch of chunks, on two cores at once when there is a
// helper: hashing (HMAC-SHA-256) is as costly per byte as finding the cut
// points, so a scan of a large file otherwise keeps only one core busy.
#pragma once

#include <functional>
#include <memory>
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

struct HashBatch;

// HashChunks in two halves, so this thread can do other work (read and cut
// the next batch) while the helper hashes. Until Finish() returns (the
// destructor calls it) the chunks must stay valid and `out` must not change.
class PendingHashes {
 public:
  PendingHashes(const crypto::Key32& id_key, std::span<const ByteView> chunks, const Helper& helper,
                std::vector<crypto::BlockRef>& out);
  ~PendingHashes() { Finish(); }
  PendingHashes(const PendingHashes&) = delete;
  PendingHashes& operator=(const PendingHashes&) = delete;

  // Hashes whatever the helper has not taken, then waits for the rest.
  void Finish();

 private:
  std::shared_ptr<HashBatch> batch_;
};

}  // namespace tandem::scan
