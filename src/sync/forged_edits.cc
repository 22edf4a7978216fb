#include "sync/forged_edits.h"

#include "crypto/keyed_hash.h"
#include "crypto/seal.h"
#include "scan/chunker.h"

namespace tandem::sync {
namespace {

crypto::Entry EntryOnDisk(fs::Filesystem& fs, const crypto::ShareSecrets& secrets, const std::filesystem::path& root,
                          const scan::LocalChange& change, uint64_t device_short_id) {
  crypto::Entry entry{.path = *RelPath::Parse(change.path)};
  entry.kind = change.entry_kind;
  entry.device_short_id = device_short_id;
  entry.deleted = change.kind == scan::LocalChange::Kind::kDeleted;
  const std::filesystem::path full = root / change.path;
  auto info = fs.Lstat(full);
  if (!info || entry.deleted) return entry;
  entry.mode = info->mode;
  entry.mtime_ns = info->mtime_ns;
  auto file = fs.OpenRead(full);
  if (entry.kind != crypto::EntryKind::kFile || !file) return entry;
  scan::StreamChunker chunker(**file);
  for (auto chunk = chunker.Next(); chunk && !chunk->empty(); chunk = chunker.Next()) {
    entry.blocks.push_back({crypto::ComputeBlockId(secrets.id_key(), *chunk), static_cast<uint32_t>(chunk->size())});
    entry.size += chunk->size();
  }
  return entry;
}

}  // namespace

std::vector<crypto::Record> ForgeEditRecords(store::Repository& repo, fs::Filesystem& fs,
                                             const crypto::ShareSecrets& secrets, const std::filesystem::path& root,
                                             const std::vector<scan::LocalChange>& changes, uint64_t device_short_id,
                                             uint64_t replica_id) {
  std::vector<crypto::Record> records;
  crypto::ShareSecrets impostor = crypto::ShareSecrets::GenerateWrite();
  for (const scan::LocalChange& change : changes) {
    crypto::Entry entry = EntryOnDisk(fs, secrets, root, change, device_short_id);
    crypto::Record record;
    record.locator = crypto::ComputeLocator(secrets.locator_key(), change.path);
    if (auto stored = repo.GetRecord(record.locator)) record.vector = stored->record.vector;
    record.vector.Bump(replica_id);
    record.sealed_entry = crypto::SealEntry(secrets.entry_key(), crypto::EncodeSealedEntry(entry));
    if (!entry.deleted) record.blocks = entry.blocks;
    // A well-formed signature by a key that is not the share's.
    record.signature = impostor.Sign(crypto::SignedMessage(secrets.share_id(), record));
    records.push_back(std::move(record));
  }
  return records;
}

wire::Frame ForgedBatch(const crypto::ShareSecrets& secrets, const std::string& offer, const Bytes& epoch,
                        const std::vector<crypto::Record>& records, bool sign_batch) {
  wire::Frame frame;
  auto* batch = frame.mutable_index_batch();
  batch->set_share(offer);
  batch->set_epoch(std::string(AsChars(epoch)));
  for (const auto& record : records) crypto::RecordToWire(record, batch->add_records());
  if (sign_batch) {
    std::vector<crypto::Key32> digests;
    for (const auto& record : records) digests.push_back(crypto::RecordDigest(secrets.share_id(), record));
    crypto::ShareSecrets impostor = crypto::ShareSecrets::GenerateWrite();
    batch->set_batch_signature(std::string(AsChars(crypto::SignRecordBatch(impostor, digests))));
  }
  batch->set_last_seq(0);
  batch->set_caught_up(true);
  return frame;
}

}  // namespace tandem::sync
