// Fuzz target: the PostgreSQL client's backend-message decoder
// (src/metadata/postgres/wire.h) and its SCRAM parser (scram.h), on a stream of
// bytes as a hostile or broken server would send them.
// The input is read as the client reads a socket: frames split off one after
// another (NextFrame), each decoded (DecodeMessage); DataRows are decoded
// against the last RowDescription, CommandComplete tags counted, errors mapped,
// and SASL challenges fed to a SCRAM exchange.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "metadata/postgres/scram.h"
#include "metadata/postgres/wire.h"

namespace wire = berth::metadata::postgres::wire;
using berth::metadata::postgres::ScramSha256;

namespace {

// PBKDF2 with a large count is slow by design (the client allows up to 10^7
// rounds); the fuzzer only needs to reach the parsing around it.
bool SmallIterationCount(std::string_view server_first) {
  const size_t at = server_first.find(",i=");
  if (at == std::string_view::npos) return true;  // refused before PBKDF2
  const std::string_view rest = server_first.substr(at + 3);
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  return digits <= 3;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<wire::ColumnDescription> columns;
  ScramSha256 scram("", "pencil", "fuzznonce");
  (void)scram.ClientFirstMessage();
  bool scram_final_sent = false;
  // A small limit so that length words near it are reachable.
  constexpr size_t kLimit = 1 << 16;
  for (;;) {
    wire::Frame frame;
    size_t consumed = 0;
    const wire::FrameStatus fs = wire::NextFrame(in, &frame, &consumed, kLimit);
    if (fs != wire::FrameStatus::kFrame) break;
    if (consumed < 5 || consumed > in.size() || frame.body.size() != consumed - 5 || frame.body.size() > kLimit) {
      fprintf(stderr, "NextFrame: consumed %zu of %zu, body %zu\n", consumed, in.size(), frame.body.size());
      abort();
    }
    in.remove_prefix(consumed);
    auto m = wire::DecodeMessage(frame);
    if (!m.ok()) continue;
    if (auto* d = std::get_if<wire::RowDescription>(&*m)) {
      columns = d->columns;
    } else if (auto* row = std::get_if<wire::DataRow>(&*m)) {
      auto r = wire::DecodeDataRow(row->body, columns);
      if (r.ok() && r->columns.size() != columns.size()) abort();
    } else if (auto* c = std::get_if<wire::CommandComplete>(&*m)) {
      if (wire::AffectedRows(c->tag) < 0) abort();
    } else if (auto* e = std::get_if<wire::ErrorResponse>(&*m)) {
      berth::Status s = wire::StatusFromError(e->fields, "fuzz");
      if (s.ok()) abort();  // a server error is never OK
    } else if (auto* a = std::get_if<wire::Authentication>(&*m)) {
      if (a->kind == wire::Authentication::kSaslContinue && !scram_final_sent && SmallIterationCount(a->sasl_data)) {
        scram_final_sent = scram.ClientFinalMessage(a->sasl_data).ok();
      } else if (a->kind == wire::Authentication::kSaslFinal) {
        (void)scram.VerifyServerFinal(a->sasl_data);
      }
    }
  }
  return 0;
}
