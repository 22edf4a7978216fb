#include "scan/conflict.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "crypto/keyed_hash.h"

namespace tandem::scan {
namespace {

constexpr std::string_view kMarker = ".sync-conflict-";

std::string Device7(uint64_t short_id) {
  Bytes id;
  AppendU64BE(id, short_id);
  return Base32Encode(id).substr(0, 7);
}

uint64_t HighestCounter(const VersionVector& v) {
  uint64_t highest = 0;
  for (const auto& [_, counter] : v.counters()) highest = std::max(highest, counter);
  return highest;
}

}  // namespace

bool Wins(const crypto::Entry& a, const crypto::Record& ra, const crypto::Entry& b, const crypto::Record& rb) {
  if (SameContent(a, b)) return ra.signature > rb.signature;
  if (a.deleted != b.deleted) return b.deleted;
  if (a.mtime_ns != b.mtime_ns) return a.mtime_ns > b.mtime_ns;
  if (a.device_short_id != b.device_short_id) return a.device_short_id > b.device_short_id;
  return ra.signature > rb.signature;
}

bool SameContent(const crypto::Entry& a, const crypto::Entry& b) {
  if (a.deleted || b.deleted) return a.deleted == b.deleted;
  return a.kind == b.kind && a.mode == b.mode && a.symlink_target == b.symlink_target && a.size == b.size &&
         a.blocks == b.blocks;
}

std::pair<std::string, std::string> SplitExtension(const std::string& path) {
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  if (dot == std::string::npos || dot <= name_start) return {path, ""};
  return {path.substr(0, dot), path.substr(dot)};
}

std::string ConflictCopyPath(const crypto::Entry& loser, int64_t later_s) {
  std::time_t seconds = static_cast<std::time_t>(loser.mtime_ns / 1'000'000'000 + later_s);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  auto [stem, ext] = SplitExtension(loser.path.str());
  return stem + std::string(kMarker) + stamp + "-" + Device7(loser.device_short_id) + ext;
}

std::optional<ConflictCopyName> ParseConflictCopyPath(const std::string& path) {
  size_t slash = path.rfind('/');
  size_t at = path.rfind(kMarker);
  if (at == std::string::npos || (slash != std::string::npos && at < slash)) return std::nullopt;
  size_t tail = at + kMarker.size();
  // YYYYMMDD-HHMMSS-DEVICE7 = 8 + 1 + 6 + 1 + 7 characters.
  constexpr size_t kTail = 23;
  if (path.size() < tail + kTail) return std::nullopt;
  std::string stamp = path.substr(tail, 15);
  std::string device7 = path.substr(tail + 16, 7);
  if (path[tail + 8] != '-' || path[tail + 15] != '-') return std::nullopt;
  for (size_t i = 0; i < stamp.size(); ++i) {
    if (i != 8 && (stamp[i] < '0' || stamp[i] > '9')) return std::nullopt;
  }
  std::string ext = path.substr(tail + kTail);
  if (!ext.empty() && (ext[0] != '.' || ext.find('/') != std::string::npos)) return std::nullopt;
  return ConflictCopyName{path.substr(0, at) + ext, device7, stamp};
}

VersionVector Descend(const VersionVector& base, const VersionVector& seen, uint64_t device) {
  VersionVector out = base;
  out.Set(device, std::max(HighestCounter(base), HighestCounter(seen)) + 1);
  return out;
}

Settlement Settle(store::Repository& repo, const crypto::ShareSecrets& secrets, uint64_t device,
                  const Version& a, const Version& b) {
  Settlement out;
  out.a_wins = Wins(a.entry, a.record, b.entry, b.record);
  if (SameContent(a.entry, b.entry)) return out;
  const Version& winner = out.a_wins ? a : b;
  const Version& loser = out.a_wins ? b : a;
  // A losing folder has nothing to keep: its children are versions of their own.
  if (!loser.entry.deleted && loser.entry.kind != crypto::EntryKind::kDirectory) {
    // The name is taken by another version when the same device lost twice
    // within a second: the next second's name is tried, so both are kept.
    constexpr int kNameTries = 100;
    for (int later = 0; later < kNameTries; ++later) {
      std::string copy_path = ConflictCopyPath(loser.entry, later);
      crypto::Locator copy_locator = crypto::ComputeLocator(secrets.locator_key(), copy_path);
      auto rel = RelPath::Parse(copy_path);
      if (!rel) break;
      if (auto existing = repo.GetRecord(copy_locator)) {
        auto kept = crypto::OpenRecord(secrets, existing->record);
        if (kept && !kept->deleted && SameContent(*kept, loser.entry)) break;  // kept already
        continue;
      }
      crypto::Entry copy = loser.entry;
      copy.path = *rel;
      VersionVector vector;
      vector.Set(device, 1);
      repo.PutRecord(crypto::MakeRecord(secrets, copy, vector));
      out.written.push_back(copy_locator);
      spdlog::warn("conflict on {}: the version from {} is kept as {}", winner.entry.path.str(),
                   Device7(loser.entry.device_short_id), copy_path);
      break;
    }
  }
  VersionVector both = a.record.vector;
  both.Merge(b.record.vector);
  out.merged = Descend(both, {}, device);
  repo.PutRecord(crypto::MakeRecord(secrets, winner.entry, out.merged));
  out.written.push_back(winner.record.locator);
  return out;
}

}  // namespace tandem::scan
