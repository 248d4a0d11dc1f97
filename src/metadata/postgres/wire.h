// PostgreSQL frontend/backend protocol 3.0: the byte-level encoding of the
// messages Berth's client sends and the decoding of those the server sends.
// Pure functions over bytes (no I/O, no state), so the decoder can be fuzzed
// (fuzz/pg_message.cpp) and unit-tested without a server. Only the subset the
// client uses: startup, authentication, the simple query and the extended query
// protocol (no COPY, no binary formats, no replication).
// Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "metadata/db.h"
#include "util/status.h"

namespace berth::metadata::postgres::wire {

// Type OIDs of pg_type that the client treats specially.
inline constexpr uint32_t kOidInt8 = 20;
inline constexpr uint32_t kOidInt2 = 21;
inline constexpr uint32_t kOidInt4 = 23;

// The largest backend message the client accepts (PostgreSQL's own limit for a
// field is 1 GB; Berth's rows are small, a bigger message means a broken peer).
inline constexpr size_t kMaxBackendMessage = 128u << 20;

// ---- Frontend messages (client → server) -------------------------------------

// The untyped startup packet: protocol 3.0 and name/value parameters.
std::string StartupMessage(std::span<const std::pair<std::string, std::string>> parameters);
// The SSLRequest packet; the server answers with one byte, 'S' or 'N'.
std::string SslRequest();
// PasswordMessage (cleartext or "md5..." hash).
std::string PasswordMessage(std::string_view password);
std::string SaslInitialResponse(std::string_view mechanism, std::string_view data);
std::string SaslResponse(std::string_view data);
// Simple query 'Q'. The text must not contain NUL (checked by the caller).
std::string Query(std::string_view sql);
// Parse 'P' of `sql` as statement `name` ("" = the unnamed statement), with one
// type OID per parameter (0 = let the server infer it).
std::string Parse(std::string_view name, std::string_view sql, std::span<const uint32_t> param_types);
// Bind 'B' of statement `statement` to the unnamed portal: every parameter in
// text format (NULL for monostate), every result column in text format.
std::string Bind(std::string_view statement, std::span<const Value> params);
// Describe 'D' of the unnamed portal.
std::string DescribePortal();
// Execute 'E' of the unnamed portal, all rows.
std::string Execute();
// Close 'C' of prepared statement `name`.
std::string CloseStatement(std::string_view name);
std::string Sync();
std::string Terminate();

// The type OID a bound value is declared with in Parse: int8 for integers,
// "unspecified" (0, inferred from the statement) for text and NULL.
uint32_t ParamTypeOf(const Value& v);

// ---- Backend messages (server → client) -------------------------------------

// One framed message: a type byte and its body (without the length word).
struct Frame {
  char type = 0;
  std::string_view body;  // a view into the buffer passed to NextFrame
};

enum class FrameStatus { kNeedMore, kFrame, kMalformed };

// Splits the first message off `buffer`. kFrame: *frame and *consumed are set
// (consumed = 5 + body size); kNeedMore: the buffer holds a partial message;
// kMalformed: the length word is impossible (< 4) or over `max_message`.
FrameStatus NextFrame(std::string_view buffer, Frame* frame, size_t* consumed, size_t max_message = kMaxBackendMessage);

// Fields of an ErrorResponse 'E' or NoticeResponse 'N'.
struct ErrorFields {
  std::string severity;  // V (non-localized) or S: ERROR, FATAL, PANIC, WARNING, NOTICE, ...
  std::string sqlstate;  // C: five characters, e.g. 23505
  std::string message;   // M
  std::string detail;    // D
  std::string hint;      // H
};

// Authentication request 'R'.
struct Authentication {
  enum Kind : int32_t {
    kOk = 0,
    kCleartextPassword = 3,
    kMd5Password = 5,
    kSasl = 10,
    kSaslContinue = 11,
    kSaslFinal = 12,
  };
  int32_t kind = 0;                     // one of Kind, or another (unsupported) method's code
  std::string md5_salt;                 // kMd5Password: 4 bytes
  std::vector<std::string> mechanisms;  // kSasl
  std::string sasl_data;                // kSaslContinue, kSaslFinal
};

struct ParameterStatus {
  std::string name;
  std::string value;
};

struct BackendKeyData {
  int32_t process_id = 0;
  int32_t secret_key = 0;
};

struct ReadyForQuery {
  char transaction_status = 'I';  // 'I' idle, 'T' in a transaction, 'E' in a failed transaction
};

struct ColumnDescription {
  std::string name;
  uint32_t type_oid = 0;
  int16_t format = 0;  // 0 text, 1 binary
};

struct RowDescription {
  std::vector<ColumnDescription> columns;
};

// DataRow 'D', not yet decoded: DecodeDataRow needs the columns' types.
struct DataRow {
  std::string_view body;
};

struct CommandComplete {
  std::string tag;  // "INSERT 0 1", "UPDATE 3", "SELECT 2", "BEGIN", ...
};

// The messages that carry nothing the client needs but their arrival.
struct ParseComplete {};
struct BindComplete {};
struct CloseComplete {};
struct NoData {};
struct EmptyQueryResponse {};
struct PortalSuspended {};
struct ParameterDescription {};
struct NotificationResponse {};
struct NegotiateProtocolVersion {
  int32_t newest_minor = 0;
  std::vector<std::string> unrecognized;
};
struct ErrorResponse {
  ErrorFields fields;
};
struct NoticeResponse {
  ErrorFields fields;
};
// A message the client does not speak (COPY, function call results, ...).
struct Unsupported {
  char type = 0;
};

using BackendMessage = std::variant<Authentication, ParameterStatus, BackendKeyData, ReadyForQuery, RowDescription,
                                    DataRow, CommandComplete, ParseComplete, BindComplete, CloseComplete, NoData,
                                    EmptyQueryResponse, PortalSuspended, ParameterDescription, NotificationResponse,
                                    NegotiateProtocolVersion, ErrorResponse, NoticeResponse, Unsupported>;

// Decodes one framed message. InvalidArgument when the body does not match its
// type's layout (truncated, trailing bytes, missing terminators, negative counts).
Result<BackendMessage> DecodeMessage(const Frame& frame);

// Decodes a DataRow's columns: NULL as monostate, int2/int4/int8 columns
// (text format) as int64_t, everything else as the raw text. InvalidArgument
// when the row does not match `columns` or an integer column is not an integer.
Result<Row> DecodeDataRow(std::string_view body, std::span<const ColumnDescription> columns);

// Rows changed by a statement, from its CommandComplete tag: the last number of
// "INSERT oid n", "UPDATE n", "DELETE n", "MERGE n", "SELECT n", ...; 0 for tags
// without a count (BEGIN, CREATE TABLE, ...).
int64_t AffectedRows(std::string_view tag);

// The StatusCode an SQLSTATE maps onto (see db.h): integrity violations (23),
// serialization failures and deadlocks (40001, 40P01) → kConflict; connection
// exceptions (08), operator intervention (57: shutdown, statement timeout),
// insufficient resources (53) → kUnavailable; syntax and access rules (42) →
// kInvalidArgument; anything else → kIoError (db.h's "kInternal").
StatusCode CodeForSqlState(std::string_view sqlstate);

// A Status for a server error: the mapped code and "PostgreSQL: <message>
// (SQLSTATE xxxxx)", prefixed with `context` when not empty.
Status StatusFromError(const ErrorFields& e, std::string_view context = {});

}  // namespace berth::metadata::postgres::wire
