// Whole-file writes that a crash can never tear: readers (and a restarted
// daemon) see either the old contents or the new, nothing in between.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"

namespace tandem {

// Writes `contents` to a temporary file beside `path`, fsyncs it, renames it
// over `path` and fsyncs the directory. The file gets permission bits `mode`
// from its creation on, so secrets are never readable by others even briefly.
// On failure `path` is untouched and the temporary file is removed.
Result<void> WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                                 unsigned mode);

// The whole file, or kNotFound / kIo.
Result<std::string> ReadWholeFile(const std::filesystem::path& path);

}  // namespace tandem
