// SqlitePool: placeholders, values, errors, and opening files that are locked
// by another process or are not (or no longer) SQLite databases.
#include "metadata/sqlite_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "metadata/schema.h"
#include "temp_dir.h"

namespace berth::metadata {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SqliteTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.path() + "/metadata.db"; }
  std::shared_ptr<SqlitePool> OpenPool(int busy_ms = 5000) {
    auto p = SqlitePool::Open({Path(), busy_ms});
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? *p : nullptr;
  }
  testing_util::TempDir dir_{"berth-sqlite"};
};

TEST_F(SqliteTest, DollarPlaceholdersBindByNumberWhateverTheirOrder) {
  auto pool = OpenPool();
  auto c = pool->Acquire();
  ASSERT_TRUE(c.ok());
  // SQLite numbers named parameters by first appearance: $2 comes first here.
  const Value params[] = {int64_t{1}, std::string("two")};
  auto r = (*c)->Execute("SELECT $2, $1, $2 || $2", params);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].Text(0), "two");
  EXPECT_EQ(r->rows[0].Int(1), 1);
  EXPECT_EQ(r->rows[0].Text(2), "twotwo");
}

TEST_F(SqliteTest, ParameterCountMustMatchLikePostgres) {
  auto pool = OpenPool();
  auto c = pool->Acquire();
  const Value one[] = {int64_t{1}};
  const Value two[] = {int64_t{1}, int64_t{2}};
  EXPECT_EQ((*c)->Execute("SELECT $1, $2", one).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*c)->Execute("SELECT $1", two).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*c)->Execute("SELECT ?", one).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*c)->Execute("SELECT 1; SELECT 2", {}).status().code(), StatusCode::kInvalidArgument);
  // The connection is still usable after each refusal.
  EXPECT_TRUE((*c)->Execute("SELECT $1", one).ok());
}

TEST_F(SqliteTest, ValuesRoundTripAndHostileTextIsJustText) {
  auto pool = OpenPool();
  auto c = pool->Acquire();
  ASSERT_TRUE((*c)->ExecuteScript("CREATE TABLE t (a TEXT, b BIGINT, c TEXT)").ok());
  const std::string hostile = std::string("x'); DROP TABLE t; --\"\\ \0 end", 29);
  const Value params[] = {hostile, int64_t{-9'000'000'000'000}, std::monostate{}};
  auto ins = (*c)->Execute("INSERT INTO t (a, b, c) VALUES ($1, $2, $3)", params);
  ASSERT_TRUE(ins.ok()) << ins.status().message();
  EXPECT_EQ(ins->affected, 1);
  auto r = (*c)->Execute("SELECT a, b, c FROM t", {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].Text(0), hostile);
  EXPECT_EQ(r->rows[0].Int(1), -9'000'000'000'000);
  EXPECT_TRUE(r->rows[0].IsNull(2));
  EXPECT_EQ(r->affected, 0);  // a SELECT changes nothing
}

