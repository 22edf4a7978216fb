#include "cli/qr.h"

#include <qrencode.h>

#include <memory>

namespace tandem::cli {

Result<std::string> RenderQr(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!code) return MakeError(ErrorCode::kInternal, "cannot encode the token as a QR code");
  const int width = code->width;
  constexpr int kQuiet = 2;  // light border that scanners need
  auto dark = [&](int x, int y) {
    if (x < 0 || y < 0 || x >= width || y >= width) return false;
    return (code->data[y * width + x] & 1) != 0;
  };
  // Light modules are drawn as full blocks so the code reads on dark terminals.
  std::string out;
  for (int y = -kQuiet; y < width + kQuiet; y += 2) {
    for (int x = -kQuiet; x < width + kQuiet; ++x) {
      bool top = dark(x, y);
      bool bottom = dark(x, y + 1);
      if (!top && !bottom) {
        out += "\u2588";
      } else if (!top) {
        out += "\u2580";
      } else if (!bottom) {
        out += "\u2584";
      } else {
        out += " ";
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace tandem::cli
