#include "storage/filesystem_driver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"
#include "read_all.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string ReadAll(FileReader& r, size_t buf_size = 7) { return testing_util::ReadAll(r, buf_size); }

class FilesystemDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<testing_util::TempDir>("berth-fsdriver");
    dir_ = tmp_->path();
    root_ = dir_ + "/root";
    auto d = FilesystemDriver::Open(root_);
    ASSERT_TRUE(d.ok()) << d.status().message();
    driver_ = std::move(*d);
  }
  void TearDown() override {
    driver_.reset();
    tmp_.reset();
    EXPECT_FALSE(fs::exists(dir_));
  }

  std::vector<std::string> TmpEntries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root_ + "/_berth_tmp")) names.push_back(e.path().filename());
    return names;
  }

  std::unique_ptr<testing_util::TempDir> tmp_;
  std::string dir_;
  std::string root_;
  std::unique_ptr<FilesystemDriver> driver_;
};

TEST_F(FilesystemDriverTest, OpenCreatesRootAndTempDir) {
  const DriverInfo info = driver_->Info();
  EXPECT_EQ(info.name, "filesystem");
  EXPECT_EQ(info.location, root_);
  EXPECT_EQ(info.Where(), root_);
  EXPECT_FALSE(info.can_redirect);
  EXPECT_TRUE(info.can_read_unfinished);
  EXPECT_EQ(driver_->root(), root_);
  EXPECT_TRUE(fs::is_directory(root_));
  EXPECT_TRUE(fs::is_directory(root_ + "/_berth_tmp"));
  EXPECT_TRUE(driver_->CheckWritable().ok());
  EXPECT_TRUE(TmpEntries().empty());
}

TEST_F(FilesystemDriverTest, OpenNormalisesRoot) {
  auto d = FilesystemDriver::Open(dir_ + "/x/../nested/deeper/");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ((*d)->root(), dir_ + "/nested/deeper");
  EXPECT_TRUE(fs::is_directory(dir_ + "/nested/deeper/_berth_tmp"));
}

TEST_F(FilesystemDriverTest, OpenFailsWhenRootIsAFile) {
  std::ofstream(dir_ + "/file") << "x";
  auto d = FilesystemDriver::Open(dir_ + "/file");
  EXPECT_FALSE(d.ok());
}

TEST_F(FilesystemDriverTest, OpenSweepsOnlyOldTempFiles) {
  const std::string tmp = root_ + "/_berth_tmp";
  std::ofstream(tmp + "/old") << "stale";
  std::ofstream(tmp + "/fresh") << "in use";
  fs::last_write_time(tmp + "/old", fs::file_time_type::clock::now() - std::chrono::hours(2));
  auto d = FilesystemDriver::Open(root_);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(fs::exists(tmp + "/old"));
  EXPECT_TRUE(fs::exists(tmp + "/fresh"));
}

TEST_F(FilesystemDriverTest, PutGetRoundTrip) {
  ASSERT_TRUE(driver_->PutContent("/a/b/c.txt", "hello").ok());
  auto got = driver_->GetContent("/a/b/c.txt");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "hello");
  EXPECT_EQ(ReadFile(root_ + "/a/b/c.txt"), "hello");
}

TEST_F(FilesystemDriverTest, PutGetBinaryAndLarge) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 % 256);
  ASSERT_TRUE(driver_->PutContent("/big", data).ok());
  auto got = driver_->GetContent("/big");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), data.size());
  EXPECT_EQ(*got, data);
  ASSERT_TRUE(driver_->PutContent("/empty", "").ok());
  auto empty = driver_->GetContent("/empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(FilesystemDriverTest, PutContentReplaces) {
  ASSERT_TRUE(driver_->PutContent("/f", "a much longer first version").ok());
  ASSERT_TRUE(driver_->PutContent("/f", "v2").ok());
  auto got = driver_->GetContent("/f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "v2");
  auto st = driver_->Stat("/f");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 2);
}

