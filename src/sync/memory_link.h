// MemoryLink: two shares' engines joined in one process, as a PeerSession
// pair would join them over TLS but with no socket: frames one side sends
// are handed to the other side's ShareEndpoint in order, index batches one
// at a time, and a block request is the other side's OnBlockRequest called
// directly. For the engine's unit tests: a whole sync, with real stores and
// real files, and no process, port or sleep. What a session adds on a real
// connection (offers, the limits on blocks served at once, "busy" answers)
// is not here: those are PeerSession's and tested with daemons.
//
// Threads: the event loop only.
#pragma once

#include <asio/io_context.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "sync/peer_link.h"

namespace tandem::sync {

class MemoryLink final : public PeerLink, public std::enable_shared_from_this<MemoryLink> {
 public:
  // Joins `a` and `b` (device ids `a_id`, `b_id`) and attaches each to the
  // other; returns the link `a` talks through, then `b`'s.
  static std::pair<std::shared_ptr<MemoryLink>, std::shared_ptr<MemoryLink>> Connect(
      asio::io_context& loop, std::shared_ptr<ShareEndpoint> a, std::string a_id, std::shared_ptr<ShareEndpoint> b,
      std::string b_id);

  // Blocks this side is sent pass through `tamper` first (a peer that sends
  // other bytes than the block asked for).
  void TamperWith(std::function<void(std::string& bytes)> tamper) { tamper_ = std::move(tamper); }
  // Both sides detach and every later call fails as on a closed connection.
  void Close(std::string reason);
  // Why the link closed ("" while open): a batch the other side refused says so here.
  std::string close_reason() const override { return close_reason_; }

  // PeerLink.
  const std::string& device_id() const override { return peer_id_; }
  const Bytes& session_binding() const override { return binding_; }
  bool outgoing() const override { return outgoing_; }
  bool closed() const override { return closed_; }
  void Send(wire::Frame frame) override;
  asio::awaitable<void> WaitForRoom() override;
  asio::awaitable<Result<FetchedBlock>> FetchBlock(const std::string& offer, const crypto::BlockId& id,
                                                  uint32_t size) override;

 private:
  MemoryLink(asio::io_context& loop, std::string peer_id, Bytes binding, bool outgoing)
      : loop_(loop), peer_id_(std::move(peer_id)), binding_(std::move(binding)), outgoing_(outgoing) {}
  // On the receiving side: hands queued frames to `local_` in order.
  asio::awaitable<void> Deliver();

  asio::io_context& loop_;
  const std::string peer_id_;  // the device at the other end
  const Bytes binding_;
  const bool outgoing_;
  std::shared_ptr<ShareEndpoint> local_;  // the share this side talks for
  std::weak_ptr<MemoryLink> other_;
  std::function<void(std::string&)> tamper_;
  std::deque<wire::Frame> inbox_;  // frames the other side sent, not yet delivered
  bool delivering_ = false;
  bool peer_reads_ = false;  // the other side proved it can read (in its index request)
  bool closed_ = false;
  std::string close_reason_;
};

}  // namespace tandem::sync
