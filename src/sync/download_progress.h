// DownloadProgress: the files being assembled from blocks and how far each
// has come, told a few times a second as one download_progress event (the
// shape of Syncthing's DownloadProgress): per file, bytes done and total,
// blocks taken from local files (or a part file kept from an earlier try)
// and blocks fetched from peers. A file is shown once more when it ends,
// with all its bytes if it was completed, then forgotten. Nothing is told
// while nothing moves.
//
// Threads: the engine's event loop only.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/record.h"

namespace tandem::sync {

class DownloadProgress {
 public:
  using Emit = std::function<void(nlohmann::json data)>;
  // At most this many files are listed in one event (the totals count all).
  static constexpr size_t kListed = 100;

  DownloadProgress(asio::io_context& loop, Emit emit,
                   std::chrono::milliseconds every = std::chrono::milliseconds(500));
  ~DownloadProgress() { *alive_ = false; }
  DownloadProgress(const DownloadProgress&) = delete;
  DownloadProgress& operator=(const DownloadProgress&) = delete;

  // A file's blocks are being fetched: `reused` of its blocks (`reused_bytes`)
  // are in place already, `to_fetch` are still to come.
  void Begin(const crypto::Locator& locator, std::string path, uint64_t total_bytes, uint64_t reused_bytes,
             size_t reused, size_t to_fetch);
  void Fetched(const crypto::Locator& locator, uint64_t bytes);
  // The file's assembly is over; `complete` if all its blocks are in.
  // Told at once.
  void End(const crypto::Locator& locator, bool complete);
  // Nothing more is told.
  void Stop();
  // Bytes in place of the files still being assembled.
  uint64_t bytes_done() const;

 private:
  struct File {
    std::string path;
    uint64_t total = 0;
    uint64_t done = 0;
    size_t reused = 0;
    size_t fetched = 0;
    size_t to_fetch = 0;
    bool ended = false;
  };
  void Changed();
  void Tell();

  const Emit emit_;
  const std::chrono::milliseconds every_;
  asio::steady_timer timer_;
  std::map<crypto::Locator, File> files_;
  // A tick already queued when this goes away finds it gone here.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool armed_ = false;
  bool dirty_ = false;  // changed since it was last told
  bool stopped_ = false;
};

}  // namespace tandem::sync
