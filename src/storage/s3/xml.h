// Xml: a tiny extractor for the few S3 XML responses Berth reads
// (ListObjectsV2, InitiateMultipartUpload, CompleteMultipartUpload, CopyObject,
// errors). It finds elements by tag name in flat, attribute-free S3 documents;
// it is not a general XML parser. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::storage::s3 {

// The raw contents of every <tag>...</tag> (also <tag attr="...">) in `xml`, in
// order, without descending into matches. `<tag/>` yields an empty string.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// The unescaped text of the first <tag>, or "" when absent.
std::string XmlText(std::string_view xml, std::string_view tag);
bool XmlHas(std::string_view xml, std::string_view tag);
// Decodes &amp; &lt; &gt; &quot; &apos; and numeric character references.
std::string XmlUnescape(std::string_view s);
// Escapes text for an element body.
std::string XmlEscape(std::string_view s);

}  // namespace berth::storage::s3
