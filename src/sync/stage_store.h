// StageStore: a share's repository in a StageHarness's folder, filled by
// scanning what the test wrote there, for the stages that read or write the
// store. Used on the test's thread while no stage runs on the strand, and
// through the strand (as the engine does) while one does.
#pragma once

#include <gtest/gtest.h>

#include "scan/scanner.h"
#include "store/repository.h"
#include "store/share_folder.h"
#include "sync/stage_harness.h"

namespace tandem::sync {

class StageStore {
 public:
  explicit StageStore(StageHarness& h) : h_(h) {
    auto repo = store::Repository::Open(h.dir.path() / RelPath::kRepoDirName, h.secrets.share_id(), true,
                                        store::OptionsFor(h.secrets));
    EXPECT_TRUE(repo) << repo.error().message;
    repo_ = std::move(*repo);
    EXPECT_TRUE(store::WriteShareMarker(h.dir.path(), h.secrets.share_id()));
    auto reader = repo_->OpenReader();
    EXPECT_TRUE(reader) << reader.error().message;
    reader_ = std::move(*reader);
  }

  // Writes `files` into the folder and indexes the whole folder.
  void WriteAndScan(const std::map<std::string, std::string>& files) {
    for (const auto& [path, content] : files) testing::WriteFile(h_.dir.path() / path, content);
    auto scan = [this] {
      scan::Scanner scanner(h_.fs, *repo_, h_.secrets, {1, repo_->replica_id()}, h_.dir.path());
      return scanner.ScanAll();
    };
    auto scanned = h_.Await(RunOn(h_.context.strand, scan));
    EXPECT_TRUE(scanned) << scanned.error().message;
  }

  crypto::Locator LocatorOf(const std::string& path) const {
    return crypto::ComputeLocator(h_.secrets.locator_key(), path);
  }

  std::unique_ptr<store::Repository> repo_;
  std::shared_ptr<store::RepositoryReader> reader_;

 private:
  StageHarness& h_;
};

}  // namespace tandem::sync
