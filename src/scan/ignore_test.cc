// The ignore matcher as a table: each pattern file, each path, the verdict.
// First the examples of Syncthing's own documentation of .stignore, so that
// a copied .stignore means here what it meant there; then the tricky cases.
#include "scan/ignore.h"

#include <gtest/gtest.h>

#include <map>

namespace tandem::scan {
namespace {

IgnoreRules Rules(std::string_view text, std::map<std::string, std::string> files = {}) {
  auto rules = IgnoreRules::Parse(".tandemignore", text, [&](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  });
  EXPECT_TRUE(rules) << rules.error().message;
  return rules ? std::move(*rules) : IgnoreRules();
}

struct Case {
  std::string path;
  bool ignored;
};

void ExpectVerdicts(const IgnoreRules& rules, const std::vector<Case>& cases, const std::string& what) {
  for (const Case& c : cases) {
    EXPECT_EQ(rules.Check(c.path).ignored, c.ignored) << what << ": " << c.path;
  }
}

TEST(IgnoreRules, TheExampleOfSyncthingsDocumentation) {
  const IgnoreRules rules = Rules("(?d).DS_Store\n!frobble\n!quuz\nfoo\n*2\nqu*\n(?i)my pictures\n");
  ExpectVerdicts(rules,
                 {{".DS_Store", true},
                  {"foo", true},
                  {"foofoo", false},
                  {"bar", false},
                  {"bar/baz", false},
                  {"bar/quux", true},
                  {"bar/quuz", false},
                  {"bar2/baz", true},
                  {"bar2/frobble", false},
                  {"My Pictures", true},
                  {"My Pictures/Img15.PNG", true}},
                 "doc example");
  EXPECT_TRUE(rules.Check(".DS_Store").deletable);
  EXPECT_FALSE(rules.Check("foo").deletable);
  // bar2 itself matches *2; it is kept because something below it is
  // re-included, which the scanner learns from here:
  EXPECT_TRUE(rules.Check("bar2").ignored);
  EXPECT_TRUE(rules.ReincludesBelowRoot());
}

TEST(IgnoreRules, TheWildcardsOfSyncthingsDocumentation) {
  ExpectVerdicts(Rules("te*st"), {{"test", true}, {"subdir/telerest", true}, {"tele/rest", false}}, "te*st");
  ExpectVerdicts(Rules("te**st"), {{"test", true}, {"subdir/telerest", true}, {"tele/sub/dir/rest", true}},
                 "te**st");
  ExpectVerdicts(Rules("te??st"), {{"tebest", true}, {"teb/st", false}, {"test", false}}, "te??st");
  ExpectVerdicts(Rules("/foo"), {{"foo", true}, {"foo/inside", true}, {"subdir/foo", false}}, "/foo");
  ExpectVerdicts(Rules("(?i)test"), {{"test", true}, {"TEST", true}, {"tEsT", true}, {"tests", false}}, "(?i)test");
  ExpectVerdicts(Rules("(?i)!picture*.png\n*.png"), {{"Picture1.PNG", false}, {"other.png", true}},
                 "(?i)!picture*.png");
  ExpectVerdicts(Rules("some/directory/"),
                 {{"some/directory", false}, {"some/directory/file", true}, {"x/some/directory/y", true}},
                 "a trailing / covers the contents, not the folder");
}

TEST(IgnoreRules, AFolderPatternCoversEverythingInIt) {
  ExpectVerdicts(Rules("node_modules"),
                 {{"node_modules", true}, {"node_modules/a/b.js", true}, {"web/node_modules/x", true},
                  {"node_modules_old", false}, {"my_node_modules", false}},
                 "node_modules");
  ExpectVerdicts(Rules("*.log"), {{"a.log", true}, {"x/y/a.log", true}, {"a.log.bak", false}, {"a.log/inside", true}},
                 "*.log");
}

TEST(IgnoreRules, DoubleStarAtTheStartInTheMiddleAndAtTheEnd) {
  ExpectVerdicts(Rules("**/cache"), {{"cache", true}, {"a/cache", true}, {"a/b/cache", true}, {"a/cache/x", true},
                                     {"mycache", false}},
                 "**/cache");
  ExpectVerdicts(Rules("/a/**/b"), {{"a/b", true}, {"a/x/b", true}, {"a/x/y/b", true}, {"b", false},
                                    {"ab", false}, {"x/a/b", false}},
                 "/a/**/b");
  ExpectVerdicts(Rules("/logs/**"), {{"logs", false}, {"logs/x", true}, {"logs/x/y", true}, {"logsx", false}},
                 "/logs/**");
  ExpectVerdicts(Rules("**"), {{"anything", true}, {"a/b/c", true}}, "**");
  ExpectVerdicts(Rules("***/cache"), {{"cache", true}, {"a/cache", true}}, "*** is **");
  ExpectVerdicts(Rules("a**z"), {{"az", true}, {"a/b/z", true}, {"x/abz", true}, {"za", false}}, "a**z");
}

TEST(IgnoreRules, AnchoringAndPathsOfSeveralSegments) {
  ExpectVerdicts(Rules("/a/b"), {{"a/b", true}, {"a/b/c", true}, {"x/a/b", false}, {"a", false}}, "/a/b");
  ExpectVerdicts(Rules("a/b"), {{"a/b", true}, {"x/a/b", true}, {"x/a/b/c", true}, {"a/xb", false}}, "a/b");
  ExpectVerdicts(Rules("/*.txt"), {{"a.txt", true}, {"d/a.txt", false}}, "/*.txt");
}

TEST(IgnoreRules, TheFirstMatchingLineDecidesInBothOrders) {
  const IgnoreRules keep_first = Rules("!keep.log\n*.log");
  ExpectVerdicts(keep_first, {{"keep.log", false}, {"other.log", true}, {"d/keep.log", false}}, "!keep.log first");
  EXPECT_FALSE(keep_first.Check("keep.log").ignored);
  EXPECT_EQ(keep_first.Check("keep.log").by->line, 1);
  const IgnoreRules keep_second = Rules("*.log\n!keep.log");
  ExpectVerdicts(keep_second, {{"keep.log", true}, {"other.log", true}}, "*.log first");
  EXPECT_EQ(keep_second.Check("keep.log").by->line, 1);
  EXPECT_FALSE(keep_second.Check("notes.txt").by) << "no line matched";
}

TEST(IgnoreRules, ClassesAlternativesAndEscapes) {
  ExpectVerdicts(Rules("[a-c]at"), {{"bat", true}, {"cat", true}, {"dat", false}, {"at", false}}, "[a-c]at");
  ExpectVerdicts(Rules("[!a-c]at"), {{"dat", true}, {"bat", false}}, "[!a-c]at");
  ExpectVerdicts(Rules("[^a-c]at"), {{"dat", true}, {"bat", false}}, "[^a-c]at");
  ExpectVerdicts(Rules("photo.{jpg,png}"), {{"photo.jpg", true}, {"photo.png", true}, {"photo.gif", false}},
                 "{jpg,png}");
  ExpectVerdicts(Rules("{build,dist}/{x,y}"), {{"build/x", true}, {"dist/y", true}, {"dist/z", false}}, "nested");
  ExpectVerdicts(Rules("\\[draft\\].txt"), {{"[draft].txt", true}, {"d.txt", false}}, "escaped brackets");
  ExpectVerdicts(Rules("\\{a,b\\}"), {{"{a,b}", true}, {"a", false}}, "escaped braces");
  ExpectVerdicts(Rules("what\\?"), {{"what?", true}, {"whatx", false}}, "escaped ?");
  ExpectVerdicts(Rules("[[]x"), {{"[x", true}}, "a [ in a class");
}

TEST(IgnoreRules, NamesWithSpacesAndUnicode) {
  ExpectVerdicts(Rules("My Documents"), {{"My Documents/a.txt", true}, {"MyDocuments", false}}, "spaces");
  ExpectVerdicts(Rules("  trimmed.txt   \r"), {{"trimmed.txt", true}}, "the line is trimmed");
  ExpectVerdicts(Rules("?.txt"), {{"é.txt", true}, {"ab.txt", false}}, "? is one character, not one byte");
  ExpectVerdicts(Rules("(?i)ÄRGER.txt"), {{"ärger.TXT", true}, {"ARGER.txt", false}}, "(?i) folds non-ASCII");
  ExpectVerdicts(Rules("(?i)straße"), {{"STRASSE", true}, {"Straße/x", true}}, "(?i) folds ß to ss");
  ExpectVerdicts(Rules("Foo"), {{"foo", false}, {"Foo", true}}, "without (?i) case matters");
}

TEST(IgnoreRules, CommentsBlankLinesAndPrefixesInAnyOrder) {
  const IgnoreRules rules = Rules("// build output\n\nbuild\n   // indented comment\n(?i)(?d)THUMBS.db\n(?d)(?i)!KEEP");
  ExpectVerdicts(rules, {{"build", true}, {"thumbs.DB", true}, {"keep", false}, {"// build output", false}},
                 "comments");
  EXPECT_TRUE(rules.Check("thumbs.db").deletable);
  EXPECT_EQ(rules.Check("build").by->Where(), ".tandemignore:3: build");
}

TEST(IgnoreRules, IncludedFilesAddTheirLinesWhereTheIncludeIs) {
  const IgnoreRules rules =
      Rules("#include shared/common.ignore\n*.tmp\n", {{"shared/common.ignore", "// shared by all devices\nnode_modules\n!keep.tmp"}});
  ExpectVerdicts(rules, {{"node_modules/x.js", true}, {"a.tmp", true}, {"keep.tmp", false}}, "include");
  const auto verdict = rules.Check("web/node_modules");
  ASSERT_TRUE(verdict.by);
  EXPECT_EQ(verdict.by->file, "shared/common.ignore");
  EXPECT_EQ(verdict.by->line, 2);
  EXPECT_EQ(rules.files(), (std::vector<std::string>{".tandemignore", "shared/common.ignore"}));
}

TEST(IgnoreRules, OnlyReincludesBelowTheRootMakeIgnoredFoldersWorthLookingInto) {
  EXPECT_FALSE(Rules("build\n").ReincludesBelowRoot());
  EXPECT_FALSE(Rules("!/top\n*").ReincludesBelowRoot());
  EXPECT_TRUE(Rules("!/top/inner\n*").ReincludesBelowRoot());
  EXPECT_TRUE(Rules("!frobble\n*").ReincludesBelowRoot());
  EXPECT_TRUE(Rules("!/photos/\n/*").ReincludesBelowRoot());  // what is in photos
}

TEST(IgnoreRules, NoRulesIgnoreNothing) {
  const IgnoreRules none = Rules("// only a comment\n\n");
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.Check("anything/at/all").ignored);
}

TEST(IgnoreRules, ThePatternFileAtTheRootIsAlwaysIgnoredAndOnlyThere) {
  for (const IgnoreRules& rules : {Rules(""), Rules("!.tandemignore\n!*")}) {
    const IgnoreVerdict own = rules.Check(".tandemignore");
    EXPECT_TRUE(own.ignored);
    ASSERT_TRUE(own.by);
    EXPECT_EQ(own.by->Where(), ".tandemignore: this device's own patterns, never synced");
    EXPECT_FALSE(rules.Check("sub/.tandemignore").ignored);
    EXPECT_FALSE(rules.Check(".tandemignore2").ignored);
  }
}

TEST(IgnoreRules, EachMalformedFileIsRefusedNamingFileAndLine) {
  const std::map<std::string, std::string> files = {
      {"a.ignore", "#include b.ignore"}, {"b.ignore", "#include a.ignore"}, {"ok.ignore", "x"}};
  auto read = [&](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  struct Bad {
    std::string text;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {"ok\nfoo[a-", ".tandemignore:2: a [ has no closing ]"},
      {"{a,b", "a { has no closing }"},
      {"(?di)foo", "unknown prefix (?di)"},
      {"!", "no pattern"},
      {"!!x", "a second !"},
      {"/", "no pattern"},
      {"ends\\", "escaping nothing"},
      {"[z-a]", "runs backwards"},
      {"#include missing.ignore", "missing.ignore does not exist"},
      {"#include a.ignore", "b.ignore:1: #include cycle: a.ignore is already being read"},
      {"#include ok.ignore\n#include ok.ignore", ".tandemignore:2: ok.ignore is included more than once"},
      {"#include ../outside", "a path inside the share"},
      {"#include /etc/passwd", "a path inside the share"},
      {"#include", "names no file"},
      {"#includes x", "unknown directive"},
      {"*a*b*c*d*e*f*g*h*i*j*k*l*m*n*o*p*q*r*s*t*u*v*w*x*y*z", "wildcards"},
      {"{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}", "alternatives"},
  };
  for (const Bad& bad : cases) {
    auto rules = IgnoreRules::Parse(".tandemignore", bad.text, read);
    ASSERT_FALSE(rules) << bad.text;
    EXPECT_EQ(rules.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(rules.error().message.find(bad.says), std::string::npos) << bad.text << " -> " << rules.error().message;
  }
}

}  // namespace
}  // namespace tandem::scan
