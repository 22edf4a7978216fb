#include "base/rel_path.h"

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

namespace tandem {
namespace {

bool IsValidUtf8(std::string_view s) {
  return u8_check(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == nullptr;
}

}  // namespace

// NFD, then case folded (libunistring applies the form after folding): the
// canonical caseless match of Unicode section 3.13, minus the final NFD,
// which any consistent form serves as well.
std::string LookAlikeKey(std::string_view s) {
  size_t nfd_length = 0;
  std::unique_ptr<uint8_t, decltype(&std::free)> nfd(
      u8_normalize(UNINORM_NFD, reinterpret_cast<const uint8_t*>(s.data()), s.size(), nullptr, &nfd_length),
      &std::free);
  if (!nfd) return std::string(s);  // not UTF-8: only itself looks like itself
  size_t folded_length = 0;
  std::unique_ptr<uint8_t, decltype(&std::free)> folded(
      u8_casefold(nfd.get(), nfd_length, nullptr, UNINORM_NFC, nullptr, &folded_length), &std::free);
  if (!folded) return std::string(s);
  return std::string(reinterpret_cast<const char*>(folded.get()), folded_length);
}

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

std::string EscapeNonUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    ucs4_t c = 0;
    int length = u8_mbtouc(&c, bytes + i, text.size() - i);
    // u8_mbtouc gives U+FFFD for a bad sequence; only a real U+FFFD is 3 bytes long
    // and spelled EF BF BD.
    bool bad = c == 0xFFFD && !(length == 3 && bytes[i] == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD);
    if (bad || c < 0x20 || c == 0x7F) {
      for (int k = 0; k < (bad ? 1 : length); ++k) out += fmt::format("\\x{:02x}", bytes[i + k]);
      i += bad ? 1 : static_cast<size_t>(length);
      continue;
    }
    out.append(text.substr(i, static_cast<size_t>(length)));
    i += static_cast<size_t>(length);
  }
  return out;
}

}  // namespace tandem
