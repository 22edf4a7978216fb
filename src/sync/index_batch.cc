#include "sync/index_batch.h"

#include <array>
#include <functional>

#include "base/async.h"

namespace tandem::sync {

Result<std::vector<CheckedRecord>> CheckRecords(const crypto::ShareSecrets& secrets, const wire::IndexBatch& batch,
                                                size_t begin, size_t end) {
  const bool batch_signed = !batch.batch_signature().empty();
  std::vector<CheckedRecord> out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    auto record = crypto::RecordFromWire(batch.records(static_cast<int>(i)));
    if (!record) return record.error();
    crypto::Key32 digest{};
    if (batch_signed) {
      // The batch vouches for the record's own signature, which replicas
      // that relay it check on their own: at least its form is checked here.
      // A writer is sent none (it proved it writes, and makes them itself).
      if (record->signature.empty() && !secrets.CanWrite()) {
        return MakeError(ErrorCode::kCorrupt, "peer sent a record without its signature");
      }
      if (!record->signature.empty() && record->signature.size() != crypto::kRecordSignatureSize) {
        return MakeError(ErrorCode::kCorrupt, "peer sent a record whose signature is malformed");
      }
      digest = crypto::RecordDigest(secrets.share_id(), *record);
    } else if (auto verified = crypto::VerifyRecord(secrets, *record); !verified) {
      return MakeError(ErrorCode::kCorrupt, "peer sent a record the share key did not sign");
    }
    std::optional<crypto::Entry> entry;
    if (secrets.CanRead()) {
      auto opened = crypto::OpenRecord(secrets, *record);
      if (!opened) return MakeError(ErrorCode::kCorrupt, "peer sent a record that does not open: " + opened.error().message);
      entry = std::move(*opened);
    }
    out.push_back({std::move(*record), std::move(entry), digest});
  }
  return out;
}

Result<void> CheckBatchSignature(const crypto::ShareSecrets& secrets, const wire::IndexBatch& batch,
                                 const std::vector<CheckedRecord>& records) {
  std::vector<crypto::Key32> digests;
  digests.reserve(records.size());
  for (const CheckedRecord& item : records) digests.push_back(item.digest);
  if (!crypto::VerifyRecordBatch(secrets, digests, AsBytes(batch.batch_signature()))) {
    return MakeError(ErrorCode::kCorrupt, "peer sent records the share key did not sign");
  }
  return Ok();
}

namespace {

// Whether `incoming` takes the place of `existing` (concurrent with it). A
// writer settles the two with records every device applies alike; those it
// wrote are added to `out`.
// Which paths this device leaves alone, for a batch (ApplyRecords).
struct Ignored {
  std::function<bool(std::string_view path)> needs;  // pulls nothing for
  std::function<bool(std::string_view path)> disk;   // reads and writes nothing at
};

bool WinsOver(store::Repository& repo, const crypto::ShareSecrets& secrets, uint64_t replica_id,
              const scan::LocalDisk& disk, const store::StoredRecord& existing, const CheckedRecord& incoming,
              const Ignored& ignored, AppliedBatch& out) {
  std::optional<crypto::Entry> mine;
  if (secrets.CanRead()) {
    auto opened = crypto::OpenRecord(secrets, existing.record);
    if (opened) mine = std::move(*opened);
  }
  if (!secrets.CanWrite() || !mine) {
    // Read and blind replicas cannot settle. They all keep the version
    // with the larger signature (what the writers pick for the same
    // content), so relays in a chain agree and pass one version on,
    // until a writer that sees both writes a dominating record.
    crypto::Record signed_existing = existing.record, signed_incoming = incoming.record;
    crypto::RestoreSignature(secrets, signed_existing);
    crypto::RestoreSignature(secrets, signed_incoming);
    return signed_incoming.signature > signed_existing.signature;
  }
  scan::LocalDisk local = disk;
  // A path ignored here gets no copy on this disk: the copy's record is
  // pulled, like any other, where it is not ignored.
  const bool leave_disk = ignored.disk(mine->path.str());
  scan::Settlement settled = scan::Settle(repo, secrets, replica_id, {existing.record, *mine},
                                          {incoming.record, *incoming.entry}, leave_disk ? nullptr : &local);
  for (const crypto::Locator& written : settled.written) {
    auto stored = repo.GetRecord(written);
    auto entry = stored ? crypto::OpenRecord(secrets, stored->record) : MakeError(ErrorCode::kNotFound, "");
    if (entry && ignored.needs(entry->path.str())) continue;
    out.needs.emplace_back(written, Need{entry && !entry->deleted ? entry->size : 0, entry && entry->deleted});
  }
  out.stored += settled.written.size();
  if (!settled.copy_path.empty()) out.conflict_copies.push_back({mine->path.str(), settled.copy_path});
  // Same content (nothing written, nothing unsettled): the incoming
  // version wins by signature order.
  return settled.written.empty() && !settled.a_wins && !settled.unsettled;
}

}  // namespace

