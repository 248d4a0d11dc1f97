#include "auth/pattern.h"

#include <vector>

namespace berth::auth {
namespace {

enum class TokKind { kLiteral, kOne, kSegment, kAny, kClass };

struct Tok {
  TokKind kind;
  char c = 0;
  std::string set;  // class members, ranges expanded
  bool negated = false;
};

Tok TokOf(TokKind kind, char c = 0) {
  Tok t;
  t.kind = kind;
  t.c = c;
  return t;
}

// Splits a glob into tokens; false on bad syntax.
bool Tokenize(std::string_view p, std::vector<Tok>* out) {
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (++i == p.size()) return false;
      out->push_back(TokOf(TokKind::kLiteral, p[i]));
    } else if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        ++i;
        while (i + 1 < p.size() && p[i + 1] == '*') ++i;  // '***' is '**'
        out->push_back(TokOf(TokKind::kAny));
      } else {
        out->push_back(TokOf(TokKind::kSegment));
      }
    } else if (c == '?') {
      out->push_back(TokOf(TokKind::kOne));
    } else if (c == '[') {
      Tok t = TokOf(TokKind::kClass);
      size_t j = i + 1;
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) {
        t.negated = true;
        ++j;
      }
      bool closed = false;
      bool first = true;
      while (j < p.size()) {
        char m = p[j];
        if (m == ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        if (m == '\\') {
          if (++j == p.size()) return false;
          m = p[j];
        }
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          char hi = p[j + 2];
          if (hi == '\\') return false;
          if (hi < m) return false;
          for (int x = m; x <= hi; ++x) t.set += static_cast<char>(x);
          j += 3;
          continue;
        }
        t.set += m;
        ++j;
      }
      if (!closed) return false;
      i = j;
      out->push_back(std::move(t));
    } else {
      out->push_back(TokOf(TokKind::kLiteral, c));
    }
  }
  return true;
}

bool TokMatchesChar(const Tok& t, char c) {
  switch (t.kind) {
    case TokKind::kLiteral: return t.c == c;
    case TokKind::kOne: return c != '/';
    case TokKind::kClass: return c != '/' && ((t.set.find(c) != std::string::npos) != t.negated);
    default: return false;
  }
}

std::string EscapeGlob(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string EscapeRegex(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (std::string_view("\\^$.|?*+()[]{}/-").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Replaces ${account} and ${name}; false on an unknown placeholder.
bool Expand(std::string_view text, const PatternVars* vars, bool regex, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") == 0) {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos) return false;
      std::string_view key = text.substr(i + 2, close - i - 2);
      if (key != "account" && key != "name") return false;
      if (vars != nullptr) {
        std::string_view v = key == "account" ? vars->account : vars->name;
        *out += regex ? EscapeRegex(v) : EscapeGlob(v);
      } else {
        *out += "x";  // syntax check only
      }
      i = close + 1;
    } else {
      *out += text[i++];
    }
  }
  return true;
}

// std::regex recurses once per character: a long hostile value would exhaust
// the stack. Every value matched here (names, accounts, services) is short by
// construction, so longer ones simply do not match.
constexpr size_t kMaxRegexValue = 1024;

// std::regex backtracks: a repeated group that itself repeats or alternates,
// like (a+)+ or (a|aa)*, takes exponential time on a crafted value, and so does
// a quantifier stacked on another, like a+* or a?{2,} (libstdc++ reads them as
// (a+)*). Such patterns are refused when the config is loaded. The lazy forms
// a*?, a+?, a?? are one quantifier each.
bool HasNestedQuantifier(std::string_view re) {
  struct Group {
    bool risky = false;  // contains a quantifier or an alternation
  };
  std::vector<Group> groups{{}};
  bool in_class = false;
  auto is_quantifier = [](char c) { return c == '*' || c == '+' || c == '?' || c == '{'; };
  bool after_quantifier = false;  // the previous token was a quantifier (or its lazy '?')
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    const bool stacked = after_quantifier && !in_class && (c == '*' || c == '+' || c == '{');
    if (stacked) return true;
    if (c == '\\') {
      after_quantifier = false;
      ++i;
      continue;
    }
    if (!in_class && c == '{') {
      const size_t close = re.find('}', i);
      if (close != std::string_view::npos) {
        groups.back().risky = true;
        i = close;
        after_quantifier = true;
        continue;
      }
    }
    after_quantifier = !in_class && (c == '*' || c == '+' || c == '?') && i > 0;
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      groups.push_back({});
    } else if (c == ')') {
      if (groups.size() < 2) continue;  // unbalanced: std::regex reports it
      const bool risky = groups.back().risky;
      groups.pop_back();
      const bool repeated = i + 1 < re.size() && is_quantifier(re[i + 1]);
      if (repeated && risky) return true;
      if (risky || repeated) groups.back().risky = true;
    } else if (is_quantifier(c) || c == '|') {
      groups.back().risky = true;
    }
  }
  return false;
}

