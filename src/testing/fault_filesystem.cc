#include "testing/fault_filesystem.h"

#include "fs/part_file.h"

#include <optional>

namespace tandem::testing {
namespace {

bool IsWrite(FaultFilesystem::Op op) {
  using Op = FaultFilesystem::Op;
  return op != Op::kLstat && op != Op::kListDir && op != Op::kOpenRead && op != Op::kReadLink;
}

}  // namespace

// A part file whose writes go through the owner's faults.
class FaultFilesystem::FaultyPartFile final : public fs::FileInAssembly {
 public:
  FaultyPartFile(FaultFilesystem& owner, std::filesystem::path path, std::unique_ptr<fs::FileInAssembly> real)
      : owner_(owner), path_(std::move(path)), real_(std::move(real)) {}
  Result<void> Write(uint64_t offset, ByteView data) override;
  Result<void> Flush() override;
  bool MayHoldData(uint64_t offset, uint64_t size) override { return real_->MayHoldData(offset, size); }
  Result<void> Stamp(uint32_t mode, int64_t mtime_ns) override;

 private:
  FaultFilesystem& owner_;
  const std::filesystem::path path_;
  std::unique_ptr<fs::FileInAssembly> real_;
};

void FaultFilesystem::Fail(Op op, std::string path_part, Error error, int times) {
  std::lock_guard lock(mutex_);
  faults_.push_back({op, std::move(path_part), std::move(error), times});
}

void FaultFilesystem::StopWritingAfter(int writes) {
  std::lock_guard lock(mutex_);
  writes_left_ = writes;
}

void FaultFilesystem::Heal() {
  std::lock_guard lock(mutex_);
  faults_.clear();
  writes_left_ = -1;
}

int FaultFilesystem::calls(Op op) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

std::optional<Error> FaultFilesystem::Check(Op op, const std::filesystem::path& path,
                                            const std::filesystem::path& other) {
  std::lock_guard lock(mutex_);
  ++calls_[op];
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op) continue;
    bool matches = it->path_part.empty() || path.string().find(it->path_part) != std::string::npos ||
                   (!other.empty() && other.string().find(it->path_part) != std::string::npos);
    if (!matches) continue;
    Error error = it->error;
    if (it->times > 0 && --it->times == 0) faults_.erase(it);
    return error;
  }
  if (IsWrite(op) && writes_left_ >= 0) {
    if (writes_left_ == 0) return MakeError(ErrorCode::kIo, "injected: the disk stopped taking writes");
    --writes_left_;
  }
  return std::nullopt;
}

#define TANDEM_FAULT(op, ...) \
  if (auto fault = Check(op, __VA_ARGS__)) return *fault
#define TANDEM_PART_FAULT(op, ...) \
  if (auto fault = owner_.Check(op, __VA_ARGS__)) return *fault

Result<fs::FileInfo> FaultFilesystem::Lstat(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kLstat, path);
  return real_.Lstat(path);
}
Result<std::vector<std::string>> FaultFilesystem::ListDir(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kListDir, path);
  return real_.ListDir(path);
}
Result<std::unique_ptr<fs::ReadableFile>> FaultFilesystem::OpenRead(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kOpenRead, path);
  return real_.OpenRead(path);
}
Result<std::string> FaultFilesystem::ReadLink(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kReadLink, path);
  return real_.ReadLink(path);
}
Result<void> FaultFilesystem::Remove(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kRemove, path);
  return real_.Remove(path);
}
Result<void> FaultFilesystem::RemoveFolder(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kRemoveFolder, path);
  return real_.RemoveFolder(path);
}
Result<void> FaultFilesystem::Rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  TANDEM_FAULT(Op::kRename, from, to);
  return real_.Rename(from, to);
}
Result<void> FaultFilesystem::HardLink(const std::filesystem::path& from, const std::filesystem::path& to) {
  TANDEM_FAULT(Op::kHardLink, from, to);
  return real_.HardLink(from, to);
}
Result<void> FaultFilesystem::MakeFolder(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kMakeFolder, path);
  return real_.MakeFolder(path);
}
Result<void> FaultFilesystem::MakeSymlink(const std::string& target, const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kMakeSymlink, path);
  return real_.MakeSymlink(target, path);
}
Result<void> FaultFilesystem::SetMode(const std::filesystem::path& path, uint32_t mode) {
  TANDEM_FAULT(Op::kSetMode, path);
  return real_.SetMode(path, mode);
}
Result<void> FaultFilesystem::SetMtime(const std::filesystem::path& path, int64_t mtime_ns) {
  TANDEM_FAULT(Op::kSetMtime, path);
  return real_.SetMtime(path, mtime_ns);
}
Result<void> FaultFilesystem::WriteNewFile(const std::filesystem::path& path, ByteView data, uint32_t mode,
                                           int64_t mtime_ns) {
  TANDEM_FAULT(Op::kWriteNewFile, path);
  return real_.WriteNewFile(path, data, mode, mtime_ns);
}
Result<void> FaultFilesystem::SyncFile(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kSyncFile, path);
  return real_.SyncFile(path);
}
Result<void> FaultFilesystem::SyncFilesystem(const std::filesystem::path& path) {
  TANDEM_FAULT(Op::kSyncFilesystem, path);
  return real_.SyncFilesystem(path);
}

Result<std::unique_ptr<fs::FileInAssembly>> FaultFilesystem::OpenPartFile(const std::filesystem::path& path,
                                                                         uint64_t size, bool fresh,
                                                                         fs::SegmentBufferPool& buffers) {
  TANDEM_FAULT(Op::kOpenPartFile, path);
  auto real = real_.OpenPartFile(path, size, fresh, buffers);
  if (!real) return real.error();
  return std::unique_ptr<fs::FileInAssembly>(std::make_unique<FaultyPartFile>(*this, path, std::move(*real)));
}

Result<void> FaultFilesystem::FaultyPartFile::Write(uint64_t offset, ByteView data) {
  TANDEM_PART_FAULT(Op::kWritePart, path_);
  return real_->Write(offset, data);
}
Result<void> FaultFilesystem::FaultyPartFile::Flush() {
  TANDEM_PART_FAULT(Op::kWritePart, path_);
  return real_->Flush();
}
Result<void> FaultFilesystem::FaultyPartFile::Stamp(uint32_t mode, int64_t mtime_ns) {
  TANDEM_PART_FAULT(Op::kWritePart, path_);
  return real_->Stamp(mode, mtime_ns);
}

#undef TANDEM_FAULT
#undef TANDEM_PART_FAULT

}  // namespace tandem::testing
