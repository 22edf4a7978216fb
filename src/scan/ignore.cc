#include "scan/ignore.h"

#include <algorithm>
#include <set>

#include "base/rel_path.h"

namespace tandem::scan {
namespace {

// Patterns are matched over code points: `?` is one character, not a byte.
std::u32string Decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int extra = -1;
    char32_t c = 0;
    if (b < 0x80) {
      extra = 0, c = b;
    } else if ((b >> 5) == 0x6) {
      extra = 1, c = b & 0x1F;
    } else if ((b >> 4) == 0xE) {
      extra = 2, c = b & 0x0F;
    } else if ((b >> 3) == 0x1E) {
      extra = 3, c = b & 0x07;
    }
    bool ok = extra >= 0 && i + extra < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      ok = (next >> 6) == 0x2;
      c = (c << 6) | (next & 0x3F);
    }
    if (!ok) {  // not UTF-8: the byte stands for itself, apart from any character
      out.push_back(0xDC00 + b);
      ++i;
      continue;
    }
    out.push_back(c);
    i += extra + 1;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

enum class Op : uint8_t {
  kChar,           // this character
  kAny,            // ?: one character, not '/'
  kStar,           // *: any run within a segment
  kGlobstar,       // **: any run, across segments
  kGlobstarSlash,  // **/: zero or more whole segments
  kClass,          // [...]: one character of the class, not '/'
};

struct Token {
  Op op;
  char32_t c = 0;
  int cls = -1;
};

struct CharClass {
  bool negate = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;

  bool Has(char32_t c) const {
    bool in = std::any_of(ranges.begin(), ranges.end(), [c](const auto& r) { return r.first <= c && c <= r.second; });
    return in != negate;
  }
};

struct Glob {
  std::vector<Token> tokens;
  std::vector<CharClass> classes;
  int segments = 0;  // how many path segments it spans; 0: any number (it has **)
  // Its longest run of plain characters: a path without it cannot match,
  // which most paths show with one search instead of a match per segment.
  std::u32string literal;
};

// Wildcards a pattern may hold: backtracking over more could take very long.
constexpr int kMaxWildcards = 24;
// Alternatives one pattern may expand to ({a,b}{c,d} is four).
constexpr size_t kMaxAlternatives = 256;

bool MatchFrom(const Glob& g, size_t pi, const char32_t* t, size_t ti, size_t tn) {
  while (pi < g.tokens.size()) {
    const Token& tok = g.tokens[pi];
    switch (tok.op) {
      case Op::kChar:
        if (ti >= tn || t[ti] != tok.c) return false;
        break;
      case Op::kAny:
        if (ti >= tn || t[ti] == U'/') return false;
        break;
      case Op::kClass:
        if (ti >= tn || t[ti] == U'/' || !g.classes[tok.cls].Has(t[ti])) return false;
        break;
      case Op::kStar:
        for (size_t k = ti;; ++k) {
          if (MatchFrom(g, pi + 1, t, k, tn)) return true;
          if (k >= tn || t[k] == U'/') return false;
        }
      case Op::kGlobstar:
        for (size_t k = ti; k <= tn; ++k) {
          if (MatchFrom(g, pi + 1, t, k, tn)) return true;
        }
        return false;
      case Op::kGlobstarSlash:
        if (MatchFrom(g, pi + 1, t, ti, tn)) return true;  // no segment at all
        for (size_t k = ti; k < tn; ++k) {
          if (t[k] == U'/' && MatchFrom(g, pi + 1, t, k + 1, tn)) return true;
        }
        return false;
    }
    ++pi;
    ++ti;
  }
  return ti == tn;
}

// {a,b} alternatives expanded, outermost first; escapes kept for Compile.
Result<std::vector<std::u32string>> Expand(const std::u32string& p) {
  size_t open = std::u32string::npos;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == U'\\') {
      ++i;
    } else if (in_class) {
      if (p[i] == U']') in_class = false;
    } else if (p[i] == U'[') {
      in_class = true;
    } else if (p[i] == U'{') {
      open = i;
      break;
    }
  }
  if (open == std::u32string::npos) return std::vector<std::u32string>{p};
  int depth = 0;
  std::vector<size_t> commas;
  size_t close = std::u32string::npos;
  for (size_t i = open; i < p.size() && close == std::u32string::npos; ++i) {
    if (p[i] == U'\\') {
      ++i;
    } else if (p[i] == U'{') {
      ++depth;
    } else if (p[i] == U'}') {
      if (--depth == 0) close = i;
    } else if (p[i] == U',' && depth == 1) {
      commas.push_back(i);
    }
  }
  if (close == std::u32string::npos) return MakeError(ErrorCode::kInvalidArgument, "a { has no closing }");
  std::vector<std::u32string> out;
  size_t from = open + 1;
  commas.push_back(close);
  for (size_t comma : commas) {
    std::u32string one = p.substr(0, open) + p.substr(from, comma - from) + p.substr(close + 1);
    TANDEM_ASSIGN_OR_RETURN(std::vector<std::u32string> more, Expand(one));
    out.insert(out.end(), more.begin(), more.end());
    if (out.size() > kMaxAlternatives) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "more than " + std::to_string(kMaxAlternatives) + " alternatives from {...}");
    }
    from = comma + 1;
  }
  return out;
}

