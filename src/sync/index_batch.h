// Taking in a batch of records a peer sent: checking it (pure, on the pool:
// signatures and entries need no store) and applying it (on the engine's
// strand: what is newer is stored, concurrent versions are settled, and the
// paths to bring up to date are listed for the need queue).
//
// Threads: CheckRecords and CheckBatchSignature on any thread; CheckBatch is
// awaited on the event loop and runs them on the pool; ApplyRecords wherever
// the repository is used (the engine's strand).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/record.h"
#include "scan/conflict.h"
#include "scan/scanner.h"
#include "store/repository.h"
#include "sync/ignore_patterns.h"
#include "sync/need_queue.h"
#include "tandem.pb.h"

namespace tandem::sync {

// A record as received, checked.
struct CheckedRecord {
  crypto::Record record;
  std::optional<crypto::Entry> entry;  // what it says, if this replica can read it
  crypto::Key32 digest{};              // for the batch signature, when there is one
};

// Records [begin, end) of `batch`, each signed by the share key (or, when
// the batch is signed as a whole, with a signature of the right form: the
// batch signature vouches for it) and, on a replica that reads, opened.
// kCorrupt names the first record that fails.
Result<std::vector<CheckedRecord>> CheckRecords(const crypto::ShareSecrets& secrets, const wire::IndexBatch& batch,
                                                size_t begin, size_t end);

// For a batch signed as a whole: whether the signature covers the digests
// of `records` (all of the batch, in order). kCorrupt if not.
Result<void> CheckBatchSignature(const crypto::ShareSecrets& secrets, const wire::IndexBatch& batch,
                                 const std::vector<CheckedRecord>& records);

struct CheckedBatch {
  std::vector<CheckedRecord> records;
  store::PeerProgress progress;  // what the sender's store had given when it sent the batch
};

// All of `batch` checked on `pool` (CheckRecords, then CheckBatchSignature
// when it is signed as a whole), a large batch in two halves at once; the
// error of the first bad record in the batch's order.
asio::awaitable<Result<CheckedBatch>> CheckBatch(asio::thread_pool& pool, const crypto::ShareSecrets& secrets,
                                                 std::shared_ptr<const wire::IndexBatch> batch);

struct AppliedBatch {
  std::vector<std::pair<crypto::Locator, Need>> needs;  // paths to bring up to date
  size_t stored = 0;
  // The sequence numbers the batch took, when every one of them holds a
  // record exactly as the peer sent it: the peer need not get them back.
  std::optional<std::pair<uint64_t, uint64_t>> verbatim;
  // What the stored records change, path by path (as a scan names a
  // change), at most scan::kMaxChangesListed; and the conflict copies made.
  std::vector<scan::LocalChange> changes;
  std::vector<scan::ConflictCopy> conflict_copies;
};

// Stores each record newer than the one held (in one transaction, with the
// peer's progress `{epoch, last_seq}` for `device`). Concurrent versions are
// settled by a writer (scan/conflict.h, using the files on `disk`); read
// and blind replicas keep the version with the larger signature, as every
// relay does. Throws store::StoreError.
// `ignores`: the paths this device leaves alone (none when null); their
// records are stored (and passed on) like any other, but never become
// needs, and no conflict copy is made on this disk from or for them. While
// the rules are not known nothing becomes a need, but conflicts are
// settled with the disk as always: the local version is kept either way.
AppliedBatch ApplyRecords(store::Repository& repo, const crypto::ShareSecrets& secrets, uint64_t replica_id,
                          scan::LocalDisk disk, const std::string& device, const store::PeerProgress& progress,
                          const std::vector<CheckedRecord>& records, const IgnorePatterns* ignores = nullptr);

}  // namespace tandem::sync
