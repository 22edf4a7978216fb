#include "sync/peer_session.h"

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "net/interfaces.h"
#include "protocol/framing.h"

namespace tandem::sync {
namespace {

constexpr std::chrono::seconds kHelloTimeout{10};

}  // namespace

PeerSession::PeerSession(std::shared_ptr<net::Connection> connection, SessionHost& host,
                         std::string dial_address)
    : connection_(std::move(connection)), host_(host), dial_address_(std::move(dial_address)),
      on_lan_(net::OnLocalNetwork(connection_->remote_address(), net::LocalInterfaces())),
      last_receive_(std::chrono::steady_clock::now()), keepalive_(connection_->executor()),
      requests_(connection_->executor(), kRequestsInFlightPerPeer) {}

asio::awaitable<void> PeerSession::Run() {
  auto self = shared_from_this();
  connection_->Start();
  wire::Frame hello;
  hello.mutable_hello()->set_protocol_version(protocol::kProtocolVersion);
  hello.mutable_hello()->set_device_name(host_.device_name());
  hello.mutable_hello()->set_sole_session(!host_.HasSessionWith(connection_->peer_device_id()));
  connection_->Send(hello);

  std::string reason;
  try {
    // The first frame must be Hello, and soon.
    asio::steady_timer hello_deadline(co_await asio::this_coro::executor);
    hello_deadline.expires_after(kHelloTimeout);
    hello_deadline.async_wait([self](std::error_code ec) {
      if (!ec && !self->hello_received_) self->Close("no hello in time");
    });
    auto first = co_await connection_->Receive();
    hello_deadline.cancel();
    if (!first || first->body_case() != wire::Frame::kHello) {
      reason = first ? "expected hello" : first.error().message;
    } else if (first->hello().protocol_version() != protocol::kProtocolVersion) {
      reason = "protocol version " + std::to_string(first->hello().protocol_version()) + " is not supported";
    } else {
      hello_received_ = true;
      device_name_ = first->hello().device_name().substr(0, 64);
      peer_holds_no_other_ = first->hello().sole_session();
      last_receive_ = std::chrono::steady_clock::now();
      if (!host_.Register(self)) {
        reason = "duplicate connection";
      } else {
        spdlog::info("peer {} ({}) connected{}", device_id(), device_name_,
                     outgoing() ? " to " + dial_address_ : " from " + connection_->remote_endpoint());
        SendOffers();
        asio::co_spawn(co_await asio::this_coro::executor, Keepalive(),
                       LogIfThrew("keepalive", spdlog::level::debug));
        while (true) {
          auto frame = co_await connection_->Receive();
          if (!frame) {
            reason = frame.error().message;
            break;
          }
          last_receive_ = std::chrono::steady_clock::now();
          auto handled = co_await Handle(std::move(*frame));
          if (!handled) {
            reason = handled.error().message;
            break;
          }
          if (connection_->closed()) break;
        }
        host_.Unregister(this);
      }
    }
  } catch (const std::exception& e) {
    reason = e.what();
    host_.Unregister(this);
  }
  if (hello_received_) spdlog::info("peer {} disconnected: {}", device_id(), reason);
  close_reason_ = reason.empty() ? "the connection ended" : reason;
  Close(reason);
  DetachAll();
}

void PeerSession::Close(const std::string& reason) {
  connection_->Close(reason);
  keepalive_.cancel();
  for (auto& [id, pending] : pending_) pending->signal.cancel();
  requests_.WakeAll();
}

void PeerSession::DetachAll() {
  auto common = std::move(common_);
  common_.clear();
  for (auto& [offer, share] : common) share->Detach(this);
  for (auto& [id, pending] : pending_) pending->signal.cancel();
}

void PeerSession::SendOffers() {
  if (!hello_received_ || closed()) return;
  wire::Frame frame;
  for (const auto& share : host_.OfferedShares()) {
    frame.mutable_share_offers()->add_offers(OfferOf(share->secrets(), connection_->session_binding()));
  }
  if (!frame.has_share_offers()) frame.mutable_share_offers();
  connection_->Send(frame);
  RecomputeCommon();
}

void PeerSession::OnOffers(const wire::ShareOffers& offers) {
  their_offers_ = std::set<std::string>(offers.offers().begin(), offers.offers().end());
  RecomputeCommon();
}

void PeerSession::RecomputeCommon() {
  std::map<std::string, std::shared_ptr<ShareEndpoint>> now;
  for (const auto& share : host_.OfferedShares()) {
    std::string offer = OfferOf(share->secrets(), connection_->session_binding());
    if (their_offers_.count(offer)) now.emplace(offer, share);
  }
  for (auto it = common_.begin(); it != common_.end();) {
    if (!now.count(it->first)) {
      readers_.erase(it->first);
      it->second->Detach(this);
      it = common_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [offer, share] : now) {
    if (common_.emplace(offer, share).second) share->Attach(shared_from_this(), offer);
  }
}

std::shared_ptr<ShareEndpoint> PeerSession::ShareFor(const std::string& offer) const {
  auto it = common_.find(offer);
  return it == common_.end() ? nullptr : it->second;
}

asio::awaitable<Result<void>> PeerSession::Handle(wire::Frame frame) {
  auto self = shared_from_this();
  switch (frame.body_case()) {
    case wire::Frame::kShareOffers:
      if (frame.share_offers().offers_size() > 100000) co_return MakeError(ErrorCode::kCorrupt, "too many offers");
      OnOffers(frame.share_offers());
      co_return Ok();
    case wire::Frame::kIndexRequest: {
      auto share = ShareFor(frame.index_request().share());
      if (!share) co_return Ok();  // a share we stopped offering meanwhile
      // Each request says afresh what the peer can read (it may have been
      // re-added with a blind token since). The proof must speak for the
      // peer's end of the connection, not be ours sent back.
      if (PeerProvesReading(share->secrets(), *this, AsBytes(frame.index_request().reader_proof()))) {
        readers_.insert(frame.index_request().share());
      } else {
        readers_.erase(frame.index_request().share());
      }
      asio::co_spawn(co_await asio::this_coro::executor,
                     share->OnIndexRequest(self, std::move(*frame.mutable_index_request())),
                     [share](std::exception_ptr e) { share->OnFailure(e, "answering an index request"); });
      co_return Ok();
    }
    case wire::Frame::kIndexBatch: {
      auto share = ShareFor(frame.index_batch().share());
      if (!share) co_return Ok();
      // Applied in order, before the next frame: batches must not overtake.
      co_return co_await share->OnIndexBatch(self, std::move(*frame.mutable_index_batch()));
    }
    case wire::Frame::kBlockRequest:
      co_return OnBlockRequest(std::move(*frame.mutable_block_request()));
    case wire::Frame::kBlockResponse: {
      auto it = pending_.find(frame.block_response().request_id());
      if (it != pending_.end() && !frame.block_response().busy()) last_block_response_ = std::chrono::steady_clock::now();
      if (it != pending_.end()) {
        it->second->response = std::move(*frame.mutable_block_response());
        it->second->signal.cancel();
        pending_.erase(it);
      }
      co_return Ok();
    }
    case wire::Frame::kPing:
      co_return Ok();
    case wire::Frame::kClose:
      co_return MakeError(ErrorCode::kNotFound, "peer closed the connection: " + frame.close().reason().substr(0, 200));
    case wire::Frame::kHello:
      co_return MakeError(ErrorCode::kCorrupt, "hello sent twice");
    case wire::Frame::BODY_NOT_SET:
      break;
  }
  co_return MakeError(ErrorCode::kCorrupt, "unknown message");
}

// Answered by the share on the pool, unless the peer asks faster than it
// reads (then refused, or past the limit disconnected).
Result<void> PeerSession::OnBlockRequest(wire::BlockRequest request) {
  auto self = shared_from_this();
  // Only answers written and not read are evidence against the peer; the
  // answers on their way to the queue, counted at the largest block size,
  // only make it wait.
  if (connection_->queued_bytes() > kQueuedAnswersLimit) {
    return MakeError(ErrorCode::kCorrupt, "peer asks for blocks without reading the answers (" +
                                              std::to_string(connection_->queued_bytes() >> 20) + " MiB queued)");
  }
  auto share = ShareFor(request.share());
  bool backlog = connection_->queued_bytes() + serving_ * kAnswerInProgressBytes > kQueuedAnswersRefuse;
  if (!share || serving_ >= kMaxServedAtOnce || backlog) {
    spdlog::debug("peer {}: block request refused ({})", device_id(),
                  !share ? "share not in common" : backlog ? "answers not read yet" : "too many in progress");
    wire::Frame reply;
    reply.mutable_block_response()->set_request_id(request.request_id());
    reply.mutable_block_response()->set_not_available(true);
    reply.mutable_block_response()->set_busy(share != nullptr);
    connection_->Send(reply);
    return Ok();
  }
  ++serving_;
  asio::co_spawn(connection_->executor(), Serve(share, std::move(request)), [self](std::exception_ptr e) {
    --self->serving_;
    LogIfThrew("serving a block", spdlog::level::debug)(e);
  });
  return Ok();
}

asio::awaitable<void> PeerSession::Serve(std::shared_ptr<ShareEndpoint> share, wire::BlockRequest request) {
  // Paced before the block is read, so answers waiting for their turn hold
  // no memory; at the size asked, as sent at most (the peer's word).
  const uint64_t charged = std::min<uint64_t>(request.size(), kAnswerInProgressBytes);
  co_await Pace(*share, Direction::kUpload, charged);
  if (closed()) co_return;
  wire::Frame reply;
  bool peer_reads = readers_.count(request.share()) > 0;
  *reply.mutable_block_response() = co_await share->OnBlockRequest(std::move(request), peer_reads);
  // A peer that asked for less than the block is charged the rest.
  const wire::BlockResponse& answer = reply.block_response();
  const uint64_t sent = answer.plain().size() + answer.sealed().size();
  if (sent > charged) co_await Pace(*share, Direction::kUpload, sent - charged);
  connection_->Send(reply);
}

asio::awaitable<void> PeerSession::WaitForRoom() { co_await connection_->WaitForRoom(8u << 20); }

asio::awaitable<Result<FetchedBlock>> PeerSession::FetchBlock(const std::string& offer, const crypto::BlockId& id,
                                                       uint32_t size) {
  auto self = shared_from_this();
  AsyncSlots::Held slot = co_await requests_.Acquire([this] { return !closed(); });
  if (!slot) co_return MakeError(ErrorCode::kNotFound, "peer disconnected");
  auto executor = co_await asio::this_coro::executor;
  if (auto share = ShareFor(offer)) co_await Pace(*share, Direction::kDownload, size);
  for (int busy = 0;; ++busy) {
    // Closed during a busy pause: nothing would wake a new request's wait.
    if (closed()) co_return MakeError(ErrorCode::kNotFound, "peer disconnected");
    uint64_t request_id = next_request_++;
    auto pending = std::make_shared<PendingBlock>(executor);
    pending->signal.expires_after(kBlockTimeout);
    pending_[request_id] = pending;
    wire::Frame frame;
    auto* req = frame.mutable_block_request();
    req->set_request_id(request_id);
    req->set_share(offer);
    req->set_block_id(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
    req->set_size(size);
    connection_->Send(frame);
    std::error_code ec;
    const auto asked = std::chrono::steady_clock::now();
    co_await pending->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // Timed out while the peer still answers other blocks: ours is queued
    // behind them (its upload limit paces them), so it waits on, up to a cap.
    while (!pending->response && !closed() && pending_.count(request_id) &&
           std::chrono::steady_clock::now() - last_block_response_ < kBlockTimeout &&
           std::chrono::steady_clock::now() - asked < kBlockWaitCap) {
      pending->signal.expires_at(std::min(last_block_response_ + kBlockTimeout, asked + kBlockWaitCap));
      co_await pending->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    pending_.erase(request_id);
    if (!pending->response) {
      co_return MakeError(ErrorCode::kNotFound, closed() ? "peer disconnected" : "block request timed out");
    }
    wire::BlockResponse& response = *pending->response;
    if (response.busy() && busy < kBusyRetries && !closed()) {
      asio::steady_timer pause(executor, kFirstBusyPause * (1 << busy));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (response.not_available()) {
      co_return MakeError(ErrorCode::kNotFound, response.busy() ? "peer is busy" : "peer does not have the block");
    }
    if (response.has_plain()) co_return FetchedBlock{std::move(*response.mutable_plain()), false};
    co_return FetchedBlock{std::move(*response.mutable_sealed()), true};
  }
}

asio::awaitable<void> PeerSession::Pace(ShareEndpoint& share, Direction direction, uint64_t bytes) {
  if (on_lan_ && !host_.limits_apply_on_lan()) co_return;
  const bool up = direction == Direction::kUpload;
  // Turns go round the sessions; a closed session's blocks leave the line.
  const auto key = reinterpret_cast<uintptr_t>(this);
  auto open = [this] { return !closed(); };
  co_await (up ? share.upload_limit() : share.download_limit()).Take(bytes, key, open);
  co_await (up ? host_.upload_limit() : host_.download_limit()).Take(bytes, key, open);
}

asio::awaitable<void> PeerSession::Keepalive() {
  auto self = shared_from_this();
  while (!closed()) {
    keepalive_.expires_after(kPingInterval);
    std::error_code ec;
    co_await keepalive_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed()) break;
    if (std::chrono::steady_clock::now() - last_receive_ > kIdleTimeout) {
      Close("no traffic for " + std::to_string(kIdleTimeout.count()) + " s");
      break;
    }
    wire::Frame ping;
    ping.mutable_ping();
    connection_->Send(ping);
  }
}

}  // namespace tandem::sync
