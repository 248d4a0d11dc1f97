#include "auth/ldap/filter.h"

#include "auth/ldap/ber.h"

namespace berth::auth::ldap {
namespace {

constexpr int kMaxDepth = 16;
constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsAttributeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ';';
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<std::string> Parse() {
    auto f = Filter(0);
    if (!f.ok()) return f;
    if (pos_ != in_.size()) return Error("text after the filter");
    return f;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::Invalid("LDAP filter: " + what + " at offset " + std::to_string(pos_));
  }
  bool Eat(char c) {
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Result<std::string> Filter(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    if (!Eat('(')) return Error("expected '('");
    Result<std::string> out = Status::Invalid("");
    if (Eat('&')) {
      out = List(ber::kContext | ber::kConstructed | 0, depth);
    } else if (Eat('|')) {
      out = List(ber::kContext | ber::kConstructed | 1, depth);
    } else if (Eat('!')) {
      auto inner = Filter(depth + 1);
      if (!inner.ok()) return inner;
      out = ber::Tlv(ber::kContext | ber::kConstructed | 2, *inner);
    } else {
      out = Item();
    }
    if (!out.ok()) return out;
    if (!Eat(')')) return Error("expected ')'");
    return out;
  }

  Result<std::string> List(uint8_t tag, int depth) {
    std::string content;
    int count = 0;
    while (pos_ < in_.size() && in_[pos_] == '(') {
      auto f = Filter(depth + 1);
      if (!f.ok()) return f;
      content += *f;
      ++count;
    }
    if (count == 0) return Error("an empty & or | list");
    return ber::Tlv(tag, content);
  }

  Result<std::string> Item() {
    const size_t start = pos_;
    while (pos_ < in_.size() && IsAttributeChar(in_[pos_])) ++pos_;
    const std::string_view attribute = in_.substr(start, pos_ - start);
    if (attribute.empty()) return Error("expected an attribute name");
    if (pos_ < in_.size() && (in_[pos_] == '>' || in_[pos_] == '<' || in_[pos_] == '~' || in_[pos_] == ':')) {
      return Error("only equality (=) and presence (=*) filters are supported");
    }
    if (!Eat('=')) return Error("expected '='");
    if (pos_ + 1 < in_.size() && in_[pos_] == '*' && in_[pos_ + 1] == ')') {
      ++pos_;
      return ber::OctetString(attribute, ber::kContext | 7);  // present
    }
    std::string value;
    while (pos_ < in_.size() && in_[pos_] != ')') {
      const char c = in_[pos_];
      if (c == '*') return Error("substring filters (*) are not supported");
      if (c == '(' || c == '\0') return Error("unescaped character in a value");
      if (c == '\\') {
        if (pos_ + 2 >= in_.size() || HexValue(in_[pos_ + 1]) < 0 || HexValue(in_[pos_ + 2]) < 0) {
          return Error("a backslash must be followed by two hex digits");
        }
        value.push_back(static_cast<char>(HexValue(in_[pos_ + 1]) * 16 + HexValue(in_[pos_ + 2])));
        pos_ += 3;
        continue;
      }
      value.push_back(c);
      ++pos_;
    }
    // equalityMatch [3] AttributeValueAssertion ::= SEQUENCE { attributeDesc, assertionValue }
    return ber::Tlv(ber::kContext | ber::kConstructed | 3, ber::OctetString(attribute) + ber::OctetString(value));
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string EscapeFilterValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || u < 0x20 || u == 0x7f) {
      out += '\\';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    } else {
      out += c;
    }
  }
  return out;
}

std::string ExpandFilter(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (text[i] == '{') {
      const size_t close = text.find('}', i);
      if (close != std::string_view::npos) {
        auto it = values.find(std::string(text.substr(i + 1, close - i - 1)));
        if (it != values.end()) {
          out += EscapeFilterValue(it->second);
          i = close + 1;
          replaced = true;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

Result<std::string> EncodeFilter(std::string_view text) { return Parser(text).Parse(); }

}  // namespace berth::auth::ldap
