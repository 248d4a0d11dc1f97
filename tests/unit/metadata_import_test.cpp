// ImportStore and CheckStore over stores written by Berth's own stores
// (StoreFixture), then changed on one side to make each kind of difference;
// on SQLite and on PostgreSQL (the test's parameter, metadata_fixture.h).
#include "metadata/import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "metadata/metadata_store.h"
#include "metadata/schema.h"
#include "metadata_fixture.h"
#include "store_fixture.h"

namespace berth::metadata {
namespace {

namespace fs = std::filesystem;
namespace layout = storage::layout;

class ImportTest : public storage::StoreFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    BERTH_SKIP_WITHOUT_ENGINE(GetParam());
    StoreFixture::SetUp();
    auto pool = database_.Open(GetParam(), db_dir_.path());
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    pool_ = *pool;
    ASSERT_TRUE(Migrate(*pool_).ok());
    store_ = std::make_unique<MetadataStore>(pool_);

    config_ = PushBlob("team/app", "{\"architecture\":\"amd64\"}");
    layer_ = PushBlob("team/app", "layer one");
    shared_ = PushBlob("team/app", "shared layer");
    image_ = PushImage("team/app", "v1", config_, {layer_, shared_});
    PushImage("team/app", "latest", config_, {layer_});
    // A referrer of image_ and an index over it.
    PutManifest("team/app", Image(config_, {shared_}, &image_, "application/vnd.example.sig"), "");
    PutManifest("team/app", Index({image_}), "multi");
    // Another repository sharing a blob (names that sort differently by component).
    PushBlob("team-x", "shared layer");
    PushBlob("team/app/sub", "shared layer");
    // A repository with only an upload in progress: nothing to record.
    auto id = uploads_->Start("uploading");
    ASSERT_TRUE(id.ok());
    // A blob no repository links (what a deleted repository leaves for GC).
    ASSERT_TRUE(blobs_->PutSmall(oci::DigestOf("orphan"), "orphan").ok());
  }

  void PutManifest(const std::string& repo, const BuiltManifest& m, const std::string& tag) {
    auto parsed = oci::ParseManifest(m.body, "");
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(manifests_->Put(repo, m.body, *parsed, m.digest, tag).ok());
  }

  ImportProgress Import(size_t batch = 1000) {
    ImportOptions options;
    options.rows_per_transaction = batch;
    auto r = ImportStore(*driver_, *pool_, options);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : ImportProgress{};
  }

  CheckReport Check() {
    auto r = CheckStore(*driver_, *pool_);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : CheckReport{};
  }

  static std::string Dump(const CheckReport& r) {
    std::string s;
    for (const auto& f : r.findings) s += FormatFinding(f) + "\n";
    return s + FormatCheckSummary(r);
  }

  static std::multiset<std::string> Kinds(const CheckReport& r) {
    std::multiset<std::string> out;
    for (const auto& f : r.findings) out.insert(f.kind);
    return out;
  }

  QueryResult Sql(const std::string& sql, std::vector<Value> params = {}) {
    auto c = pool_->Acquire();
    auto r = (*c)->Execute(sql, params);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : QueryResult{};
  }

  testing_util::TempDir db_dir_{"berth-import-db"};
  TestDatabase database_;  // destroyed after the store and pool below
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<MetadataStore> store_;
  oci::Digest config_, layer_, shared_, image_;
};

TEST_P(ImportTest, ImportsWhatTheStoreHoldsAndChecksClean) {
  auto before = ImportCompleted(*pool_);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(*before);
  ImportProgress p = Import();
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.repositories, 3);  // team/app, team-x, team/app/sub; not the upload-only one
  EXPECT_EQ(p.manifests, 4);
  EXPECT_EQ(p.tags, 3);
  EXPECT_EQ(p.links, 5);
  EXPECT_EQ(p.blobs, 8);  // config, layer, shared, orphan, 4 manifests
  EXPECT_EQ(p.skipped, 0);
  EXPECT_TRUE(*ImportCompleted(*pool_));

  EXPECT_EQ(store_->ListCatalog(100, "")->items, (std::vector<std::string>{"team/app", "team/app/sub", "team-x"}));
  EXPECT_EQ(store_->ListTags("team/app", 100, "")->items, (std::vector<std::string>{"latest", "multi", "v1"}));
  EXPECT_EQ(store_->GetTag("team/app", "v1")->digest, image_.str());
  auto refs = store_->ListReferrers("team/app", image_.str(), "");
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].artifact_type, "application/vnd.example.sig");
  EXPECT_EQ(store_->ManifestBlobs("team/app", image_.str())->size(), 3u);
  // Times come from the store's files, not from the import.
  auto m = store_->GetManifest("team/app", image_.str());
  auto info = driver_->Stat(layout::RevisionLink("team/app", image_));
  EXPECT_EQ(m->pushed_at, info->modified_unix * 1000);
  // The orphan blob is known, so GC can find it.
  auto loose = store_->UnreferencedBlobs(INT64_MAX, "", 100);
  ASSERT_EQ(loose->size(), 1u);
  EXPECT_EQ((*loose)[0].digest, oci::DigestOf("orphan").str());

  CheckReport r = Check();
  EXPECT_TRUE(r.clean()) << Dump(r);
  EXPECT_EQ(r.repositories, 3);
  EXPECT_EQ(r.blobs, 8);
  EXPECT_EQ(r.manifests, 4);
  EXPECT_EQ(r.tags, 3);
  EXPECT_EQ(r.links, 5);
}

