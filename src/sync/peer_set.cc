#include "sync/peer_set.h"

#include <algorithm>

namespace tandem::sync {

std::shared_ptr<AttachedPeer> PeerSet::Add(std::shared_ptr<PeerLink> link, std::string offer) {
  if (Find(link.get())) return nullptr;
  auto peer = std::make_shared<AttachedPeer>();
  peer->link = std::move(link);
  peer->offer = std::move(offer);
  peers_.push_back(peer);
  return peer;
}

bool PeerSet::Remove(const PeerLink* link) {
  return std::erase_if(peers_, [&](const auto& peer) { return peer->link.get() == link; }) > 0;
}

std::shared_ptr<AttachedPeer> PeerSet::Find(const PeerLink* link) const {
  for (const auto& peer : peers_) {
    if (peer->link.get() == link) return peer;
  }
  return nullptr;
}

std::vector<std::shared_ptr<AttachedPeer>> PeerSet::InTurn() {
  std::vector<std::shared_ptr<AttachedPeer>> order;
  if (peers_.empty()) return order;
  const size_t first = next_++ % peers_.size();
  order.reserve(peers_.size());
  for (size_t i = 0; i < peers_.size(); ++i) order.push_back(peers_[(first + i) % peers_.size()]);
  return order;
}

}  // namespace tandem::sync
