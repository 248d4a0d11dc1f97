// LDAP search filters (RFC 4515 text, RFC 4511 4.5.1 BER), the subset Berth
// needs: & | ! of equality (attr=value) and presence (attr=*) items.
//
// User input never becomes filter syntax: a template such as
// "(&(objectClass=person)(uid={username}))" gets each placeholder replaced by
// the ESCAPED value (EscapeValue: * ( ) \ NUL and control bytes as \XX), and
// the parser decodes those escapes back into the assertion's octets, so a
// user name like "*)(uid=*" is only ever compared, as those bytes, with uid.
// Substring, ordering and approximate matches are refused. Plain functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "util/status.h"

namespace berth::auth::ldap {

// RFC 4515 section 3 escaping of an assertion value.
std::string EscapeFilterValue(std::string_view value);

// `text` with each "{name}" of `values` replaced by its escaped value. Other
// braces are kept as they are (the parser refuses what is not a filter).
std::string ExpandFilter(std::string_view text, const std::map<std::string, std::string>& values);

// The BER encoding of a filter text; InvalidArgument naming what is wrong.
Result<std::string> EncodeFilter(std::string_view text);

}  // namespace berth::auth::ldap
