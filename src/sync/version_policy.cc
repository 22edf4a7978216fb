#include "sync/version_policy.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <numeric>

namespace tandem::sync {
namespace {

constexpr int64_t kDay = 86400;

constexpr std::array<std::pair<VersioningPolicy::Kind, const char*>, 4> kKinds = {{
    {VersioningPolicy::Kind::kNone, "none"},
    {VersioningPolicy::Kind::kTrashcan, "trashcan"},
    {VersioningPolicy::Kind::kSimple, "simple"},
    {VersioningPolicy::Kind::kStaggered, "staggered"},
}};

// Where the extension starts (Syncthing keeps it last): at the last dot,
// unless that dot starts the name (".bashrc") or ends it.
size_t ExtensionAt(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return name.size();
  // An extension with a ~ (a name already stamped, "a.pdf~20230101-120000")
  // is no extension: the stamp goes last, so it is the one read back.
  if (name.find('~', dot) != std::string_view::npos) return name.size();
  return dot;
}

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

const char* VersioningKindName(VersioningPolicy::Kind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "none";
}

Result<VersioningPolicy::Kind> ParseVersioningKind(std::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (name == n) return k;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown versioning '" + std::string(name) + "' (none, trashcan, simple or staggered)");
}

std::string DescribeVersioning(const VersioningPolicy& p) {
  const std::string age = p.days == 0 ? "for ever" : "for " + std::to_string(p.days) + " days";
  std::string text;
  switch (p.kind) {
    case VersioningPolicy::Kind::kNone: return "none: replaced and deleted files are not kept";
    case VersioningPolicy::Kind::kTrashcan: text = "trashcan: the last version of each file, kept " + age; break;
    case VersioningPolicy::Kind::kSimple:
      text = "simple: the last " + std::to_string(p.keep) + " versions of each file, kept " + age;
      break;
    case VersioningPolicy::Kind::kStaggered:
      text = "staggered: one a 30 s for an hour, an hour for a day, a day for 30 days, a week after, kept " + age;
      break;
  }
  if (p.max_bytes > 0) text += ", at most " + std::to_string(p.max_bytes) + " bytes in all";
  return text;
}

const std::vector<ThinningStep>& StaggeredSteps() {
  static const std::vector<ThinningStep> steps = {
      {3600, 30}, {kDay, 3600}, {30 * kDay, kDay}, {std::numeric_limits<int64_t>::max(), 7 * kDay}};
  return steps;
}

std::vector<size_t> VersionsToRemove(const VersioningPolicy& policy, const std::vector<VersionStamp>& versions,
                                     int64_t now) {
  std::vector<size_t> order(versions.size());
  std::iota(order.begin(), order.end(), 0);
  // Newest first; the same second by size, so the order is fixed.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return versions[a].unix != versions[b].unix ? versions[a].unix > versions[b].unix : a < b;
  });
  const int64_t max_age = static_cast<int64_t>(policy.days) * kDay;
  auto too_old = [&](size_t i) { return max_age > 0 && now - versions[i].unix > max_age; };
  std::vector<size_t> out;
  switch (policy.kind) {
    case VersioningPolicy::Kind::kNone:
      break;  // nothing new is kept; what was kept stays until the user removes it
    case VersioningPolicy::Kind::kTrashcan:
    case VersioningPolicy::Kind::kSimple: {
      const size_t keep = policy.kind == VersioningPolicy::Kind::kTrashcan ? 1 : std::max<uint32_t>(policy.keep, 1);
      for (size_t k = 0; k < order.size(); ++k) {
        if (k >= keep || too_old(order[k])) out.push_back(order[k]);
      }
      break;
    }
    case VersioningPolicy::Kind::kStaggered: {
      std::optional<int64_t> last_kept;
      for (size_t i : order) {
        if (too_old(i)) {
          out.push_back(i);
          continue;
        }
        const int64_t age = now - versions[i].unix;
        int64_t step = StaggeredSteps().back().step;
        for (const ThinningStep& s : StaggeredSteps()) {
          if (age <= s.up_to_age) {
            step = s.step;
            break;
          }
        }
        if (last_kept && *last_kept - versions[i].unix < step) {
          out.push_back(i);
        } else {
          last_kept = versions[i].unix;
        }
      }
      break;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string VersionFileName(std::string_view name, int64_t unix, int n) {
  const time_t seconds = static_cast<time_t>(unix);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  std::string suffix = std::string("~") + stamp;
  if (n > 1) suffix += "-" + std::to_string(n);
  suffix += name.substr(ExtensionAt(name));
  std::string stem(name.substr(0, ExtensionAt(name)));
  // A name is at most 255 bytes: a long one gives up the end of its stem,
  // at a UTF-8 character boundary (the repository keeps the whole path).
  constexpr size_t kMaxName = 255;
  if (stem.size() + suffix.size() > kMaxName) {
    size_t keep = suffix.size() < kMaxName ? kMaxName - suffix.size() : 0;
    while (keep > 0 && (static_cast<unsigned char>(stem[keep]) & 0xC0) == 0x80) --keep;
    stem.resize(keep);
  }
  return stem + suffix;
}

std::optional<ParsedVersionName> ParseVersionFileName(std::string_view file) {
  for (size_t tilde = file.rfind('~'); tilde != std::string_view::npos && tilde > 0;
       tilde = tilde == 0 ? std::string_view::npos : file.rfind('~', tilde - 1)) {
    std::string_view rest = file.substr(tilde + 1);
    if (rest.size() < 15 || !Digits(rest.substr(0, 8)) || rest[8] != '-' || !Digits(rest.substr(9, 6))) continue;
    std::string_view after = rest.substr(15);
    int n = 1;
    if (after.starts_with("-")) {
      size_t end = 1;
      while (end < after.size() && after[end] >= '0' && after[end] <= '9') ++end;
      if (end == 1 || end > 6) continue;
      n = std::stoi(std::string(after.substr(1, end - 1)));
      after.remove_prefix(end);
    }
    if (!after.empty() && !after.starts_with(".")) continue;
    struct tm tm {};
    tm.tm_year = std::stoi(std::string(rest.substr(0, 4))) - 1900;
    tm.tm_mon = std::stoi(std::string(rest.substr(4, 2))) - 1;
    tm.tm_mday = std::stoi(std::string(rest.substr(6, 2)));
    tm.tm_hour = std::stoi(std::string(rest.substr(9, 2)));
    tm.tm_min = std::stoi(std::string(rest.substr(11, 2)));
    tm.tm_sec = std::stoi(std::string(rest.substr(13, 2)));
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
      continue;
    }
    return ParsedVersionName{std::string(file.substr(0, tilde)) + std::string(after), static_cast<int64_t>(timegm(&tm)), n};
  }
  return std::nullopt;
}

}  // namespace tandem::sync
