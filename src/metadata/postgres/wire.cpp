#include "metadata/postgres/wire.h"

#include <charconv>
#include <cstring>
#include <limits>

namespace berth::metadata::postgres::wire {

namespace {

constexpr int32_t kProtocolVersion3 = 196608;  // 3.0
constexpr int32_t kSslRequestCode = 80877103;

void PutInt32(std::string& out, int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  out.push_back(static_cast<char>(u >> 24));
  out.push_back(static_cast<char>(u >> 16));
  out.push_back(static_cast<char>(u >> 8));
  out.push_back(static_cast<char>(u));
}

void PutInt16(std::string& out, int16_t v) {
  const auto u = static_cast<uint16_t>(v);
  out.push_back(static_cast<char>(u >> 8));
  out.push_back(static_cast<char>(u));
}

void PutCString(std::string& out, std::string_view s) {
  out.append(s);
  out.push_back('\0');
}

// Starts a typed message: type byte and a length word patched by Finish.
size_t Begin(std::string& out, char type) {
  out.push_back(type);
  const size_t at = out.size();
  PutInt32(out, 0);
  return at;
}

std::string Finish(std::string out, size_t length_at) {
  const auto len = static_cast<uint32_t>(out.size() - length_at);
  out[length_at] = static_cast<char>(len >> 24);
  out[length_at + 1] = static_cast<char>(len >> 16);
  out[length_at + 2] = static_cast<char>(len >> 8);
  out[length_at + 3] = static_cast<char>(len);
  return out;
}

std::string Empty(char type) {
  std::string out;
  const size_t at = Begin(out, type);
  return Finish(std::move(out), at);
}

// Reads the fields of a message body; every read checks the bounds and any
// failure sticks, so a decoder checks ok() once at the end.
class Reader {
 public:
  explicit Reader(std::string_view body) : rest_(body) {}

  int32_t Int32() {
    if (rest_.size() < 4) return Fail();
    const auto* p = reinterpret_cast<const unsigned char*>(rest_.data());
    const uint32_t u = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    rest_.remove_prefix(4);
    return static_cast<int32_t>(u);
  }
  int16_t Int16() {
    if (rest_.size() < 2) return static_cast<int16_t>(Fail());
    const auto* p = reinterpret_cast<const unsigned char*>(rest_.data());
    const auto u = static_cast<uint16_t>((p[0] << 8) | p[1]);
    rest_.remove_prefix(2);
    return static_cast<int16_t>(u);
  }
  char Byte() {
    if (rest_.empty()) return static_cast<char>(Fail());
    const char c = rest_.front();
    rest_.remove_prefix(1);
    return c;
  }
  std::string_view CString() {
    const size_t nul = rest_.find('\0');
    if (nul == std::string_view::npos) {
      Fail();
      return {};
    }
    std::string_view s = rest_.substr(0, nul);
    rest_.remove_prefix(nul + 1);
    return s;
  }
  std::string_view Bytes(size_t n) {
    if (rest_.size() < n) {
      Fail();
      return {};
    }
    std::string_view s = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return s;
  }
  std::string_view Rest() {
    std::string_view s = rest_;
    rest_ = {};
    return s;
  }
  bool ok() const { return ok_; }
  bool AtEnd() const { return ok_ && rest_.empty(); }

