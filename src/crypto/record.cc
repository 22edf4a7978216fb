#include "crypto/record.h"

#include <cstring>
#include <utility>

#include <sodium.h>

#include "crypto/seal.h"
#include "tandem.pb.h"

namespace tandem::crypto {
namespace {

// v2: every variable-length field is length-prefixed, so no bytes can move
// between the sealed entry and the block list under the same signature.
constexpr std::string_view kSignatureDomain = "tandem-record-v2";
constexpr std::string_view kBatchSignatureDomain = "tandem-record-batch-v1";
static_assert(kRecordSignatureSize == crypto_sign_BYTES);
constexpr size_t kBlockRefSize = 36;

Error Corrupt(const std::string& what) { return MakeError(ErrorCode::kCorrupt, what); }

void AppendU32BE(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

bool CopyKey(const std::string& from, Key32& to) {
  if (from.size() != to.size()) return false;
  std::memcpy(to.data(), from.data(), to.size());
  return true;
}

std::string KeyString(const Key32& key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

}  // namespace

const char* EntryKindName(EntryKind kind) {
  switch (kind) {
    case EntryKind::kFile: return "file";
    case EntryKind::kDirectory: return "directory";
    case EntryKind::kSymlink: return "symlink";
  }
  return "file";
}

Bytes EncodeEntry(const Entry& entry) {
  wire::Entry msg;
  msg.set_path(entry.path.str());
  msg.set_kind(static_cast<wire::EntryKind>(entry.kind));
  msg.set_size(entry.size);
  msg.set_mtime_ns(entry.mtime_ns);
  msg.set_mode(entry.mode);
  msg.set_symlink_target(entry.symlink_target);
  msg.set_deleted(entry.deleted);
  msg.set_device_short_id(entry.device_short_id);
  msg.mutable_blocks()->Reserve(static_cast<int>(entry.blocks.size()));
  for (const BlockRef& block : entry.blocks) {
    wire::BlockRef* ref = msg.add_blocks();
    ref->set_id(KeyString(block.id));
    ref->set_size(block.size);
  }
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Bytes EncodeSealedEntry(const Entry& entry) {
  Entry without_blocks = entry;
  without_blocks.blocks.clear();
  return EncodeEntry(without_blocks);
}

Result<Entry> DecodeEntry(ByteView bytes) {
  wire::Entry msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Corrupt("entry is not well-formed");
  }
  auto path = RelPath::Parse(msg.path());
  if (!path) return Corrupt("entry has an unsafe path: " + path.error().message);
  if (msg.kind() < wire::ENTRY_KIND_FILE || msg.kind() > wire::ENTRY_KIND_SYMLINK) {
    return Corrupt("entry has an unknown kind");
  }
  Entry entry{.path = *path};
  entry.kind = static_cast<EntryKind>(msg.kind());
  entry.size = msg.size();
  entry.mtime_ns = msg.mtime_ns();
  entry.mode = msg.mode() & 07777;
  entry.symlink_target = msg.symlink_target();
  entry.deleted = msg.deleted();
  entry.device_short_id = msg.device_short_id();
  entry.blocks.reserve(msg.blocks_size());
  uint64_t total = 0;
  for (const wire::BlockRef& ref : msg.blocks()) {
    BlockRef block;
    if (!CopyKey(ref.id(), block.id)) return Corrupt("entry has a block id of the wrong length");
    block.size = ref.size();
    total += block.size;
    entry.blocks.push_back(block);
  }
  // A sealed entry carries no block list (its record does); one that does
  // was sealed before protocol 2, and its list must still add up.
  if (!entry.blocks.empty() && entry.kind == EntryKind::kFile && !entry.deleted && total != entry.size) {
    return Corrupt("entry's blocks do not add up to its size");
  }
  return entry;
}

Bytes EncodeBlockList(const std::vector<BlockRef>& blocks) {
  Bytes out;
  out.reserve(blocks.size() * kBlockRefSize);
  for (const BlockRef& block : blocks) {
    out.insert(out.end(), block.id.begin(), block.id.end());
    AppendU32BE(out, block.size);
  }
  return out;
}

Result<std::vector<BlockRef>> DecodeBlockList(ByteView blob) {
  if (blob.size() % kBlockRefSize != 0) return Corrupt("block list has a partial entry");
  std::vector<BlockRef> blocks;
  blocks.reserve(blob.size() / kBlockRefSize);
  for (size_t i = 0; i < blob.size(); i += kBlockRefSize) {
    BlockRef block;
    std::memcpy(block.id.data(), blob.data() + i, block.id.size());
    for (size_t k = 32; k < kBlockRefSize; ++k) block.size = (block.size << 8) | blob[i + k];
    blocks.push_back(block);
  }
  return blocks;
}

Bytes SignedMessage(const Key32& share_id, const Record& record) {
  Bytes vector = record.vector.Canonical();
  Bytes blocks = EncodeBlockList(record.blocks);
  Bytes message(kSignatureDomain.begin(), kSignatureDomain.end());
  message.insert(message.end(), share_id.begin(), share_id.end());
  message.insert(message.end(), record.locator.begin(), record.locator.end());
  for (const Bytes* field : {&std::as_const(vector), &record.sealed_entry, &std::as_const(blocks)}) {
    AppendU32BE(message, static_cast<uint32_t>(field->size()));
    message.insert(message.end(), field->begin(), field->end());
  }
  return message;
}

Key32 RecordDigest(const Key32& share_id, const Record& record) {
  Bytes message = SignedMessage(share_id, record);
  AppendU32BE(message, static_cast<uint32_t>(record.signature.size()));
  message.insert(message.end(), record.signature.begin(), record.signature.end());
  return Sha256(message);
}

namespace {

// Domain, share and count, then the digests hashed: a batch signature can
// never pass for a record's, nor move to another share or another list.
Bytes BatchMessage(const Key32& share_id, std::span<const Key32> digests) {
  static_assert(sizeof(Key32) == 32, "digests are hashed as one contiguous run");
  Bytes message(kBatchSignatureDomain.begin(), kBatchSignatureDomain.end());
  message.insert(message.end(), share_id.begin(), share_id.end());
  AppendU32BE(message, static_cast<uint32_t>(digests.size()));
  Key32 all = Sha256({reinterpret_cast<const uint8_t*>(digests.data()), digests.size_bytes()});
  message.insert(message.end(), all.begin(), all.end());
  return message;
}

}  // namespace

Bytes SignRecordBatch(const ShareSecrets& secrets, std::span<const Key32> digests) {
  return secrets.Sign(BatchMessage(secrets.share_id(), digests));
}

Result<void> VerifyRecordBatch(const ShareSecrets& secrets, std::span<const Key32> digests, ByteView signature) {
  if (!secrets.Verify(BatchMessage(secrets.share_id(), digests), signature)) {
    return Corrupt("batch signature does not verify");
  }
  return Ok();
}

Record MakeRecord(const ShareSecrets& secrets, const Entry& entry, const VersionVector& vector) {
  Record record;
  record.locator = ComputeLocator(secrets.locator_key(), entry.path.str());
  record.vector = vector;
  record.sealed_entry = SealEntry(secrets.entry_key(), EncodeSealedEntry(entry));
  if (!entry.deleted) record.blocks = entry.blocks;
  record.signature = secrets.Sign(SignedMessage(secrets.share_id(), record));
  return record;
}

void RestoreSignature(const ShareSecrets& secrets, Record& record) {
  if (!record.signature.empty() || !secrets.CanWrite()) return;
  record.signature = secrets.Sign(SignedMessage(secrets.share_id(), record));
}

Result<void> VerifyRecord(const ShareSecrets& secrets, const Record& record) {
  if (!secrets.Verify(SignedMessage(secrets.share_id(), record), record.signature)) {
    return Corrupt("record signature does not verify");
  }
  return Ok();
}

Result<Entry> OpenRecord(const ShareSecrets& secrets, const Record& record) {
  TANDEM_ASSIGN_OR_RETURN(Bytes plain, OpenEntry(secrets.entry_key(), record.sealed_entry));
  TANDEM_ASSIGN_OR_RETURN(Entry entry, DecodeEntry(plain));
  if (ComputeLocator(secrets.locator_key(), entry.path.str()) != record.locator) {
    return Corrupt("record's locator does not match its path");
  }
  const bool holds_data = entry.kind == EntryKind::kFile && !entry.deleted;
  if (!entry.blocks.empty()) {
    // Sealed before protocol 2, with its own copy of the list.
    if (!holds_data || record.blocks != entry.blocks) {
      return Corrupt("record's block list does not match its entry");
    }
    return entry;
  }
  if (!holds_data) {
    if (!record.blocks.empty()) return Corrupt("record lists blocks for an entry that holds no data");
    return entry;
  }
  uint64_t total = 0;
  for (const BlockRef& block : record.blocks) total += block.size;
  if (total != entry.size) return Corrupt("record's blocks do not add up to its entry's size");
  entry.blocks = record.blocks;
  return entry;
}

void RecordToWire(const Record& record, wire::Record* msg) {
  msg->set_locator(KeyString(record.locator));
  for (const auto& [device, counter] : record.vector.counters()) {
    wire::VersionCounter* c = msg->add_vector();
    c->set_device(device);
    c->set_counter(counter);
  }
  msg->set_sealed_entry(std::string(AsChars(record.sealed_entry)));
  msg->set_signature(std::string(AsChars(record.signature)));
  Bytes blocks = EncodeBlockList(record.blocks);
  msg->set_blocks(std::string(AsChars(blocks)));
}

Bytes EncodeRecord(const Record& record) {
  wire::Record msg;
  RecordToWire(record, &msg);
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<Record> DecodeRecord(ByteView bytes) {
  wire::Record msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Corrupt("record is not well-formed");
  }
  return RecordFromWire(msg);
}

Result<Record> RecordFromWire(const wire::Record& msg) {
  Record record;
  if (!CopyKey(msg.locator(), record.locator)) return Corrupt("record locator has the wrong length");
  uint64_t previous = 0;
  bool first = true;
  for (const wire::VersionCounter& c : msg.vector()) {
    // Strictly increasing devices and no zero counters: one encoding per vector.
    if ((!first && c.device() <= previous) || c.counter() == 0) {
      return Corrupt("record version vector is not in canonical form");
    }
    record.vector.Set(c.device(), c.counter());
    previous = c.device();
    first = false;
  }
  record.sealed_entry = ToBytes(AsBytes(msg.sealed_entry()));
  record.signature = ToBytes(AsBytes(msg.signature()));
  TANDEM_ASSIGN_OR_RETURN(record.blocks, DecodeBlockList(AsBytes(msg.blocks())));
  return record;
}

}  // namespace tandem::crypto
