// Share: one synced directory at run time: its config, secrets, repository
// and what the user sees of its state.
//
// Threads: the Service's event loop owns every field except `repo`, which is
// used only on `strand` (a strand of the worker pool), so SQLite has one
// owner per share and scans never block the loop.
#pragma once

#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/keys.h"
#include "scan/scanner.h"
#include "service/config.h"
#include "store/repository.h"

namespace tandem::service {

struct Share {
  using Strand = asio::strand<asio::thread_pool::executor_type>;

  Share(ShareConfig config, crypto::ShareSecrets secrets, Strand strand)
      : config(std::move(config)), secrets(std::move(secrets)), strand(std::move(strand)) {}

  std::filesystem::path RepoDir() const;

  ShareConfig config;
  crypto::ShareSecrets secrets;
  Strand strand;
  std::unique_ptr<store::Repository> repo;  // strand only

  // Event loop only.
  int scans_running = 0;
  std::string last_error;
  store::IndexSummary summary;
  scan::ScanStats last_scan;
  int64_t last_scan_unix = 0;  // 0: never scanned since start
  bool removed = false;
};

}  // namespace tandem::service
