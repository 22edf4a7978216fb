#include "sync/pull_decision.h"

#include "scan/scanner.h"

namespace tandem::sync {
namespace {

PullDecision Do(PullAction action) { return {action, false, {}}; }

}  // namespace

PullDecision DecidePull(const PullFacts& facts) {
  const crypto::Entry& entry = *facts.entry;
  const std::string& rel = entry.path.str();
  if (!facts.parents_are_folders) {
    return {PullAction::kRefuseUnsafe, false, "not writing " + rel + ": a folder above it is a symlink or a file here"};
  }
  if (!entry.deleted && !facts.indexed && facts.folded_into) {
    return {PullAction::kRefuseFolded, false,
            "not writing " + rel + ": it differs only in case or Unicode normalisation from " + *facts.folded_into +
                ", which is already here, and this folder's filesystem takes the two for one file; rename one of "
                "them"};
  }
  bool on_disk = facts.disk.has_value();
  // The one guard against losing an edit: nothing is replaced or removed
  // unless the disk is still as the index saw it (or a revert asked for it).
  const bool as_indexed = facts.revert || scan::DiskAsIndexed(facts.indexed, facts.disk);
  if (entry.deleted) {
    if (!facts.indexed && !on_disk) return Do(PullAction::kNothing);
    // A read replica's edit outlives the share's delete, as a local addition.
    if (!as_indexed && !facts.can_write) return Do(PullAction::kForgetIndexed);
    if (!as_indexed) return Do(PullAction::kIndexLocalChange);
    return Do(on_disk ? PullAction::kRemove : PullAction::kForgetIndexed);
  }
  PullDecision decision;
  std::optional<store::LocalFileState> indexed = facts.indexed;
  if (on_disk && !as_indexed) {
    if (facts.can_write) return Do(PullAction::kIndexLocalChange);
    // A read replica cannot publish its edit: the share's version takes the
    // name and the edit is kept beside it.
    decision.move_edit_aside = true;
    on_disk = false;
    indexed.reset();
  }
  switch (entry.kind) {
    case crypto::EntryKind::kDirectory:
      decision.action = PullAction::kMakeFolder;
      return decision;
    case crypto::EntryKind::kSymlink:
      decision.action = on_disk && facts.disk->kind == fs::FileKind::kSymlink && facts.symlink_as_recorded
                            ? PullAction::kIndexDisk
                            : PullAction::kMakeSymlink;
      return decision;
    case crypto::EntryKind::kFile:
      break;
  }
  const bool same_content = !facts.revert && indexed && on_disk && facts.disk->kind == fs::FileKind::kRegular &&
                            indexed->blocks == entry.blocks;
  decision.action = same_content ? PullAction::kSetMetadata : PullAction::kFetch;
  return decision;
}

const char* PullActionName(PullAction action) {
  switch (action) {
    case PullAction::kNothing: return "nothing";
    case PullAction::kForgetIndexed: return "forget indexed";
    case PullAction::kRemove: return "remove";
    case PullAction::kMakeFolder: return "make folder";
    case PullAction::kMakeSymlink: return "make symlink";
    case PullAction::kIndexDisk: return "index disk";
    case PullAction::kSetMetadata: return "set metadata";
    case PullAction::kFetch: return "fetch";
    case PullAction::kIndexLocalChange: return "index local change";
    case PullAction::kRefuseUnsafe: return "refuse (unsafe path)";
    case PullAction::kRefuseFolded: return "refuse (folded name)";
  }
  return "?";
}

}  // namespace tandem::sync
