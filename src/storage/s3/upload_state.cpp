#include "storage/s3/upload_state.h"

#include <nlohmann/json.hpp>

namespace berth::storage::s3 {

int64_t UploadState::PartsSize() const {
  int64_t n = 0;
  for (const auto& p : parts) n += p.size;
  return n;
}

std::string UploadState::ToJson() const {
  nlohmann::json j;
  j["version"] = 1;
  j["upload_id"] = upload_id;
  j["tail_size"] = tail_size;
  j["generation"] = generation;
  j["size"] = Size();
  j["parts"] = nlohmann::json::array();
  for (const auto& p : parts) j["parts"].push_back({{"number", p.number}, {"etag", p.etag}, {"size", p.size}});
  return j.dump();
}

Result<UploadState> UploadState::FromJson(std::string_view json) {
  try {
    auto j = nlohmann::json::parse(json);
    if (j.value("version", 0) != 1) return Status::IoError("S3 upload state: unknown version");
    UploadState s;
    s.upload_id = j.at("upload_id").get<std::string>();
    s.tail_size = j.at("tail_size").get<int64_t>();
    s.generation = j.at("generation").get<int64_t>();
    for (const auto& p : j.at("parts")) {
      s.parts.push_back({p.at("number").get<int>(), p.at("etag").get<std::string>(), p.at("size").get<int64_t>()});
    }
    if (s.tail_size < 0 || (s.tail_size > 0 && s.generation <= 0) || (!s.parts.empty() && s.upload_id.empty())) {
      return Status::IoError("S3 upload state is inconsistent");
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Status::IoError(std::string("S3 upload state is unreadable: ") + e.what());
  }
}

std::string StateKey(const std::string& key) { return key + std::string(kStateSuffix); }
std::string TailKey(const std::string& key, int64_t generation) {
  return key + std::string(kTailSuffix) + std::to_string(generation);
}

bool IsTailKey(std::string_view key) {
  size_t at = key.rfind(kTailSuffix);
  if (at == std::string_view::npos || at + kTailSuffix.size() == key.size()) return false;
  for (char c : key.substr(at + kTailSuffix.size())) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace berth::storage::s3
