// PeerSession: the protocol on one authenticated connection. It says Hello,
// offers the shares this device has (bound to the TLS session, so nothing
// leaks to a peer that does not know them), attaches every share both sides
// offer (a ShareEndpoint: it never sees the engine itself), routes frames to
// them and matches block responses to requests. It is the PeerLink those
// shares talk back through. A malformed frame or a bad record closes the
// connection with a reason. Lives on the event loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/async.h"
#include "base/throttle.h"
#include "crypto/keyed_hash.h"
#include "net/connection.h"
#include "sync/peer_link.h"

namespace tandem::sync {

// What a session needs from the daemon's network (implemented by Network).
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Shares this device offers to peers right now (sync enabled).
  virtual std::vector<std::shared_ptr<ShareEndpoint>> OfferedShares() = 0;
  // false when a connection to the same device is already up and is the one
  // to keep; the new session then closes.
  virtual bool Register(const std::shared_ptr<class PeerSession>& session) = 0;
  virtual void Unregister(class PeerSession* session) = 0;
  // Whether a session with `device` is registered now.
  virtual bool HasSessionWith(const std::string& device) const = 0;
  virtual const std::string& device_name() const = 0;
  // The device's bandwidth limits, and whether they (and the shares') also
  // hold for peers on the local network.
  virtual Throttle& upload_limit() = 0;
  virtual Throttle& download_limit() = 0;
  virtual bool limits_apply_on_lan() const = 0;
};

inline constexpr std::chrono::seconds kPingInterval{15};
inline constexpr std::chrono::seconds kIdleTimeout{45};
// A block request fails when no block answer at all came on the connection
// for this long: one queued behind others that a limit paces waits on.
inline constexpr std::chrono::seconds kBlockTimeout{30};
// However long other answers keep coming, a request waits no longer than this.
inline constexpr std::chrono::minutes kBlockWaitCap{5};
inline constexpr size_t kMaxServedAtOnce = 256;
// Answers for a peer that asks faster than it reads: past the first (answers
// queued, plus answers being prepared at the largest block size) its block
// requests are answered "busy"; past the second (answers queued) it is
// disconnected. An honest peer keeps at most kRequestsInFlightPerPeer blocks
// (16 MiB at the largest) in flight on a connection and reads its answers:
// it is asked to wait only when it reads slowly, and never cut off.
inline constexpr size_t kQueuedAnswersRefuse = 24u << 20;
inline constexpr size_t kQueuedAnswersLimit = 48u << 20;
// An answer still being read and sealed counts as the largest a block can
// be (the chunker's 256 KiB, sealed): the requested size is the peer's word.
inline constexpr size_t kAnswerInProgressBytes = (256u << 10) + 64;
// Block requests this device keeps in flight on one connection, over all
// its shares: at the largest block size (16 MiB) within what the peer
// answers at once, so several busy shares never make it refuse us.
inline constexpr size_t kRequestsInFlightPerPeer = 64;
// A request the peer was too busy to answer (it is also serving others, or
// our answers wait unread) is asked again after a pause that doubles, this
// many times, before the block counts as not available there.
inline constexpr int kBusyRetries = 8;
inline constexpr std::chrono::milliseconds kFirstBusyPause{10};

class PeerSession final : public PeerLink, public std::enable_shared_from_this<PeerSession> {
 public:
  // `dial_address` is the configured address this session was dialled for,
  // empty for incoming connections.
  PeerSession(std::shared_ptr<net::Connection> connection, SessionHost& host, std::string dial_address);

  // Runs the session until the connection ends; never throws.
  asio::awaitable<void> Run();

  // Re-sends our offers (a share was added, removed, paused or resumed).
  void SendOffers();
  void Close(const std::string& reason);

  // PeerLink.
  void Send(wire::Frame frame) override { connection_->Send(frame); }
  asio::awaitable<void> WaitForRoom() override;
  asio::awaitable<Result<FetchedBlock>> FetchBlock(const std::string& offer, const crypto::BlockId& id,
                                                  uint32_t size) override;
  const std::string& device_id() const override { return connection_->peer_device_id(); }
  const Bytes& session_binding() const override { return connection_->session_binding(); }
  bool outgoing() const override { return connection_->outgoing(); }
  net::Transport transport() const { return connection_->transport(); }
  // The peer said, in its hello, that it holds no other session with us.
  bool peer_holds_no_other() const { return peer_holds_no_other_; }
  // This device's address the connection went out of is gone: moves the
  // connection to one that is here if its transport can (QUIC, dialled
  // side); false if it cannot (the caller closes it).
  bool MoveToNewAddress() { return connection_->MoveToNewAddress(); }
  bool closed() const override { return connection_->closed(); }
  std::string address() const override {
    return outgoing() ? dial_address_ : connection_->remote_endpoint();
  }
  std::string close_reason() const override { return close_reason_; }

  const std::string& device_name() const { return device_name_; }
  const std::string& dial_address() const { return dial_address_; }
  const asio::ip::address& local_address() const { return connection_->local_address(); }
  // No share in common (yet): a stranger, or a peer whose offers are on the way.
  bool SharesNothing() const { return common_.empty(); }
  std::chrono::steady_clock::time_point started() const { return started_; }

 private:
  struct PendingBlock {
    explicit PendingBlock(const asio::any_io_executor& ex) : signal(ex) {}
    asio::steady_timer signal;
    std::optional<wire::BlockResponse> response;
  };

  asio::awaitable<Result<void>> Handle(wire::Frame frame);
  Result<void> OnBlockRequest(wire::BlockRequest request);
  void OnOffers(const wire::ShareOffers& offers);
  // Attaches shares both sides offer now, detaches the rest. Runs when
  // either side's offers change.
  void RecomputeCommon();
  std::shared_ptr<ShareEndpoint> ShareFor(const std::string& offer) const;
  asio::awaitable<void> Serve(std::shared_ptr<ShareEndpoint> share, wire::BlockRequest request);
  asio::awaitable<void> Keepalive();
  // Returns once `bytes` of `share` may cross in `direction` under the
  // share's limit and the device's (at once for a peer on the local
  // network, unless the limits are set to hold there too).
  enum class Direction { kUpload, kDownload };
  asio::awaitable<void> Pace(ShareEndpoint& share, Direction direction, uint64_t bytes);
  void DetachAll();

  bool peer_holds_no_other_ = false;
  std::shared_ptr<net::Connection> connection_;
  SessionHost& host_;
  std::string dial_address_;
  std::string close_reason_;  // once the session ended
  std::string device_name_;
  const bool on_lan_;
  bool hello_received_ = false;
  std::map<std::string, std::shared_ptr<ShareEndpoint>> common_;  // by offer bytes
  std::set<std::string> their_offers_;
  std::set<std::string> readers_;  // offers of shares the peer proved it can read
  std::map<uint64_t, std::shared_ptr<PendingBlock>> pending_;
  uint64_t next_request_ = 1;
  size_t serving_ = 0;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_receive_;
  std::chrono::steady_clock::time_point last_block_response_;
  asio::steady_timer keepalive_;
  AsyncSlots requests_;  // our block requests in flight
};

}  // namespace tandem::sync
