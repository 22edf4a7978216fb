// Authenticated encryption of entries and blocks (XChaCha20-Poly1305).
// Entries take a random nonce: two equal entries must not look equal.
// Blocks take their nonce from their id, so sealing is deterministic: equal
// blocks dedupe, and any holder, even a blind one, serves the same bytes.
// Pure functions, any thread.
#pragma once

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keyed_hash.h"

namespace tandem::crypto {

inline constexpr size_t kSealOverhead = 16;           // Poly1305 tag
inline constexpr size_t kEntrySealOverhead = 24 + 16;  // nonce + tag

// nonce || ciphertext || tag.
Bytes SealEntry(const Key32& entry_key, ByteView plaintext);
// The plaintext, or kCorrupt when the bytes were not sealed by this key.
Result<Bytes> OpenEntry(const Key32& entry_key, ByteView sealed);

// ciphertext || tag, the block id bound as associated data.
Bytes SealBlock(const Key32& block_key, const BlockId& id, ByteView plaintext);
// The same into `out`, which must hold plaintext.size() + kSealOverhead bytes:
// for a caller that hands the bytes on without another copy.
void SealBlockInto(const Key32& block_key, const BlockId& id, ByteView plaintext, std::span<uint8_t> out);
// The plaintext, or kCorrupt when it was altered or is not the block `id` names.
Result<Bytes> OpenBlock(const Key32& block_key, const Key32& id_key, const BlockId& id,
                        ByteView sealed);
// The same, decrypting over `sealed` itself (no allocation): the plaintext is
// its first sealed.size() - kSealOverhead bytes. On error they are garbage.
Result<ByteView> OpenBlockInPlace(const Key32& block_key, const Key32& id_key, const BlockId& id,
                                  std::span<uint8_t> sealed);

}  // namespace tandem::crypto
