#include "scan/ignore.h"

#include <algorithm>
#include <array>
#include <optional>
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

// The inverse of Decode (a byte Decode kept apart goes back as itself).
std::string Encode(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) {
    if (c >= 0xDC80 && c <= 0xDCFF) {
      out.push_back(static_cast<char>(c - 0xDC00));
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
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

// Which ASCII characters a text holds: a glob whose plain characters are
// not all in a name cannot match it, and most names show that with one
// comparison (the other characters are left out, so it only ever passes).
struct CharMask {
  uint64_t lo = 0, hi = 0;
  void Add(char32_t c) {
    if (c < 64) {
      lo |= uint64_t{1} << c;
    } else if (c < 128) {
      hi |= uint64_t{1} << (c - 64);
    }
  }
  bool Holds(const CharMask& need) const { return (need.lo & ~lo) == 0 && (need.hi & ~hi) == 0; }
};

struct Glob {
  std::vector<Token> tokens;
  CharMask need;  // its plain characters
  std::vector<CharClass> classes;
  int segments = 0;  // how many path segments it spans; 0: any number (it has **)
  // Its longest run of plain characters: a path without it cannot match,
  // which most paths show with one search instead of a match per segment.
  std::u32string literal;
  std::string literal_utf8;  // the same, for a search of the path's bytes before decoding it
};

// Wildcards a pattern may hold: backtracking over more could take very long.
constexpr int kMaxWildcards = 24;
// Alternatives one pattern may expand to ({a,b}{c,d} is four).
constexpr size_t kMaxAlternatives = 256;

// A character of the text as a code point: an ASCII name is matched in
// place, byte by byte (each byte one character), anything else decoded.
inline char32_t At(const char* t, size_t i) { return static_cast<unsigned char>(t[i]); }
inline char32_t At(const char32_t* t, size_t i) { return t[i]; }

template <typename CharT>
bool MatchFrom(const Glob& g, size_t pi, const CharT* t, size_t ti, size_t tn) {
  while (pi < g.tokens.size()) {
    const Token& tok = g.tokens[pi];
    switch (tok.op) {
      case Op::kChar:
        if (ti >= tn || At(t, ti) != tok.c) return false;
        break;
      case Op::kAny:
        if (ti >= tn || At(t, ti) == U'/') return false;
        break;
      case Op::kClass:
        if (ti >= tn || At(t, ti) == U'/' || !g.classes[tok.cls].Has(At(t, ti))) return false;
        break;
      case Op::kStar:
        for (size_t k = ti;; ++k) {
          if (MatchFrom(g, pi + 1, t, k, tn)) return true;
          if (k >= tn || At(t, k) == U'/') return false;
        }
      case Op::kGlobstar:
        for (size_t k = ti; k <= tn; ++k) {
          if (MatchFrom(g, pi + 1, t, k, tn)) return true;
        }
        return false;
      case Op::kGlobstarSlash:
        if (MatchFrom(g, pi + 1, t, ti, tn)) return true;  // no segment at all
        for (size_t k = ti; k < tn; ++k) {
          if (At(t, k) == U'/' && MatchFrom(g, pi + 1, t, k + 1, tn)) return true;
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
    if (t.op == Op::kChar) g.need.Add(t.c);
    if (t.op == Op::kChar) {
      run.push_back(t.c);
      if (run.size() > g.literal.size()) g.literal = run;
    } else {
      run.clear();
    }
  }
  g.literal_utf8 = Encode(g.literal);
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
  bool one_segment = false;    // every glob spans one segment: a name alone decides
  std::vector<Glob> globs;     // one per {a,b} alternative

  // Whether a match ends at the end of `t` (the path, folded for a (?i)
  // rule); `starts` are its segments' starts.
  bool MatchesAtEnd(const std::u32string& t, const std::vector<size_t>& starts) const {
    for (const Glob& g : globs) {
      if (!g.literal.empty() && t.find(g.literal) == std::u32string::npos) continue;
      for (size_t s = 0; s < starts.size(); ++s) {
        if (anchored && s > 0) break;
        if (g.segments > 0 && s + g.segments != starts.size()) continue;
        if (MatchFrom(g, 0, t.data() + starts[s], 0, t.size() - starts[s])) return true;
      }
    }
    return false;
  }
};

// Most names can match only a few rules: a glob that ends in a plain
// character matches only names ending in it. So the one-segment globs are
// listed by their last character (bucket 128: any non-ASCII one), apart
// from those ending in a wildcard; a name is tried against its bucket, the
// wildcard-ended globs and the rules of several segments, in rule order.
struct IgnoreRules::Index {
  struct NameGlob {
    uint32_t rule;
    uint32_t glob;
  };
  static constexpr size_t kBuckets = 129;
  static size_t Bucket(char32_t c) { return c < 128 ? c : 128; }
  std::array<std::vector<NameGlob>, kBuckets> by_last_exact, by_last_folded;
  std::vector<NameGlob> any_last;   // one-segment globs not ending in a plain character
  std::vector<NameGlob> spanning;   // rules of several segments (glob unused)
  bool any_folded = false;
};

void IgnoreRules::BuildIndex() {
  index_ = std::make_unique<Index>();
  for (uint32_t r = 0; r < rules_.size(); ++r) {
    const Rule& rule = rules_[r];
    index_->any_folded |= rule.fold;
    if (!rule.one_segment) {
      index_->spanning.push_back({r, 0});
      continue;
    }
    for (uint32_t g = 0; g < rule.globs.size(); ++g) {
      const std::vector<Token>& tokens = rule.globs[g].tokens;
      if (tokens.empty() || tokens.back().op != Op::kChar) {
        index_->any_last.push_back({r, g});
      } else {
        auto& buckets = rule.fold ? index_->by_last_folded : index_->by_last_exact;
        buckets[Index::Bucket(tokens.back().c)].push_back({r, g});
      }
    }
  }
}

namespace {

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// `s` as (?i) rules see it: ASCII folds to lower case and needs no
// normalising, so the usual name skips libunistring.
std::u32string Folded(std::string_view s) {
  if (!IsAscii(s)) return Decode(LookAlikeKey(s));
  std::u32string out = Decode(s);
  for (char32_t& c : out) {
    if (c >= U'A' && c <= U'Z') c += U'a' - U'A';
  }
  return out;
}

CharMask MaskOf(const std::u32string& s) {
  CharMask mask;
  for (char32_t c : s) mask.Add(c);
  return mask;
}

std::vector<size_t> SegmentStarts(const std::u32string& s) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == U'/') starts.push_back(i + 1);
  }
  return starts;
}

}  // namespace

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
      rule.one_segment = std::all_of(rule.globs.begin(), rule.globs.end(), [](const Glob& g) { return g.segments == 1; });
      if (rule.negate) {
        // `!/top` re-includes a top-level entry only; `!/top/` what is in it.
        const bool top_level = rule.anchored && !rule.contents_only &&
                               std::all_of(rule.globs.begin(), rule.globs.end(),
                                           [](const Glob& g) { return g.segments == 1; });
        rules.reincludes_below_root_ |= !top_level;
      }
      rules.rules_.push_back(std::move(rule));
    }
    parser.stack.pop_back();
    return Ok();
  };
  TANDEM_RETURN_IF_ERROR(parse_file(file_name, text));
  rules.BuildIndex();
  return rules;
}

