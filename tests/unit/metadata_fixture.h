// MetadataFixture: a migrated metadata database (SQLite in a fresh temp
// directory, or a schema of its own on the test PostgreSQL: the test's
// parameter) with a MetadataStore on a settable clock, and builders of manifest
// bodies (parsed by oci::ParseManifest, as the registry does) for the metadata tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metadata/metadata_store.h"
#include "metadata/postgres/pool.h"
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
// where another Pool (PostgreSQL) is put under the same tests (TestDatabase).
inline Result<std::shared_ptr<Pool>> OpenTestPool(const std::string& dir) {
  auto pool = SqlitePool::Open({dir + "/metadata.db"});
  if (!pool.ok()) return pool.status();
  return std::shared_ptr<Pool>(*pool);
}

// The engines the metadata tests run on (their test parameter). The
// "postgres" instances need the server of the ctest fixture "pg"
// (BERTH_TEST_PG_*); without it they skip, and the ctest entry that runs them
// (pg.metadata) fails on a skip.
inline const std::vector<std::string> kTestEngines = {"sqlite", "postgres"};
// The instances' name suffix: the engine.
inline std::string EngineName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

inline std::string TestEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}
inline bool TestPostgresConfigured() { return !TestEnv("BERTH_TEST_PG_PORT").empty(); }

// A Pool whose connections work in one schema of their own: every Acquire sets
// the session's search_path first, so unqualified table names (all of Berth's)
// resolve there. Lets tests share one PostgreSQL database and run in parallel.
class SchemaScopedPool : public Pool {
 public:
  SchemaScopedPool(std::shared_ptr<Pool> inner, std::string schema)
      : inner_(std::move(inner)), schema_(std::move(schema)) {}
  Result<std::shared_ptr<Connection>> Acquire() override {
    auto c = inner_->Acquire();
    if (!c.ok()) return c.status();
    if (Status s = (*c)->ExecuteScript("SET search_path TO " + schema_); !s.ok()) return s;
    return *c;
  }
  std::string_view Dialect() const override { return inner_->Dialect(); }

 private:
  std::shared_ptr<Pool> inner_;
  std::string schema_;
};

// A fresh, empty database for one test on `engine`: a SQLite file in `dir`, or
// a new schema (random name) on the pg fixture's server, dropped again by the
// destructor. Open() fails when the engine cannot be reached.
// The pg fixture's server (tests/tools/postgres.sh: BERTH_TEST_PG_HOST/PORT, user and password "berth").
inline postgres::PgConfig TestPgConfig(size_t pool_size = 8) {
  postgres::PgConfig c;
  c.host = TestEnv("BERTH_TEST_PG_HOST").empty() ? "127.0.0.1" : TestEnv("BERTH_TEST_PG_HOST");
  c.port = std::atoi(TestEnv("BERTH_TEST_PG_PORT").c_str());
  c.dbname = "berth";
  c.user = "berth";
  c.password = "berth";
  c.sslmode = postgres::SslMode::kDisable;
  c.pool_size = pool_size;
  c.connect_timeout = std::chrono::seconds(5);
  c.statement_timeout = std::chrono::seconds(30);
  return c;
}

class TestDatabase {
 public:
  TestDatabase() = default;
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase() {
    if (admin_ == nullptr) return;
    if (auto c = admin_->Acquire(); c.ok()) (void)(*c)->ExecuteScript("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }

  Result<std::shared_ptr<Pool>> Open(const std::string& engine, const std::string& dir) {
    if (engine == "sqlite") return OpenTestPool(dir);
    if (engine != "postgres") return Status::Invalid("unknown test engine " + engine);
    auto admin = postgres::PgPool::Create(TestPgConfig());
    if (!admin.ok()) return admin.status();
    admin_ = std::shared_ptr<Pool>(std::move(*admin));
    std::random_device rd;
    std::uniform_int_distribution<uint64_t> dist;
    char name[32];
    std::snprintf(name, sizeof name, "t_%016llx", static_cast<unsigned long long>(dist(rd)));
    schema_ = name;
    auto conn = admin_->Acquire();
    if (!conn.ok()) return conn.status();
    if (Status s = (*conn)->ExecuteScript("CREATE SCHEMA " + schema_); !s.ok()) return s;
    auto pool = postgres::PgPool::Create(TestPgConfig());
    if (!pool.ok()) return pool.status();
    return std::shared_ptr<Pool>(std::make_shared<SchemaScopedPool>(std::move(*pool), schema_));
  }

 private:
  std::shared_ptr<Pool> admin_;  // creates and drops the schema
  std::string schema_;
};

// Skips (the caller returns) when `engine` is postgres and no server is configured.
#define BERTH_SKIP_WITHOUT_ENGINE(engine)                                                                \
  do {                                                                                                   \
    if ((engine) == std::string("postgres") && !TestPostgresConfigured()) {                              \
      GTEST_SKIP() << "BERTH_TEST_PG_PORT not set (ctest -R '^pg\\.' starts PostgreSQL and runs these)"; \
    }                                                                                                    \
  } while (0)

// Parameterised by engine (kTestEngines): INSTANTIATE_TEST_SUITE_P(Engines, X, ::testing::ValuesIn(kTestEngines)).
class MetadataFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BERTH_SKIP_WITHOUT_ENGINE(GetParam());
    auto pool = database_.Open(GetParam(), dir_.path());
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
  TestDatabase database_;  // destroyed after the store and pool below
  std::atomic<int64_t> now_{1'700'000'000'000};
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace berth::metadata
