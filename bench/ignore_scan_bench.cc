// What ignore patterns cost a scan (issue 20): a nested tree of small files
// scanned with no patterns and with 50 typical ones that match none of its
// files, so both scans do the same work but the matching. Two scans each
// way: the first (every file read and hashed, into an empty repository) and
// a rescan of the unchanged tree (an lstat a path, where matching weighs the
// most). The two ways alternate, round by round, so that a noisy machine
// slows both alike; medians are printed, and the ratio. Also the cost of
// compiling the 50 patterns, which happens once per change of the file.
//
//   ignore_scan_bench [--files N] [--rounds R] [--dir PARENT]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "fs/filesystem.h"
#include "scan/ignore.h"
#include "scan/scanner.h"
#include "store/repository.h"

namespace tandem {
namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

// 50 lines of a typical .tandemignore: build output, caches, editor files,
// secrets. None matches a file of the tree below.
const char* const kPatterns[] = {
    "node_modules", "build/", "dist/", ".cache", "__pycache__", "*.pyc", "*.o", "*.so", "*.class", "target/",
    ".gradle", ".idea", ".vscode", "*.swp", "*~", ".#*", "#*#", ".DS_Store", "Thumbs.db", "*.tmp",
    "*.bak", "*.log", "!important.log", ".env", ".env.*", "*.pem", "*.key", "coverage/", ".pytest_cache",
    ".mypy_cache", ".tox", "venv/", ".venv/", "*.egg-info", "/out/", "/bin/", "/obj/", "*.iml",
    "(?i)desktop.ini", "(?d).directory", "**/tmp/**", "*.{aux,toc,synctex.gz}", ".sass-cache", "bower_components",
    "vendor/bundle", "*.min.js.map", "npm-debug.log*", "yarn-error.log", ".terraform/", "*.tfstate"};

std::string PatternText() {
  std::string text;
  for (const char* p : kPatterns) text += std::string(p) + "\n";
  return text;
}

// `files` small files, 10 folders of 10 folders of files, with source-like names.
void MakeTree(const stdfs::path& root, int files) {
  const char* exts[] = {".cc", ".h", ".md", ".txt", ".json", ".py", ".rs", ".go"};
  for (int i = 0; i < files; ++i) {
    stdfs::path dir = root / ("module" + std::to_string(i % 10)) / ("part" + std::to_string(i / 10 % 10));
    stdfs::create_directories(dir);
    FILE* f = std::fopen((dir / ("file_" + std::to_string(i) + exts[i % 8])).c_str(), "w");
    std::fprintf(f, "content of file %d\n", i);
    std::fclose(f);
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Way {
  std::shared_ptr<const scan::IgnoreRules> rules;  // null: no patterns
  std::vector<double> first_ms, rescan_ms;
  uint64_t entries = 0;
};

int Run(int files, int rounds, const stdfs::path& parent) {
  crypto::Init();
  const stdfs::path root = parent / "tree";
  stdfs::remove_all(root);
  MakeTree(root, files);
  const crypto::ShareSecrets secrets = crypto::ShareSecrets::GenerateWrite();
  auto parsed = scan::IgnoreRules::Parse(".tandemignore", PatternText(), [](const std::string&) { return std::nullopt; });
  if (!parsed) {
    std::fprintf(stderr, "patterns: %s\n", parsed.error().message.c_str());
    return 1;
  }
  std::vector<double> compile_us;
  for (int i = 0; i < 200; ++i) {
    auto start = Clock::now();
    auto again = scan::IgnoreRules::Parse(".tandemignore", PatternText(), [](const std::string&) { return std::nullopt; });
    compile_us.push_back(Ms(Clock::now() - start) * 1000);
  }
  Way none, fifty;
  fifty.rules = std::make_shared<const scan::IgnoreRules>(std::move(*parsed));
  fs::PosixFilesystem posix;
  for (int round = 0; round < rounds; ++round) {
    for (Way* way : round % 2 == 0 ? std::vector<Way*>{&none, &fifty} : std::vector<Way*>{&fifty, &none}) {
      stdfs::remove_all(root / ".tandem");
      auto repo = store::Repository::Open(root / ".tandem", secrets.share_id(), true, store::OptionsFor(secrets));
      if (!repo) {
        std::fprintf(stderr, "repository: %s\n", repo.error().message.c_str());
        return 1;
      }
      scan::Scanner scanner(posix, **repo, secrets, {1, (*repo)->replica_id()}, root);
      scanner.IgnoreWith(way->rules);
      auto start = Clock::now();
      auto first = scanner.ScanAll();
      way->first_ms.push_back(Ms(Clock::now() - start));
      if (!first || first->files_hashed != static_cast<uint64_t>(files)) {
        std::fprintf(stderr, "scan did not do the work measured\n");
        return 1;
      }
      way->entries = first->entries_seen;
    }
  }
  // Rescans of one indexed tree (the patterns match nothing, so either way
  // leaves the index as it was), ten times as many: each is short.
  auto repo = store::Repository::Open(root / ".tandem", secrets.share_id(), true, store::OptionsFor(secrets));
  if (!repo) return 1;
  for (int round = 0; round < rounds * 10; ++round) {
    for (Way* way : round % 2 == 0 ? std::vector<Way*>{&none, &fifty} : std::vector<Way*>{&fifty, &none}) {
      scan::Scanner scanner(posix, **repo, secrets, {1, (*repo)->replica_id()}, root);
      scanner.IgnoreWith(way->rules);
      auto start = Clock::now();
      auto rescan = scanner.ScanAll();
      way->rescan_ms.push_back(Ms(Clock::now() - start));
      if (!rescan || rescan->files_hashed != 0 || rescan->records_written != 0) {
        std::fprintf(stderr, "a rescan read or recorded something\n");
        return 1;
      }
    }
  }
  stdfs::remove_all(root);
  std::printf("tree: %d files, %llu entries; %d first scans and %d rescans each way, alternating; medians\n", files,
              static_cast<unsigned long long>(none.entries), rounds, rounds * 10);
  std::printf("compiling 50 patterns: %.1f us\n", Median(compile_us));
  std::printf("%-28s %12s %12s %8s\n", "scan", "no patterns", "50 patterns", "ratio");
  std::printf("%-28s %10.1f ms %10.1f ms %8.3f\n", "first (read and hash all)", Median(none.first_ms),
              Median(fifty.first_ms), Median(fifty.first_ms) / Median(none.first_ms));
  std::printf("%-28s %10.1f ms %10.1f ms %8.3f\n", "rescan (unchanged)", Median(none.rescan_ms),
              Median(fifty.rescan_ms), Median(fifty.rescan_ms) / Median(none.rescan_ms));
  return 0;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) {
  int files = 10000, rounds = 7;
  std::filesystem::path parent = std::filesystem::temp_directory_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--files") files = std::atoi(argv[i + 1]);
    else if (flag == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (flag == "--dir") parent = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: ignore_scan_bench [--files N] [--rounds R] [--dir PARENT]\n");
      return 2;
    }
  }
  parent /= "tandem-ignore-scan-bench-" + std::to_string(::getpid());
  int rc = tandem::Run(files, rounds, parent);
  std::filesystem::remove_all(parent);
  return rc;
}