Result<Glob> Compile(const std::u32string& p) {
  Glob g;
  int wildcards = 0;
  bool globstar = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char32_t c = p[i];
    if (c == U'\\') {
      if (i + 1 == p.size()) return MakeError(ErrorCode::kInvalidArgument, "a \\ ends the pattern (escaping nothing)");
      g.tokens.push_back({Op::kChar, p[++i]});
    } else if (c == U'*') {
      ++wildcards;
      if (i + 1 < p.size() && p[i + 1] == U'*') {
        globstar = true;
        const bool whole_segment = i == 0 || p[i - 1] == U'/';
        ++i;
        while (i + 1 < p.size() && p[i + 1] == U'*') ++i;  // *** is **
        if (whole_segment && i + 1 < p.size() && p[i + 1] == U'/') {
          g.tokens.push_back({Op::kGlobstarSlash});
          ++i;  // the slash belongs to it
        } else {
          g.tokens.push_back({Op::kGlobstar});
        }
      } else {
        g.tokens.push_back({Op::kStar});
      }
    } else if (c == U'?') {
      ++wildcards;
      g.tokens.push_back({Op::kAny});
    } else if (c == U'[') {
      CharClass cls;
      size_t j = i + 1;
      if (j < p.size() && (p[j] == U'!' || p[j] == U'^')) {
        cls.negate = true;
        ++j;
      }
      bool closed = false;
      for (bool first = true; j < p.size(); first = false) {
        char32_t lo = p[j];
        if (lo == U']' && !first) {
          closed = true;
          break;
        }
        if (lo == U'\\' && j + 1 < p.size()) lo = p[++j];
        char32_t hi = lo;
        if (j + 2 < p.size() && p[j + 1] == U'-' && p[j + 2] != U']') {
          hi = p[j + 2];
          j += 2;
          if (hi == U'\\' && j + 1 < p.size()) hi = p[++j];
          if (hi < lo) return MakeError(ErrorCode::kInvalidArgument, "a range in [...] runs backwards");
        }
        cls.ranges.emplace_back(lo, hi);
        ++j;
      }
      if (!closed) return MakeError(ErrorCode::kInvalidArgument, "a [ has no closing ]");
      g.tokens.push_back({Op::kClass, 0, static_cast<int>(g.classes.size())});
      g.classes.push_back(std::move(cls));
      i = j;
    } else {
      g.tokens.push_back({Op::kChar, c});
    }
  }
  if (wildcards > kMaxWildcards) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "more than " + std::to_string(kMaxWildcards) + " wildcards in one pattern");
  }
  if (!globstar) {
    g.segments = 1;
    for (const Token& t : g.tokens) g.segments += t.op == Op::kChar && t.c == U'/';
  }
  std::u32string run;
  for (const Token& t : g.tokens) {
    if (t.op == Op::kChar) {
      run.push_back(t.c);
      if (run.size() > g.literal.size()) g.literal = run;
    } else {
      run.clear();
    }
  }
  return g;
}

}  // namespace

