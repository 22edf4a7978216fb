// The web UI's built files (web/, bundled by esbuild when the project
// builds), embedded so the daemon needs nothing beside itself. The table is
// generated (cmake/embed_assets.cmake); read-only data, any thread.
#pragma once

#include <span>
#include <string_view>

namespace tandem::gui {

struct Asset {
  std::string_view path;  // as requested: "/app.js"
  std::string_view content_type;
  std::string_view body;
};

std::span<const Asset> Assets();

}  // namespace tandem::gui
