// Share: one synced directory as the Service sees it: its config and
// secrets, and the ShareEngine that does the work (absent while the share's
// folder or repository is unavailable, with the reason in last_error).
// Event loop only.
#pragma once

#include <memory>
#include <string>

#include "crypto/keys.h"
#include "service/config.h"
#include "sync/share_engine.h"

namespace tandem::service {

struct Share {
  ShareConfig config;
  crypto::ShareSecrets secrets;
  std::shared_ptr<sync::ShareEngine> engine;
  std::string last_error;  // why there is no engine
};

}  // namespace tandem::service
