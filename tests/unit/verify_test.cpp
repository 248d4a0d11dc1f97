// VerifyStore on stores built through the Blob/Upload/Manifest store APIs,
// then damaged on disk the way crashes, bad disks or hand edits would.
#include "storage/verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store_fixture.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;

class VerifyTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    config_ = PushBlob("team/app", "{\"architecture\":\"amd64\"}");
    layer_ = PushBlob("team/app", std::string(3 << 20, 'x') + "tail", 5);  // > one hash buffer
    shared_ = PushBlob("team/app", "shared layer");
    manifest_ = PushImage("team/app", "v1", config_, {layer_, shared_});
    // A second repository sharing a blob, with an upload in progress.
    PushBlob("other", "shared layer");
    auto id = uploads_->Start("other");
    ASSERT_TRUE(id.ok());
    auto s = uploads_->Acquire("other", *id);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append("partial", 7).ok());
  }

  VerifyReport Verify() { return VerifyStore(*driver_); }

  // The problems of `kind` in `r`.
  static std::vector<VerifyProblem> Of(const VerifyReport& r, const std::string& kind) {
    std::vector<VerifyProblem> out;
    for (const auto& p : r.problems) {
      if (p.kind == kind) out.push_back(p);
    }
    return out;
  }

  static std::string Dump(const VerifyReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += FormatProblem(p) + "\n";
    return s;
  }

  oci::Digest config_, layer_, shared_, manifest_;
};

TEST_F(VerifyTest, CleanStoreHasNoProblems) {
  VerifyReport r = Verify();
  EXPECT_TRUE(r.clean()) << Dump(r);
  EXPECT_EQ(r.blobs_checked, 4);  // config, layer, shared, manifest
  EXPECT_EQ(r.bytes_hashed,
            fs::file_size(Full(layout::BlobData(layer_))) + fs::file_size(Full(layout::BlobData(config_))) +
                fs::file_size(Full(layout::BlobData(shared_))) + fs::file_size(Full(layout::BlobData(manifest_))));
  EXPECT_EQ(r.repositories, 2);
  EXPECT_EQ(r.manifests_checked, 1);
  EXPECT_EQ(r.uploads, 1);  // in progress: not a problem
  EXPECT_EQ(r.upload_bytes, 7);
  EXPECT_NE(FormatSummary(r).find("OK: no problems"), std::string::npos);
}

TEST_F(VerifyTest, FlippedByteIsCorrupt) {
  const std::string data = Full(layout::BlobData(layer_));
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1 << 20);
    f.put('y');
  }
  VerifyReport r = Verify();
  auto corrupt = Of(r, "corrupt-blob");
  ASSERT_EQ(corrupt.size(), 1u) << Dump(r);
  EXPECT_EQ(corrupt[0].path, layout::BlobData(layer_));
  EXPECT_EQ(r.problems.size(), 1u) << Dump(r);
  EXPECT_NE(FormatSummary(r).find("problems: 1"), std::string::npos);
}

TEST_F(VerifyTest, DeletedDataIsMissingAndLinksDangle) {
  fs::remove(Full(layout::BlobData(shared_)));
  VerifyReport r = Verify();
  auto missing = Of(r, "missing-blob-data");
  ASSERT_EQ(missing.size(), 1u) << Dump(r);
  EXPECT_EQ(missing[0].path, layout::BlobDir(shared_));
  auto dangling = Of(r, "dangling-link");
  ASSERT_EQ(dangling.size(), 2u) << Dump(r);  // the layer links of both repositories
  EXPECT_EQ(dangling[0].path, layout::LayerLink("other", shared_));
  EXPECT_EQ(dangling[1].path, layout::LayerLink("team/app", shared_));
  auto refs = Of(r, "missing-reference");  // and the manifest now lacks a layer
  ASSERT_EQ(refs.size(), 1u) << Dump(r);
  EXPECT_NE(refs[0].detail.find(shared_.str()), std::string::npos);
}

TEST_F(VerifyTest, DeletedManifestBlobLeavesDanglingTagAndRevision) {
  fs::remove_all(Full(layout::BlobDir(manifest_)));
  VerifyReport r = Verify();
  auto dangling = Of(r, "dangling-link");
  std::set<std::string> paths;
  for (const auto& p : dangling) paths.insert(p.path);
  EXPECT_EQ(paths, (std::set<std::string>{layout::RevisionLink("team/app", manifest_),
                                          layout::TagCurrentLink("team/app", "v1"),
                                          layout::TagIndexLink("team/app", "v1", manifest_)}))
      << Dump(r);
}

