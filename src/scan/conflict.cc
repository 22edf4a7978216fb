#include "scan/conflict.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "crypto/keyed_hash.h"
#include "scan/scanner.h"

namespace tandem::scan {
namespace {

constexpr std::string_view kMarker = ".sync-conflict-";

uint64_t HighestCounter(const VersionVector& v) {
  uint64_t highest = 0;
  for (const auto& [_, counter] : v.counters()) highest = std::max(highest, counter);
  return highest;
}

}  // namespace

std::string Device7(uint64_t short_id) {
  Bytes id;
  AppendU64BE(id, short_id);
  return Base32Encode(id).substr(0, 7);
}

bool Wins(const crypto::Entry& a, const crypto::Record& ra, const crypto::Entry& b, const crypto::Record& rb) {
  if (SameContent(a, b)) return ra.signature > rb.signature;
  if (a.deleted != b.deleted) return b.deleted;
  // A folder keeps its name over a file or symlink: its children could not
  // live below a file, and the file is kept as a copy beside it.
  bool a_folder = a.kind == crypto::EntryKind::kDirectory, b_folder = b.kind == crypto::EntryKind::kDirectory;
  if (!a.deleted && a_folder != b_folder) return a_folder;
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

namespace {

// The copy's path for `path`, from the stamp and device it names.
std::string CopyPathFor(const std::string& path, const std::string& stamp, const std::string& device7) {
  auto [stem, ext] = SplitExtension(path);
  // Names are at most 255 bytes: a long one gives up the end of its stem
  // (at a UTF-8 character boundary) so the copy can still be made.
  std::string suffix = std::string(kMarker) + stamp + "-" + device7 + ext;
  size_t slash = stem.rfind('/');
  size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  constexpr size_t kMaxName = 255;
  if (stem.size() - name_start + suffix.size() > kMaxName) {
    size_t keep = kMaxName > suffix.size() ? kMaxName - suffix.size() : 0;
    size_t cut = name_start + keep;
    while (cut > name_start && (static_cast<unsigned char>(stem[cut]) & 0xC0) == 0x80) --cut;
    stem.resize(cut);
  }
  return stem + suffix;
}

}  // namespace

std::string ConflictCopyPath(const crypto::Entry& loser, int64_t later_s) {
  std::time_t seconds = static_cast<std::time_t>(loser.mtime_ns / 1'000'000'000 + later_s);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  return CopyPathFor(loser.path.str(), stamp, Device7(loser.device_short_id));
}

bool IsConflictCopyOf(const std::string& copy, const std::string& original) {
  auto name = ParseConflictCopyPath(copy);
  return name && original != copy && CopyPathFor(original, name->stamp, name->device7) == copy;
}

bool MayBeShortened(const std::string& copy) {
  size_t slash = copy.rfind('/');
  // Shortened at a character boundary: up to three bytes short of the limit.
  return copy.size() - (slash == std::string::npos ? 0 : slash + 1) >= 255 - 3;
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
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const uint64_t clock = now > 0 ? static_cast<uint64_t>(now) : 0;
  out.Set(device, std::max(std::max(HighestCounter(base), HighestCounter(seen)) + 1, clock));
  return out;
}

bool CopyIndexedFile(store::Repository& repo, const LocalDisk& disk, const std::string& from,
                     const crypto::Entry& loser, const std::string& copy_path, const VersionVector& vector) {
  namespace stdfs = std::filesystem;
  fs::Filesystem& fs = disk.fs;
  const stdfs::path& root = disk.root;
  auto local = repo.GetFileState(from);
  if (!local || local->kind != crypto::EntryKind::kFile || loser.kind != crypto::EntryKind::kFile ||
      local->blocks != loser.blocks) {
    return false;
  }
  auto from_rel = RelPath::Parse(from);
  auto copy_rel = RelPath::Parse(copy_path);
  if (!from_rel || !copy_rel || !fs::ParentsAreFolders(fs, root, *from_rel) ||
      !fs::ParentsAreFolders(fs, root, *copy_rel)) {
    return false;
  }
  auto before = fs.Lstat(root / from);
  if (!before || !MatchesIndexedState(*local, *before) || fs.Lstat(root / copy_path)) return false;
  stdfs::path tmp = root / RelPath::kRepoDirName / "tmp" / ("copy-" + HexEncode(crypto::Sha256(AsBytes(copy_path))).substr(0, 16));
  std::error_code ec;
  if (!fs::MakeFoldersBelow(root / RelPath::kRepoDirName, "tmp")) return false;  // never .tandem itself
  stdfs::copy_file(root / from, tmp, stdfs::copy_options::overwrite_existing, ec);
  auto after = fs.Lstat(root / from);
  if (ec || !after || !(*after == *before)) {  // changed while copied: the scan will see it
    stdfs::remove(tmp, ec);
    return false;
  }
  int fd = ::open(tmp.c_str(), O_RDWR | O_CLOEXEC);
  bool done = fd >= 0 && fs::SetModeAndMtime(fd, loser.mode, loser.mtime_ns) && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!done || ::rename(tmp.c_str(), (root / copy_path).c_str()) != 0) {
    stdfs::remove(tmp, ec);
    return false;
  }
  auto now = fs.Lstat(root / copy_path);
  if (!now) return false;
  repo.PutFileState({.path = copy_path, .kind = crypto::EntryKind::kFile, .size = now->size,
                     .mtime_ns = now->mtime_ns, .ctime_ns = now->ctime_ns, .inode = now->inode,
                     .mode = now->mode, .blocks = loser.blocks, .vector = vector});
  return true;
}

Settlement Settle(store::Repository& repo, const crypto::ShareSecrets& secrets, uint64_t device,
                  const Version& a, const Version& b, const LocalDisk* disk) {
  Settlement out;
  // Same content is ordered by signature, which a writer's store keeps none of.
  crypto::Record signed_a = a.record, signed_b = b.record;
  crypto::RestoreSignature(secrets, signed_a);
  crypto::RestoreSignature(secrets, signed_b);
  out.a_wins = Wins(a.entry, signed_a, b.entry, signed_b);
  if (SameContent(a.entry, b.entry)) return out;
  const Version& winner = out.a_wins ? a : b;
  const Version& loser = out.a_wins ? b : a;
  // A losing folder has nothing to keep: its children are versions of their own.
  if (!loser.entry.deleted && loser.entry.kind != crypto::EntryKind::kDirectory) {
    // The name is taken by another version when the same device lost twice
    // within a second: the next second's name is tried, so both are kept.
    constexpr int kNameTries = 100;
    bool kept = false;
    for (int later = 0; later < kNameTries && !kept; ++later) {
      std::string copy_path = ConflictCopyPath(loser.entry, later);
      crypto::Locator copy_locator = crypto::ComputeLocator(secrets.locator_key(), copy_path);
      auto rel = RelPath::Parse(copy_path);
      if (!rel) break;
      if (auto existing = repo.GetRecord(copy_locator)) {
        auto opened = crypto::OpenRecord(secrets, existing->record);
        kept = opened && !opened->deleted && SameContent(*opened, loser.entry);
        continue;
      }
      crypto::Entry copy = loser.entry;
      copy.path = *rel;
      VersionVector vector;
      vector.Set(device, 1);
      repo.PutRecord(crypto::MakeRecord(secrets, copy, vector), copy_path);
      if (disk) CopyIndexedFile(repo, *disk, loser.entry.path.str(), loser.entry, copy_path, vector);
      out.written.push_back(copy_locator);
      out.copy_path = copy_path;
      spdlog::warn("conflict on {}: the version from {} is kept as {}", winner.entry.path.str(),
                   Device7(loser.entry.device_short_id), copy_path);
      kept = true;
    }
    if (!kept) {
      // Never let the winner replace a version that has no copy.
      spdlog::warn("conflict on {}: no name for a copy of the other version; left unsettled",
                   winner.entry.path.str());
      out.unsettled = true;
      return out;
    }
  }
  VersionVector both = a.record.vector;
  both.Merge(b.record.vector);
  out.merged = Descend(both, {}, device);
  repo.PutRecord(crypto::MakeRecord(secrets, winner.entry, out.merged), winner.entry.path.str());
  out.written.push_back(winner.record.locator);
  // The disk already holds the winner: a local edit descends from the merged version.
  const std::string& path = winner.entry.path.str();
  if (auto local = repo.GetFileState(path); local && !winner.entry.deleted && local->kind == winner.entry.kind &&
                                            local->blocks == winner.entry.blocks && local->mode == winner.entry.mode) {
    local->vector = out.merged;
    repo.PutFileState(*local);
  }
  return out;
}

}  // namespace tandem::scan