TEST_P(ImportTest, ImportAgainChangesNothing) {
  Import();
  const auto counts =
      Sql("SELECT (SELECT count(*) FROM repositories), (SELECT count(*) FROM manifests), "
          "(SELECT count(*) FROM tags), (SELECT count(*) FROM blob_links), (SELECT count(*) FROM blobs), "
          "(SELECT count(*) FROM manifest_blobs), (SELECT count(*) FROM manifest_children)");
  ImportProgress again = Import(3);
  EXPECT_TRUE(again.finished);
  const auto after =
      Sql("SELECT (SELECT count(*) FROM repositories), (SELECT count(*) FROM manifests), "
          "(SELECT count(*) FROM tags), (SELECT count(*) FROM blob_links), (SELECT count(*) FROM blobs), "
          "(SELECT count(*) FROM manifest_blobs), (SELECT count(*) FROM manifest_children)");
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(counts.rows[0].Int(i), after.rows[0].Int(i)) << i;
  EXPECT_TRUE(Check().clean());
}

TEST_P(ImportTest, ProgressIsReportedPerBatch) {
  std::vector<ImportProgress> reports;
  ImportOptions options;
  options.rows_per_transaction = 4;
  options.progress = [&](const ImportProgress& p) { reports.push_back(p); };
  auto r = ImportStore(*driver_, *pool_, options);
  ASSERT_TRUE(r.ok());
  ASSERT_GE(reports.size(), 5u);
  for (size_t i = 1; i < reports.size(); ++i) {
    EXPECT_GE(reports[i].blobs + reports[i].repositories + reports[i].manifests + reports[i].tags + reports[i].links,
              reports[i - 1].blobs + reports[i - 1].repositories + reports[i - 1].manifests + reports[i - 1].tags +
                  reports[i - 1].links);
    EXPECT_EQ(reports[i].finished, i + 1 == reports.size());
  }
  EXPECT_EQ(reports.back().tags, 3);
}

TEST_P(ImportTest, WhatCannotBeRecordedIsSkippedAndChecksClean) {
  // A tag whose manifest has no revision here, a revision whose bytes are gone,
  // a revision whose bytes are not a manifest, a layer link to a missing blob.
  const oci::Digest nowhere = oci::DigestOf("nowhere");
  WriteFile(layout::TagCurrentLink("team/app", "dangling"), nowhere.str());
  const oci::Digest lost = oci::DigestOf("lost manifest");
  WriteFile(layout::RevisionLink("team/app", lost), lost.str());
  ASSERT_TRUE(blobs_->PutSmall(oci::DigestOf("not json"), "not json").ok());
  WriteFile(layout::RevisionLink("team/app", oci::DigestOf("not json")), oci::DigestOf("not json").str());
  WriteFile(layout::LayerLink("team-x", nowhere), nowhere.str());
  ImportProgress p = Import();
  EXPECT_EQ(p.skipped, 4);
  EXPECT_EQ(p.tags, 3);
  EXPECT_EQ(p.manifests, 4);
  CheckReport r = Check();
  EXPECT_TRUE(r.clean()) << Dump(r);
}

TEST_P(ImportTest, AnUnreferencedBlobRowWithoutBytesIsNoDifference) {
  // What a writer's protection leaves when its commit never happens (docs/gc.md),
  // and a claim GC has not finished: rows nothing shows, which GC removes.
  Import();
  ASSERT_TRUE(Check().clean());
  Sql("INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, 5, 1, 1)",
      {oci::DigestOf("protected, never committed").str()});
  Sql("INSERT INTO blobs (digest, size, created_at, touched_at, gc_claimed_at) VALUES ($1, 5, 1, 1, 2)",
      {oci::DigestOf("claimed, bytes already deleted").str()});
  CheckReport r = Check();
  for (const auto& f : r.findings) EXPECT_NE(f.kind, "blob-missing-in-store") << Dump(r);
  // Both are reported as notes (informational), which leave the report clean.
  EXPECT_TRUE(r.clean()) << Dump(r);
  std::map<std::string, std::string> notes;  // digest -> kind
  for (const auto& n : r.notes) notes[n.object] = n.kind;
  EXPECT_EQ(notes[oci::DigestOf("protected, never committed").str()], "blob-unstored");
  EXPECT_EQ(notes[oci::DigestOf("claimed, bytes already deleted").str()], "gc-claim-pending");
  EXPECT_EQ(r.notes.size(), 2u);
  EXPECT_NE(FormatCheckSummary(r).find(": OK (2 notes)"), std::string::npos) << FormatCheckSummary(r);
  // A linked blob row without bytes is still a difference.
  ASSERT_TRUE(store_->LinkBlob("team-x", oci::DigestOf("linked, no bytes").str(), 7).ok());
  EXPECT_EQ(Kinds(Check()).count("blob-missing-in-store"), 1u);
}

