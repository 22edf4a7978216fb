#include "sync/index_sender.h"

#include "base/async.h"
#include "crypto/record.h"
#include "sync/peer_link.h"

namespace tandem::sync {
namespace {

// Records per database read, and bytes per frame.
constexpr size_t kRecordsPerRead = 256;
constexpr size_t kBatchBytes = 4u << 20;

// Records as they go out, read on the pool. A writer's store keeps no
// signatures (store::Signatures): for a peer that does not write they are
// made again here, off the loop.
std::vector<store::StoredRecord> ReadToSend(store::RepositoryReader& reader, const crypto::ShareSecrets& secrets,
                                            uint64_t since, bool peer_writes) {
  std::vector<store::StoredRecord> records = reader.RecordsSince(since, kRecordsPerRead);
  if (!peer_writes) {
    for (store::StoredRecord& stored : records) crypto::RestoreSignature(secrets, stored.record);
  }
  return records;
}

}  // namespace

IndexSender::IndexSender(const ShareContext& context, std::shared_ptr<store::RepositoryReader> reader, Bytes epoch)
    : context_(context), reader_(std::move(reader)), epoch_(std::move(epoch)) {}

asio::awaitable<void> IndexSender::Answer(std::shared_ptr<AttachedPeer> link, const wire::IndexRequest& request) {
  // Each request says afresh whether the peer writes (it may have been
  // re-added with another token since).
  link->writes = PeerProvesWriting(context_.secrets, *link->link, AsBytes(request.writer_proof()));
  const bool same_epoch = request.epoch() == std::string(AsChars(epoch_));
  uint64_t since = same_epoch ? request.since() : 0;
  if (since > 0) {
    // A peer that has seen more of this store than it holds was given
    // records a backup restored over: the numbers are being issued again,
    // so everything is sent again.
    auto last = [reader = reader_] { return reader->LastSeq(); };
    if (since > co_await RunOn(context_.pool.get_executor(), std::move(last))) since = 0;
  }
  co_await SendIndex(std::move(link), since);
}

wire::Frame IndexSender::BatchFrame(const AttachedPeer& link, std::span<store::StoredRecord> records, uint64_t last_seq,
                                    bool caught_up) const {
  const crypto::ShareSecrets& secrets = context_.secrets;
  // A writer signs each batch of two or more once more, as a whole: the
  // receiver then checks one signature instead of one per record. A peer
  // that proved it writes is then sent no record's own signature: it keeps
  // none and makes them itself. Anyone else gets every one.
  const bool signed_whole = secrets.CanWrite() && records.size() >= 2;
  const bool own_signatures = !(signed_whole && link.writes);
  wire::Frame frame;
  auto* batch = frame.mutable_index_batch();
  batch->set_share(link.offer);
  batch->set_epoch(std::string(AsChars(epoch_)));
  batch->set_last_seq(last_seq);
  batch->set_caught_up(caught_up);
  std::vector<crypto::Key32> digests;
  for (store::StoredRecord& stored : records) {
    if (own_signatures) {
      // Made on the pool for a peer that does not write; a batch of one
      // to a writer (a live edit) needs its signature too.
      crypto::RestoreSignature(secrets, stored.record);
    } else {
      stored.record.signature.clear();
    }
    crypto::RecordToWire(stored.record, batch->add_records());
    if (signed_whole) digests.push_back(crypto::RecordDigest(secrets.share_id(), stored.record));
  }
  if (signed_whole) batch->set_batch_signature(std::string(AsChars(crypto::SignRecordBatch(secrets, digests))));
  return frame;
}

asio::awaitable<void> IndexSender::SendRecords(std::shared_ptr<AttachedPeer> link,
                                               std::vector<store::StoredRecord> records, uint64_t last_seq,
                                               bool caught_up) {
  size_t begin = 0;
  do {
    // One frame: records up to kBatchBytes, at least one.
    size_t end = begin, bytes = 0;
    while (end < records.size()) {
      const size_t size = records[end].record.sealed_entry.size() + 128;
      if (end > begin && bytes + size > kBatchBytes) break;
      bytes += size;
      ++end;
    }
    const bool final = end == records.size();
    std::span<store::StoredRecord> part(records.data() + begin, end - begin);
    link->link->Send(BatchFrame(*link, part, final ? last_seq : records[end].seq - 1, final && caught_up));
    co_await link->link->WaitForRoom();
    begin = end;
  } while (begin < records.size());
}

asio::awaitable<void> IndexSender::SendIndex(std::shared_ptr<AttachedPeer> link, uint64_t since) {
  link->live = false;
  while (!link->link->closed() && !stopped_) {
    auto read_batch = [reader = reader_, &secrets = context_.secrets, since, writes = link->writes] {
      return ReadToSend(*reader, secrets, since, writes);
    };
    auto records = co_await RunOn(context_.pool.get_executor(), std::move(read_batch));
    bool done = records.size() < kRecordsPerRead;
    uint64_t last = records.empty() ? since : records.back().seq;
    co_await SendRecords(link, std::move(records), last, done);
    since = last;
    if (done) break;
  }
  link->cursor = since;
  link->live = true;
  link->dirty = true;  // anything stored while we were sending goes out now
  if (!link->pushing) StartPush(link);
}

void IndexSender::PushUpdates(const PeerSet& peers) {
  for (const auto& link : peers.all()) {
    link->dirty = true;
    if (link->live && !link->pushing) StartPush(link);
  }
}

void IndexSender::StartPush(const std::shared_ptr<AttachedPeer>& link) {
  // Marked here, not when the coroutine first runs: a second call before
  // then must not start a second push to the same peer.
  link->pushing = true;
  context_.spawn(PushTo(link), "index push");
}

asio::awaitable<void> IndexSender::PushTo(std::shared_ptr<AttachedPeer> link) {
  // A push that threw (the store failed) must not keep the peer from every later one.
  ClearOnExit pushed(link->pushing);
  while (link->dirty && !link->link->closed() && !stopped_) {
    link->dirty = false;
    while (true) {
      uint64_t since = link->cursor;
      auto read_updates = [reader = reader_, &secrets = context_.secrets, since, writes = link->writes] {
        return ReadToSend(*reader, secrets, since, writes);
      };
      auto records = co_await RunOn(context_.pool.get_executor(), std::move(read_updates));
      if (records.empty() || link->link->closed()) break;
      uint64_t last = records.back().seq;
      bool more = records.size() == kRecordsPerRead;
      co_await SendRecords(link, std::move(records), last, true);
      link->cursor = last;
      if (!more) break;
    }
  }
}

}  // namespace tandem::sync