 private:
  int32_t Fail() {
    ok_ = false;
    rest_ = {};
    return 0;
  }
  std::string_view rest_;
  bool ok_ = true;
};

Status Malformed(char type, std::string_view what) {
  std::string t(1, type);
  if (static_cast<unsigned char>(type) < 0x20 || static_cast<unsigned char>(type) > 0x7e) t = "?";
  return Status::Invalid("malformed PostgreSQL message '" + t + "': " + std::string(what));
}

Result<ErrorFields> DecodeErrorFields(char type, std::string_view body) {
  Reader r(body);
  ErrorFields f;
  std::string localized_severity;
  for (;;) {
    const char code = r.Byte();
    if (!r.ok()) return Malformed(type, "missing terminator");
    if (code == '\0') break;
    std::string_view value = r.CString();
    if (!r.ok()) return Malformed(type, "unterminated field");
    switch (code) {
      case 'V': f.severity = value; break;
      case 'S': localized_severity = value; break;
      case 'C': f.sqlstate = value; break;
      case 'M': f.message = value; break;
      case 'D': f.detail = value; break;
      case 'H': f.hint = value; break;
      default: break;  // position, context, schema, table, ...: not needed
    }
  }
  if (!r.AtEnd()) return Malformed(type, "bytes after the terminator");
  if (f.severity.empty()) f.severity = std::move(localized_severity);
  return f;
}

Result<BackendMessage> DecodeAuthentication(std::string_view body) {
  Reader r(body);
  Authentication a;
  a.kind = r.Int32();
  if (!r.ok()) return Malformed('R', "no request code");
  switch (a.kind) {
    case Authentication::kMd5Password: a.md5_salt = r.Bytes(4); break;
    case Authentication::kSasl:
      for (;;) {
        std::string_view m = r.CString();
        if (!r.ok()) return Malformed('R', "unterminated SASL mechanism list");
        if (m.empty()) break;
        a.mechanisms.emplace_back(m);
      }
      break;
    case Authentication::kSaslContinue:
    case Authentication::kSaslFinal: a.sasl_data = r.Rest(); break;
    case Authentication::kOk:
    case Authentication::kCleartextPassword: break;
    default:
      r.Rest();  // another method (Kerberos, GSSAPI, SSPI): refused by the client
      break;
  }
  if (!r.AtEnd()) return Malformed('R', "bad length for the request");
  return BackendMessage{std::move(a)};
}

Result<BackendMessage> DecodeRowDescription(std::string_view body) {
  Reader r(body);
  const int16_t n = r.Int16();
  if (!r.ok() || n < 0) return Malformed('T', "bad field count");
  RowDescription d;
  d.columns.reserve(static_cast<size_t>(n));
  for (int16_t i = 0; i < n; ++i) {
    ColumnDescription c;
    c.name = r.CString();
    r.Int32();  // table OID
    r.Int16();  // attribute number
    c.type_oid = static_cast<uint32_t>(r.Int32());
    r.Int16();  // type length
    r.Int32();  // type modifier
    c.format = r.Int16();
    if (!r.ok()) return Malformed('T', "truncated field");
    d.columns.push_back(std::move(c));
  }
  if (!r.AtEnd()) return Malformed('T', "bytes after the last field");
  return BackendMessage{std::move(d)};
}

Result<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return Status::Invalid("not an integer");
  return v;
}

}  // namespace

std::string StartupMessage(std::span<const std::pair<std::string, std::string>> parameters) {
  std::string out;
  PutInt32(out, 0);  // length, patched below
  PutInt32(out, kProtocolVersion3);
  for (const auto& [name, value] : parameters) {
    PutCString(out, name);
    PutCString(out, value);
  }
  out.push_back('\0');
  const auto len = static_cast<uint32_t>(out.size());
  out[0] = static_cast<char>(len >> 24);
  out[1] = static_cast<char>(len >> 16);
  out[2] = static_cast<char>(len >> 8);
  out[3] = static_cast<char>(len);
  return out;
}

std::string SslRequest() {
  std::string out;
  PutInt32(out, 8);
  PutInt32(out, kSslRequestCode);
  return out;
}

std::string PasswordMessage(std::string_view password) {
  std::string out;
  const size_t at = Begin(out, 'p');
  PutCString(out, password);
  return Finish(std::move(out), at);
}

std::string SaslInitialResponse(std::string_view mechanism, std::string_view data) {
  std::string out;
  const size_t at = Begin(out, 'p');
  PutCString(out, mechanism);
  PutInt32(out, static_cast<int32_t>(data.size()));
  out.append(data);
  return Finish(std::move(out), at);
}

std::string SaslResponse(std::string_view data) {
  std::string out;
  const size_t at = Begin(out, 'p');
  out.append(data);
  return Finish(std::move(out), at);
}

std::string Query(std::string_view sql) {
  std::string out;
  const size_t at = Begin(out, 'Q');
  PutCString(out, sql);
  return Finish(std::move(out), at);
}

std::string Parse(std::string_view name, std::string_view sql, std::span<const uint32_t> param_types) {
  std::string out;
  const size_t at = Begin(out, 'P');
  PutCString(out, name);
  PutCString(out, sql);
  PutInt16(out, static_cast<int16_t>(param_types.size()));
  for (uint32_t oid : param_types) PutInt32(out, static_cast<int32_t>(oid));
  return Finish(std::move(out), at);
}

