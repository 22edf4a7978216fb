// Keyed hashes that name things without revealing them: block ids (id key
// over the plaintext) and locators (locator key over the path). HMAC-SHA-256
// through OpenSSL, which uses SHA-NI where present; DESIGN.md §7 has the
// measurement that chose it over BLAKE2b. Pure functions, any thread.
#pragma once

#include "base/bytes.h"
#include "crypto/keys.h"

namespace tandem::crypto {

using BlockId = Key32;
using Locator = Key32;

BlockId ComputeBlockId(const Key32& id_key, ByteView plaintext);
Locator ComputeLocator(const Key32& locator_key, std::string_view rel_path);

}  // namespace tandem::crypto
