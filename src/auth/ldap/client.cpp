#include "auth/ldap/client.h"

#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <cctype>

#include "auth/ldap/ber.h"
#include "auth/ldap/filter.h"
#include "http/tls_profile.h"

namespace berth::auth::ldap {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// protocolOp tags (RFC 4511 section 4): [APPLICATION n], constructed unless noted.
constexpr uint8_t kBindRequest = ber::kApplication | ber::kConstructed | 0;
constexpr uint8_t kBindResponse = ber::kApplication | ber::kConstructed | 1;
constexpr uint8_t kUnbindRequest = ber::kApplication | 2;  // primitive NULL
constexpr uint8_t kSearchRequest = ber::kApplication | ber::kConstructed | 3;
constexpr uint8_t kSearchResultEntry = ber::kApplication | ber::kConstructed | 4;
constexpr uint8_t kSearchResultDone = ber::kApplication | ber::kConstructed | 5;
constexpr uint8_t kSearchResultReference = ber::kApplication | ber::kConstructed | 19;
constexpr uint8_t kExtendedRequest = ber::kApplication | ber::kConstructed | 23;
constexpr uint8_t kExtendedResponse = ber::kApplication | ber::kConstructed | 24;
constexpr char kStartTlsOid[] = "1.3.6.1.4.1.1466.20037";
constexpr size_t kReadChunk = 16 * 1024;

std::string DescribeError(const error_code& ec) { return http::BlockingSocket::DescribeError(ec); }

}  // namespace