struct IgnoreRules::Rule {
  IgnoreLine line;
  bool negate = false;
  bool fold = false;       // (?i)
  bool deletable = false;  // (?d)
  bool anchored = false;   // a leading /
  bool contents_only = false;  // a trailing /: what is in the folder, not the folder
  std::vector<Glob> globs;     // one per {a,b} alternative

  // `t` is the path (folded for a (?i) rule); `starts` its segments' starts.
  bool Matches(const std::u32string& t, const std::vector<size_t>& starts) const {
    const size_t n = t.size();
    for (const Glob& g : globs) {
      if (!g.literal.empty() && t.find(g.literal) == std::u32string::npos) continue;
      for (size_t s = 0; s < starts.size(); ++s) {
        if (anchored && s > 0) break;
        auto try_end = [&](size_t end) {
          if (end == n && contents_only) return false;  // the folder itself
          return MatchFrom(g, 0, t.data() + starts[s], 0, end - starts[s]);
        };
        if (g.segments > 0) {
          const size_t last = s + g.segments;  // the segment after the match
          if (last > starts.size()) continue;
          if (try_end(last == starts.size() ? n : starts[last] - 1)) return true;
        } else {
          for (size_t e = s + 1; e <= starts.size(); ++e) {
            if (try_end(e == starts.size() ? n : starts[e] - 1)) return true;
          }
        }
      }
    }
    return false;
  }
};

std::string IgnoreLine::Where() const {
  return line == 0 ? file + ": " + text : file + ":" + std::to_string(line) + ": " + text;
}

IgnoreRules::IgnoreRules() = default;
IgnoreRules::~IgnoreRules() = default;
IgnoreRules::IgnoreRules(IgnoreRules&&) noexcept = default;
IgnoreRules& IgnoreRules::operator=(IgnoreRules&&) noexcept = default;

bool IgnoreRules::empty() const { return rules_.empty(); }

namespace {

struct Parser {
  const IgnoreRules::ReadFile& read;
  std::vector<std::string> stack;  // files being read, outermost first
  std::set<std::string> seen;
};

}  // namespace

