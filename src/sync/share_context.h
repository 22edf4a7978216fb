// ShareContext: what the stages of one share's engine (share_engine.h) have
// in common: where they run, the share's folder and keys, and how they
// start work of their own that outlives the call.
//
// Threads: set once by the ShareEngine before any stage runs; read from any
// thread afterwards, never changed.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "crypto/keys.h"
#include "sync/versions.h"
#include "fs/filesystem.h"

namespace tandem::sync {

struct ShareContext {
  using Strand = asio::strand<asio::thread_pool::executor_type>;

  asio::io_context& loop;
  asio::thread_pool& pool;
  // Where the share's repository is used: one task at a time, on the pool.
  Strand strand;
  fs::Filesystem& fs;
  std::string name;  // for logs
  std::filesystem::path root;
  const crypto::ShareSecrets& secrets;  // the engine's, which outlives every stage
  // Starts `work` on the loop. The engine (and so every stage) lives until
  // it ends; what it throws is logged as a failure of `what`, and a failure
  // of the repository stops the share (ShareEngine::ReportStoreError).
  std::function<void(asio::awaitable<void> work, const char* what)> spawn;
  // Where the old content of what a peer's change replaces or removes is
  // kept (strand); none in tests that do not ask for it.
  Versions* versions = nullptr;
};

}  // namespace tandem::sync