Result<LdapUrl> ParseLdapUrl(std::string_view url) {
  LdapUrl out;
  std::string_view rest;
  if (url.rfind("ldaps://", 0) == 0) {
    out.tls = true;
    out.port = 636;
    rest = url.substr(8);
  } else if (url.rfind("ldap://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Status::Invalid("the LDAP url must start with ldap:// or ldaps://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ \"\r\n") != std::string_view::npos) {
    return Status::Invalid("the LDAP url must be ldap[s]://host[:port] (no DN, no query)");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {  // [IPv6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::Invalid("the LDAP url has an unclosed [");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Status::Invalid("the LDAP url has text after ]");
      port = rest.substr(close + 2);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Status::Invalid("the LDAP url has no host");
  out.host = std::string(host);
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::Invalid("the LDAP url has a bad port");
    }
    const int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return Status::Invalid("the LDAP url has a bad port");
    out.port = static_cast<uint16_t>(p);
  }
  return out;
}

LdapClient::LdapClient(const ClientOptions& options)
    : options_(options),
      io_(std::make_unique<http::BlockingSocket>("LDAP server " + options.url.host + ":" +
                                                 std::to_string(options.url.port))),
      where_("LDAP server " + options.url.host + ":" + std::to_string(options.url.port)) {}

LdapClient::~LdapClient() {
  if (healthy_ && io_->is_open()) {
    // UnbindRequest: the polite goodbye; best effort and brief.
    std::string op = ber::Tlv(kUnbindRequest, "");
    std::string message = ber::Tlv(ber::kSequence, ber::Integer(next_id_) + op);
    (void)io_->WriteAll(message, Clock::now() + std::chrono::milliseconds(200));
  }
  io_->Close();
}

bool LdapClient::encrypted() const { return io_->encrypted(); }

Result<std::unique_ptr<LdapClient>> LdapClient::Connect(const ClientOptions& options) {
  std::unique_ptr<LdapClient> c(new LdapClient(options));
  if (Status s = c->Open(); !s.ok()) return s;
  return c;
}

Status LdapClient::Break(Status s) {
  healthy_ = false;
  io_->Close();
  return s;
}

Status LdapClient::Open() {
  const auto deadline = Clock::now() + options_.timeout;
  if (options_.url.tls || options_.start_tls) {
    tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    if (Status s = http::SetUpClientTls(tls_context_->native_handle(), options_.ca_file); !s.ok()) {
      return Break(Status::Unavailable(where_ + ": " + s.message()));
    }
  }
  if (Status s = io_->Connect(options_.url.host, options_.url.port, deadline); !s.ok()) return Break(s);
  if (options_.url.tls) return HandshakeTls(deadline);
  if (options_.start_tls) return StartTls(deadline);
  return Status::Ok();
}

Status LdapClient::StartTls(Clock::time_point deadline) {
  // ExtendedRequest { requestName [0] "1.3.6.1.4.1.1466.20037" }
  auto id = Send(ber::Tlv(kExtendedRequest, ber::OctetString(kStartTlsOid, ber::kContext | 0)), deadline);
  if (!id.ok()) return id.status();
  uint8_t tag = 0;
  std::string content;
  if (Status s = Receive(*id, &tag, &content, deadline); !s.ok()) return s;
  if (tag != kExtendedResponse) return Break(Status::Unavailable(where_ + ": unexpected answer to StartTLS"));
  int code = -1;
  std::string diagnostic;
  if (Status s = DecodeResult(content, &code, &diagnostic); !s.ok()) {
    return Break(Status::Unavailable(where_ + ": StartTLS: " + s.message()));
  }
  if (code != kResultSuccess) {
    return Break(
        Status::Unavailable(where_ + ": StartTLS refused (result " + std::to_string(code) + ": " + diagnostic + ")"));
  }
  // Nothing may follow the response in clear text.
  if (!in_.empty()) return Break(Status::Unavailable(where_ + ": data after the StartTLS response"));
  return HandshakeTls(deadline);
}

Status LdapClient::HandshakeTls(Clock::time_point deadline) {
  // Always verified: the chain against ca_file (or the system's CAs) and the host name.
  if (Status s = io_->StartTls(*tls_context_, options_.url.host, /*verify=*/true, deadline); !s.ok()) return Break(s);
  return Status::Ok();
}

Result<int> LdapClient::Send(const std::string& protocol_op, Clock::time_point deadline) {
  if (!healthy_) return Status::Unavailable(where_ + ": the connection is broken");
  const int id = next_id_++;
  const std::string message = ber::Tlv(ber::kSequence, ber::Integer(id) + protocol_op);
  if (error_code ec = io_->WriteAll(message, deadline)) {
    return Break(Status::Unavailable(where_ + ": cannot send: " + DescribeError(ec)));
  }
  return id;
}

Status LdapClient::Receive(int id, uint8_t* tag, std::string* content, Clock::time_point deadline) {
  for (;;) {
    auto frame = ber::FrameLength(in_);
    if (!frame.ok()) return Break(Status::Unavailable(where_ + ": " + frame.status().message()));
    if (*frame > 0 && *frame <= in_.size()) {
      const std::string message = in_.substr(0, *frame);
      in_.erase(0, *frame);
      auto envelope = DecodeEnvelope(message);
      if (!envelope.ok()) return Break(Status::Unavailable(where_ + ": " + envelope.status().message()));
      if (envelope->id == 0) {
        // An unsolicited notification (Notice of Disconnection): the server is closing.
        return Break(Status::Unavailable(where_ + ": the server ended the session"));
      }
      if (envelope->id != id) return Break(Status::Unavailable(where_ + ": an answer to another request"));
      *tag = envelope->op_tag;
      *content = std::string(envelope->op);
      return Status::Ok();
    }
    if (Clock::now() >= deadline) return Break(Status::Unavailable(where_ + ": timed out"));
    char buf[kReadChunk];
    size_t n = 0;
    if (error_code ec = io_->ReadSome(buf, sizeof buf, &n, deadline)) {
      return Break(Status::Unavailable(where_ + ": " + DescribeError(ec)));
    }
    in_.append(buf, n);
  }
}

Status LdapClient::Bind(const std::string& dn, const std::string& password, int* result_code) {
  if (result_code != nullptr) *result_code = -1;
  if (password.empty()) return Status::Invalid("an empty password is never accepted (it would be an anonymous bind)");
  const auto deadline = Clock::now() + options_.timeout;
  // BindRequest { version 3, name, authentication simple [0] }
  const std::string op =
      ber::Tlv(kBindRequest, ber::Integer(3) + ber::OctetString(dn) + ber::OctetString(password, ber::kContext | 0));
  auto id = Send(op, deadline);
  if (!id.ok()) return id.status();
  uint8_t tag = 0;
  std::string content;
  if (Status s = Receive(*id, &tag, &content, deadline); !s.ok()) return s;
  if (tag != kBindResponse) return Break(Status::Unavailable(where_ + ": unexpected answer to a bind"));
  int code = -1;
  std::string diagnostic;
  if (Status s = DecodeResult(content, &code, &diagnostic); !s.ok()) {
    return Break(Status::Unavailable(where_ + ": bind: " + s.message()));
  }
  if (result_code != nullptr) *result_code = code;
  if (code == kResultSuccess) return Status::Ok();
  if (code == kResultInvalidCredentials) return Status::Invalid("invalid credentials");
  return Status::Invalid("bind refused (result " + std::to_string(code) + (diagnostic.empty() ? "" : ": ") +
                         diagnostic + ")");
}

Result<std::vector<SearchEntry>> LdapClient::Search(const std::string& base, SearchScope scope, std::string_view filter,
                                                    const std::vector<std::string>& attributes, int size_limit) {
  auto encoded_filter = EncodeFilter(filter);
  if (!encoded_filter.ok()) return encoded_filter.status();
  const auto deadline = Clock::now() + options_.timeout;
  std::string attribute_list;
  for (const auto& a : attributes) attribute_list += ber::OctetString(a);
  const int64_t time_limit = std::max<int64_t>(1, options_.timeout.count() / 1000);
  const std::string op =
      ber::Tlv(kSearchRequest, ber::OctetString(base) + ber::Integer(static_cast<int>(scope), ber::kEnumerated) +
                                   ber::Integer(0, ber::kEnumerated) +  // derefAliases: never
                                   ber::Integer(size_limit + 1) + ber::Integer(time_limit) + ber::Boolean(false) +
                                   *encoded_filter + ber::Tlv(ber::kSequence, attribute_list));
  auto id = Send(op, deadline);
  if (!id.ok()) return id.status();
  std::vector<SearchEntry> entries;
  bool too_many = false;
  size_t answer_bytes = 0;  // every message of the answer, kept or not
  for (;;) {
    uint8_t tag = 0;
    std::string content;
    if (Status s = Receive(*id, &tag, &content, deadline); !s.ok()) return s;
    answer_bytes += content.size();
    if (answer_bytes > options_.max_search_bytes) {
      // Not read to the end: the session is abandoned.
      return Break(Status::Unavailable(where_ + ": the answer to a search under '" + base + "' exceeds " +
                                       std::to_string(options_.max_search_bytes) + " bytes"));
    }
    if (tag == kSearchResultEntry) {
      auto entry = DecodeSearchEntry(content);
      if (!entry.ok()) return Break(Status::Unavailable(where_ + ": " + entry.status().message()));
      if (static_cast<int>(entries.size()) >= size_limit) {
        too_many = true;  // read on to the end (the connection stays usable), then fail
        continue;
      }
      entries.push_back(std::move(*entry));
    } else if (tag == kSearchResultReference) {
      continue;  // referrals to other servers are not followed
    } else if (tag == kSearchResultDone) {
      int code = -1;
      std::string diagnostic;
      if (Status s = DecodeResult(content, &code, &diagnostic); !s.ok()) {
        return Break(Status::Unavailable(where_ + ": search: " + s.message()));
      }
      if (code == kResultNoSuchObject) return std::vector<SearchEntry>{};
      if (too_many || code == kResultSizeLimitExceeded) {
        return Status::Invalid("more than " + std::to_string(size_limit) + " entries match the search under '" + base +
                               "'");
      }
      if (code != kResultSuccess) {
        return Status::Unavailable(where_ + ": search under '" + base + "' failed (result " + std::to_string(code) +
                                   (diagnostic.empty() ? "" : ": ") + diagnostic + ")");
      }
      return entries;
    } else {
      return Break(Status::Unavailable(where_ + ": unexpected answer to a search"));
    }
  }
}

}  // namespace berth::auth::ldap
