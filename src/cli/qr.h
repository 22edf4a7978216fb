// Terminal QR codes for share tokens (libqrencode), drawn with half-block
// characters so two module rows fit one text line.
#pragma once

#include <string>

#include "base/result.h"

namespace tandem::cli {

Result<std::string> RenderQr(const std::string& text);

}  // namespace tandem::cli