TEST_F(FilesystemDriverTest, PutContentIsAtomicRename) {
  // An open reader of the old file keeps seeing the old content: the file was
  // replaced by a rename, not rewritten in place.
  ASSERT_TRUE(driver_->PutContent("/f", "old content").ok());
  struct stat before;
  ASSERT_EQ(::stat((root_ + "/f").c_str(), &before), 0);
  auto reader = driver_->Reader("/f", 0);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(driver_->PutContent("/f", "NEW").ok());
  struct stat after;
  ASSERT_EQ(::stat((root_ + "/f").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(ReadAll(**reader), "old content");
  EXPECT_EQ(*driver_->GetContent("/f"), "NEW");
}

TEST_F(FilesystemDriverTest, PutContentLeavesNoTempFiles) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(driver_->PutContent("/dir/f" + std::to_string(i % 3), std::string(i * 100, 'x')).ok());
  }
  EXPECT_TRUE(TmpEntries().empty()) << TmpEntries().size() << " left";
  EXPECT_TRUE(driver_->CheckWritable().ok());
  EXPECT_TRUE(TmpEntries().empty());
}

TEST_F(FilesystemDriverTest, FailedPutContentLeavesNoTempFile) {
  ASSERT_TRUE(driver_->PutContent("/file", "x").ok());
  // The parent "directory" is a file: the rename cannot happen.
  Status s = driver_->PutContent("/file/child", "y");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(TmpEntries().empty());
  EXPECT_EQ(*driver_->GetContent("/file"), "x");
}

TEST_F(FilesystemDriverTest, ConcurrentPutContentNeverTorn) {
  const std::string a(50000, 'a');
  const std::string b(70000, 'b');
  ASSERT_TRUE(driver_->PutContent("/shared", a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop) {
      auto got = driver_->GetContent("/shared");
      if (!got.ok() || (*got != a && *got != b)) ++torn;
    }
  });
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(driver_->PutContent("/shared", i % 2 ? a : b).ok());
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_TRUE(TmpEntries().empty());
}

TEST_F(FilesystemDriverTest, GetContentNotFound) {
  auto got = driver_->GetContent("/missing");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  auto under = driver_->GetContent("/missing/dir/file");
  EXPECT_EQ(under.status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(driver_->PutContent("/file", "x").ok());
  // A path through a file is ENOTDIR: still "not found".
  EXPECT_EQ(driver_->GetContent("/file/x").status().code(), StatusCode::kNotFound);
}

TEST_F(FilesystemDriverTest, StatFilesAndDirectories) {
  ASSERT_TRUE(driver_->PutContent("/d/file", "12345").ok());
  auto f = driver_->Stat("/d/file");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size, 5);
  EXPECT_FALSE(f->is_dir);
  EXPECT_GT(f->modified_unix, 1600000000);
  auto d = driver_->Stat("/d");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->is_dir);
  auto m = driver_->Stat("/d/missing");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(m.status().IsNotFound());
}

TEST_F(FilesystemDriverTest, ListDirectChildren) {
  ASSERT_TRUE(driver_->PutContent("/l/a", "1").ok());
  ASSERT_TRUE(driver_->PutContent("/l/b/c", "2").ok());
  ASSERT_TRUE(driver_->PutContent("/l/b/d/e", "3").ok());
  ASSERT_TRUE(driver_->PutContent("/l/.hidden", "4").ok());
  auto names = driver_->List("/l");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(Sorted(*names), (std::vector<std::string>{".hidden", "a", "b"}));
  auto sub = driver_->List("/l/b");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(Sorted(*sub), (std::vector<std::string>{"c", "d"}));
}

TEST_F(FilesystemDriverTest, ListEmptyAndMissing) {
  fs::create_directories(root_ + "/emptydir");
  auto e = driver_->List("/emptydir");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  auto m = driver_->List("/nope");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(driver_->PutContent("/afile", "x").ok());
  auto f = driver_->List("/afile");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);  // ENOTDIR
}

