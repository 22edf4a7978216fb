// Entries and records: one version of one path, in plaintext (Entry) and as
// replicated (Record: locator, version vector, sealed entry, signature).
// Only a write replica can make a record; every replica can verify one; read
// and write replicas can open one. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/rel_path.h"
#include "base/result.h"
#include "base/version_vector.h"
#include "crypto/keyed_hash.h"
#include "crypto/keys.h"
#include "tandem.pb.h"

namespace tandem::crypto {

enum class EntryKind { kFile = 0, kDirectory = 1, kSymlink = 2 };
const char* EntryKindName(EntryKind kind);

struct BlockRef {
  BlockId id{};
  uint32_t size = 0;
  bool operator==(const BlockRef&) const = default;
};

struct Entry {
  RelPath path;
  EntryKind kind = EntryKind::kFile;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;  // permission bits (07777) only
  std::string symlink_target;
  bool deleted = false;
  std::vector<BlockRef> blocks;
  uint64_t device_short_id = 0;  // who made this version
  bool operator==(const Entry&) const = default;
};

struct Record {
  Locator locator{};
  VersionVector vector;
  Bytes sealed_entry;
  // The entry's block list in the clear: what a blind replica fetches and
  // keeps. Signed with the rest; OpenRecord checks it matches the entry.
  std::vector<BlockRef> blocks;
  Bytes signature;
  bool operator==(const Record&) const = default;
};

Bytes EncodeEntry(const Entry& entry);
// What a record seals: the entry without its block list, which the record
// carries once, in the clear and signed (protocol 2). Records sealed before
// carry it twice; OpenRecord accepts both.
Bytes EncodeSealedEntry(const Entry& entry);
// kCorrupt unless `bytes` is a well-formed entry with a valid path (and a
// block list, when it has one, that adds up to its size).
Result<Entry> DecodeEntry(ByteView bytes);

// Seals `entry` and signs the result. REQUIRES: secrets.CanWrite().
Record MakeRecord(const ShareSecrets& secrets, const Entry& entry, const VersionVector& vector);

// Signs `record` again when it has no signature: a write replica's store
// keeps none (store::Signatures). Ed25519 signs a message one way only, so
// this is the signature it was made with. Before a record goes to a peer or
// is ordered by signature. Without the share key it stays empty, which no
// peer accepts.
void RestoreSignature(const ShareSecrets& secrets, Record& record);

// Ok if the share key signed exactly these locator, vector and sealed bytes.
Result<void> VerifyRecord(const ShareSecrets& secrets, const Record& record);

// The entry inside a verified record, with the record's block list, or
// kCorrupt when it does not open, its path does not hash to the record's
// locator, or the block list does not fit it. REQUIRES: secrets.CanRead().
Result<Entry> OpenRecord(const ShareSecrets& secrets, const Record& record);

// The wire (and storage) form of a record.
Bytes EncodeRecord(const Record& record);
Result<Record> DecodeRecord(ByteView bytes);
void RecordToWire(const Record& record, wire::Record* out);
// kCorrupt for a wrong-length locator or a non-canonical vector.
Result<Record> RecordFromWire(const wire::Record& msg);

// A block list as stored and sent: 36 bytes per block (id, then size as u32
// big-endian). Decoding fails with kCorrupt unless the length fits.
Bytes EncodeBlockList(const std::vector<BlockRef>& blocks);
Result<std::vector<BlockRef>> DecodeBlockList(ByteView blob);

inline constexpr size_t kRecordSignatureSize = 64;  // Ed25519

// The exact bytes a record signature covers.
Bytes SignedMessage(const Key32& share_id, const Record& record);

// Batch signatures. A write replica sending many records signs them once
// more as a batch, so the receiver checks one signature instead of one per
// record (the largest cost of a small file to it). Each record still carries
// its own signature, for replicas that relay it without the write key.
//
// What a record adds to a batch: SHA-256 over the bytes its own signature
// covers and that signature, so the batch vouches for the record exactly as
// it will be stored and relayed.
Key32 RecordDigest(const Key32& share_id, const Record& record);
// The share key's signature over these digests, in this order.
// REQUIRES: secrets.CanWrite().
Bytes SignRecordBatch(const ShareSecrets& secrets, std::span<const Key32> digests);
// Ok if the share key signed exactly these digests in this order.
Result<void> VerifyRecordBatch(const ShareSecrets& secrets, std::span<const Key32> digests, ByteView signature);

}  // namespace tandem::crypto