// A rule matches a path when it matches the path or a folder above it (a
// rule ending in / only a folder above it); the first rule that matches
// decides. So a path's rule is the first of the rules that match a folder
// above it (Folder::cover) and of those that match with a match ending at
// the path's end: for a rule of one segment, the path's name alone.
size_t IgnoreRules::FirstMatchAtEnd(std::string_view path, bool covering, size_t limit) const {
  limit = std::min(limit, rules_.size());
  if (limit == 0 || !index_) return kNone;
  const size_t slash = path.rfind('/');
  const bool top = slash == std::string_view::npos;
  const std::string_view name = top ? path : path.substr(slash + 1);
  // The name as each kind of rule reads it. An ASCII name (most) is
  // matched as it is, or lowered: a scan pays for matching, not for
  // decoding every name.
  const bool ascii = IsAscii(name);
  struct NameForm {
    std::string_view bytes;  // ASCII: the name, or lowered (into `lowered`)
    std::u32string chars;    // otherwise: decoded, or folded
    CharMask mask;
    char32_t last = 0;
  };
  NameForm exact, folded;
  std::string lowered;
  if (ascii) {
    exact.bytes = name;
    for (char c : name) exact.mask.Add(static_cast<unsigned char>(c));
    exact.last = name.empty() ? 0 : static_cast<unsigned char>(name.back());
    if (index_->any_folded) {
      const bool upper = std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      if (upper) {
        lowered = name;
        for (char& c : lowered) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        folded.bytes = lowered;
        for (char c : lowered) folded.mask.Add(static_cast<unsigned char>(c));
        folded.last = lowered.empty() ? 0 : static_cast<unsigned char>(lowered.back());
      } else {
        folded = exact;
      }
    }
  } else {
    exact.chars = Decode(name);
    exact.mask = MaskOf(exact.chars);
    exact.last = exact.chars.empty() ? 0 : exact.chars.back();
    if (index_->any_folded) {
      folded.chars = Folded(name);
      folded.mask = MaskOf(folded.chars);
      folded.last = folded.chars.empty() ? 0 : folded.chars.back();
    }
  }
  // The whole path, for the rules that span segments (few).
  std::optional<std::string> folded_bytes;
  std::optional<std::u32string> exact_path, folded_path;
  std::vector<size_t> exact_starts, folded_starts;
  auto spans = [&](const Rule& rule) {
    if (rule.fold && !folded_bytes) folded_bytes = Encode(Folded(path));
    const std::string_view bytes = rule.fold ? std::string_view(*folded_bytes) : path;
    const bool may = std::any_of(rule.globs.begin(), rule.globs.end(), [&](const Glob& g) {
      return bytes.find(g.literal_utf8) != std::string_view::npos;
    });
    if (!may) return false;
    std::optional<std::u32string>& text = rule.fold ? folded_path : exact_path;
    std::vector<size_t>& starts = rule.fold ? folded_starts : exact_starts;
    if (!text) {
      text = rule.fold ? Folded(path) : Decode(path);
      starts = SegmentStarts(*text);
    }
    return rule.MatchesAtEnd(*text, starts);
  };
  auto names = [&](const Rule& rule, uint32_t glob) {
    const NameForm& f = rule.fold ? folded : exact;
    const Glob& g = rule.globs[glob];
    if (!f.mask.Holds(g.need)) return false;
    return ascii ? MatchFrom(g, 0, f.bytes.data(), 0, f.bytes.size()) : MatchFrom(g, 0, f.chars.data(), 0, f.chars.size());
  };
  // The four lists, each in rule order, walked together in rule order.
  using List = std::vector<Index::NameGlob>;
  static const List kEmpty;
  const std::array<const List*, 4> lists = {
      &index_->by_last_exact[Index::Bucket(exact.last)],
      index_->any_folded ? &index_->by_last_folded[Index::Bucket(folded.last)] : &kEmpty,
      &index_->any_last, &index_->spanning};
  std::array<size_t, 4> at{};
  while (true) {
    size_t pick = lists.size();
    uint32_t best = static_cast<uint32_t>(limit);
    for (size_t k = 0; k < lists.size(); ++k) {
      if (at[k] < lists[k]->size() && (*lists[k])[at[k]].rule < best) {
        best = (*lists[k])[at[k]].rule;
        pick = k;
      }
    }
    if (pick == lists.size()) return kNone;
    const Index::NameGlob entry = (*lists[pick])[at[pick]++];
    const Rule& rule = rules_[entry.rule];
    if (rule.contents_only && !covering) continue;
    if (pick == 3 ? spans(rule) : (!(rule.anchored && !top) && names(rule, entry.glob))) return entry.rule;
  }
}