TEST_F(FilesystemDriverTest, DeleteFileAndTree) {
  ASSERT_TRUE(driver_->PutContent("/t/a/b/c", "1").ok());
  ASSERT_TRUE(driver_->PutContent("/t/a/d", "2").ok());
  ASSERT_TRUE(driver_->PutContent("/t/keep", "3").ok());
  ASSERT_TRUE(driver_->Delete("/t/a/d").ok());
  EXPECT_EQ(driver_->Stat("/t/a/d").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(driver_->Stat("/t/a/b/c").ok());
  ASSERT_TRUE(driver_->Delete("/t/a").ok());
  EXPECT_EQ(driver_->Stat("/t/a").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/t/a"));
  EXPECT_EQ(*driver_->GetContent("/t/keep"), "3");
}

TEST_F(FilesystemDriverTest, DeleteMissingIsNotFound) {
  Status s = driver_->Delete("/never");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  ASSERT_TRUE(driver_->PutContent("/once", "x").ok());
  EXPECT_TRUE(driver_->Delete("/once").ok());
  EXPECT_EQ(driver_->Delete("/once").code(), StatusCode::kNotFound);
  // Through a file (ENOTDIR) is "not found" as well.
  ASSERT_TRUE(driver_->PutContent("/file", "x").ok());
  EXPECT_EQ(driver_->Delete("/file/child").code(), StatusCode::kNotFound);
  EXPECT_EQ(driver_->Stat("/file/child").status().code(), StatusCode::kNotFound);
}

TEST_F(FilesystemDriverTest, WriterAppendsAndCountsSize) {
  auto w = driver_->Writer("/up/data");
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ((*w)->Size(), 0);
  ASSERT_TRUE((*w)->Write("hello", 5).ok());
  EXPECT_EQ((*w)->Size(), 5);
  ASSERT_TRUE((*w)->Write(" ", 1).ok());
  ASSERT_TRUE((*w)->Write("world", 5).ok());
  EXPECT_EQ((*w)->Size(), 11);
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(*driver_->GetContent("/up/data"), "hello world");
  EXPECT_EQ(driver_->Stat("/up/data")->size, 11);
}

TEST_F(FilesystemDriverTest, WriterReopenAppends) {
  {
    auto w = driver_->Writer("/up/data");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("abc", 3).ok());
    // Destroyed without Commit: what was written stays.
  }
  auto w2 = driver_->Writer("/up/data");
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ((*w2)->Size(), 3);
  ASSERT_TRUE((*w2)->Write("def", 3).ok());
  EXPECT_EQ((*w2)->Size(), 6);
  ASSERT_TRUE((*w2)->Commit().ok());
  EXPECT_EQ(*driver_->GetContent("/up/data"), "abcdef");
}

TEST_F(FilesystemDriverTest, WriterOnExistingPutContentFile) {
  ASSERT_TRUE(driver_->PutContent("/f", "123").ok());
  auto w = driver_->Writer("/f");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Size(), 3);
  ASSERT_TRUE((*w)->Write("45", 2).ok());
  EXPECT_EQ(*driver_->GetContent("/f"), "12345");
}

TEST_F(FilesystemDriverTest, WriterZeroLengthWrite) {
  auto w = driver_->Writer("/z");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("", 0).ok());
  EXPECT_EQ((*w)->Size(), 0);
  ASSERT_TRUE((*w)->Commit().ok());
  auto st = driver_->Stat("/z");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 0);
}

TEST_F(FilesystemDriverTest, ReaderFromOffsets) {
  ASSERT_TRUE(driver_->PutContent("/r", "0123456789").ok());
  auto r0 = driver_->Reader("/r", 0);
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(ReadAll(**r0, 3), "0123456789");
  auto r4 = driver_->Reader("/r", 4);
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(ReadAll(**r4), "456789");
  auto r9 = driver_->Reader("/r", 9);
  ASSERT_TRUE(r9.ok());
  EXPECT_EQ(ReadAll(**r9), "9");
  auto r10 = driver_->Reader("/r", 10);
  ASSERT_TRUE(r10.ok());
  EXPECT_EQ(ReadAll(**r10), "");
  auto r99 = driver_->Reader("/r", 99);
  ASSERT_TRUE(r99.ok());
  EXPECT_EQ(ReadAll(**r99), "");
}

