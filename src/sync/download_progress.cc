#include "sync/download_progress.h"

#include <algorithm>

namespace tandem::sync {

DownloadProgress::DownloadProgress(asio::io_context& loop, Emit emit, std::chrono::milliseconds every)
    : emit_(std::move(emit)), every_(every), timer_(loop) {}

void DownloadProgress::Begin(const crypto::Locator& locator, std::string path, uint64_t total_bytes,
                             uint64_t reused_bytes, size_t reused, size_t to_fetch) {
  files_[locator] = File{std::move(path), total_bytes, std::min(reused_bytes, total_bytes), reused, 0, to_fetch};
  Changed();
}

void DownloadProgress::Fetched(const crypto::Locator& locator, uint64_t bytes) {
  auto it = files_.find(locator);
  if (it == files_.end()) return;
  it->second.done = std::min(it->second.done + bytes, it->second.total);
  ++it->second.fetched;
  Changed();
}

void DownloadProgress::End(const crypto::Locator& locator, bool complete) {
  auto it = files_.find(locator);
  if (it == files_.end()) return;
  it->second.ended = true;
  if (complete) it->second.done = it->second.total;
  // Told now, not at the next tick: a reader sees a file's last progress
  // before the item_finished that follows.
  if (!stopped_) Tell();
}

uint64_t DownloadProgress::bytes_done() const {
  uint64_t done = 0;
  for (const auto& [locator, file] : files_) {
    if (!file.ended) done += file.done;
  }
  return done;
}

void DownloadProgress::Stop() {
  stopped_ = true;
  timer_.cancel();
  files_.clear();
}

// The first change after a quiet spell is told at once; later ones wait
// for the next tick, so a busy transfer costs a few events a second.
void DownloadProgress::Changed() {
  if (stopped_) return;
  if (armed_) {
    dirty_ = true;
    return;
  }
  Tell();
  armed_ = true;
  timer_.expires_after(every_);
  timer_.async_wait([this, alive = alive_](std::error_code ec) {
    if (ec || !*alive || stopped_) return;  // stopped, or gone with the engine
    armed_ = false;
    if (dirty_) Changed();
  });
}

void DownloadProgress::Tell() {
  dirty_ = false;
  nlohmann::json files = nlohmann::json::array();
  uint64_t done = 0, total = 0;
  for (const auto& [locator, file] : files_) {
    done += file.done;
    total += file.total;
  }
  // Ended files first: each is shown once more, whatever the bound.
  for (bool ended : {true, false}) {
    for (const auto& [locator, file] : files_) {
      if (file.ended != ended || (!ended && files.size() >= kListed)) continue;
      files.push_back({{"path", file.path},
                       {"bytes_done", file.done},
                       {"bytes_total", file.total},
                       {"blocks_reused", file.reused},
                       {"blocks_fetched", file.fetched},
                       {"blocks_to_fetch", file.to_fetch},
                       {"finished", file.ended}});
    }
  }
  std::erase_if(files_, [](const auto& item) { return item.second.ended; });
  emit_({{"files", std::move(files)}, {"bytes_done", done}, {"bytes_total", total}, {"files_in_progress", files_.size()}});
}

}  // namespace tandem::sync