TEST_P(ImportTest, AClaimedBlobWhoseBytesAreStillStoredIsANote) {
  // GC stopped between its claim and the bytes (killed, or running now).
  Import();
  const std::string orphan = oci::DigestOf("orphan").str();
  auto claimed = store_->ClaimBlobIfUnreferenced(orphan, INT64_MAX);
  ASSERT_TRUE(claimed.ok() && *claimed);
  CheckReport r = Check();
  EXPECT_TRUE(r.clean()) << Dump(r);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].kind, "gc-claim-pending");
  EXPECT_EQ(r.notes[0].object, orphan);
  // Once the bytes are gone (the run went on), the row is still only a note.
  ASSERT_TRUE(driver_->Delete(layout::BlobDir(*oci::Digest::Parse(orphan))).ok());
  r = Check();
  EXPECT_TRUE(r.clean()) << Dump(r);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].kind, "gc-claim-pending");
}

TEST_P(ImportTest, CheckFindsEveryKindOfDifference) {
  Import();
  // Store ahead of the database (what a crash between the two leaves):
  const oci::Digest extra_layer = PushBlob("team/app", "extra layer");           // blob + link missing in db
  const oci::Digest extra = PushImage("team/app", "extra", config_, {shared_});  // manifest + tag + blob missing in db
  PushBlob("newrepo", "shared layer");                                           // repository missing in db
  // Database ahead of the store:
  ASSERT_TRUE(store_->LinkBlob("team-x", oci::DigestOf("db only").str(), 7).ok());  // link + blob missing in store
  ASSERT_TRUE(store_->LinkBlob("ghost", layer_.str(), 9).ok());                     // repository missing in store
  auto built = Image(config_, {shared_, layer_});
  ASSERT_TRUE(store_->PutManifest("team/app", built.record, "db-tag").ok());  // manifest, tag, blob missing in store
  // Disagreements:
  ASSERT_TRUE(manifests_->DeleteTag("team/app", "latest").ok());                            // tag missing in store
  ASSERT_TRUE(store_->DeleteTag("team/app", "v1").ok());                                    // tag missing in db
  ASSERT_TRUE(store_->PutManifest("team/app", built.record, "multi").ok());                 // tag mismatch
  Sql("UPDATE manifests SET media_type = 'text/plain' WHERE digest = $1", {image_.str()});  // manifest mismatch
  Sql("UPDATE blobs SET size = 12345 WHERE digest = $1", {config_.str()});                  // size mismatch

  CheckReport r = Check();
  const auto kinds = Kinds(r);
  for (const char* kind :
       {"repository-missing-in-db", "repository-missing-in-store", "link-missing-in-db", "link-missing-in-store",
        "manifest-missing-in-db", "manifest-missing-in-store", "manifest-mismatch", "tag-missing-in-db",
        "tag-missing-in-store", "tag-mismatch", "blob-missing-in-db", "blob-missing-in-store", "blob-size-mismatch"}) {
    EXPECT_GE(kinds.count(kind), 1u) << kind << "\n" << Dump(r);
  }
  // Each finding names its object.
  bool saw_extra = false, saw_extra_layer = false;
  for (const auto& f : r.findings) {
    if (f.kind == "manifest-missing-in-db" && f.object == extra.str()) saw_extra = true;
    if (f.kind == "link-missing-in-db" && f.object == extra_layer.str()) saw_extra_layer = true;
    if (f.kind == "tag-mismatch") {
      EXPECT_EQ(f.object, "multi");
    }
    if (f.kind == "blob-size-mismatch") {
      EXPECT_EQ(f.object, config_.str());
    }
    if (f.kind == "repository-missing-in-store") {
      EXPECT_EQ(f.repository, "ghost");
    }
    if (f.kind == "repository-missing-in-db") {
      EXPECT_EQ(f.repository, "newrepo");
    }
  }
  EXPECT_TRUE(saw_extra) << Dump(r);
  EXPECT_TRUE(saw_extra_layer) << Dump(r);
  EXPECT_NE(FormatCheckSummary(r).find("differences"), std::string::npos);
}

TEST_P(ImportTest, EmptyStoreImportsNothingAndIsMarkedDone) {
  testing_util::TempDir empty{"berth-empty"};
  auto driver = storage::FilesystemDriver::Open(empty.path());
  ASSERT_TRUE(driver.ok());
  auto r = ImportStore(**driver, *pool_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->repositories + r->blobs, 0);
  EXPECT_TRUE(*ImportCompleted(*pool_));
  auto check = CheckStore(**driver, *pool_);
  EXPECT_TRUE(check->clean());
}

INSTANTIATE_TEST_SUITE_P(Engines, ImportTest, ::testing::ValuesIn(kTestEngines), EngineName);

}  // namespace
}  // namespace berth::metadata
