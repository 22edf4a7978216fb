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

std::shared_ptr<AttachedPeer> PeerSet::Turn::Next() {
  const auto& all = peers_.peers_;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& peer = all[(first_ + i) % all.size()];
    if (std::find(asked_.begin(), asked_.end(), peer->link.get()) != asked_.end()) continue;
    asked_.push_back(peer->link.get());
    return peer;
  }
  return nullptr;
}

}  // namespace tandem::sync
