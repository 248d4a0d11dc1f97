#include "storage/s3/bucket.h"

#include <openssl/evp.h>
#include <openssl/md5.h>

#include <ctime>

#include "storage/s3/xml.h"
#include "util/base64.h"

namespace berth::storage::s3 {
namespace {

constexpr size_t kSignedBodyLimit = 1 << 20;  // larger bodies go UNSIGNED-PAYLOAD

std::string ContentMd5(std::string_view body) {
  unsigned char md[16];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return Base64Encode(std::string_view(reinterpret_cast<char*>(md), len));
}

// "2026-11-28T17:01:22.000Z" -> unix seconds (0 when unparsable).
int64_t ParseIsoTime(const std::string& s) {
  std::tm tm{};
  if (s.size() < 19 || strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// "Sat, 28 Nov 2026 17:01:22 GMT" -> unix seconds.
int64_t ParseHttpTime(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Status Bucket::Check() {
  S3Request r;
  r.method = "HEAD";
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (resp->ok()) return Status::Ok();
  if (resp->status == 404) {
    return Status::IoError("S3 bucket '" + client_->bucket() + "' does not exist at " + client_->Describe() +
                           " (create it first)");
  }
  return client_->ErrorStatus(*resp, "HEAD bucket " + client_->bucket());
}

Status Bucket::Put(const std::string& key, std::string_view body) {
  S3Request r;
  r.method = "PUT";
  r.key = key;
  r.body = body;
  r.sign_body = body.size() <= kSignedBodyLimit;
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  return resp->ok() ? Status::Ok() : client_->ErrorStatus(*resp, "PUT " + key);
}

Result<std::string> Bucket::GetSmall(const std::string& key) {
  S3Request r;
  r.method = "GET";
  r.key = key;
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok()) return client_->ErrorStatus(*resp, "GET " + key);
  return std::move(resp->body);
}

Result<ObjectInfo> Bucket::Head(const std::string& key) {
  S3Request r;
  r.method = "HEAD";
  r.key = key;
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok()) return client_->ErrorStatus(*resp, "HEAD " + key);
  ObjectInfo info;
  info.key = key;
  info.size = std::stoll("0" + resp->Header("content-length"));
  info.modified_unix = ParseHttpTime(resp->Header("last-modified"));
  return info;
}

Status Bucket::Delete(const std::string& key) {
  S3Request r;
  r.method = "DELETE";
  r.key = key;
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (resp->ok() || resp->status == 404) return Status::Ok();
  return client_->ErrorStatus(*resp, "DELETE " + key);
}

Status Bucket::DeleteMany(const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  if (keys.size() == 1) return Delete(keys[0]);
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
  for (const auto& k : keys) body += "<Object><Key>" + XmlEscape(k) + "</Key></Object>";
  body += "</Delete>";
  S3Request r;
  r.method = "POST";
  r.query = {{"delete", ""}};
  r.headers = {{"content-md5", ContentMd5(body)}, {"content-type", "application/xml"}};
  r.body = body;
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok()) return client_->ErrorStatus(*resp, "DeleteObjects");
  // Quiet mode lists only failures.
  for (auto err : XmlElements(resp->body, "Error")) {
    const std::string code = XmlText(err, "Code");
    if (code != "NoSuchKey") {
      return Status::IoError("S3 DeleteObjects: " + XmlText(err, "Key") + ": " + code + " " + XmlText(err, "Message"));
    }
  }
  return Status::Ok();
}

Result<ListResult> Bucket::List(const std::string& prefix, const std::string& delimiter, const std::string& token,
                                int max_keys) {
  S3Request r;
  r.method = "GET";
  r.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)}};
  if (!delimiter.empty()) r.query.emplace_back("delimiter", delimiter);
  if (!token.empty()) r.query.emplace_back("continuation-token", token);
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok()) return client_->ErrorStatus(*resp, "ListObjectsV2 " + prefix);
  ListResult out;
  for (auto c : XmlElements(resp->body, "Contents")) {
    ObjectInfo o;
    o.key = XmlText(c, "Key");
    o.size = std::stoll("0" + XmlText(c, "Size"));
    o.modified_unix = ParseIsoTime(XmlText(c, "LastModified"));
    out.objects.push_back(std::move(o));
  }
  for (auto p : XmlElements(resp->body, "CommonPrefixes")) out.prefixes.push_back(XmlText(p, "Prefix"));
  if (XmlText(resp->body, "IsTruncated") == "true") {
    out.next_token = XmlText(resp->body, "NextContinuationToken");
    if (out.next_token.empty())
      return Status::IoError("S3 ListObjectsV2: truncated listing without a continuation token");
  }
  return out;
}

