// The seam between a share's engine and the peers it syncs with, in both
// directions. A ShareEngine talks to a PeerLink (a PeerSession over TLS, or
// an in-memory pair in the engine's unit tests) and never to a connection;
// a session talks to a ShareEndpoint and never includes the engine. Either
// side can then be replaced in a test without the other knowing.
//
// Threads: both interfaces are used on the event loop only.
#pragma once

#include <asio/awaitable.hpp>
#include <exception>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/throttle.h"
#include "base/result.h"
#include "crypto/keyed_hash.h"
#include "crypto/keys.h"
#include "tandem.pb.h"

namespace tandem::sync {

// A block as a peer sent it: sealed, or plain inside TLS to a device that
// proved it can read the share (a reader gains nothing from the seal and
// would spend a core-second per GiB making and opening it).
struct FetchedBlock {
  std::string bytes;
  bool sealed = true;
};

// One connected peer, as a share's engine uses it.
class PeerLink {
 public:
  virtual ~PeerLink() = default;
  virtual const std::string& device_id() const = 0;
  // Identifies the connection for offers and reader proofs (the TLS
  // exporter on a real one).
  virtual const Bytes& session_binding() const = 0;
  // Whether this device dialled (the role a reader proof speaks for).
  virtual bool outgoing() const = 0;
  virtual bool closed() const = 0;
  // Where the peer is ("tcp/HOST:PORT"), and why the link ended once it
  // has (empty before); for what the user is shown.
  virtual std::string address() const { return {}; }
  virtual std::string close_reason() const { return {}; }
  // Queues a frame; never blocks.
  virtual void Send(wire::Frame frame) = 0;
  // Returns once the frames queued to this peer are few enough to add more.
  virtual asio::awaitable<void> WaitForRoom() = 0;
  // The block, or kNotFound (not available there, busy too long, timed
  // out, disconnected). Nothing in it is checked yet: that is the caller's.
  virtual asio::awaitable<Result<FetchedBlock>> FetchBlock(const std::string& offer, const crypto::BlockId& id,
                                                          uint32_t size) = 0;
};

// One share, as the sessions that carry it use it (ShareEngine).
class ShareEndpoint {
 public:
  virtual ~ShareEndpoint() = default;
  virtual const crypto::ShareSecrets& secrets() const = 0;
  // The share's own bandwidth limits (the device's are the session host's).
  virtual Throttle& upload_limit() = 0;
  virtual Throttle& download_limit() = 0;
  // The peer has the share in common (both offered it) / no longer has.
  virtual void Attach(std::shared_ptr<PeerLink> peer, std::string offer) = 0;
  virtual void Detach(PeerLink* peer) = 0;
  virtual asio::awaitable<void> OnIndexRequest(std::shared_ptr<PeerLink> peer, wire::IndexRequest request) = 0;
  // kCorrupt if the batch holds a record the share key did not sign: the
  // session then closes the connection with that reason. Batches of one
  // peer are handed over one at a time, in order.
  virtual asio::awaitable<Result<void>> OnIndexBatch(std::shared_ptr<PeerLink> peer, wire::IndexBatch batch) = 0;
  // `peer_reads`: the peer proved it can read this share, so a block goes
  // to it plain (TLS protects it on the way) rather than sealed.
  virtual asio::awaitable<wire::BlockResponse> OnBlockRequest(wire::BlockRequest request, bool peer_reads) = 0;
  // A coroutine the session ran for this share ended by throwing `error`
  // while doing `what`: logged, and a failure of the store stops the share.
  virtual void OnFailure(std::exception_ptr error, const char* what) = 0;
};

// The offer a share is known by on one connection: its id bound to the
// session, so a peer that does not know the share learns nothing from it.
std::string OfferOf(const crypto::ShareSecrets& secrets, const Bytes& session_binding);

// Whether `proof` shows that the peer at the other end of `link` can read
// the share (it holds the reader key, and speaks for its own end).
bool PeerProvesReading(const crypto::ShareSecrets& secrets, const PeerLink& link, ByteView proof);

// The proof this device sends on `link` that it can read the share.
Bytes ReaderProofFor(const crypto::ShareSecrets& secrets, const PeerLink& link);

// The same two for writing.
bool PeerProvesWriting(const crypto::ShareSecrets& secrets, const PeerLink& link, ByteView proof);
Bytes WriterProofFor(const crypto::ShareSecrets& secrets, const PeerLink& link);

}  // namespace tandem::sync
