#include "sync/memory_link.h"

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>

namespace tandem::sync {

std::pair<std::shared_ptr<MemoryLink>, std::shared_ptr<MemoryLink>> MemoryLink::Connect(
    asio::io_context& loop, std::shared_ptr<ShareEndpoint> a, std::string a_id, std::shared_ptr<ShareEndpoint> b,
    std::string b_id) {
  // Any bytes the two ends agree on serve as the binding: offers and reader
  // proofs are computed over it exactly as over a TLS session's.
  Bytes binding = ToBytes(AsBytes(std::string_view(a_id + "|" + b_id)));
  std::shared_ptr<MemoryLink> to_b(new MemoryLink(loop, b_id, binding, /*outgoing=*/true));
  std::shared_ptr<MemoryLink> to_a(new MemoryLink(loop, a_id, binding, /*outgoing=*/false));
  to_b->local_ = a;
  to_a->local_ = b;
  to_b->other_ = to_a;
  to_a->other_ = to_b;
  a->Attach(to_b, OfferOf(a->secrets(), binding));
  b->Attach(to_a, OfferOf(b->secrets(), binding));
  return {to_b, to_a};
}

void MemoryLink::Close(std::string reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = reason;
  inbox_.clear();
  local_->Detach(this);
  if (auto other = other_.lock()) other->Close(std::move(reason));
}

void MemoryLink::Send(wire::Frame frame) {
  auto other = other_.lock();
  if (closed_ || !other || other->closed_) return;
  other->inbox_.push_back(std::move(frame));
  if (other->delivering_) return;
  other->delivering_ = true;
  asio::co_spawn(loop_, other->Deliver(), [other](std::exception_ptr e) {
    if (!e) return;
    other->delivering_ = false;
    other->local_->OnFailure(e, "delivering a frame");
  });
}

asio::awaitable<void> MemoryLink::Deliver() {
  auto self = shared_from_this();
  while (!inbox_.empty() && !closed_) {
    wire::Frame frame = std::move(inbox_.front());
    inbox_.pop_front();
    switch (frame.body_case()) {
      case wire::Frame::kIndexRequest: {
        peer_reads_ = PeerProvesReading(local_->secrets(), *this, AsBytes(frame.index_request().reader_proof()));
        auto share = local_;
        asio::co_spawn(loop_, share->OnIndexRequest(self, std::move(*frame.mutable_index_request())),
                       [share](std::exception_ptr e) {
                         if (e) share->OnFailure(e, "answering an index request");
                       });
        break;
      }
      case wire::Frame::kIndexBatch: {
        // In order, one at a time: a batch must not overtake the one before.
        auto applied = co_await local_->OnIndexBatch(self, std::move(*frame.mutable_index_batch()));
        if (!applied) Close(applied.error().message);
        break;
      }
      default:
        break;  // offers, pings and block frames have no meaning on a link of one share
    }
  }
  // Here, with no suspension since the inbox was seen empty: a frame sent
  // from now on starts a new delivery.
  delivering_ = false;
}

asio::awaitable<void> MemoryLink::WaitForRoom() { co_return; }

asio::awaitable<Result<FetchedBlock>> MemoryLink::FetchBlock(const std::string& offer, const crypto::BlockId& id,
                                                             uint32_t size) {
  auto self = shared_from_this();
  auto other = other_.lock();
  if (closed_ || !other) co_return MakeError(ErrorCode::kNotFound, "peer disconnected");
  wire::BlockRequest request;
  request.set_share(offer);
  request.set_block_id(std::string(AsChars(id)));
  request.set_size(size);
  auto share = other->local_;
  wire::BlockResponse response = co_await share->OnBlockRequest(std::move(request), other->peer_reads_);
  if (closed_) co_return MakeError(ErrorCode::kNotFound, "peer disconnected");
  if (response.not_available()) co_return MakeError(ErrorCode::kNotFound, "peer does not have the block");
  FetchedBlock block;
  block.sealed = !response.has_plain();
  block.bytes = block.sealed ? std::move(*response.mutable_sealed()) : std::move(*response.mutable_plain());
  if (tamper_) tamper_(block.bytes);
  co_return block;
}

}  // namespace tandem::sync
