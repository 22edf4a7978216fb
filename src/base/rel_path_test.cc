#include "base/rel_path.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem {
namespace {

using namespace std::string_literals;

// A path of exactly `length` bytes made of components of at most 200 bytes.
std::string PathOfLength(size_t length) {
  std::string path;
  while (path.size() < length) {
    if (!path.empty()) path.push_back('/');
    size_t room = length - path.size();
    // Never leave room for only a slash: the next component would be empty.
    size_t take = room > 201 ? 200 : room;
    path.append(take, 'a');
  }
  return path;
}

TEST(RelPath, RejectsUnsafeAndMalformedPaths) {
  struct Case {
    std::string name;
    std::string text;
  };
  const Case cases[] = {
      {"empty", ""},
      {"dot", "."},
      {"dot dot", ".."},
      {"leading dot dot", "../a"},
      {"inner dot dot", "a/../b"},
      {"trailing dot dot", "a/.."},
      {"leading dot", "./a"},
      {"inner dot", "a/./b"},
      {"absolute", "/x"},
      {"root", "/"},
      {"double slash", "a//b"},
      {"trailing slash", "a/"},
      {"only slashes", "//"},
      {"NUL", "a\0b"s},
      {"NUL in second component", "a/b\0"s},
      {"overlong slash (2 bytes)", "\xC0\xAF"},
      {"overlong slash (3 bytes)", "\xE0\x80\xAF"},
      {"overlong NUL", "a\xC0\x80"},
      {"lone continuation byte", "a\x80"},
      {"high surrogate", "\xED\xA0\x80"},
      {"low surrogate", "x/\xED\xBF\xBF"},
      {"beyond U+10FFFF", "\xF4\x90\x80\x80"},
      {"truncated sequence", "\xE6\x96"},
      {"truncated sequence before slash", "\xE6\x96/a"},
      {"invalid lead byte", "\xFF"},
      {"five-byte form", "\xF8\x88\x80\x80\x80"},
      {"component over 255 bytes", std::string(256, 'a')},
      {"inner component over 255 bytes", "a/" + std::string(256, 'b') + "/c"},
      {"total over 4096 bytes", PathOfLength(RelPath::kMaxLength + 1)},
      {"repository folder", ".tandem"},
      {"inside the repository folder", ".tandem/x"},
      {"deep inside the repository folder", ".tandem/index.db/x"},
  };
  for (const Case& c : cases) {
    auto parsed = RelPath::Parse(c.text);
    ASSERT_FALSE(parsed) << c.name;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_FALSE(parsed.error().message.empty()) << c.name;
  }
}

TEST(RelPath, AcceptsNormalPathsUnchanged) {
  const std::string cases[] = {
      "a",
      "a/b/c",
      "ünïcode/文件",
      "emoji 🎉.txt",
      ".tandemx",
      ".tandem.bak",
      "x/.tandem",
      "x/.tandem/y",
      ".hidden",
      "...",
      "a..b",
      "with space/and-dash_and.dots",
      std::string(255, 'a'),
      "a/" + std::string(255, 'b'),
      PathOfLength(RelPath::kMaxLength),
  };
  for (const std::string& text : cases) {
    auto parsed = RelPath::Parse(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->str(), text);
  }
}

TEST(RelPath, NamesParentAndDepth) {
  struct Case {
    std::string text;
    std::string name;
    std::string parent;
    size_t depth;
  };
  const Case cases[] = {
      {"a", "a", "", 1},
      {"a/b", "b", "a", 2},
      {"a/b/c", "c", "a/b", 3},
      {"ünïcode/文件", "文件", "ünïcode", 2},
      {"x/.tandem", ".tandem", "x", 2},
  };
  for (const Case& c : cases) {
    auto path = RelPath::Parse(c.text);
    ASSERT_TRUE(path) << c.text;
    EXPECT_EQ(path->Name(), c.name) << c.text;
    EXPECT_EQ(path->Parent(), c.parent) << c.text;
    EXPECT_EQ(path->Depth(), c.depth) << c.text;
  }
}

TEST(RelPath, ChildJoinsOneValidComponent) {
  auto parent = RelPath::Parse("a/b");
  ASSERT_TRUE(parent);
  auto child = parent->Child("c");
  ASSERT_TRUE(child);
  EXPECT_EQ(child->str(), "a/b/c");
  EXPECT_EQ(child->Parent(), "a/b");
  EXPECT_EQ(child->Depth(), 3u);

  // Below the top level, .tandem is an ordinary name.
  auto nested = parent->Child(".tandem");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->str(), "a/b/.tandem");
}

