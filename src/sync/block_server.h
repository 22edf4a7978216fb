// BlockServer: answers peers' requests for one share's blocks. A replica
// that can read serves them from its files, plain to a peer that proved it
// reads the share and sealed to any other; a blind replica serves the sealed
// blocks it keeps. Everything is read through a RepositoryReader on the
// pool, so a scan holding the engine's strand never stalls the peers. A
// file this device ignores is never read to serve a block, even one that
// was indexed before it was ignored.
//
// Threads: Answer is called on the event loop; its reads run on the pool.
// The server holds no mutable state.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "crypto/keys.h"
#include "store/repository.h"
#include "sync/ignore_patterns.h"
#include "tandem.pb.h"

namespace tandem::sync {

class BlockServer {
 public:
  // Misbehaviour on purpose, for tests of peers that must resist it.
  struct Faults {
    bool forge_blocks = false;  // blocks are sealed right but hold other bytes
    bool slow_blocks = false;   // each block is answered after a pause (a slow link)
  };

  BlockServer(asio::io_context& loop, asio::thread_pool& pool, std::filesystem::path root,
              const crypto::ShareSecrets& secrets, std::shared_ptr<store::RepositoryReader> reader,
              const IgnorePatterns& ignores, Faults faults);

  // The response to `request` (not_available when the id is malformed or
  // no copy here still holds the block). Throws store::StoreError when the
  // store cannot be read.
  asio::awaitable<wire::BlockResponse> Answer(const wire::BlockRequest& request, bool peer_reads) const;

 private:
  asio::io_context& loop_;
  asio::thread_pool& pool_;
  const std::filesystem::path root_;
  const crypto::ShareSecrets& secrets_;  // the engine's, which outlives this
  const std::shared_ptr<store::RepositoryReader> reader_;
  const IgnorePatterns& ignores_;  // the engine's, which outlives this
  const Faults faults_;
};

}  // namespace tandem::sync
