// IndexSender: the outgoing half of the index exchange. It answers a peer's
// IndexRequest with every record the peer has not seen, as batches of
// bounded size (a writer signs each batch as a whole), and then keeps each
// live peer up to date: whatever the store gains is pushed to it.
//
// Records are read through the RepositoryReader on the pool, so a scan
// holding the engine's strand does not stall the peers.
//
// Threads: the event loop only (owned by the ShareEngine). What it keeps
// per peer (cursor, live, pushing, dirty) is in the PeerSet's AttachedPeer.
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "store/repository.h"
#include "sync/peer_set.h"
#include "sync/share_context.h"
#include "tandem.pb.h"

namespace tandem::sync {

class IndexSender {
 public:
  // `epoch`: the store's, which a peer's progress names.
  IndexSender(const ShareContext& context, std::shared_ptr<store::RepositoryReader> reader, Bytes epoch);

  // Sends `link` what it has not seen, by `request`: the records after its
  // `since` when it names this store's epoch, all of them otherwise, then
  // pushes to it from then on. Throws store::StoreError.
  asio::awaitable<void> Answer(std::shared_ptr<AttachedPeer> link, const wire::IndexRequest& request);

  // The store gained records: every live peer gets them.
  void PushUpdates(const PeerSet& peers);

  // Nothing more is sent, to any peer.
  void Stop() { stopped_ = true; }

 private:
  asio::awaitable<void> SendIndex(std::shared_ptr<AttachedPeer> link, uint64_t since);
  asio::awaitable<void> PushTo(std::shared_ptr<AttachedPeer> link);
  // Sends `records` to `link` as batches of bounded size, then waits for room.
  asio::awaitable<void> SendRecords(std::shared_ptr<AttachedPeer> link, std::vector<store::StoredRecord> records,
                                    uint64_t last_seq, bool caught_up);
  // One IndexBatch frame of `records`, with the signatures `link` needs.
  wire::Frame BatchFrame(const AttachedPeer& link, std::span<store::StoredRecord> records, uint64_t last_seq,
                         bool caught_up) const;
  void StartPush(const std::shared_ptr<AttachedPeer>& link);

  const ShareContext& context_;
  const std::shared_ptr<store::RepositoryReader> reader_;
  const Bytes epoch_;
  bool stopped_ = false;
};

}  // namespace tandem::sync
