#include "auth/scope.h"

namespace berth::auth {

std::string Scope::str() const {
  std::string s = type + ":" + name + ":";
  bool first = true;
  for (const auto& a : actions) {
    if (!first) s += ',';
    s += a;
    first = false;
  }
  return s;
}

Result<Scope> ParseScope(std::string_view text) {
  if (text.size() > 1024) return Status::Invalid("scope too long");
  const size_t first = text.find(':');
  const size_t last = text.rfind(':');
  if (first == std::string_view::npos || first == last) return Status::Invalid("malformed scope");
  Scope s;
  std::string_view type = text.substr(0, first);
  if (auto paren = type.find('('); paren != std::string_view::npos) {  // resource class, e.g. repository(plugin)
    if (type.back() != ')') return Status::Invalid("malformed scope type");
    type = type.substr(0, paren);
  }
  if (type.empty()) return Status::Invalid("scope has no type");
  s.type = std::string(type);
  s.name = std::string(text.substr(first + 1, last - first - 1));
  if (s.name.empty()) return Status::Invalid("scope has no name");
  std::string_view actions = text.substr(last + 1);
  while (!actions.empty()) {
    size_t comma = actions.find(',');
    std::string_view a = actions.substr(0, comma);
    if (!a.empty()) s.actions.insert(std::string(a));
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
  }
  return s;
}

Result<std::vector<Scope>> ParseScopeList(std::string_view text) {
  std::vector<Scope> out;
  while (!text.empty()) {
    size_t sp = text.find(' ');
    std::string_view item = text.substr(0, sp);
    if (!item.empty()) {
      auto s = ParseScope(item);
      if (!s.ok()) return s.status();
      out.push_back(std::move(*s));
    }
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace berth::auth
