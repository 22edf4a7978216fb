// A share token as a QR code in SVG (libqrencode), for the web UI to show
// beside the token's text. Pure function, any thread.
#pragma once

#include <string>

#include "base/result.h"

namespace tandem::gui {

// kInvalidArgument when the text is too long for a QR code.
Result<std::string> QrSvg(const std::string& text);

}  // namespace tandem::gui
