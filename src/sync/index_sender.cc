#include "sync/index_sender.h"

#include "base/async.h"
#include "crypto/record.h"

namespace tandem::sync {
namespace {

// Records per database read, and bytes per frame.
constexpr size_t kRecordsPerRead = 256;
constexpr size_t kBatchBytes = 4u << 20;

// Records as they go out, read on the pool. A writer's store keeps no
// signatures (store::Signatures): they are made again here, off the strand.
std::vector<store::StoredRecord> ReadToSend(store::RepositoryReader& reader, const crypto::ShareSecrets& secrets,
                                            uint64_t since) {
  std::vector<store::StoredRecord> records = reader.RecordsSince(since, kRecordsPerRead);
  for (store::StoredRecord& stored : records) crypto::RestoreSignature(secrets, stored.record);
  return records;
}

}  // namespace

IndexSender::IndexSender(const ShareContext& context, std::shared_ptr<store::RepositoryReader> reader, Bytes epoch)
    : context_(context), reader_(std::move(reader)), epoch_(std::move(epoch)) {}

asio::awaitable<void> IndexSender::Answer(std::shared_ptr<AttachedPeer> link, const wire::IndexRequest& request) {
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

asio::awaitable<void> IndexSender::SendRecords(std::shared_ptr<AttachedPeer> link,
                                               std::vector<store::StoredRecord> records, uint64_t last_seq,
                                               bool caught_up) {
  wire::Frame frame;
  const crypto::ShareSecrets& secrets = context_.secrets;
  // A writer signs each batch of two or more once more, as a whole: the
  // receiver then checks one signature instead of one per record.
  const bool sign_batches = secrets.CanWrite();
  std::vector<crypto::Key32> digests;
  auto start_batch = [&] {
    frame.Clear();
    auto* batch = frame.mutable_index_batch();
    batch->set_share(link->offer);
    batch->set_epoch(std::string(AsChars(epoch_)));
    digests.clear();
  };
  auto send_batch = [&] {
    if (digests.size() >= 2) {
      frame.mutable_index_batch()->set_batch_signature(std::string(AsChars(crypto::SignRecordBatch(secrets, digests))));
    }
    link->link->Send(frame);
  };
  start_batch();
  size_t bytes = 0;
  for (const store::StoredRecord& stored : records) {
    size_t size = stored.record.sealed_entry.size() + 128;
    if (bytes > 0 && bytes + size > kBatchBytes) {
      frame.mutable_index_batch()->set_last_seq(stored.seq - 1);
      send_batch();
      co_await link->link->WaitForRoom();
      start_batch();
      bytes = 0;
    }
    crypto::RecordToWire(stored.record, frame.mutable_index_batch()->add_records());
    if (sign_batches) digests.push_back(crypto::RecordDigest(secrets.share_id(), stored.record));
    bytes += size;
  }
  frame.mutable_index_batch()->set_last_seq(last_seq);
  frame.mutable_index_batch()->set_caught_up(caught_up);
  send_batch();
  co_await link->link->WaitForRoom();
}

asio::awaitable<void> IndexSender::SendIndex(std::shared_ptr<AttachedPeer> link, uint64_t since) {
  link->live = false;
  while (!link->link->closed() && !stopped_) {
    auto read_batch = [reader = reader_, &secrets = context_.secrets, since] {
      return ReadToSend(*reader, secrets, since);
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
      auto read_updates = [reader = reader_, &secrets = context_.secrets, since] {
        return ReadToSend(*reader, secrets, since);
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
