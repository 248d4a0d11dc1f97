// MetadataFixture: a migrated SQLite metadata database in a fresh temp
// directory with a MetadataStore on a settable clock, and builders of manifest
// bodies (parsed by oci::ParseManifest, as the registry does) for the metadata tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metadata/metadata_store.h"
#include "metadata/schema.h"
#include "metadata/sqlite_db.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "temp_dir.h"

namespace berth::metadata {

// A manifest body, its digest and the record the store is given.
struct BuiltManifest {
  std::string body;
  oci::Digest digest;
  ManifestRecord record;
};

inline BuiltManifest Build(const nlohmann::json& j) {
  BuiltManifest b;
  b.body = j.dump();
  b.digest = oci::DigestOf(b.body);
  auto m = oci::ParseManifest(b.body, "");
  EXPECT_TRUE(m.ok()) << m.status().message() << "\n" << b.body;
  if (m.ok()) b.record = ManifestRecord::From(b.digest, b.body, *m);
  return b;
}

inline nlohmann::json Descriptor(std::string_view media_type, const oci::Digest& d, int64_t size = 1) {
  return {{"mediaType", std::string(media_type)}, {"digest", d.str()}, {"size", size}};
}

// An OCI image manifest; `subject` and `artifact_type` make it an artifact / referrer.
inline BuiltManifest Image(const oci::Digest& config, const std::vector<oci::Digest>& layers,
                           const oci::Digest* subject = nullptr, const std::string& artifact_type = "",
                           const nlohmann::json& annotations = nullptr,
                           const std::vector<oci::Digest>& foreign_layers = {}) {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers) ls.push_back(Descriptor("application/vnd.oci.image.layer.v1.tar", l));
  for (const auto& l : foreign_layers) {
    auto d = Descriptor("application/vnd.oci.image.layer.v1.tar", l);
    d["urls"] = {"https://example.com/layer"};
    ls.push_back(d);
  }
  nlohmann::json j{{"schemaVersion", 2},
                   {"mediaType", std::string(oci::media::kOciManifest)},
                   {"config", Descriptor("application/vnd.oci.image.config.v1+json", config)},
                   {"layers", ls}};
  if (subject != nullptr) j["subject"] = Descriptor(oci::media::kOciManifest, *subject);
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  if (!annotations.is_null()) j["annotations"] = annotations;
  return Build(j);
}

inline BuiltManifest Index(const std::vector<oci::Digest>& children) {
  nlohmann::json ms = nlohmann::json::array();
  for (const auto& c : children) ms.push_back(Descriptor(oci::media::kOciManifest, c));
  return Build({{"schemaVersion", 2}, {"mediaType", std::string(oci::media::kOciIndex)}, {"manifests", ms}});
}

// The database the store tests run on: SQLite in `dir`. This is the one seam
// where another Pool (PostgreSQL) can be put under the same tests.
inline Result<std::shared_ptr<Pool>> OpenTestPool(const std::string& dir) {
  auto pool = SqlitePool::Open({dir + "/metadata.db"});
  if (!pool.ok()) return pool.status();
  return std::shared_ptr<Pool>(*pool);
}

class MetadataFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = OpenTestPool(dir_.path());
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    pool_ = *pool;
    auto m = Migrate(*pool_);
    ASSERT_TRUE(m.ok()) << m.status().message();
    MetadataStoreOptions options;
    options.clock = [this] { return now_.load(); };
    store_ = std::make_unique<MetadataStore>(pool_, options);
  }

  // Content-addressed test blob digests.
  static oci::Digest D(const std::string& content) { return oci::DigestOf(content); }
  // Links each digest into `repo` (as a finished upload would).
  void Link(const std::string& repo, const std::vector<oci::Digest>& digests) {
    for (const auto& d : digests) ASSERT_TRUE(store_->LinkBlob(repo, d.str(), 10).ok());
  }
  // Runs one statement directly (to damage or inspect the database).
  QueryResult Sql(const std::string& sql, std::vector<Value> params = {}) {
    auto c = pool_->Acquire();
    EXPECT_TRUE(c.ok());
    auto r = (*c)->Execute(sql, params);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : QueryResult{};
  }

  testing_util::TempDir dir_{"berth-metadata"};
  std::atomic<int64_t> now_{1'700'000'000'000};
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace berth::metadata
