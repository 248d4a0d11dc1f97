// StoreFixture: a FilesystemDriver store in a fresh temp directory with the
// Blob/Upload/Manifest stores over it, and helpers that push content through
// their APIs (as the registry does), for the verify and du tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "storage/blob_store.h"
#include "storage/filesystem_driver.h"
#include "storage/layout.h"
#include "storage/manifest_store.h"
#include "storage/upload_store.h"
#include "temp_dir.h"

namespace berth::storage {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = FilesystemDriver::Open(dir_.path());
    ASSERT_TRUE(d.ok()) << d.status().message();
    driver_ = std::move(*d);
    blobs_ = std::make_unique<BlobStore>(*driver_);
    uploads_ = std::make_unique<UploadStore>(*driver_, *blobs_);
    manifests_ = std::make_unique<ManifestStore>(*driver_, *blobs_);
  }

  // Uploads `content` into repository `name` in `chunks` appends; returns its digest.
  oci::Digest PushBlob(const std::string& name, const std::string& content, int chunks = 1) {
    auto id = uploads_->Start(name);
    EXPECT_TRUE(id.ok());
    auto s = uploads_->Acquire(name, *id);
    EXPECT_TRUE(s.ok());
    size_t step = content.size() / static_cast<size_t>(chunks) + 1;
    for (size_t off = 0; off < content.size(); off += step) {
      EXPECT_TRUE((*s)->Append(content.data() + off, std::min(step, content.size() - off)).ok());
    }
    oci::Digest d = oci::DigestOf(content);
    EXPECT_TRUE((*s)->Commit(d).ok());
    return d;
  }

  // An image manifest over the given config and layers (already pushed), stored and tagged.
  oci::Digest PushImage(const std::string& name, const std::string& tag, const oci::Digest& config,
                        const std::vector<oci::Digest>& layers) {
    nlohmann::json ls = nlohmann::json::array();
    for (const auto& l : layers) {
      ls.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", l.str()}, {"size", 1}});
    }
    nlohmann::json j{
        {"schemaVersion", 2},
        {"mediaType", std::string(oci::media::kOciManifest)},
        {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config.str()}, {"size", 1}}},
        {"layers", ls}};
    const std::string body = j.dump();
    auto m = oci::ParseManifest(body, "");
    EXPECT_TRUE(m.ok()) << m.status().message();
    oci::Digest d = oci::DigestOf(body);
    EXPECT_TRUE(manifests_->Put(name, body, *m, d, tag).ok());
    return d;
  }

  std::string Full(const std::string& path) const { return dir_.path() + path; }
  void WriteFile(const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(Full(path)).parent_path());
    std::ofstream(Full(path), std::ios::binary | std::ios::trunc) << content;
  }

  testing_util::TempDir dir_{"berth-store"};
  std::unique_ptr<FilesystemDriver> driver_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<UploadStore> uploads_;
  std::unique_ptr<ManifestStore> manifests_;
};

}  // namespace berth::storage