std::string Bucket::CopySource(const std::string& key) const {
  return UriEncode("/" + client_->bucket() + "/" + key, false);
}

Status Bucket::Copy(const std::string& from, const std::string& to, int64_t size) {
  if (size > copy_max_single_) {
    auto id = InitiateMultipart(to);
    if (!id.ok()) return id.status();
    std::vector<CompletedPart> parts;
    for (int64_t first = 0; first < size; first += copy_part_) {
      const int64_t last = std::min(size, first + copy_part_) - 1;
      auto etag = UploadPartCopy(to, *id, static_cast<int>(parts.size()) + 1, from, first, last);
      if (!etag.ok()) {
        (void)AbortMultipart(to, *id);
        return etag.status();
      }
      parts.push_back({static_cast<int>(parts.size()) + 1, *etag, last - first + 1});
    }
    Status s = CompleteMultipart(to, *id, parts);
    if (!s.ok()) (void)AbortMultipart(to, *id);
    return s;
  }
  S3Request r;
  r.method = "PUT";
  r.key = to;
  r.headers = {{"x-amz-copy-source", CopySource(from)}};
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  // CopyObject can fail after answering 200: the error is then in the body.
  if (!resp->ok() || XmlHas(resp->body, "Error")) {
    if (resp->ok()) resp->status = 500;
    return client_->ErrorStatus(*resp, "copy " + from + " to " + to);
  }
  return Status::Ok();
}

Result<std::string> Bucket::InitiateMultipart(const std::string& key) {
  S3Request r;
  r.method = "POST";
  r.key = key;
  r.query = {{"uploads", ""}};
  r.headers = {{"content-type", "application/octet-stream"}};
  r.idempotent = false;  // a retry would only leave an unused upload behind, but be strict
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok()) return client_->ErrorStatus(*resp, "CreateMultipartUpload " + key);
  std::string id = XmlText(resp->body, "UploadId");
  if (id.empty()) return Status::IoError("S3 CreateMultipartUpload " + key + ": no UploadId in the answer");
  return id;
}

Result<std::string> Bucket::UploadPart(const std::string& key, const std::string& upload_id, int number,
                                       std::string_view data) {
  S3Request r;
  r.method = "PUT";
  r.key = key;
  r.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  r.body = data;
  r.sign_body = false;  // parts are large; TLS and Content-MD5-free retries cover integrity in transit
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok()) return client_->ErrorStatus(*resp, "UploadPart " + key);
  std::string etag = resp->Header("etag");
  if (etag.empty()) return Status::IoError("S3 UploadPart " + key + ": no ETag in the answer");
  return etag;
}

Result<std::string> Bucket::UploadPartCopy(const std::string& key, const std::string& upload_id, int number,
                                           const std::string& source_key, int64_t first, int64_t last) {
  S3Request r;
  r.method = "PUT";
  r.key = key;
  r.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  r.headers = {{"x-amz-copy-source", CopySource(source_key)},
               {"x-amz-copy-source-range", "bytes=" + std::to_string(first) + "-" + std::to_string(last)}};
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok() || XmlHas(resp->body, "Error")) {
    if (resp->ok()) resp->status = 500;
    return client_->ErrorStatus(*resp, "UploadPartCopy " + key);
  }
  std::string etag = XmlText(resp->body, "ETag");
  if (etag.empty()) return Status::IoError("S3 UploadPartCopy " + key + ": no ETag in the answer");
  return etag;
}

Status Bucket::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                 const std::vector<CompletedPart>& parts) {
  std::string body = "<CompleteMultipartUpload>";
  for (const auto& p : parts) {
    body +=
        "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + XmlEscape(p.etag) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  S3Request r;
  r.method = "POST";
  r.key = key;
  r.query = {{"uploadId", upload_id}};
  r.headers = {{"content-type", "application/xml"}};
  r.body = body;
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (!resp->ok() || XmlHas(resp->body, "Error")) {
    if (resp->ok()) resp->status = 500;
    return client_->ErrorStatus(*resp, "CompleteMultipartUpload " + key);
  }
  return Status::Ok();
}

Status Bucket::AbortMultipart(const std::string& key, const std::string& upload_id) {
  S3Request r;
  r.method = "DELETE";
  r.key = key;
  r.query = {{"uploadId", upload_id}};
  auto resp = client_->Do(r);
  if (!resp.ok()) return resp.status();
  if (resp->ok() || resp->status == 404) return Status::Ok();
  return client_->ErrorStatus(*resp, "AbortMultipartUpload " + key);
}

}  // namespace berth::storage::s3