TEST_F(VerifyTest, TruncatedLinkIsMalformed) {
  const std::string link = layout::LayerLink("team/app", config_);
  fs::resize_file(Full(link), 20);
  const std::string tag = layout::TagCurrentLink("team/app", "v1");
  fs::resize_file(Full(tag), 0);
  VerifyReport r = Verify();
  auto bad = Of(r, "malformed-link");
  ASSERT_EQ(bad.size(), 2u) << Dump(r);
  EXPECT_EQ(bad[0].path, link);
  EXPECT_NE(bad[0].detail.find("20 bytes"), std::string::npos) << bad[0].detail;
  EXPECT_EQ(bad[1].path, tag);
  EXPECT_NE(bad[1].detail.find("empty"), std::string::npos) << bad[1].detail;
}

TEST_F(VerifyTest, LinkNamingAnotherDigestIsMalformed) {
  WriteFile(layout::LayerLink("team/app", config_), layer_.str());
  VerifyReport r = Verify();
  auto bad = Of(r, "malformed-link");
  ASSERT_EQ(bad.size(), 1u) << Dump(r);
  EXPECT_NE(bad[0].detail.find("path says"), std::string::npos);
}

TEST_F(VerifyTest, ManifestReferringToMissingLayer) {
  // Written through the store: Put does not itself check references (the API does).
  oci::Digest ghost = oci::DigestOf("never uploaded");
  oci::Digest m = PushImage("team/app", "broken", config_, {ghost});
  VerifyReport r = Verify();
  auto refs = Of(r, "missing-reference");
  ASSERT_EQ(refs.size(), 1u) << Dump(r);
  EXPECT_EQ(refs[0].path, layout::BlobData(m));
  EXPECT_NE(refs[0].detail.find("layer " + ghost.str()), std::string::npos) << refs[0].detail;
  EXPECT_EQ(r.problems.size(), 1u) << Dump(r);
}

TEST_F(VerifyTest, TagWithoutRevisionDangles) {
  fs::remove_all(fs::path(Full(layout::RevisionLink("team/app", manifest_))).parent_path());
  VerifyReport r = Verify();
  auto tags = Of(r, "dangling-tag");
  ASSERT_EQ(tags.size(), 1u) << Dump(r);
  EXPECT_EQ(tags[0].path, layout::TagCurrentLink("team/app", "v1"));
}

TEST_F(VerifyTest, StrayAndPartialFiles) {
  WriteFile(layout::BlobDir(layer_) + "/data.tmp", "half");
  WriteFile(layout::kRoot + "/blobs/sha256/zz/notahex/data", "x");
  WriteFile(layout::LayerLink("team/app", config_) + ".partial", "sha256:");
  WriteFile(layout::Tag("team/app", "oops"), "a file where a tag directory belongs");
  VerifyReport r = Verify();
  auto strays = Of(r, "stray-file");
  std::set<std::string> paths;
  for (const auto& p : strays) paths.insert(p.path);
  EXPECT_EQ(paths, (std::set<std::string>{
                       layout::BlobDir(layer_) + "/data.tmp", layout::kRoot + "/blobs/sha256/zz/notahex",
                       layout::LayerLink("team/app", config_) + ".partial", layout::Tag("team/app", "oops")}))
      << Dump(r);
  EXPECT_EQ(r.problems.size(), 4u) << Dump(r);
}

TEST_F(VerifyTest, CrashLeftoversAreNotProblems) {
  // What an interrupted rename or delete leaves: empty directories nothing refers to,
  // a tag directory without its current link, a temp file.
  fs::create_directories(Full(layout::BlobDir(oci::DigestOf("interrupted move"))));
  fs::create_directories(fs::path(Full(layout::LayerLink("team/app", oci::DigestOf("gone")))).parent_path());
  fs::create_directories(Full(layout::Tag("team/app", "half")) + "/index");
  WriteFile("/_berth_tmp/123-0-456", "partial");
  VerifyReport r = Verify();
  EXPECT_TRUE(r.clean()) << Dump(r);
  EXPECT_EQ(r.leftover_dirs, 3);
  EXPECT_EQ(r.temp_files, 1);
}

TEST_F(VerifyTest, EmptyStore) {
  testing_util::TempDir empty("berth-empty");
  auto d = FilesystemDriver::OpenExisting(empty.path());
  ASSERT_TRUE(d.ok());
  VerifyReport r = VerifyStore(**d);
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.blobs_checked, 0);
  EXPECT_FALSE(fs::exists(empty.path() + "/_berth_tmp"));  // OpenExisting wrote nothing
  EXPECT_FALSE(FilesystemDriver::OpenExisting(empty.path() + "/missing").ok());
}

}  // namespace
}  // namespace berth::storage