TEST_F(FilesystemDriverTest, ReaderReadsPiecewise) {
  ASSERT_TRUE(driver_->PutContent("/r", "abcdef").ok());
  auto r = driver_->Reader("/r", 1);
  ASSERT_TRUE(r.ok());
  char buf[2];
  auto n = (*r)->Read(buf, 2);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(std::string(buf, 2), "bc");
  n = (*r)->Read(buf, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "de");
  n = (*r)->Read(buf, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "f");
  n = (*r)->Read(buf, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(FilesystemDriverTest, ReaderNotFound) {
  auto r = driver_->Reader("/nope", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(FilesystemDriverTest, MoveCreatesParentsAndRemovesSource) {
  ASSERT_TRUE(driver_->PutContent("/src/file", "payload").ok());
  ASSERT_TRUE(driver_->Move("/src/file", "/dst/deep/er/file").ok());
  EXPECT_EQ(*driver_->GetContent("/dst/deep/er/file"), "payload");
  EXPECT_EQ(driver_->Stat("/src/file").status().code(), StatusCode::kNotFound);
}

TEST_F(FilesystemDriverTest, MoveReplacesTarget) {
  ASSERT_TRUE(driver_->PutContent("/a", "new").ok());
  ASSERT_TRUE(driver_->PutContent("/b", "old and longer").ok());
  ASSERT_TRUE(driver_->Move("/a", "/b").ok());
  EXPECT_EQ(*driver_->GetContent("/b"), "new");
  EXPECT_FALSE(driver_->Stat("/a").ok());
}

TEST_F(FilesystemDriverTest, MoveMissingSourceIsNotFound) {
  Status s = driver_->Move("/none", "/target");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_FALSE(driver_->Stat("/target").ok());
}

TEST(IsCleanStoragePathTest, Accepts) {
  for (const char* p : {"/a", "/a/b", "/docker/registry/v2/blobs/sha256/ab/abcd/data", "/a.b", "/...", "/.a", "/a..",
                        "/a/_uploads/x", "/sha256:abc"}) {
    EXPECT_TRUE(IsCleanStoragePath(p)) << p;
  }
}

TEST(IsCleanStoragePathTest, Rejects) {
  using namespace std::string_literals;
  for (const std::string& p : {""s, "/"s, "a"s, "a/b"s, "./a"s, "../a"s, "//a"s, "/a//b"s, "/a/"s, "/./a"s, "/a/."s,
                               "/.."s, "/a/.."s, "/a/../b"s, "/a/b/.."s, "/a/./b"s, "/a\0b"s, "\0/a"s, "//"s}) {
    EXPECT_FALSE(IsCleanStoragePath(p)) << "'" << p << "'";
  }
}

TEST_F(FilesystemDriverTest, RejectsUncleanPathsEverywhere) {
  // A file outside the root that an escaping path would reach.
  std::ofstream(dir_ + "/outside") << "secret";
  for (const std::string bad :
       {"/../outside", "relative", "//outside", "/a//b", "/a/../../outside", "", "/", "/./x", "/x/"}) {
    EXPECT_EQ(driver_->GetContent(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->PutContent(bad, "x").code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->Reader(bad, 0).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->Writer(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->Stat(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->List(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->Delete(bad).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->Move(bad, "/ok").code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(driver_->Move("/ok", bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ReadFile(dir_ + "/outside"), "secret");
  EXPECT_TRUE(fs::exists(root_));
  EXPECT_TRUE(TmpEntries().empty());
}

// The upload writer bypasses the page cache (O_DIRECT) for whole blocks and
// writes partial blocks normally. Whatever the mix of sizes, memory alignment
// and reopenings, the file must hold exactly the acknowledged bytes after every
// Write (an in-progress upload is re-read by Rehash and by GETs of its size).
// Run on tmpfs (the default test base), on a disk filesystem (/var/tmp, where
// O_DIRECT really bypasses the cache) and with direct I/O switched off.
class WriterPatternTest : public ::testing::TestWithParam<std::string> {};

std::string Pattern(size_t n, size_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

TEST_P(WriterPatternTest, ContentMatchesAfterEveryWrite) {
  const std::string mode = GetParam();
  std::unique_ptr<testing_util::TempDir> tmp;
  if (mode == "disk") {
    if (::access("/var/tmp", W_OK) != 0) GTEST_SKIP() << "no /var/tmp";
    const char* old = std::getenv("TMPDIR");
    std::string saved = old ? old : "";
    ::setenv("TMPDIR", "/var/tmp", 1);
    tmp = std::make_unique<testing_util::TempDir>("berth-direct");
    if (old)
      ::setenv("TMPDIR", saved.c_str(), 1);
    else
      ::unsetenv("TMPDIR");
  } else {
    tmp = std::make_unique<testing_util::TempDir>("berth-direct");
  }
  auto d = FilesystemDriver::Open(tmp->path() + "/root");
  ASSERT_TRUE(d.ok()) << d.status().message();
  if (mode == "buffered") (*d)->set_direct_io(false);

  // An aligned source buffer so that some writes take the zero-copy path.
  const std::string data = Pattern(6 << 20, 7);
  void* mem = nullptr;
  ASSERT_EQ(::posix_memalign(&mem, 4096, data.size() + 8192), 0);
  std::unique_ptr<char, decltype(&std::free)> aligned(static_cast<char*>(mem), &std::free);
  // Each step: {offset into the aligned buffer (0 = aligned memory), length}; -1 = reopen the writer.
  const std::vector<std::pair<int64_t, size_t>> steps = {
      {0, 1 << 20},     // aligned memory at an aligned offset
      {0, 4096},        // one block
      {0, 10},          // a small tail
      {0, 100},         // still inside the same block
      {3, 5000},        // completes the block and crosses the next, unaligned memory
      {-1, 0},          // reopen mid-block
      {0, 1 << 20},     // aligned memory but an unaligned file offset
      {17, 3 << 20},    // larger than the staging buffer
      {0, 4096 - 123},  // ends exactly on a block boundary? (depends on the size so far)
      {-1, 0},         {0, 1}, {0, 0}, {5, 262144 + 1},
  };
  std::string expect;
  size_t src = 0;
  auto w = (*d)->Writer("/up/data");
  ASSERT_TRUE(w.ok()) << w.status().message();
  for (const auto& [mem_off, len] : steps) {
    if (mem_off < 0) {
      w->reset();
      w = (*d)->Writer("/up/data");
      ASSERT_TRUE(w.ok()) << w.status().message();
      EXPECT_EQ((*w)->Size(), static_cast<int64_t>(expect.size()));
      continue;
    }
    ASSERT_LE(src + len, data.size());
    char* p = aligned.get() + mem_off;
    std::memcpy(p, data.data() + src, len);
    ASSERT_TRUE((*w)->Write(p, len).ok());
    expect.append(data, src, len);
    src += len;
    EXPECT_EQ((*w)->Size(), static_cast<int64_t>(expect.size()));
    // Visible to a reader before Commit, byte for byte.
    auto got = (*d)->GetContent("/up/data");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), expect.size());
    ASSERT_TRUE(*got == expect) << "content differs after " << expect.size() << " bytes";
  }
  ASSERT_TRUE((*w)->Commit().ok());
  w->reset();
  EXPECT_EQ(*(*d)->GetContent("/up/data"), expect);
}

INSTANTIATE_TEST_SUITE_P(Modes, WriterPatternTest, ::testing::Values("tmpfs", "disk", "buffered"));

}  // namespace
}  // namespace berth::storage
