// PeerSet: the peers one share is attached to, what the index exchange has
// sent each, and the one rule for whom to ask next for a block.
//
// Threads: the event loop only (owned by the ShareEngine).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sync/peer_link.h"

namespace tandem::sync {

// One attached peer and where the index exchange stands with it.
struct AttachedPeer {
  std::shared_ptr<PeerLink> link;
  std::string offer;     // the share's offer on this link
  bool live = false;     // initial index sent; pushes follow
  bool pushing = false;  // a push coroutine is running
  bool dirty = false;    // records were added since the push last looked
  uint64_t cursor = 0;   // our last sequence sent
  bool writes = false;   // proved it writes (last index request): sent no record signatures it makes itself
  bool caught_up = false;  // it has sent us its whole index (a batch marked caught_up)
};

class PeerSet {
 public:
  // nullptr when `link` is attached already.
  std::shared_ptr<AttachedPeer> Add(std::shared_ptr<PeerLink> link, std::string offer);
  // Whether it was attached.
  bool Remove(const PeerLink* link);
  std::shared_ptr<AttachedPeer> Find(const PeerLink* link) const;
  const std::vector<std::shared_ptr<AttachedPeer>>& all() const { return peers_; }
  bool empty() const { return peers_.empty(); }

  // The walk of one request (a block) over the peers: each Next() gives a
  // peer not asked yet, or nullptr when every one was. Each turn starts one
  // further along than the last: requests that all took the same first
  // peer would queue there, and a request that took a fresh turn for every
  // try could, among concurrent ones, land on the peer that already said
  // no. A peer that attaches during the walk is asked too; one that leaves
  // is not. The PeerSet must outlive the turn.
  class Turn {
   public:
    std::shared_ptr<AttachedPeer> Next();

   private:
    friend class PeerSet;
    Turn(const PeerSet& peers, size_t first) : peers_(peers), first_(first) {}
    const PeerSet& peers_;
    const size_t first_;
    std::vector<const PeerLink*> asked_;
  };
  Turn StartTurn() { return Turn(*this, next_++); }

 private:
  std::vector<std::shared_ptr<AttachedPeer>> peers_;
  size_t next_ = 0;
};

}  // namespace tandem::sync