TEST(RelPath, ChildRejectsWhatParseRejects) {
  auto parent = RelPath::Parse("a");
  ASSERT_TRUE(parent);
  for (const std::string& bad :
       {""s, "."s, ".."s, "x/y"s, "/"s, "x\0y"s, "\xC0\xAF"s, std::string(256, 'n')}) {
    auto child = parent->Child(bad);
    ASSERT_FALSE(child) << bad;
    EXPECT_EQ(child.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(RelPath, ChildRejectsAPathOverTheTotalLimit) {
  auto parent = RelPath::Parse(PathOfLength(RelPath::kMaxLength - 2));
  ASSERT_TRUE(parent);
  EXPECT_TRUE(parent->Child("a"));  // exactly 4096 bytes
  auto too_long = parent->Child("ab");
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
}

TEST(RelPath, OrdersByBytes) {
  auto a = RelPath::Parse("a");
  auto ab = RelPath::Parse("a/b");
  auto b = RelPath::Parse("b");
  ASSERT_TRUE(a && ab && b);
  EXPECT_LT(*a, *ab);
  EXPECT_LT(*ab, *b);
  EXPECT_EQ(*a, *RelPath::Parse("a"));
}

TEST(ValidateComponent, AcceptsOneNameAndRejectsSeparatorsAndDots) {
  EXPECT_TRUE(ValidateComponent("Photos 2024"));
  EXPECT_TRUE(ValidateComponent(".tandem"));  // reserved only as a top-level path
  EXPECT_FALSE(ValidateComponent(""));
  EXPECT_FALSE(ValidateComponent("."));
  EXPECT_FALSE(ValidateComponent(".."));
  EXPECT_FALSE(ValidateComponent("a/b"));
  EXPECT_FALSE(ValidateComponent("a\0b"s));
  EXPECT_FALSE(ValidateComponent("\xED\xA0\x80"));
}

TEST(LookAlikeKey, IsTheSameForNamesDifferingOnlyInCaseOrNormalisation) {
  EXPECT_EQ(LookAlikeKey("README.txt"), LookAlikeKey("readme.txt"));
  EXPECT_EQ(LookAlikeKey("dir/Sub/FILE"), LookAlikeKey("DIR/sub/file"));
  EXPECT_EQ(LookAlikeKey("caf\u00e9"), LookAlikeKey("cafe\u0301")) << "NFC and NFD";
  EXPECT_EQ(LookAlikeKey("CAF\u00c9"), LookAlikeKey("cafe\u0301")) << "case and normalisation at once";
  EXPECT_EQ(LookAlikeKey("Stra\u00dfe"), LookAlikeKey("STRASSE")) << "full case folding";
  EXPECT_EQ(LookAlikeKey("\u03a3\u039f\u03a6\u039f\u03a3"), LookAlikeKey("\u03c3\u03bf\u03c6\u03bf\u03c2"));
}

TEST(LookAlikeKey, KeepsDifferentNamesApart) {
  EXPECT_NE(LookAlikeKey("cafe"), LookAlikeKey("caf\u00e9"));
  EXPECT_NE(LookAlikeKey("a/b"), LookAlikeKey("a/c"));
  EXPECT_NE(LookAlikeKey("ab"), LookAlikeKey("a/b"));
  EXPECT_EQ(LookAlikeKey(""), "");
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(EscapeNonUtf8, KeepsValidTextAndEscapesEverythingElse) {
  EXPECT_EQ(EscapeNonUtf8("plain/name.txt"), "plain/name.txt");
  EXPECT_EQ(EscapeNonUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeNonUtf8("\xef\xbf\xbd"), "\xef\xbf\xbd") << "a real U+FFFD is text";
  EXPECT_EQ(EscapeNonUtf8("bad\xff" "name"), "bad\\xffname");
  EXPECT_EQ(EscapeNonUtf8("cut\xc3"), "cut\\xc3");
  EXPECT_EQ(EscapeNonUtf8("line\nbreak\x1b[31m"), "line\\x0abreak\\x1b[31m");
}

}  // namespace
}  // namespace tandem
