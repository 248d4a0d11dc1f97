#include "proxy/challenge.h"

#include <vector>

#include "util/ascii.h"

namespace berth::proxy {
namespace {

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void SkipSpace(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

std::string Token(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && IsTokenChar(s[n])) ++n;
  std::string t(s.substr(0, n));
  s.remove_prefix(n);
  return t;
}

std::string Lower(std::string v) {
  for (char& c : v) c = AsciiLower(c);
  return v;
}

// Parses challenges: scheme [param=value *("," param=value)] *("," challenge).
std::optional<std::vector<Challenge>> ParseAll(std::string_view s) {
  std::vector<Challenge> out;
  while (true) {
    SkipSpace(s);
    while (!s.empty() && s.front() == ',') {
      s.remove_prefix(1);
      SkipSpace(s);
    }
    if (s.empty()) break;
    Challenge c;
    c.scheme = Lower(Token(s));
    if (c.scheme.empty()) return std::nullopt;
    // Parameters until the next token that is not followed by '=' (a new challenge).
    while (true) {
      SkipSpace(s);
      std::string_view save = s;
      std::string name = Token(s);
      SkipSpace(s);
      if (name.empty() || s.empty() || s.front() != '=') {
        s = save;
        break;
      }
      s.remove_prefix(1);
      SkipSpace(s);
      std::string value;
      if (!s.empty() && s.front() == '"') {
        s.remove_prefix(1);
        bool closed = false;
        while (!s.empty()) {
          char ch = s.front();
          s.remove_prefix(1);
          if (ch == '\\' && !s.empty()) {
            value += s.front();
            s.remove_prefix(1);
          } else if (ch == '"') {
            closed = true;
            break;
          } else {
            value += ch;
          }
        }
        if (!closed) return std::nullopt;
      } else {
        value = Token(s);
      }
      c.params[Lower(name)] = value;
      SkipSpace(s);
      if (s.empty()) break;
      if (s.front() != ',') return std::nullopt;
      s.remove_prefix(1);
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<Challenge> ParseChallenge(std::string_view header) {
  auto all = ParseAll(header);
  if (!all) return std::nullopt;
  for (const auto& c : *all) {
    if (c.scheme == "bearer") return c;
  }
  return all->front();
}

}  // namespace berth::proxy
