// Deciding what pulling one path does, from three facts: what the record
// says, what the index holds of the path (the disk as last scanned), and
// what is on disk now. Pure: gathering the facts reads the disk and the
// store, and carrying the decision out writes (ShareEngine::PullOne); this
// is the part between, where every rule about not losing a local edit
// lives, and each is tested in both directions (pull_decision_test.cc).
//
// Threads: any; no state.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "crypto/record.h"
#include "fs/filesystem.h"
#include "store/repository.h"

namespace tandem::sync {

struct PullFacts {
  const crypto::Entry* entry = nullptr;         // what the record says
  std::optional<store::LocalFileState> indexed;  // the path as last scanned, if it was there
  Result<fs::FileInfo> disk = MakeError(ErrorCode::kNotFound, "not looked at");  // Lstat now
  // A read replica's revert was asked, and the disk is still as it was then.
  bool revert = false;
  bool can_write = true;  // a write replica (else a read replica: its edits stay local)
  // Every folder above the path is a real folder (or not there yet).
  bool parents_are_folders = true;
  // An indexed path this folder's filesystem takes for the same file (the
  // names differ only in case or normalisation); gathered only for a new path.
  std::optional<std::string> folded_into;
  // For a symlink on disk where the record wants one: whether it already
  // points where the record says.
  bool symlink_as_recorded = false;
};

enum class PullAction {
  kNothing,           // the disk is as the record says already
  kForgetIndexed,     // nothing to write; the index stops holding the path
  kRemove,            // delete the file (or the folder, once empty), then forget it
  kMakeFolder,        // a folder, with the record's mode (a file in its way is removed)
  kMakeSymlink,       // a symlink, made aside and renamed into place
  kIndexDisk,         // the disk holds what the record says: index it under the record's version
  kSetMetadata,       // the same content: only mode and mtime to bring over
  kFetch,             // assemble the file from local copies and peers
  kIndexLocalChange,  // the disk holds an edit not indexed yet: scan it first, then decide again
  kRefuseUnsafe,      // a folder above is a symlink or a file: writing would leave the share (`why`)
  kRefuseFolded,      // the name would overwrite another one on this filesystem (`why`)
};

struct PullDecision {
  PullAction action = PullAction::kNothing;
  // First move a read replica's unpublished edit aside to a conflict copy
  // (it stays a local change), then do `action` on the freed name.
  bool move_edit_aside = false;
  std::string why;  // for the refusals: the message for the user
};

PullDecision DecidePull(const PullFacts& facts);

const char* PullActionName(PullAction action);

}  // namespace tandem::sync
