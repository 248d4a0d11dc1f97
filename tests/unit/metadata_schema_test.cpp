// Schema migrations on SQLite and on PostgreSQL (the test's parameter,
// metadata_fixture.h): a fresh database, a second start, a database newer than
// the binary, a failing migration; and the dialect rendering.
#include "metadata/schema.h"

#include <gtest/gtest.h>

#include <array>

#include "metadata/dialect.h"
#include "metadata/sqlite_db.h"
#include "metadata_fixture.h"
#include "temp_dir.h"

namespace berth::metadata {
namespace {

class SchemaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BERTH_SKIP_WITHOUT_ENGINE(GetParam());
    auto p = database_.Open(GetParam(), dir_.path());
    ASSERT_TRUE(p.ok()) << p.status().message();
    pool_ = *p;
  }
  // The tables of the test's database (its schema on PostgreSQL), by name.
  std::vector<std::string> Tables() {
    auto c = pool_->Acquire();
    const char* sql = pool_->Dialect() == "sqlite"
                          ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                            "ORDER BY name"
                          : "SELECT CAST(table_name AS TEXT) FROM information_schema.tables "
                            "WHERE table_schema = current_schema() ORDER BY table_name COLLATE \"C\"";
    auto r = (*c)->Execute(sql, {});
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<std::string> out;
    for (const auto& row : r->rows) out.push_back(row.Text(0));
    return out;
  }
  testing_util::TempDir dir_{"berth-schema"};
  TestDatabase database_;  // destroyed after the pool below
  std::shared_ptr<Pool> pool_;
};

TEST_P(SchemaTest, FreshDatabaseGetsEveryMigration) {
  auto v0 = SchemaVersion(*pool_);
  ASSERT_TRUE(v0.ok()) << v0.status().message();
  EXPECT_EQ(*v0, 0);
  auto r = Migrate(*pool_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->from, 0);
  EXPECT_EQ(r->to, LatestSchemaVersion());
  EXPECT_EQ(r->applied.size(), Migrations().size());
  EXPECT_EQ(Tables(), (std::vector<std::string>{"access_tokens", "blob_links", "blobs", "gc_lease", "manifest_blobs",
                                                "manifest_children", "manifests", "metadata_state", "repositories",
                                                "schema_migrations", "tags"}));
  auto v = SchemaVersion(*pool_);
  EXPECT_EQ(*v, LatestSchemaVersion());
}

TEST_P(SchemaTest, GcClaimsMigrationKeepsBlobsUnclaimed) {
  auto first = Migrate(*pool_, Migrations().first(1), 1);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto c = pool_->Acquire();
  ASSERT_TRUE(c.ok());
  const Value row[] = {std::string("sha256:aa"), int64_t{5}, int64_t{1}, int64_t{1}};
  ASSERT_TRUE(
      (*c)->Execute("INSERT INTO blobs (digest, size, created_at, touched_at) VALUES ($1, $2, $3, $4)", row).ok());
  auto r = Migrate(*pool_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->applied, (std::vector<int64_t>{2, 3}));
  auto claimed = (*c)->Execute("SELECT digest FROM blobs WHERE gc_claimed_at IS NULL", {});
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->rows.size(), 1u);
  EXPECT_EQ(claimed->rows[0].Text(0), "sha256:aa");
}

TEST_P(SchemaTest, SecondStartIsANoOp) {
  ASSERT_TRUE(Migrate(*pool_).ok());
  auto again = Migrate(*pool_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(again->from, LatestSchemaVersion());
  EXPECT_EQ(again->to, LatestSchemaVersion());
  auto c = pool_->Acquire();
  auto rows = (*c)->Execute("SELECT count(*) FROM schema_migrations", {});
  EXPECT_EQ(rows->rows[0].Int(0), static_cast<int64_t>(Migrations().size()));
}

TEST_P(SchemaTest, DatabaseNewerThanTheBinaryIsRefusedUntouched) {
  ASSERT_TRUE(Migrate(*pool_).ok());
  {
    auto c = pool_->Acquire();
    const Value row[] = {LatestSchemaVersion() + 1, std::string("from the future"), int64_t{1}};
    ASSERT_TRUE(
        (*c)->Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", row).ok());
  }
  const auto tables = Tables();
  auto r = Migrate(*pool_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("newer"), std::string::npos) << r.status().message();
  EXPECT_EQ(Tables(), tables);
}

TEST_P(SchemaTest, FailingMigrationLeavesThePreviousVersion) {
  const std::array<Migration, 2> migrations = {{
      {1, "one", "CREATE TABLE one (x BIGINT)"},
      {2, "two, broken halfway", "CREATE TABLE two (x BIGINT); CREATE TABLE one (y BIGINT)"},
  }};
  auto r = Migrate(*pool_, migrations, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("migration 2"), std::string::npos) << r.status().message();
  auto v = SchemaVersion(*pool_);
  EXPECT_EQ(*v, 1);
  EXPECT_EQ(Tables(), (std::vector<std::string>{"one", "schema_migrations"}));  // no "two"
  // Fixed, it applies from where it stopped.
  const std::array<Migration, 2> fixed = {{migrations[0], {2, "two", "CREATE TABLE two (x BIGINT)"}}};
  auto ok = Migrate(*pool_, fixed, 6);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->from, 1);
  EXPECT_EQ(ok->applied, (std::vector<int64_t>{2}));
}

TEST_P(SchemaTest, MigrationsAreNumberedFromOne) {
  const std::array<Migration, 1> gap = {{{2, "two", "SELECT 1"}}};
  EXPECT_EQ(Migrate(*pool_, gap, 1).status().code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Engines, SchemaTest, ::testing::ValuesIn(kTestEngines), EngineName);

TEST(DialectTest, TokensRenderPerEngine) {
  const std::string_view script = "CREATE TABLE t (id {{id}}, name {{key}} NOT NULL) {{without_rowid}};";
  auto sqlite = dialect::Render("sqlite", script);
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(*sqlite, "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL) WITHOUT ROWID;");
  auto pg = dialect::Render("postgres", script);
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(
      *pg,
      "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT COLLATE \"C\" NOT NULL) ;");
  EXPECT_FALSE(dialect::Render("mysql", script).ok());
  EXPECT_FALSE(dialect::Render("sqlite", "x {{nope}}").ok());
  EXPECT_TRUE(dialect::MigrationLock("sqlite").empty());
  EXPECT_FALSE(dialect::MigrationLock("postgres").empty());
}

// Every migration renders for both engines, and no PostgreSQL text keeps an SQLite-only word.
TEST(DialectTest, EveryMigrationRendersForBothEngines) {
  for (const auto& m : Migrations()) {
    auto pg = dialect::Render("postgres", m.sql);
    ASSERT_TRUE(pg.ok()) << m.name;
    EXPECT_EQ(pg->find("AUTOINCREMENT"), std::string::npos);
    EXPECT_EQ(pg->find("WITHOUT ROWID"), std::string::npos);
    EXPECT_EQ(pg->find("{{"), std::string::npos);
    ASSERT_TRUE(dialect::Render("sqlite", m.sql).ok()) << m.name;
  }
}

}  // namespace
}  // namespace berth::metadata
