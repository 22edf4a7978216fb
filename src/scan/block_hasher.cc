#include "scan/block_hasher.h"

#include <atomic>
#include <memory>

#include "crypto/keyed_hash.h"

namespace tandem::scan {
namespace {

// Shared with a helper that may outlive the call: it touches the chunks,
// the key and the output only for an index it claimed below `chunks.size()`,
// and the caller waits for every claimed index to be done.
struct Batch {
  std::span<const ByteView> chunks;
  const crypto::Key32* id_key = nullptr;
  crypto::BlockRef* out = nullptr;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
};

void Work(Batch& batch) {
  const size_t n = batch.chunks.size();
  for (size_t i; (i = batch.next.fetch_add(1)) < n;) {
    ByteView chunk = batch.chunks[i];
    batch.out[i] = {crypto::ComputeBlockId(*batch.id_key, chunk), static_cast<uint32_t>(chunk.size())};
    if (batch.done.fetch_add(1) + 1 == n) batch.done.notify_all();
  }
}

}  // namespace

void HashChunks(const crypto::Key32& id_key, std::span<const ByteView> chunks, const Helper& helper,
                std::vector<crypto::BlockRef>& out) {
  const size_t n = chunks.size();
  const size_t base = out.size();
  out.resize(base + n);
  auto batch = std::make_shared<Batch>();
  batch->chunks = chunks;
  batch->id_key = &id_key;
  batch->out = out.data() + base;
  if (helper && n > 1) helper([batch] { Work(*batch); });
  Work(*batch);
  for (size_t done; (done = batch->done.load()) < n;) batch->done.wait(done);
}

}  // namespace tandem::scan