std::string Bind(std::string_view statement, std::span<const Value> params) {
  size_t size = 32 + statement.size();
  for (const Value& v : params) {
    if (const auto* s = std::get_if<std::string>(&v))
      size += 4 + s->size();
    else
      size += 4 + 20;
  }
  std::string out;
  out.reserve(size);
  const size_t at = Begin(out, 'B');
  PutCString(out, "");  // the unnamed portal
  PutCString(out, statement);
  PutInt16(out, 0);  // no format codes: every parameter is text
  PutInt16(out, static_cast<int16_t>(params.size()));
  for (const Value& v : params) {
    if (std::holds_alternative<std::monostate>(v)) {
      PutInt32(out, -1);
    } else if (const auto* i = std::get_if<int64_t>(&v)) {
      const std::string text = std::to_string(*i);
      PutInt32(out, static_cast<int32_t>(text.size()));
      out.append(text);
    } else {
      const std::string& s = std::get<std::string>(v);
      PutInt32(out, static_cast<int32_t>(s.size()));
      out.append(s);
    }
  }
  PutInt16(out, 0);  // no result format codes: every column is text
  return Finish(std::move(out), at);
}

std::string DescribePortal() {
  std::string out;
  const size_t at = Begin(out, 'D');
  out.push_back('P');
  PutCString(out, "");
  return Finish(std::move(out), at);
}

std::string Execute() {
  std::string out;
  const size_t at = Begin(out, 'E');
  PutCString(out, "");
  PutInt32(out, 0);  // no row limit
  return Finish(std::move(out), at);
}

std::string CloseStatement(std::string_view name) {
  std::string out;
  const size_t at = Begin(out, 'C');
  out.push_back('S');
  PutCString(out, name);
  return Finish(std::move(out), at);
}

std::string Sync() { return Empty('S'); }
std::string Terminate() { return Empty('X'); }

uint32_t ParamTypeOf(const Value& v) { return std::holds_alternative<int64_t>(v) ? kOidInt8 : 0; }

FrameStatus NextFrame(std::string_view buffer, Frame* frame, size_t* consumed, size_t max_message) {
  if (buffer.size() < 5) return FrameStatus::kNeedMore;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer.data());
  const uint32_t len = (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | uint32_t{p[4]};
  if (len < 4 || len - 4 > max_message) return FrameStatus::kMalformed;
  const size_t total = size_t{1} + len;
  if (buffer.size() < total) return FrameStatus::kNeedMore;
  frame->type = buffer[0];
  frame->body = buffer.substr(5, len - 4);
  *consumed = total;
  return FrameStatus::kFrame;
}

Result<BackendMessage> DecodeMessage(const Frame& frame) {
  const std::string_view body = frame.body;
  auto empty = [&](BackendMessage m) -> Result<BackendMessage> {
    if (!body.empty()) return Malformed(frame.type, "unexpected body");
    return m;
  };
  switch (frame.type) {
    case 'R': return DecodeAuthentication(body);
    case 'S': {
      Reader r(body);
      ParameterStatus s;
      s.name = r.CString();
      s.value = r.CString();
      if (!r.AtEnd()) return Malformed('S', "not two strings");
      return BackendMessage{std::move(s)};
    }
    case 'K': {
      Reader r(body);
      BackendKeyData k;
      k.process_id = r.Int32();
      k.secret_key = r.Int32();
      if (!r.AtEnd()) return Malformed('K', "not two integers");
      return BackendMessage{k};
    }
    case 'Z': {
      Reader r(body);
      ReadyForQuery z;
      z.transaction_status = r.Byte();
      if (!r.AtEnd()) return Malformed('Z', "not one byte");
      if (z.transaction_status != 'I' && z.transaction_status != 'T' && z.transaction_status != 'E') {
        return Malformed('Z', "unknown transaction status");
      }
      return BackendMessage{z};
    }
    case 'T': return DecodeRowDescription(body);
    case 'D': return BackendMessage{DataRow{body}};
    case 'C': {
      Reader r(body);
      CommandComplete c;
      c.tag = r.CString();
      if (!r.AtEnd()) return Malformed('C', "not one string");
      return BackendMessage{std::move(c)};
    }
    case '1': return empty(ParseComplete{});
    case '2': return empty(BindComplete{});
    case '3': return empty(CloseComplete{});
    case 'n': return empty(NoData{});
    case 'I': return empty(EmptyQueryResponse{});
    case 's': return empty(PortalSuspended{});
    case 't': return BackendMessage{ParameterDescription{}};
    case 'A': return BackendMessage{NotificationResponse{}};
    case 'v': {
      Reader r(body);
      NegotiateProtocolVersion v;
      v.newest_minor = r.Int32();
      const int32_t n = r.Int32();
      if (!r.ok() || n < 0) return Malformed('v', "bad option count");
      for (int32_t i = 0; i < n; ++i) {
        std::string_view o = r.CString();
        if (!r.ok()) return Malformed('v', "unterminated option");
        v.unrecognized.emplace_back(o);
      }
      if (!r.AtEnd()) return Malformed('v', "bytes after the options");
      return BackendMessage{std::move(v)};
    }
    case 'E': {
      auto f = DecodeErrorFields('E', body);
      if (!f.ok()) return f.status();
      return BackendMessage{ErrorResponse{std::move(f).value()}};
    }
    case 'N': {
      auto f = DecodeErrorFields('N', body);
      if (!f.ok()) return f.status();
      return BackendMessage{NoticeResponse{std::move(f).value()}};
    }
    default: return BackendMessage{Unsupported{frame.type}};
  }
}

