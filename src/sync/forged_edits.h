// Test hook (TANDEM_TEST_HOOKS; never in normal use): what a read replica
// that tried to publish its edits anyway would send. Used by the tests of
// the peers that must refuse them (HostilePeers).
//
// Threads: ForgeEditRecords where the repository is used (the engine's
// strand); ForgedBatch anywhere.
#pragma once

#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/record.h"
#include "fs/filesystem.h"
#include "scan/scanner.h"
#include "store/repository.h"
#include "tandem.pb.h"

namespace tandem::sync {

// Records of `changes`, made as a writer would make them but signed by a
// key that is not the share's: the best a replica without the write seed
// can do.
std::vector<crypto::Record> ForgeEditRecords(store::Repository& repo, fs::Filesystem& fs,
                                             const crypto::ShareSecrets& secrets, const std::filesystem::path& root,
                                             const std::vector<scan::LocalChange>& changes, uint64_t device_short_id,
                                             uint64_t replica_id);

// A batch frame of `records` for `offer`; with `sign_batch`, also signed as
// a whole by another key (as if that spared the receiver the records' own).
wire::Frame ForgedBatch(const crypto::ShareSecrets& secrets, const std::string& offer, const Bytes& epoch,
                        const std::vector<crypto::Record>& records, bool sign_batch);

}  // namespace tandem::sync