TEST_F(SqliteTest, ConstraintIsConflictAndRollbackUndoes) {
  auto pool = OpenPool();
  auto c = pool->Acquire();
  ASSERT_TRUE((*c)->ExecuteScript("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  const Value k[] = {std::string("a")};
  ASSERT_TRUE((*c)->Execute("INSERT INTO t (k) VALUES ($1)", k).ok());
  EXPECT_EQ((*c)->Execute("INSERT INTO t (k) VALUES ($1)", k).status().code(), StatusCode::kConflict);
  ASSERT_TRUE((*c)->Begin().ok());
  const Value b[] = {std::string("b")};
  ASSERT_TRUE((*c)->Execute("INSERT INTO t (k) VALUES ($1)", b).ok());
  ASSERT_TRUE((*c)->Rollback().ok());
  auto n = (*c)->Execute("SELECT count(*) FROM t", {});
  EXPECT_EQ(n->rows[0].Int(0), 1);
  EXPECT_EQ((*c)->Execute("SELEC nonsense", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteTest, PoolSettingsAndReuse) {
  auto pool = OpenPool();
  {
    auto c = pool->Acquire();
    auto mode = (*c)->Execute("PRAGMA journal_mode", {});
    EXPECT_EQ(mode->rows[0].Text(0), "wal");
    auto sync = (*c)->Execute("PRAGMA synchronous", {});
    EXPECT_EQ(sync->rows[0].Int(0), 2);  // FULL
    auto fk = (*c)->Execute("PRAGMA foreign_keys", {});
    EXPECT_EQ(fk->rows[0].Int(0), 1);
    // A transaction a caller forgot is rolled back when the handle goes.
    ASSERT_TRUE((*c)->Begin().ok());
  }
  auto a = pool->Acquire();
  auto b = pool->Acquire();  // a second connection while the first is out
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_TRUE((*a)->Begin().ok());
  EXPECT_TRUE((*a)->Commit().ok());
  EXPECT_EQ(pool->Dialect(), "sqlite");
}

TEST_F(SqliteTest, NotADatabaseIsAClearErrorAndTheFileIsLeftAlone) {
  const std::string garbage = "this is not a database, it is a text file someone put here\n" + std::string(5000, 'x');
  std::ofstream(Path(), std::ios::binary) << garbage;
  auto p = SqlitePool::Open({Path()});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kIoError);
  EXPECT_NE(p.status().message().find(Path()), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("not a SQLite database"), std::string::npos) << p.status().message();
  EXPECT_EQ(ReadFile(Path()), garbage);
  EXPECT_FALSE(fs::exists(Path() + "-wal"));
}

TEST_F(SqliteTest, DamagedSchemaPageIsAClearErrorAndTheFileIsLeftAlone) {
  {
    auto pool = OpenPool();
    ASSERT_TRUE(Migrate(*pool).ok());
  }  // the last connection closes: WAL checkpointed into the file and removed
  ASSERT_FALSE(fs::exists(Path() + "-wal"));
  std::string bytes = ReadFile(Path());
  ASSERT_GT(bytes.size(), 4096u);
  // Page 1 past the 100-byte file header holds the schema table's b-tree.
  for (size_t i = 100; i < 4096; ++i) bytes[i] = static_cast<char>(0xA5 ^ (i * 7));
  std::ofstream(Path(), std::ios::binary | std::ios::trunc) << bytes;
  auto p = SqlitePool::Open({Path()});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kIoError);
  EXPECT_NE(p.status().message().find(Path()), std::string::npos) << p.status().message();
  EXPECT_EQ(ReadFile(Path()), bytes);
}

// Another process holds an exclusive lock on the file: opening waits the busy
// timeout, then fails with kUnavailable naming the file; it succeeds once the lock is gone.
TEST_F(SqliteTest, FileLockedByAnotherProcessIsUnavailableAtOpen) {
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    sqlite3* db = nullptr;
    int rc = sqlite3_open(Path().c_str(), &db);
    if (rc == SQLITE_OK) {
      rc = sqlite3_exec(db,
                        "PRAGMA locking_mode=EXCLUSIVE; CREATE TABLE held (x); BEGIN EXCLUSIVE; "
                        "INSERT INTO held VALUES (1);",
                        nullptr, nullptr, nullptr);
    }
    char c = rc == SQLITE_OK ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);  // hold the lock until the parent says
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y') << "the child could not lock the database";
  const std::string before = ReadFile(Path());

  auto p = SqlitePool::Open({Path(), 200});
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(p.status().message().find(Path()), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("locked by another process"), std::string::npos) << p.status().message();
  EXPECT_EQ(ReadFile(Path()), before);

  (void)!write(release[1], "x", 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(ready[0]);
  close(release[1]);
  auto again = SqlitePool::Open({Path(), 200});
  ASSERT_TRUE(again.ok()) << again.status().message();
  // The child's CREATE TABLE was committed, its INSERT never was.
  auto conn = (*again)->Acquire();
  auto rows = (*conn)->Execute("SELECT count(*) FROM held", {});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(rows->rows[0].Int(0), 0);
}

TEST_F(SqliteTest, MissingDirectoryIsAnIoErrorNamingThePath) {
  auto p = SqlitePool::Open({dir_.path() + "/no/such/dir/metadata.db"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kIoError);
  EXPECT_NE(p.status().message().find("/no/such/dir/metadata.db"), std::string::npos);
}

}  // namespace
}  // namespace berth::metadata