bool RegexMatch(const std::regex& re, std::string_view value) {
  if (value.size() > kMaxRegexValue) return false;
  return std::regex_match(value.begin(), value.end(), re);
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view value) {
  if (pattern == "*") return true;
  std::vector<Tok> toks;
  if (!Tokenize(pattern, &toks)) return false;
  // dp[j]: tokens[i:] match value[j:], computed from the last token backwards.
  const size_t n = value.size();
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;
  for (size_t ii = toks.size(); ii-- > 0;) {
    const Tok& t = toks[ii];
    if (t.kind == TokKind::kAny || t.kind == TokKind::kSegment) {
      cur[n] = next[n];
      for (size_t j = n; j-- > 0;) {
        bool can_extend = t.kind == TokKind::kAny || value[j] != '/';
        cur[j] = next[j] || (can_extend && cur[j + 1]);
      }
    } else {
      cur[n] = 0;
      for (size_t j = 0; j < n; ++j) cur[j] = TokMatchesChar(t, value[j]) && next[j + 1];
    }
    std::swap(cur, next);
  }
  return next[0] != 0;
}

Status ValidateGlob(std::string_view pattern) {
  std::vector<Tok> toks;
  if (!Tokenize(pattern, &toks)) return Status::Invalid("invalid glob pattern '" + std::string(pattern) + "'");
  return Status::Ok();
}

Result<Pattern> Pattern::Compile(std::string text) {
  Pattern p;
  p.is_regex_ = text.size() >= 2 && text.front() == '/' && text.back() == '/';
  p.has_placeholders_ = text.find("${") != std::string::npos;
  std::string body = p.is_regex_ ? text.substr(1, text.size() - 2) : text;
  std::string probe;
  if (!Expand(body, nullptr, p.is_regex_, &probe)) {
    return Status::Invalid("unknown placeholder in '" + text + "' (only ${account} and ${name} exist)");
  }
  if (p.is_regex_) {
    if (HasNestedQuantifier(probe)) {
      return Status::Invalid("regular expression '" + text +
                             "' repeats a group that itself repeats or alternates (e.g. (a+)+): "
                             "that can take exponential time; rewrite it without nesting");
    }
    try {
      auto re = std::make_shared<const std::regex>(probe, std::regex::ECMAScript);
      if (!p.has_placeholders_) p.regex_ = std::move(re);
    } catch (const std::regex_error& e) {
      return Status::Invalid("invalid regular expression '" + text + "': " + e.what());
    }
  } else if (Status s = ValidateGlob(probe); !s.ok()) {
    return s;
  }
  p.text_ = std::move(text);
  return p;
}

bool Pattern::Matches(std::string_view value, const PatternVars& vars) const {
  if (!is_regex_) {
    if (!has_placeholders_) return GlobMatch(text_, value);
    std::string expanded;
    Expand(text_, &vars, false, &expanded);
    return GlobMatch(expanded, value);
  }
  if (regex_) return RegexMatch(*regex_, value);
  std::string expanded;
  Expand(std::string_view(text_).substr(1, text_.size() - 2), &vars, true, &expanded);
  try {
    return RegexMatch(std::regex(expanded, std::regex::ECMAScript), value);
  } catch (const std::regex_error&) {
    return false;
  }
}

}  // namespace berth::auth