Result<Row> DecodeDataRow(std::string_view body, std::span<const ColumnDescription> columns) {
  Reader r(body);
  const int16_t n = r.Int16();
  if (!r.ok() || n < 0) return Malformed('D', "bad column count");
  if (static_cast<size_t>(n) != columns.size()) return Malformed('D', "column count differs from the row description");
  Row row;
  row.columns.reserve(columns.size());
  for (const ColumnDescription& c : columns) {
    const int32_t len = r.Int32();
    if (!r.ok()) return Malformed('D', "truncated column");
    if (len == -1) {
      row.columns.emplace_back(std::monostate{});
      continue;
    }
    if (len < 0) return Malformed('D', "negative column length");
    std::string_view text = r.Bytes(static_cast<size_t>(len));
    if (!r.ok()) return Malformed('D', "column longer than the message");
    if (c.format == 0 && (c.type_oid == kOidInt2 || c.type_oid == kOidInt4 || c.type_oid == kOidInt8)) {
      auto v = ParseInt64(text);
      if (!v.ok()) return Malformed('D', "integer column '" + c.name + "' is not an integer");
      row.columns.emplace_back(*v);
    } else {
      row.columns.emplace_back(std::string(text));
    }
  }
  if (!r.AtEnd()) return Malformed('D', "bytes after the last column");
  return row;
}

int64_t AffectedRows(std::string_view tag) {
  // Tags with a count end in it: "INSERT 0 5", "UPDATE 3", "DELETE 0", "SELECT 2",
  // "MERGE 1", "MOVE 4", "FETCH 1", "COPY 7". Others ("BEGIN", "CREATE TABLE") have none.
  const size_t space = tag.rfind(' ');
  if (space == std::string_view::npos) return 0;
  const std::string_view verb = tag.substr(0, tag.find(' '));
  static constexpr std::string_view kCounted[] = {"INSERT", "UPDATE", "DELETE", "SELECT",
                                                  "MERGE",  "MOVE",   "FETCH",  "COPY"};
  bool counted = false;
  for (std::string_view v : kCounted) counted = counted || v == verb;
  if (!counted) return 0;
  auto n = ParseInt64(tag.substr(space + 1));
  if (!n.ok() || *n < 0) return 0;
  return *n;
}

StatusCode CodeForSqlState(std::string_view s) {
  if (s.size() != 5) return StatusCode::kIoError;
  const std::string_view cls = s.substr(0, 2);
  if (cls == "23" || s == "40001" || s == "40P01") return StatusCode::kConflict;
  // 57014 query_canceled (statement_timeout), 57P01-57P03 shutdown / starting up.
  if (cls == "08" || cls == "53" || cls == "57") return StatusCode::kUnavailable;
  if (cls == "42") return StatusCode::kInvalidArgument;
  return StatusCode::kIoError;
}

Status StatusFromError(const ErrorFields& e, std::string_view context) {
  std::string m;
  if (!context.empty()) {
    m.append(context);
    m.append(": ");
  }
  m.append("PostgreSQL: ");
  m.append(e.message.empty() ? std::string_view("error without a message") : std::string_view(e.message));
  m.append(" (SQLSTATE ");
  m.append(e.sqlstate.empty() ? std::string_view("none") : std::string_view(e.sqlstate));
  m.append(")");
  return Status(CodeForSqlState(e.sqlstate), std::move(m));
}

}  // namespace berth::metadata::postgres::wire
