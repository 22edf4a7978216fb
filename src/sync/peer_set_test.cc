#include "sync/peer_set.h"

#include <gtest/gtest.h>

#include "sync/fake_link.h"

namespace tandem::sync {
namespace {

// The peers one request asks, in order.
std::vector<std::string> Names(PeerSet::Turn turn) {
  std::vector<std::string> names;
  while (auto peer = turn.Next()) names.push_back(peer->link->device_id());
  return names;
}

TEST(PeerSet, APeerIsAttachedOnceAndDetachedOnce) {
  PeerSet peers;
  auto a = std::make_shared<FakeLink>("a");
  ASSERT_NE(peers.Add(a, "offer"), nullptr);
  EXPECT_EQ(peers.Add(a, "offer"), nullptr);
  EXPECT_EQ(peers.all().size(), 1u);
  EXPECT_EQ(peers.Find(a.get())->offer, "offer");
  EXPECT_TRUE(peers.Remove(a.get()));
  EXPECT_FALSE(peers.Remove(a.get()));
  EXPECT_EQ(peers.Find(a.get()), nullptr);
  EXPECT_TRUE(Names(peers.StartTurn()).empty());
}

TEST(PeerSet, EachRequestAsksEveryPeerOnceStartingOneFurtherAlong) {
  PeerSet peers;
  for (const char* name : {"a", "b", "c"}) peers.Add(std::make_shared<FakeLink>(name), "offer");
  EXPECT_EQ(Names(peers.StartTurn()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Names(peers.StartTurn()), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(Names(peers.StartTurn()), (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(Names(peers.StartTurn()), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(PeerSet, APeerThatAttachesDuringATurnIsAskedTooAndOneThatLeavesIsNot) {
  PeerSet peers;
  auto a = std::make_shared<FakeLink>("a");
  auto b = std::make_shared<FakeLink>("b");
  peers.Add(a, "offer");
  peers.Add(b, "offer");
  PeerSet::Turn turn = peers.StartTurn();
  EXPECT_EQ(turn.Next()->link->device_id(), "a");
  peers.Remove(b.get());
  peers.Add(std::make_shared<FakeLink>("c"), "offer");
  EXPECT_EQ(turn.Next()->link->device_id(), "c");
  EXPECT_EQ(turn.Next(), nullptr);
}

TEST(PeerSet, APeerThatLeavesIsNoLongerAsked) {
  PeerSet peers;
  auto a = std::make_shared<FakeLink>("a");
  peers.Add(a, "offer");
  peers.Add(std::make_shared<FakeLink>("b"), "offer");
  peers.Remove(a.get());
  EXPECT_EQ(Names(peers.StartTurn()), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Names(peers.StartTurn()), (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace tandem::sync