// Checking signatures and opening entries needs no store: it runs on the
// pool, so the strand stays free for pulls while a large index arrives. A
// signature check (a few tens of microseconds) is most of a small file's
// cost to the receiver: a batch a writer signed as a whole is checked once,
// over the records' digests; any other record by record.
asio::awaitable<Result<CheckedBatch>> CheckBatch(asio::thread_pool& pool, const crypto::ShareSecrets& secrets,
                                                 std::shared_ptr<const wire::IndexBatch> batch) {
  // A live edit's batch of one or a few is not worth a second trip.
  const size_t n = static_cast<size_t>(batch->records_size());
  const size_t used = n >= 16 ? 2 : 1;
  std::array<std::optional<Result<std::vector<CheckedRecord>>>, 2> parts;
  std::function<asio::awaitable<void>(size_t)> check_part = [&](size_t k) -> asio::awaitable<void> {
    auto work = [&secrets, batch, begin = n * k / used, end = n * (k + 1) / used] {
      return CheckRecords(secrets, *batch, begin, end);
    };
    parts[k].emplace(co_await RunOn(pool.get_executor(), std::move(work)));
  };
  co_await ForEachConcurrently(used, used, std::move(check_part));
  CheckedBatch checked{.progress = {ToBytes(AsBytes(batch->epoch())), batch->last_seq()}};
  checked.records.reserve(n);
  for (size_t k = 0; k < used; ++k) {
    if (!*parts[k]) co_return parts[k]->error();  // the first bad record in the batch's order
    for (CheckedRecord& item : **parts[k]) checked.records.push_back(std::move(item));
  }
  if (!batch->batch_signature().empty()) {
    if (auto signed_ok = CheckBatchSignature(secrets, *batch, checked.records); !signed_ok) co_return signed_ok.error();
  }
  co_return checked;
}

AppliedBatch ApplyRecords(store::Repository& repo, const crypto::ShareSecrets& secrets, uint64_t replica_id,
                          scan::LocalDisk disk, const std::string& device, const store::PeerProgress& progress,
                          const std::vector<CheckedRecord>& records, const IgnorePatterns* ignores) {
  AppliedBatch out;
  // Not pulled here: ignored, or not known yet. Not touched on disk: ignored
  // by rules that are known.
  const std::shared_ptr<const scan::IgnoreRules> rules = ignores ? ignores->rules() : nullptr;
  const Ignored ignored{
      .needs = [&](std::string_view path) { return ignores && (!rules || rules->Check(path).ignored); },
      .disk = [&](std::string_view path) { return rules && rules->Check(path).ignored; }};
  auto tx = repo.Begin();
  const uint64_t seq_before = repo.LastSeq();
  size_t as_sent = 0;
  for (const CheckedRecord& item : records) {
    const crypto::Record& record = item.record;
    const std::optional<crypto::Entry>& entry = item.entry;
    auto existing = repo.GetRecord(record.locator);
    Ordering order = existing ? record.vector.Compare(existing->record.vector) : Ordering::kAfter;
    if (order == Ordering::kConcurrent) {
      if (!WinsOver(repo, secrets, replica_id, disk, *existing, item, ignored, out)) continue;
    } else if (order != Ordering::kAfter) {
      continue;
    }
    repo.PutRecord(record, entry ? std::string_view(entry->path.str()) : std::string_view());
    ++out.stored;
    if (entry && out.changes.size() < scan::kMaxChangesListed) {
      using Kind = scan::LocalChange::Kind;
      out.changes.push_back({entry->path.str(), entry->deleted ? Kind::kDeleted : existing ? Kind::kModified : Kind::kAdded,
                             entry->kind});
    }
    ++as_sent;
    if (entry && !entry->deleted && secrets.CanWrite() && !ignored.disk(entry->path.str())) {
      // Another device kept our version of a file as a conflict copy: make
      // the copy from the local file now, before the winner replaces it
      // (unless that file is one this device leaves alone).
      if (auto copy = scan::ParseConflictCopyPath(entry->path.str()); copy && !ignored.disk(copy->original)) {
        scan::CopyIndexedFile(repo, disk, copy->original, *entry, entry->path.str(), record.vector);
      }
    }
    if (entry) {
      if (!ignored.needs(entry->path.str())) {
        out.needs.emplace_back(record.locator, Need{entry->deleted ? 0 : entry->size, entry->deleted});
      }
    } else {
      repo.SetRecordBlocks(record.locator, record.blocks);
    }
  }
  repo.SetPeerProgress(device, progress);
  tx.Commit();
  if (as_sent > 0 && repo.LastSeq() - seq_before == as_sent) out.verbatim.emplace(seq_before + 1, repo.LastSeq());
  return out;
}

}  // namespace tandem::sync