IgnoreVerdict IgnoreRules::VerdictOf(size_t rule) const {
  if (rule == kNone) return {};
  const Rule& r = rules_[rule];
  return {.ignored = !r.negate, .deletable = !r.negate && r.deletable, .by = r.line};
}

IgnoreRules::Folder IgnoreRules::Enter(const Folder& folder, std::string_view path) const {
  return {std::min(folder.cover, FirstMatchAtEnd(path, /*covering=*/true, folder.cover))};
}

IgnoreRules::Folder IgnoreRules::FolderOf(std::string_view path) const {
  Folder folder;
  if (rules_.empty() || path.empty()) return folder;
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    folder = Enter(folder, path.substr(0, slash));
  }
  return Enter(folder, path);
}

IgnoreVerdict IgnoreRules::CheckIn(const Folder& folder, std::string_view path) const {
  if (path == kIgnoreFileName) {
    return {.ignored = true, .by = IgnoreLine{std::string(kIgnoreFileName), 0, "this device's own patterns, never synced"}};
  }
  if (rules_.empty() || path.empty()) return {};
  return VerdictOf(std::min(folder.cover, FirstMatchAtEnd(path, /*covering=*/false, folder.cover)));
}

IgnoreVerdict IgnoreRules::Check(std::string_view path) const {
  Folder folder;
  for (size_t slash = path.find('/'); !rules_.empty() && slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    folder = Enter(folder, path.substr(0, slash));
  }
  return CheckIn(folder, path);
}

}  // namespace tandem::scan
