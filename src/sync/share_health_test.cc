#include "sync/share_health.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "sync/stage_harness.h"

namespace tandem::sync {
namespace {

using State = ShareHealth::State;

class ShareHealthTest : public ::testing::Test {
 protected:
  ShareHealthTest() {
    std::filesystem::create_directories(h.dir.path() / RelPath::kRepoDirName);
    EXPECT_TRUE(store::WriteShareMarker(h.dir.path(), h.secrets.share_id()));
  }

  StageHarness h;
  int failed = 0;
  int recovered = 0;
  int probes = 0;
  // The store's answer to each probe: throws while set.
  std::optional<int> store_fails_with;
  ShareHealth health{h.context, std::make_shared<store::ShareFolderGuard>(h.dir.path(), h.secrets.share_id()),
                     {.on_failed = [this] { ++failed; },
                      .on_recovered = [this] { ++recovered; },
                      .probe_store = [this] {
                        ++probes;
                        if (store_fails_with) throw store::StoreError("disk I/O error", *store_fails_with);
                      }},
                     Backoff(std::chrono::milliseconds(10), std::chrono::milliseconds(40))};
};

TEST_F(ShareHealthTest, AFolderThatIsTheSharesIsHealthy) {
  EXPECT_TRUE(health.CheckFolder());
  EXPECT_TRUE(health.CheckFolder(/*thorough=*/true));
  EXPECT_TRUE(health.ok());
  EXPECT_EQ(failed, 0);
}

TEST_F(ShareHealthTest, AFolderThatLostItsMarkerStopsTheShareWithTheReason) {
  ASSERT_TRUE(health.CheckFolder());
  std::filesystem::remove_all(h.dir.path() / RelPath::kRepoDirName);
  EXPECT_FALSE(health.CheckFolder());
  ASSERT_TRUE(h.RunUntil([&] { return failed == 1; }));
  EXPECT_EQ(health.state(), State::kFolderUnavailable);
  EXPECT_NE(health.fault().find("resumes by itself when the folder is back"), std::string::npos) << health.fault();
  // The Service reopens such a share: nothing is retried here.
  EXPECT_EQ(probes, 0);
}

TEST_F(ShareHealthTest, AFullStoreIsProbedAgainUntilItCanWrite) {
  store_fails_with = SQLITE_FULL;
  health.ReportStoreError(store::StoreError("database or disk is full", SQLITE_FULL), "storing records");
  EXPECT_EQ(health.state(), State::kStoreUnavailable);
  EXPECT_NE(health.fault().find("free some space"), std::string::npos) << health.fault();
  EXPECT_EQ(failed, 1);
  ASSERT_TRUE(h.RunUntil([&] { return probes >= 1; }));
  EXPECT_FALSE(health.ok());
  store_fails_with.reset();  // space was freed
  ASSERT_TRUE(h.RunUntil([&] { return recovered == 1; }, std::chrono::seconds(15)));
  EXPECT_TRUE(health.ok());
  EXPECT_TRUE(health.fault().empty());
  EXPECT_EQ(failed, 1);
}

TEST_F(ShareHealthTest, DamageOutranksATransientFaultAndIsNotRetried) {
  health.ReportStoreError(store::StoreError("file is not a database", SQLITE_NOTADB), "scan");
  EXPECT_EQ(health.state(), State::kRepositoryDamaged);
  EXPECT_NE(health.fault().find("tandem repair stage-test"), std::string::npos) << health.fault();
  health.ReportStoreError(store::StoreError("database or disk is full", SQLITE_FULL), "scan");
  EXPECT_EQ(health.state(), State::kRepositoryDamaged);
  EXPECT_EQ(failed, 1);
  // The full disk is no reason to probe a damaged store either: no retry is pending.
  ASSERT_TRUE(h.RunUntil([&] { return h.spawned_running == 0; }));
  EXPECT_EQ(probes, 0);
}

TEST_F(ShareHealthTest, NothingFailsOnceStopped) {
  health.Stop();
  health.Fail(State::kStoreUnavailable, "late");
  EXPECT_TRUE(health.ok());
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace tandem::sync
