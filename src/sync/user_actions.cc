// What a user asks of one share through the service (ShareEngine): a read
// replica's local changes reverted, conflicts listed and resolved; and the
// test hook that sends a read replica's edits as forged records. Each checks
// what the share may do, does the disk work on the strand through
// sync/local_changes.h and sync/conflicts.h, and hands the engine what
// follows (needs to pull, a scan).
#include <asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "crypto/keyed_hash.h"
#include "sync/forged_edits.h"
#include "sync/local_changes.h"
#include "sync/share_engine.h"

namespace tandem::sync {

asio::awaitable<Result<uint64_t>> ShareEngine::RevertLocalChanges(std::string path) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
  if (!options_.secrets.CanRead() || options_.secrets.CanWrite()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        std::string("only read replicas keep local changes to revert; this share is a ") +
                            crypto::AccessModeName(options_.secrets.mode()) + " replica");
  }
  auto self = shared_from_this();
  auto revert = [self, path]() -> Result<Revert> {
    if (!self->repo_) return Revert{};
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    return RevertOnDisk(*self->repo_, self->fs_, self->options_.secrets, self->author(), self->options_.root, path);
  };
  auto reverted = co_await RunOn(strand_, std::move(revert));
  if (!reverted) co_return reverted.error();
  for (const std::string& failure : reverted->failed) spdlog::warn("share {}: {}", options_.name, failure);
  if (!path.empty() && reverted->count == 0) {
    co_return MakeError(ErrorCode::kNotFound, "no local change at " + path + "; see tandem info for the list");
  }
  spdlog::info("share {}: reverting {} local changes", options_.name, reverted->count);
  AddNeeds(reverted->needs);
  ScheduleScan();
  co_return reverted->count;
}

asio::awaitable<Result<std::vector<Conflict>>> ShareEngine::ListConflicts() {
  if (!options_.secrets.CanRead()) {
    co_return MakeError(ErrorCode::kFailedPrecondition, "a blind replica cannot see file names, nor conflicts");
  }
  auto self = shared_from_this();
  auto list = [self]() -> std::vector<Conflict> {
    return self->repo_ ? sync::ListConflicts(*self->repo_, self->options_.secrets) : std::vector<Conflict>{};
  };
  co_return co_await RunOn(strand_, std::move(list));
}

asio::awaitable<Result<std::string>> ShareEngine::ResolveConflict(std::string key, ConflictKeep keep) {
  if (!options_.secrets.CanWrite()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        std::string("a ") + crypto::AccessModeName(options_.secrets.mode()) +
                            " replica cannot resolve conflicts: only write replicas change the share");
  }
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
  auto listed = co_await ListConflicts();
  if (!listed) co_return listed.error();
  auto found = FindConflict(*listed, key);
  if (!found) co_return found.error();
  Conflict conflict = std::move(*found);
  const auto& secrets = options_.secrets;
  for (const std::string& path : {conflict.id, conflict.path}) {
    if (needs_.Contains(crypto::ComputeLocator(secrets.locator_key(), path))) {
      co_return MakeError(ErrorCode::kFailedPrecondition,
                          path + " has a newer version still arriving; resolve once the share is in sync");
    }
  }
  auto self = shared_from_this();
  auto act = [self, conflict, keep]() -> Result<std::string> {
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    return ResolveOnDisk(self->fs_, self->options_.root, conflict, keep);
  };
  auto done = co_await RunOn(strand_, std::move(act));
  if (!done) co_return done.error();
  spdlog::info("share {}: conflict {}: {}", options_.name, conflict.id, *done);
  // Indexed now, so the resolution is a version like any other edit.
  if (auto scanned = co_await Scan({conflict.id}); !scanned) co_return scanned.error();
  const char* kept = keep == ConflictKeep::kLocal ? "local" : keep == ConflictKeep::kRemote ? "remote" : "both";
  Emit(EventType::kConflictResolved, {{"path", conflict.path}, {"copy", conflict.id}, {"keep", kept}, {"done", *done}});
  co_return *done;
}

void ShareEngine::SendForgedEdits() {
  spdlog::warn("share {}: TEST HOOK: sending {} local changes as records this replica cannot sign", options_.name,
               report_.local_changes().size());
  auto self = shared_from_this();
  auto forge = [self, changes = report_.local_changes()]() {
    if (!self->repo_) return std::vector<crypto::Record>{};
    return ForgeEditRecords(*self->repo_, self->fs_, self->options_.secrets, self->options_.root, changes,
                            self->options_.device_short_id, self->replica_id_);
  };
  auto send = [](std::shared_ptr<ShareEngine> self, decltype(forge) forge) -> asio::awaitable<void> {
    auto records = co_await RunOn(self->strand_, std::move(forge));
    for (const auto& peer : self->peers_.all()) {
      peer->link->Send(ForgedBatch(self->options_.secrets, peer->offer, self->epoch_, records,
                                   self->options_.test_hooks.sign_forged_batches));
    }
  };
  asio::co_spawn(loop_, send(self, std::move(forge)), LogErrors(self, "test hook"));
}

}  // namespace tandem::sync