Result<IgnoreRules> IgnoreRules::Parse(const std::string& file_name, std::string_view text, const ReadFile& read) {
  IgnoreRules rules;
  Parser parser{read, {}, {}};
  std::function<Result<void>(const std::string&, std::string_view)> parse_file =
      [&](const std::string& file, std::string_view contents) -> Result<void> {
    parser.stack.push_back(file);
    parser.seen.insert(file);
    rules.files_.push_back(file);
    int number = 0;
    for (size_t pos = 0; pos <= contents.size();) {
      const size_t eol = contents.find('\n', pos);
      const std::string_view raw =
          contents.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
      pos = eol == std::string_view::npos ? contents.size() + 1 : eol + 1;
      ++number;
      const std::string_view line = Trim(raw);
      auto bad = [&](const std::string& why) {
        return MakeError(ErrorCode::kInvalidArgument,
                         file + ":" + std::to_string(number) + ": " + why + " in '" + std::string(line) + "'");
      };
      if (line.empty() || line.starts_with("//")) continue;
      if (line.starts_with("#include")) {
        if (line.size() > 8 && line[8] != ' ' && line[8] != '\t') return bad("unknown directive (#include FILE?)");
        const std::string name(Trim(line.substr(8)));
        if (name.empty()) return bad("#include names no file");
        if (name.front() == '/' || name.find("..") != std::string::npos) {
          return bad("#include takes a path inside the share, from its root");
        }
        if (std::find(parser.stack.begin(), parser.stack.end(), name) != parser.stack.end()) {
          return bad("#include cycle: " + name + " is already being read");
        }
        if (parser.seen.count(name)) return bad(name + " is included more than once");
        auto included = parser.read(name);
        if (!included) return bad(name + " does not exist");
        TANDEM_RETURN_IF_ERROR(parse_file(name, *included));
        continue;
      }
      Rule rule;
      rule.line = {file, number, std::string(line)};
      std::string_view p = line;
      while (true) {
        if (p.starts_with("!")) {
          if (rule.negate) return bad("a second !");
          rule.negate = true;
          p.remove_prefix(1);
        } else if (p.starts_with("(?i)")) {
          rule.fold = true;
          p.remove_prefix(4);
        } else if (p.starts_with("(?d)")) {
          rule.deletable = true;
          p.remove_prefix(4);
        } else if (p.starts_with("(?") && p.find(')') != std::string_view::npos && p.find(')') < 8) {
          return bad("unknown prefix " + std::string(p.substr(0, p.find(')') + 1)) +
                     " (the prefixes are !, (?i) and (?d), each on its own: (?d)(?i))");
        } else {
          break;
        }
      }
      if (p.starts_with("/")) {
        rule.anchored = true;
        p.remove_prefix(1);
      }
      if (p.ends_with("/") && !p.ends_with("\\/")) {
        rule.contents_only = true;
        while (p.ends_with("/")) p.remove_suffix(1);
      }
      if (p.empty()) return bad("no pattern");
      std::u32string pattern = Decode(rule.fold ? LookAlikeKey(p) : std::string(p));
      auto alternatives = Expand(pattern);
      if (!alternatives) return bad(alternatives.error().message);
      for (const std::u32string& one : *alternatives) {
        auto glob = Compile(one);
        if (!glob) return bad(glob.error().message);
        rule.globs.push_back(std::move(*glob));
      }
      rules.any_case_insensitive_ |= rule.fold;
      if (rule.negate) {
        const bool top_level = rule.anchored && std::all_of(rule.globs.begin(), rule.globs.end(),
                                                             [](const Glob& g) { return g.segments == 1; });
        rules.reincludes_below_root_ |= !top_level;
      }
      rules.rules_.push_back(std::move(rule));
    }
    parser.stack.pop_back();
    return Ok();
  };
  TANDEM_RETURN_IF_ERROR(parse_file(file_name, text));
  return rules;
}

IgnoreVerdict IgnoreRules::Check(std::string_view path) const {
  if (path == kIgnoreFileName) {
    return {.ignored = true, .by = IgnoreLine{std::string(kIgnoreFileName), 0, "this device's own patterns, never synced"}};
  }
  if (rules_.empty() || path.empty()) return {};
  const std::u32string exact = Decode(path);
  std::u32string folded;
  std::vector<size_t> starts{0}, folded_starts;
  for (size_t i = 0; i < exact.size(); ++i) {
    if (exact[i] == U'/') starts.push_back(i + 1);
  }
  if (any_case_insensitive_) {
    // ASCII folds to lower case and needs no normalising: the usual path
    // skips libunistring.
    const bool ascii = std::all_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) {
      folded = exact;
      for (char32_t& c : folded) {
        if (c >= U'A' && c <= U'Z') c += U'a' - U'A';
      }
    } else {
      folded = Decode(LookAlikeKey(path));
    }
    folded_starts.push_back(0);
    for (size_t i = 0; i < folded.size(); ++i) {
      if (folded[i] == U'/') folded_starts.push_back(i + 1);
    }
  }
  for (const Rule& rule : rules_) {
    const bool hit = rule.fold ? rule.Matches(folded, folded_starts) : rule.Matches(exact, starts);
    if (!hit) continue;
    IgnoreVerdict verdict;
    verdict.ignored = !rule.negate;
    verdict.deletable = verdict.ignored && rule.deletable;
    verdict.by = rule.line;
    return verdict;
  }
  return {};
}

}  // namespace tandem::scan
