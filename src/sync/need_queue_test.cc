#include "sync/need_queue.h"

#include <gtest/gtest.h>

namespace tandem::sync {
namespace {

crypto::Locator L(uint8_t n) {
  crypto::Locator locator{};
  locator[0] = n;
  return locator;
}

TEST(NeedQueue, PathsArePulledInTheOrderTheyCameAndOncePulledAreNoLongerNeeded) {
  NeedQueue queue;
  queue.Add({{L(1), Need{10}}, {L(2), Need{20}}});
  EXPECT_EQ(queue.files(), 2u);
  EXPECT_EQ(queue.bytes(), 30u);
  auto first = queue.Take();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first, L(1));
  EXPECT_EQ(queue.Finish(L(1), first->second, NeedQueue::Outcome::kPulled), NeedQueue::Next::kDone);
  EXPECT_FALSE(queue.Contains(L(1)));
  EXPECT_EQ(queue.Take()->first, L(2));
  EXPECT_FALSE(queue.Take()) << "each path is taken once";
}

TEST(NeedQueue, ANewerRecordDuringAPullAsksForOneMorePull) {
  NeedQueue queue;
  queue.Add({{L(1), Need{10}}});
  auto taken = queue.Take();
  queue.Add({{L(1), Need{99}}});  // a newer version arrives while it is pulled
  EXPECT_FALSE(queue.Take()) << "not queued twice while being pulled";
  EXPECT_EQ(queue.Finish(L(1), taken->second, NeedQueue::Outcome::kPulled), NeedQueue::Next::kPullAgain);
  EXPECT_TRUE(queue.Contains(L(1))) << "the newer version is still needed";
  EXPECT_EQ(queue.bytes(), 99u);
  auto again = queue.Take();
  ASSERT_TRUE(again);
  EXPECT_NE(again->second, taken->second);
  EXPECT_EQ(queue.Finish(L(1), again->second, NeedQueue::Outcome::kPulled), NeedQueue::Next::kDone);
  EXPECT_EQ(queue.files(), 0u);
}

TEST(NeedQueue, AWaitingPathIsBlockedUntilRetriedAndStaysNeeded) {
  NeedQueue queue;
  queue.Add({{L(1), Need{10}}});
  auto taken = queue.Take();
  EXPECT_EQ(queue.Finish(L(1), taken->second, NeedQueue::Outcome::kWaiting), NeedQueue::Next::kRetryLater);
  EXPECT_TRUE(queue.has_blocked());
  EXPECT_FALSE(queue.pulling()) << "every needed path waits for a peer";
  EXPECT_FALSE(queue.Take());
  EXPECT_TRUE(queue.failures().empty()) << "waiting for a peer is no failure to show";
  queue.RetryBlocked();
  EXPECT_EQ(queue.Take()->first, L(1));
}

TEST(NeedQueue, RecordsForABlockedPathQueueItAgainAtOnce) {
  NeedQueue queue;
  queue.Add({{L(1), Need{10}}});
  auto taken = queue.Take();
  queue.Finish(L(1), taken->second, NeedQueue::Outcome::kWaiting);
  queue.Add({{L(1), Need{10}}});
  EXPECT_FALSE(queue.has_blocked());
  EXPECT_EQ(queue.Take()->first, L(1));
}

TEST(NeedQueue, AFailureIsListedWithItsReasonNewOnlyWhenTheReasonChanges) {
  NeedQueue queue;
  queue.Add({{L(1), Need{10}}});
  bool is_new = false;
  auto taken = queue.Take();
  queue.Finish(L(1), taken->second, NeedQueue::Outcome::kFailed, "disk full", &is_new);
  EXPECT_TRUE(is_new);
  queue.RetryBlocked();
  taken = queue.Take();
  queue.Finish(L(1), taken->second, NeedQueue::Outcome::kFailed, "disk full", &is_new);
  EXPECT_FALSE(is_new) << "the same reason again is not logged again";
  ASSERT_EQ(queue.failures().size(), 1u);
  EXPECT_EQ(queue.failures()[0].reason, "disk full");
  queue.RetryBlocked();
  taken = queue.Take();
  queue.Finish(L(1), taken->second, NeedQueue::Outcome::kPulled);
  EXPECT_TRUE(queue.failures().empty()) << "pulled at last: no longer listed";
}

TEST(NeedQueue, QueuedPathsWaitWhileTheShareCannotSyncAndNothingIsLost) {
  NeedQueue queue;
  queue.Add({{L(1), Need{1}}, {L(2), Need{2}}});
  queue.BlockQueued();
  EXPECT_FALSE(queue.Take());
  EXPECT_EQ(queue.files(), 2u);
  queue.RetryBlocked();
  std::set<crypto::Locator> taken;
  while (auto next = queue.Take()) taken.insert(next->first);
  EXPECT_EQ(taken, (std::set<crypto::Locator>{L(1), L(2)}));
}

TEST(NeedQueue, AFinishAfterClearChangesNothing) {
  NeedQueue queue;
  queue.Add({{L(1), Need{1}}});
  auto taken = queue.Take();
  queue.Clear();
  EXPECT_EQ(queue.Finish(L(1), taken->second, NeedQueue::Outcome::kFailed, "x"), NeedQueue::Next::kDone);
  EXPECT_EQ(queue.files(), 0u);
  EXPECT_TRUE(queue.failures().empty());
}

TEST(NeedQueue, ARevertIsReplacedByANewerRecord) {
  NeedQueue queue;
  queue.Add({{L(1), Need{.bytes = 5, .revert = true, .revert_disk = std::nullopt}}});
  ASSERT_TRUE(queue.Find(L(1))->revert);
  queue.Add({{L(1), Need{7}}});
  EXPECT_FALSE(queue.Find(L(1))->revert);
}

TEST(NeedQueue, ARevertKeepsTheDiskItWasAskedForUntilItIsPulled) {
  NeedQueue queue;
  fs::FileInfo disk;
  disk.size = 11;
  queue.Add({{L(1), Need{.bytes = 5, .revert = true, .revert_disk = disk}}, {L(2), Need{.bytes = 3, .revert = true, .revert_disk = std::nullopt}}, {L(3), Need{4}}});
  ASSERT_TRUE(queue.Find(L(1)));
  EXPECT_EQ(queue.Find(L(1))->revert_disk, disk);
  EXPECT_TRUE(queue.Find(L(2))->revert);
  EXPECT_FALSE(queue.Find(L(2))->revert_disk) << "the path was missing when the revert was asked";
  EXPECT_FALSE(queue.Find(L(3))->revert);
  EXPECT_EQ(queue.bytes(), 12u);
  auto taken = queue.Take();
  ASSERT_TRUE(taken);
  EXPECT_EQ(queue.Finish(taken->first, taken->second, NeedQueue::Outcome::kPulled, ""), NeedQueue::Next::kDone);
  EXPECT_FALSE(queue.Find(taken->first));
}

}  // namespace
}  // namespace tandem::sync
