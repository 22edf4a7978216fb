// GroupCommit: assembled files take their real names in groups. Every file
// is made durable before it is renamed into place; one fsync per file costs
// a journal commit each, which for thousands of small files is most of the
// time they take. So whatever is ready while one group commits waits for
// the next, and a group's renames and local states go in one transaction.
// A small group (a single edit while idle) fsyncs its files; a larger one is
// made durable by one syncfs, which also waits for other programs' dirty
// data on that filesystem, a cost worth paying only when shared by many.
//
// Threads: Finish is awaited on the event loop; the sync runs on the pool,
// each group's renames on the engine's strand. folders_checked() is the
// strand's, during a group.
#pragma once

#include <asio/awaitable.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/repository.h"
#include "sync/share_context.h"

namespace tandem::sync {

class GroupCommit {
 public:
  // On the strand: runs `group` in one transaction of the repository, once
  // the folder has shown it is still the share's; the refusal otherwise.
  // Ok without running it when the repository is closed.
  using InTransaction = std::function<Result<void>(const std::function<void()>& group)>;
  // On the loop: the repository failed during a group (the share stops).
  using OnStoreError = std::function<void(const store::StoreError&)>;

  GroupCommit(const ShareContext& context, InTransaction in_transaction, OnStoreError on_store_error);

  // Makes `tmp` durable with others, then runs `finish` (which renames it)
  // on the strand in the group's transaction. The result is finish's, or
  // kIo when the sync failed, kFailedPrecondition when the folder or the
  // store refused the group.
  asio::awaitable<Result<void>> Finish(std::filesystem::path tmp, std::function<Result<void>()> finish);

  // Strand, inside a finish: folders already found real in this group
  // (fs::ParentsAreFolders): files moved together share folders, and each
  // check walks the whole path.
  std::set<std::string>* folders_checked() { return &folders_in_group_; }

 private:
  struct Ticket;
  asio::awaitable<void> CommitAll();
  Result<void> MakeDurable(const std::vector<std::filesystem::path>& files);  // pool
  void FinishGroup(const std::vector<std::shared_ptr<Ticket>>& group);    // strand

  const ShareContext& context_;
  const InTransaction in_transaction_;
  const OnStoreError on_store_error_;
  // Loop only.
  std::vector<std::shared_ptr<Ticket>> queue_;
  bool committing_ = false;
  // Strand only.
  std::set<std::string> folders_in_group_;
};

}  // namespace tandem::sync
