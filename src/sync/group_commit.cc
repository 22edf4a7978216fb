#include "sync/group_commit.h"

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "base/async.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;

// Groups up to this many files fsync each; larger ones sync the filesystem.
constexpr size_t kFsyncEachUpTo = 4;

}  // namespace

struct GroupCommit::Ticket {
  explicit Ticket(asio::io_context& loop) : done(loop) { done.expires_at(asio::steady_timer::time_point::max()); }
  stdfs::path tmp;                       // the assembled file
  std::function<Result<void>()> finish;  // on the strand, once synced
  Result<void> result = MakeError(ErrorCode::kInternal, "not finished");
  bool ready = false;
  asio::steady_timer done;
};

GroupCommit::GroupCommit(const ShareContext& context, InTransaction in_transaction, OnStoreError on_store_error)
    : context_(context), in_transaction_(std::move(in_transaction)), on_store_error_(std::move(on_store_error)) {}

asio::awaitable<Result<void>> GroupCommit::Finish(stdfs::path tmp, std::function<Result<void>()> finish) {
  auto ticket = std::make_shared<Ticket>(context_.loop);
  ticket->tmp = std::move(tmp);
  ticket->finish = std::move(finish);
  queue_.push_back(ticket);
  if (!committing_) {
    committing_ = true;
    context_.spawn(CommitAll(), "finishing files");
  }
  while (!ticket->ready) {
    std::error_code ec;
    co_await ticket->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(ticket->result);
}

// A failure is the disk's (kIo: listed), never "waiting".
Result<void> GroupCommit::MakeDurable(const std::vector<stdfs::path>& files) {
  if (files.size() > kFsyncEachUpTo) {
    auto synced = context_.fs.SyncFilesystem(context_.root);
    if (!synced) return MakeError(ErrorCode::kIo, synced.error().message);
    return Ok();
  }
  for (const stdfs::path& file : files) {
    if (auto synced = context_.fs.SyncFile(file); !synced) return MakeError(ErrorCode::kIo, synced.error().message);
  }
  return Ok();
}

void GroupCommit::FinishGroup(const std::vector<std::shared_ptr<Ticket>>& group) {
  folders_in_group_.clear();
  auto done = in_transaction_([&] {
    for (const auto& ticket : group) {
      try {
        ticket->result = ticket->finish();
      } catch (const store::StoreError&) {
        throw;  // the store's, not this file's: the share stops
      } catch (const std::exception& e) {
        ticket->result = MakeError(ErrorCode::kIo, e.what());  // this file only; retried
      }
    }
  });
  folders_in_group_.clear();
  if (!done) {
    for (const auto& ticket : group) ticket->result = MakeError(ErrorCode::kFailedPrecondition, done.error().message);
  }
}

asio::awaitable<void> GroupCommit::CommitAll() {
  while (!queue_.empty()) {
    std::vector<std::shared_ptr<Ticket>> group;
    group.swap(queue_);
    Result<void> synced = Ok();
    try {
      std::vector<stdfs::path> files;
      for (const auto& ticket : group) files.push_back(ticket->tmp);
      auto sync = [this, files = std::move(files)] { return MakeDurable(files); };
      synced = co_await RunOn(context_.pool.get_executor(), std::move(sync));
      if (synced) {
        co_await RunOn(context_.strand, [this, &group] {
          FinishGroup(group);
          return true;
        });
      }
    } catch (const store::StoreError& e) {
      on_store_error_(e);
      synced = MakeError(ErrorCode::kFailedPrecondition, e.what());
    } catch (const std::exception& e) {
      synced = MakeError(ErrorCode::kIo, e.what());
    }
    for (const auto& ticket : group) {
      if (!synced) ticket->result = synced.error();
      ticket->ready = true;
      ticket->done.cancel();
    }
  }
  // Reset before any suspension: a file queued from now on starts a new run.
  committing_ = false;
}

}  // namespace tandem::sync
