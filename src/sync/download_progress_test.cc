#include "sync/download_progress.h"

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <vector>

namespace tandem::sync {
namespace {

using namespace std::chrono_literals;

crypto::Locator ProgressKey(uint8_t n) {
  crypto::Locator locator{};
  locator[0] = n;
  return locator;
}

class DownloadProgressTest : public ::testing::Test {
 protected:
  // Runs the loop until the progress timer has fired (and told what waited).
  void NextTick() {
    io_.restart();
    io_.run_for(200ms);
  }
  const nlohmann::json& File(size_t event, size_t k = 0) { return told_.at(event)["files"].at(k); }

  asio::io_context io_;
  std::vector<nlohmann::json> told_;
  DownloadProgress progress_{io_, [this](nlohmann::json data) { told_.push_back(std::move(data)); }, 20ms};
};

TEST_F(DownloadProgressTest, TheFirstChangeIsToldAtOnceAndLaterOnesOncePerTick) {
  progress_.Begin(ProgressKey(1), "big.bin", 1000, 200, 1, 4);
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(File(0)["path"], "big.bin");
  EXPECT_EQ(File(0)["bytes_done"], 200);
  EXPECT_EQ(File(0)["bytes_total"], 1000);
  EXPECT_EQ(File(0)["blocks_reused"], 1);
  EXPECT_EQ(File(0)["blocks_fetched"], 0);
  progress_.Fetched(ProgressKey(1), 200);
  progress_.Fetched(ProgressKey(1), 200);
  EXPECT_EQ(told_.size(), 1u) << "changes within a tick wait for it";
  NextTick();
  ASSERT_EQ(told_.size(), 2u);
  EXPECT_EQ(File(1)["bytes_done"], 600);
  EXPECT_EQ(File(1)["blocks_fetched"], 2);
}

TEST_F(DownloadProgressTest, AFinishedFileIsToldWholeOnceThenForgotten) {
  progress_.Begin(ProgressKey(1), "a", 1000, 0, 0, 4);
  progress_.Fetched(ProgressKey(1), 300);
  progress_.End(ProgressKey(1), /*complete=*/true);
  ASSERT_EQ(told_.size(), 2u) << "an end is told at once";
  EXPECT_EQ(File(1)["bytes_done"], 1000);
  EXPECT_EQ(File(1)["finished"], true);
  EXPECT_EQ(told_[1]["files_in_progress"], 0);
  NextTick();
  EXPECT_EQ(told_.size(), 2u) << "nothing moves: nothing is told";
  progress_.Fetched(ProgressKey(1), 10);  // late: the file is gone
  NextTick();
  EXPECT_EQ(told_.size(), 2u);
}

TEST_F(DownloadProgressTest, BytesNeverGoBackOrPassTheTotal) {
  progress_.Begin(ProgressKey(1), "a", 100, 0, 0, 2);
  progress_.Fetched(ProgressKey(1), 80);
  progress_.Fetched(ProgressKey(1), 80);  // a block counted twice by mistake cannot pass the size
  progress_.End(ProgressKey(1), /*complete=*/false);
  NextTick();
  uint64_t last = 0;
  for (size_t i = 0; i < told_.size(); ++i) {
    uint64_t done = File(i)["bytes_done"].get<uint64_t>();
    EXPECT_GE(done, last);
    EXPECT_LE(done, 100u);
    last = done;
  }
}

TEST_F(DownloadProgressTest, TotalsCountEveryFileButTheListIsBounded) {
  for (uint8_t i = 0; i < DownloadProgress::kListed + 20; ++i) progress_.Begin(ProgressKey(i), "f", 10, 0, 0, 1);
  NextTick();
  const nlohmann::json& last = told_.back();
  EXPECT_EQ(last["files"].size(), DownloadProgress::kListed);
  EXPECT_EQ(last["bytes_total"], 10 * (DownloadProgress::kListed + 20));
  EXPECT_EQ(last["files_in_progress"], DownloadProgress::kListed + 20);
}

TEST_F(DownloadProgressTest, NothingIsToldOnceStopped) {
  progress_.Begin(ProgressKey(1), "a", 100, 0, 0, 2);
  progress_.Stop();
  progress_.Begin(ProgressKey(2), "b", 100, 0, 0, 2);
  NextTick();
  EXPECT_EQ(told_.size(), 1u);
}

}  // namespace
}  // namespace tandem::sync
