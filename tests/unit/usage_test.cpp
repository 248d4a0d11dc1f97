// ComputeUsage: per-repository and total bytes, shared blobs counted once in totals.
#include "storage/usage.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store_fixture.h"

namespace berth::storage {
namespace {

class UsageTest : public StoreFixture {};

TEST_F(UsageTest, SharedBlobsCountOnceInTotals) {
  const std::string shared(1000, 's');
  const std::string a_only(300, 'a');
  const std::string b_only(50, 'b');
  const std::string config = "{}";
  auto c = PushBlob("a", config);
  auto s = PushBlob("a", shared, 3);
  auto a = PushBlob("a", a_only);
  auto ma = PushImage("a", "v1", c, {s, a});
  PushBlob("b", shared);
  PushBlob("b", b_only);
  PushBlob("b", b_only);  // pushed twice: still one blob
  PushBlob("nomanifest", "only a layer");
  // An upload in progress in b.
  auto id = uploads_->Start("b");
  ASSERT_TRUE(id.ok());
  {
    auto sess = uploads_->Acquire("b", *id);
    ASSERT_TRUE(sess.ok());
    ASSERT_TRUE((*sess)->Append("12345", 5).ok());
  }
  // A blob nobody links (its repository link removed).
  auto orphan = PushBlob("b", std::string(77, 'o'));
  ASSERT_TRUE(blobs_->Unlink("b", orphan).ok());

  const int64_t manifest_size = static_cast<int64_t>(blobs_->Stat(ma).value());
  UsageReport r = ComputeUsage(*driver_);
  ASSERT_EQ(r.repositories.size(), 3u);
  EXPECT_EQ(r.repositories[0].name, "a");
  EXPECT_EQ(r.repositories[0].blobs, 4);
  EXPECT_EQ(r.repositories[0].manifests, 1);
  EXPECT_EQ(r.repositories[0].bytes, 2 + 1000 + 300 + manifest_size);
  EXPECT_EQ(r.repositories[1].name, "b");
  EXPECT_EQ(r.repositories[1].blobs, 2);
  EXPECT_EQ(r.repositories[1].bytes, 1000 + 50);
  EXPECT_EQ(r.repositories[1].uploads, 1);
  EXPECT_EQ(r.repositories[1].upload_bytes, 5);
  EXPECT_EQ(r.repositories[2].name, "nomanifest");
  EXPECT_EQ(r.repositories[2].bytes, 12);
  EXPECT_EQ(r.linked_blobs, 6);
  EXPECT_EQ(r.linked_bytes, 2 + 1000 + 300 + manifest_size + 50 + 12);
  EXPECT_EQ(r.store_blobs, 7);
  EXPECT_EQ(r.store_bytes, r.linked_bytes + 77);
  EXPECT_EQ(r.uploads, 1);
  EXPECT_EQ(r.upload_bytes, 5);

  auto j = nlohmann::json::parse(FormatUsageJson(r));
  EXPECT_EQ(j["repositories"][0]["name"], "a");
  EXPECT_EQ(j["linked"]["bytes"], r.linked_bytes);
  EXPECT_EQ(j["store"]["blobs"], 7);
  const std::string table = FormatUsageTable(r);
  EXPECT_NE(table.find("nomanifest"), std::string::npos);
  EXPECT_NE(table.find(std::to_string(r.linked_bytes)), std::string::npos);
}

TEST_F(UsageTest, EmptyStore) {
  UsageReport r = ComputeUsage(*driver_);
  EXPECT_TRUE(r.repositories.empty());
  EXPECT_EQ(r.store_bytes, 0);
  EXPECT_NE(FormatUsageTable(r).find("REPOSITORY"), std::string::npos);
}

}  // namespace
}  // namespace berth::storage
