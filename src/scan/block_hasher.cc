#include "scan/block_hasher.h"

#include <atomic>
#include <memory>

#include "crypto/keyed_hash.h"

namespace tandem::scan {

// Shared with a helper that may outlive the call: it touches the chunks,
// and the output only for an index it claimed below `chunks.size()`,
// and the owner waits for every claimed index to be done.
struct HashBatch {
  std::span<const ByteView> chunks;
  crypto::Key32 id_key;  // a copy: the caller's may be a temporary
  crypto::BlockRef* out = nullptr;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
};

namespace {

void Work(HashBatch& batch) {
  const size_t n = batch.chunks.size();
  for (size_t i; (i = batch.next.fetch_add(1)) < n;) {
    ByteView chunk = batch.chunks[i];
    batch.out[i] = {crypto::ComputeBlockId(batch.id_key, chunk), static_cast<uint32_t>(chunk.size())};
    if (batch.done.fetch_add(1) + 1 == n) batch.done.notify_all();
  }
}

}  // namespace

PendingHashes::PendingHashes(const crypto::Key32& id_key, std::span<const ByteView> chunks, const Helper& helper,
                             std::vector<crypto::BlockRef>& out)
    : batch_(std::make_shared<HashBatch>()) {
  const size_t base = out.size();
  out.resize(base + chunks.size());
  batch_->chunks = chunks;
  batch_->id_key = id_key;
  batch_->out = out.data() + base;
  if (helper && chunks.size() > 1) helper([batch = batch_] { Work(*batch); });
}

void PendingHashes::Finish() {
  if (!batch_) return;
  Work(*batch_);
  const size_t n = batch_->chunks.size();
  for (size_t done; (done = batch_->done.load()) < n;) batch_->done.wait(done);
  batch_.reset();
}

void HashChunks(const crypto::Key32& id_key, std::span<const ByteView> chunks, const Helper& helper,
                std::vector<crypto::BlockRef>& out) {
  PendingHashes(id_key, chunks, helper, out).Finish();
}

}  // namespace tandem::scan
