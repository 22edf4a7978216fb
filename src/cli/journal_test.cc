#include "cli/journal.h"

#include <gtest/gtest.h>

namespace tandem::cli {
namespace {

constexpr const char* kDevice = "OR2L3S2-UYKCPDR-I2B6LRC-HPWDYHX-DOLNRAT-ADA4SKE-W3BCXHN-DBA";

TEST(JournalFields, ALineAboutAShareNamesItAndADeviceIdIsThePeer) {
  EXPECT_EQ(FieldsOf("share My Photos: versioning trashcan").share, "My Photos");
  const JournalFields attached = FieldsOf(std::string("share docs: peer ") + kDevice + " attached");
  EXPECT_EQ(attached.share, "docs");
  EXPECT_EQ(attached.peer, kDevice);
  EXPECT_EQ(FieldsOf(std::string("peer ") + kDevice + " (laptop) connected from tcp/10.0.0.2:5").peer, kDevice);
}

TEST(JournalFields, ALineAboutAPathNamesItInQuotesAfterTheShare) {
  const JournalFields failed = FieldsOf("share docs: \"a dir/b: c.txt\": cannot write: No space left on device");
  EXPECT_EQ(failed.share, "docs");
  EXPECT_EQ(failed.path, "a dir/b: c.txt");
  EXPECT_TRUE(FieldsOf("share docs: scanned 4 entries").path.empty());
  EXPECT_TRUE(FieldsOf("share docs: \"unclosed: nothing").path.empty());
  EXPECT_NE(JournalEntry(4, "share docs: \"x.txt\": edited here").find("\nTANDEM_PATH=x.txt\n"), std::string::npos);
}

TEST(JournalFields, OtherLinesCarryNoFieldsTheyDoNotHave) {
  const JournalFields listening = FieldsOf("listening for peers on tcp/0.0.0.0:20209");
  EXPECT_TRUE(listening.share.empty());
  EXPECT_TRUE(listening.peer.empty());
  EXPECT_TRUE(FieldsOf("share : nothing").share.empty());
  EXPECT_TRUE(FieldsOf("shares are fine: yes").share.empty());
  // Almost a device id is none; this device's own id is no peer.
  EXPECT_TRUE(FieldsOf("peer OR2L3S2-UYKCPDR-I2B6LRC-HPWDYHX").peer.empty());
  EXPECT_TRUE(FieldsOf(std::string("ready: device ") + kDevice + " listening").peer.empty());
}

TEST(JournalEntry, HoldsTheMessagePriorityAndFieldsAndANewlineSafely) {
  EXPECT_EQ(JournalEntry(6, "share docs: scanned"),
            "MESSAGE=share docs: scanned\nPRIORITY=6\nSYSLOG_IDENTIFIER=tandem\nTANDEM_SHARE=docs\n");
  const std::string entry = JournalEntry(3, "two\nlines");
  const std::string binary = std::string("MESSAGE\n") + std::string("\x09\0\0\0\0\0\0\0", 8) + "two\nlines\n";
  EXPECT_EQ(entry.substr(0, binary.size()), binary);
  EXPECT_NE(entry.find("PRIORITY=3\n"), std::string::npos);
}

}  // namespace
}  // namespace tandem::cli
