#include "base/rel_path.h"


#include <cstdint>

namespace tandem {
namespace {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

Result<void> ValidateComponent(std::string_view name) {
  if (name.empty()) return MakeError(ErrorCode::kInvalidArgument, "path has an empty component");
  if (name == "." || name == "..") {
    return MakeError(ErrorCode::kInvalidArgument, "path contains '.' or '..'");
  }
  if (name.size() > RelPath::kMaxComponent) {
    return MakeError(ErrorCode::kInvalidArgument, "path has a component longer than 255 bytes");
  }
  for (char c : name) {
    if (c == '\0') return MakeError(ErrorCode::kInvalidArgument, "path contains a NUL byte");
    if (c == '/') return MakeError(ErrorCode::kInvalidArgument, "name contains '/'");
  }
  if (!IsValidUtf8(name)) return MakeError(ErrorCode::kInvalidArgument, "path is not valid UTF-8");
  return Ok();
}

Result<RelPath> RelPath::Parse(std::string_view text) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "path is empty");
  if (text.size() > kMaxLength) {
    return MakeError(ErrorCode::kInvalidArgument, "path is longer than 4096 bytes");
  }
  if (text.front() == '/') return MakeError(ErrorCode::kInvalidArgument, "path is absolute");
  size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) slash = text.size();
    std::string_view component = text.substr(start, slash - start);
    TANDEM_RETURN_IF_ERROR(ValidateComponent(component));
    if (first && component == kRepoDirName) {
      return MakeError(ErrorCode::kInvalidArgument, "path is inside the reserved .tandem folder");
    }
    first = false;
    start = slash + 1;
  }
  return RelPath(std::string(text));
}

Result<RelPath> RelPath::Child(std::string_view name) const {
  TANDEM_RETURN_IF_ERROR(ValidateComponent(name));
  std::string joined = path_;
  joined.push_back('/');
  joined.append(name);
  if (joined.size() > kMaxLength) {
    return MakeError(ErrorCode::kInvalidArgument, "path is longer than 4096 bytes");
  }
  return RelPath(std::move(joined));
}

std::string_view RelPath::Name() const {
  size_t slash = path_.rfind('/');
  return slash == std::string::npos ? std::string_view(path_)
                                    : std::string_view(path_).substr(slash + 1);
}

std::string RelPath::Parent() const {
  size_t slash = path_.rfind('/');
  return slash == std::string::npos ? std::string() : path_.substr(0, slash);
}

size_t RelPath::Depth() const {
  size_t n = 1;
  for (char c : path_) n += c == '/';
  return n;
}

}  // namespace tandem
