// FakeLink: a peer for unit tests of one stage. It keeps every frame it is
// sent and answers every block request with the same bytes, or "not
// available" when it has none.
//
// Threads: the test's loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sync/peer_link.h"

namespace tandem::sync {

class FakeLink final : public PeerLink {
 public:
  explicit FakeLink(std::string id, std::optional<FetchedBlock> answer = std::nullopt)
      : id_(std::move(id)), answer_(std::move(answer)) {}

  const std::string& device_id() const override { return id_; }
  const Bytes& session_binding() const override { return binding_; }
  bool outgoing() const override { return true; }
  bool closed() const override { return false; }
  void Send(wire::Frame frame) override { frames.push_back(std::move(frame)); }
  asio::awaitable<void> WaitForRoom() override { co_return; }
  asio::awaitable<Result<FetchedBlock>> FetchBlock(const std::string&, const crypto::BlockId&, uint32_t) override {
    ++asked;
    if (!answer_) co_return MakeError(ErrorCode::kNotFound, "not available");
    co_return *answer_;
  }

  // Records sent, over every index batch.
  size_t records() const {
    size_t n = 0;
    for (const auto& frame : frames) n += frame.index_batch().records_size();
    return n;
  }

  std::vector<wire::Frame> frames;
  int asked = 0;  // block requests

 private:
  std::string id_;
  Bytes binding_;
  std::optional<FetchedBlock> answer_;
};

}  // namespace tandem::sync
