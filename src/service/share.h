// Share: one synced directory as the Service sees it: its config and
// secrets, and the ShareEngine that does the work (absent while the share's
// folder or repository is unavailable, with the reason in last_error).
// Event loop only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/backoff.h"
#include "crypto/keys.h"
#include "service/config.h"
#include "sync/share_engine.h"

namespace tandem::service {

struct Share {
  Share(ShareConfig c, crypto::ShareSecrets s) : config(std::move(c)), secrets(std::move(s)) {}

  ShareConfig config;
  crypto::ShareSecrets secrets;
  std::shared_ptr<sync::ShareEngine> engine;
  std::string last_error;  // why there is no engine
  // Without an engine: whether opening is tried again by itself (the
  // folder may come back, the disk may have room again), and when.
  bool retry_open = false;
  Backoff open_backoff{std::chrono::seconds(1), std::chrono::seconds(60)};
  std::chrono::steady_clock::time_point next_open_try;
  bool repairing = false;
  // An engine being closed after its folder went away (until it is).
  std::shared_ptr<sync::ShareEngine> closing;
  // What the index held when the engine was last seen: shown while there
  // is none (the folder away), rather than zeros.
  store::IndexSummary last_index;
  // Why it has no engine, as last told in events (to tell each reason once).
  std::string told_unavailable;
};

}  // namespace tandem::service
