// Device and share key material. Plain values, safe to copy between threads;
// nothing here touches disk or network.
//
// A share's write seed is the root of everything: it yields the Ed25519
// signing key (whose public half is the share id) and the read key; the read
// key yields the sub-keys that seal entries and blocks and name them. Each
// access mode holds exactly what it needs: write the seed, read the share id
// and read key, blind the share id alone.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace tandem::crypto {

using Key32 = std::array<uint8_t, 32>;

// Makes libsodium ready; cheap after the first call, safe from any thread.
void Init();

enum class AccessMode { kBlind = 0, kRead = 1, kWrite = 2 };

const char* AccessModeName(AccessMode mode);  // "blind", "read", "write"
Result<AccessMode> ParseAccessMode(std::string_view text);

// The identity of one daemon: an Ed25519 key pair made on first start.
class DeviceKey {
 public:
  static DeviceKey Generate();
  static Result<DeviceKey> FromSeed(ByteView seed);

  const Key32& seed() const { return seed_; }  // secret: config.json only
  const Key32& public_key() const { return public_key_; }

  // Base32 of SHA-256(public key) in dash-separated groups of 7, as users see it.
  std::string DeviceId() const;
  // First 8 bytes of SHA-256(public key): the key of this device in version vectors.
  uint64_t ShortId() const;

 private:
  Key32 seed_{};
  Key32 public_key_{};
};

std::string DeviceIdFromPublicKey(ByteView public_key);
uint64_t ShortIdFromPublicKey(ByteView public_key);

class ShareSecrets {
 public:
  static ShareSecrets GenerateWrite();
  static ShareSecrets FromWriteSeed(const Key32& write_seed);
  static ShareSecrets FromReadKey(const Key32& share_id, const Key32& read_key);
  static ShareSecrets FromShareId(const Key32& share_id);

  AccessMode mode() const { return mode_; }
  bool CanRead() const { return mode_ != AccessMode::kBlind; }
  bool CanWrite() const { return mode_ == AccessMode::kWrite; }

  // The same secrets reduced to `mode`. REQUIRES: mode <= this->mode().
  ShareSecrets Downgrade(AccessMode mode) const;

  const Key32& share_id() const { return share_id_; }
  // REQUIRES: CanWrite().
  const Key32& write_seed() const;
  // REQUIRES: CanRead().
  const Key32& read_key() const;
  const Key32& entry_key() const;
  const Key32& block_key() const;
  const Key32& id_key() const;
  const Key32& locator_key() const;
  const Key32& reader_proof_key() const;
  // REQUIRES: CanWrite().
  const Key32& writer_proof_key() const;

  // Detached Ed25519 signature by the share key. REQUIRES: CanWrite().
  Bytes Sign(ByteView message) const;
  // Whether `signature` is the share key's over `message`; any mode can check.
  bool Verify(ByteView message, ByteView signature) const;

 private:
  ShareSecrets() = default;
  void DeriveReadSubkeys();

  AccessMode mode_ = AccessMode::kBlind;
  Key32 share_id_{};
  Key32 write_seed_{};
  std::array<uint8_t, 64> signing_key_{};  // libsodium's seed||public form
  Key32 read_key_{};
  Key32 entry_key_{};
  Key32 block_key_{};
  Key32 id_key_{};
  Key32 locator_key_{};
  Key32 reader_proof_key_{};
  Key32 writer_proof_key_{};
};

// SHA-256 with SHA-NI where the CPU has it (OpenSSL).
Key32 Sha256(ByteView data);

}  // namespace tandem::crypto
