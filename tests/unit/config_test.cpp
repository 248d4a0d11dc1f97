#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.h"

namespace berth::config {
namespace {

Config Parse(const std::string& yaml) {
  auto c = ParseConfig(yaml, "source.yaml");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : Config{};
}

// Parses expecting an error; returns its message.
std::string Error(const std::string& yaml) {
  auto c = ParseConfig(yaml, "source.yaml");
  EXPECT_FALSE(c.ok()) << "accepted:\n" << yaml;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  return c.status().message();
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' lacks '" << (needle) << "'"

void ExpectDefaults(const Config& c) {
  EXPECT_EQ(c.server.addr, ":5000");
  EXPECT_FALSE(c.server.tls.enabled);
  EXPECT_EQ(c.server.tls.certificate, "");
  EXPECT_EQ(c.server.tls.key, "");
  EXPECT_EQ(c.storage.filesystem_root, "./data");
  EXPECT_TRUE(c.storage.delete_enabled);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_TRUE(c.log.accesslog);
}

TEST(ConfigTest, Defaults) { ExpectDefaults(DefaultConfig()); }

TEST(ConfigTest, EmptyDocumentMeansDefaults) {
  ExpectDefaults(Parse(""));
  ExpectDefaults(Parse("\n\n"));
  ExpectDefaults(Parse("# just a comment\n"));
  ExpectDefaults(Parse("---\n"));
  ExpectDefaults(Parse("~\n"));
}

TEST(ConfigTest, EmptySectionsMeanDefaults) {
  ExpectDefaults(Parse("server:\nstorage:\nlog:\n"));
  ExpectDefaults(Parse("server: {}\nstorage: {}\nlog: {}\n"));
  ExpectDefaults(Parse("version: 0.1\n"));
}

TEST(ConfigTest, ReadmeExample) {
  Config c = Parse(R"(server:
  addr: ":5000"                     # [host]:port; empty host = all interfaces
  tls: {enabled: false, certificate: "", key: ""}
storage:
  filesystem: {rootdirectory: "/data/registry"}
  delete: {enabled: true}
log: {level: info, format: text, accesslog: true}
)");
  EXPECT_EQ(c.server.addr, ":5000");
  EXPECT_FALSE(c.server.tls.enabled);
  EXPECT_EQ(c.storage.filesystem_root, "/data/registry");
  EXPECT_TRUE(c.storage.delete_enabled);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_TRUE(c.log.accesslog);
}

TEST(ConfigTest, FullExampleEveryKeyChanged) {
  Config c = Parse(R"(version: 0.1
server:
  addr: "127.0.0.1:5443"
  tls:
    enabled: true
    certificate: /etc/berth/cert.pem
    key: /etc/berth/key.pem
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: false
log:
  level: debug
  format: json
  accesslog: false
)");
  EXPECT_EQ(c.server.addr, "127.0.0.1:5443");
  EXPECT_TRUE(c.server.tls.enabled);
  EXPECT_EQ(c.server.tls.certificate, "/etc/berth/cert.pem");
  EXPECT_EQ(c.server.tls.key, "/etc/berth/key.pem");
  EXPECT_EQ(c.storage.filesystem_root, "/var/lib/registry");
  EXPECT_FALSE(c.storage.delete_enabled);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_FALSE(c.log.accesslog);
}

TEST(ConfigTest, PartialConfigKeepsOtherDefaults) {
  Config c = Parse("log:\n  level: warn\n");
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.server.addr, ":5000");
  EXPECT_EQ(c.storage.filesystem_root, "./data");
  Config d = Parse("storage:\n  delete:\n    enabled: no\n");
  EXPECT_FALSE(d.storage.delete_enabled);
  EXPECT_EQ(d.storage.filesystem_root, "./data");
}

TEST(ConfigTest, AcceptsListenAddressForms) {
  EXPECT_EQ(Parse("server:\n  addr: \"[::1]:5000\"\n").server.addr, "[::1]:5000");
  EXPECT_EQ(Parse("server:\n  addr: localhost:8080\n").server.addr, "localhost:8080");
  EXPECT_EQ(Parse("server:\n  addr: \":0\"\n").server.addr, ":0");
}

TEST(ConfigTest, AllLogLevels) {
  for (const char* level : {"debug", "info", "warn", "error"}) {
    EXPECT_EQ(Parse(std::string("log:\n  level: ") + level + "\n").log.level, level);
  }
}

TEST(ConfigTest, UnknownTopLevelKey) {
  std::string e = Error("server:\n  addr: \":5000\"\nstorage:\n  delete: {enabled: true}\nfoo: 1\n");
  EXPECT_CONTAINS(e, "source.yaml:5:1");
  EXPECT_CONTAINS(e, "'foo'");
}

TEST(ConfigTest, UnknownTopLevelKeyFirstLine) {
  std::string e = Error("bogus: true\n");
  EXPECT_CONTAINS(e, "source.yaml:1:1:");
  EXPECT_CONTAINS(e, "bogus");
}

TEST(ConfigTest, UnknownNestedKey) {
  std::string e = Error("server:\n  adr: \":5000\"\n");
  EXPECT_CONTAINS(e, "source.yaml:2:3");
  EXPECT_CONTAINS(e, "'adr'");
  EXPECT_CONTAINS(e, "server");
  EXPECT_CONTAINS(e, "addr");  // the expected keys are listed
}

TEST(ConfigTest, UnknownDeeplyNestedKeys) {
  std::string tls = Error("server:\n  tls:\n    enable: true\n");
  EXPECT_CONTAINS(tls, "source.yaml:3:5");
  EXPECT_CONTAINS(tls, "'enable'");
  std::string fs = Error("storage:\n  filesystem:\n    root: /x\n");
  EXPECT_CONTAINS(fs, "source.yaml:3:5");
  EXPECT_CONTAINS(fs, "'root'");
  std::string st = Error("storage:\n  swift: {}\n");
  EXPECT_CONTAINS(st, "source.yaml:2:3");
  std::string lg = Error("log:\n  level: info\n  colour: true\n");
  EXPECT_CONTAINS(lg, "source.yaml:3:3");
  EXPECT_CONTAINS(lg, "'colour'");
  std::string del = Error("storage:\n  delete: {enabled: true, force: true}\n");
  EXPECT_CONTAINS(del, "source.yaml:2:");
  EXPECT_CONTAINS(del, "'force'");
}

TEST(ConfigTest, WrongBoolType) {
  std::string e = Error("storage:\n  delete:\n    enabled: \"maybe\"\n");
  EXPECT_CONTAINS(e, "source.yaml:3:");
  EXPECT_CONTAINS(e, "storage.delete.enabled");
  std::string f = Error("log:\n  accesslog: sometimes\n");
  EXPECT_CONTAINS(f, "source.yaml:2:");
  EXPECT_CONTAINS(f, "log.accesslog");
  std::string g = Error("server:\n  tls:\n    enabled: [true]\n");
  EXPECT_CONTAINS(g, "source.yaml:3:");
  EXPECT_CONTAINS(g, "server.tls.enabled");
}

TEST(ConfigTest, WrongStringType) {
  std::string e = Error("log:\n  level: [debug]\n");
  EXPECT_CONTAINS(e, "source.yaml:2:");
  EXPECT_CONTAINS(e, "log.level");
  std::string f = Error("storage:\n  filesystem:\n    rootdirectory: {a: b}\n");
  EXPECT_CONTAINS(f, "source.yaml:3:");
  EXPECT_CONTAINS(f, "rootdirectory");
}

TEST(ConfigTest, SectionsMustBeMappings) {
  std::string e = Error("server: \":5000\"\n");
  EXPECT_CONTAINS(e, "source.yaml:1:");
  EXPECT_CONTAINS(e, "server");
  std::string f = Error("log:\n  - info\n");
  EXPECT_CONTAINS(f, "source.yaml:2:");
  EXPECT_CONTAINS(f, "log");
  std::string g = Error("storage:\n  delete: true\n");
  EXPECT_CONTAINS(g, "source.yaml:2:");
  EXPECT_CONTAINS(g, "storage.delete");
}

TEST(ConfigTest, TopLevelMustBeMapping) {
  EXPECT_CONTAINS(Error("- a\n- b\n"), "source.yaml:1:1");
  EXPECT_CONTAINS(Error("just a string\n"), "source.yaml:1:1");
}

TEST(ConfigTest, InvalidLogLevelAndFormat) {
  std::string e = Error("log:\n  level: verbose\n");
  EXPECT_CONTAINS(e, "source.yaml:2:");
  EXPECT_CONTAINS(e, "verbose");
  EXPECT_CONTAINS(e, "level");
  EXPECT_CONTAINS(Error("log:\n  level: INFO\n"), "INFO");
  EXPECT_CONTAINS(Error("log:\n  level: \"\"\n"), "level");
  std::string f = Error("log:\n  format: xml\n");
  EXPECT_CONTAINS(f, "source.yaml:2:");
  EXPECT_CONTAINS(f, "xml");
}

TEST(ConfigTest, TlsEnabledNeedsCertificateAndKey) {
  std::string e = Error("server:\n  tls:\n    enabled: true\n");
  EXPECT_CONTAINS(e, "source.yaml:");
  EXPECT_CONTAINS(e, "certificate");
  EXPECT_CONTAINS(Error("server:\n  tls:\n    enabled: true\n    certificate: /c.pem\n"), "key");
  EXPECT_CONTAINS(Error("server:\n  tls:\n    enabled: true\n    key: /k.pem\n"), "certificate");
  EXPECT_CONTAINS(Error("server:\n  tls: {enabled: true, certificate: \"\", key: /k.pem}\n"), "source.yaml:2:");
  // Disabled TLS needs neither.
  Config c = Parse("server:\n  tls:\n    enabled: false\n    certificate: /c.pem\n");
  EXPECT_FALSE(c.server.tls.enabled);
  EXPECT_EQ(c.server.tls.certificate, "/c.pem");
}

TEST(ConfigTest, ServerLimitsAndTimeouts) {
  Config d = Parse("");
  EXPECT_EQ(d.server.timeouts.header, 30);
  EXPECT_EQ(d.server.timeouts.idle, 120);
  EXPECT_EQ(d.server.timeouts.read, 60);
  EXPECT_EQ(d.server.timeouts.write, 120);
  EXPECT_EQ(d.server.max_connections, 4096);
  EXPECT_EQ(d.server.max_header_bytes, 65536);
  EXPECT_EQ(d.server.tls.poll_interval, 2);
  Config c = Parse(
      "server:\n  timeouts: {header: 5, idle: 6, read: 7, write: 8}\n  max_connections: 10\n"
      "  max_header_bytes: 8192\n  tls: {poll_interval: 0}\n");
  EXPECT_EQ(c.server.timeouts.header, 5);
  EXPECT_EQ(c.server.timeouts.idle, 6);
  EXPECT_EQ(c.server.timeouts.read, 7);
  EXPECT_EQ(c.server.timeouts.write, 8);
  EXPECT_EQ(c.server.max_connections, 10);
  EXPECT_EQ(c.server.max_header_bytes, 8192);
  EXPECT_EQ(c.server.tls.poll_interval, 0);
  EXPECT_CONTAINS(Error("server:\n  timeouts: {header: 0}\n"), "server.timeouts.header");
  EXPECT_CONTAINS(Error("server:\n  timeouts: {body: 3}\n"), "'body'");
  EXPECT_CONTAINS(Error("server:\n  max_connections: 0\n"), "server.max_connections");
  EXPECT_CONTAINS(Error("server:\n  max_header_bytes: 100\n"), "server.max_header_bytes");
  EXPECT_CONTAINS(Error("server:\n  tls: {poll_interval: -1}\n"), "server.tls.poll_interval");
}

TEST(ConfigTest, UploadPurging) {
  Config d = Parse("");
  EXPECT_TRUE(d.storage.upload_purging);  // distribution's defaults
  EXPECT_EQ(d.storage.upload_purge_age_s, 168 * 3600);
  EXPECT_EQ(d.storage.upload_purge_interval_s, 24 * 3600);
  EXPECT_FALSE(d.storage.upload_purge_dry_run);
  Config c =
      Parse("storage:\n  maintenance:\n    uploadpurging: {enabled: true, age: 1h30m, interval: 90s, dryrun: true}\n");
  EXPECT_EQ(c.storage.upload_purge_age_s, 5400);
  EXPECT_EQ(c.storage.upload_purge_interval_s, 90);
  EXPECT_TRUE(c.storage.upload_purge_dry_run);
  EXPECT_FALSE(Parse("storage:\n  maintenance:\n    uploadpurging: {enabled: false}\n").storage.upload_purging);
  for (const char* bad : {"1d", "0s", "h", "10", "-5m", "1.5h", "5m3", "\"\""}) {
    std::string e = Error(std::string("storage:\n  maintenance:\n    uploadpurging: {age: ") + bad + "}\n");
    EXPECT_CONTAINS(e, "storage.maintenance.uploadpurging.age must be a duration");
    EXPECT_CONTAINS(e, "source.yaml:3:");
  }
  EXPECT_CONTAINS(Error("storage:\n  maintenance:\n    readonly: {enabled: true}\n"), "'readonly'");
}

TEST(ConfigTest, StorageGc) {
  Config d = Parse("");
  EXPECT_FALSE(d.storage.gc_enabled);  // deleting data is opted into
  EXPECT_EQ(d.storage.gc_interval_s, 3600);
  EXPECT_EQ(d.storage.gc_delay_s, 6 * 3600);
  EXPECT_FALSE(d.storage.gc_delete_untagged);
  Config c = Parse("storage:\n  gc: {enabled: true, interval: 10m, delay: 1s, delete_untagged: true}\n");
  EXPECT_TRUE(c.storage.gc_enabled);
  EXPECT_EQ(c.storage.gc_interval_s, 600);
  EXPECT_EQ(c.storage.gc_delay_s, 1);
  EXPECT_TRUE(c.storage.gc_delete_untagged);
  EXPECT_CONTAINS(Error("storage:\n  gc: {delay: 1d}\n"), "storage.gc.delay must be a duration");
  EXPECT_CONTAINS(Error("storage:\n  gc: {enable: true}\n"), "'enable'");
}

TEST(ConfigTest, BadServerAddr) {
  std::string e = Error("server:\n  addr: host.example:80\n");
  EXPECT_CONTAINS(e, "source.yaml:2:9");
  EXPECT_CONTAINS(e, "server.addr");
  EXPECT_CONTAINS(Error("server:\n  addr: \"5000\"\n"), "server.addr");
  EXPECT_CONTAINS(Error("server:\n  addr: \":99999\"\n"), "server.addr");
  EXPECT_CONTAINS(Error("server:\n  addr: \"\"\n"), "server.addr");
  EXPECT_CONTAINS(Error("server:\n  addr: 5000\n"), "source.yaml:2:");
}

TEST(ConfigTest, EmptyRootDirectory) {
  std::string e = Error("storage:\n  filesystem:\n    rootdirectory: \"\"\n");
  EXPECT_CONTAINS(e, "source.yaml:");
  EXPECT_CONTAINS(e, "rootdirectory");
}

TEST(ConfigTest, MalformedYaml) {
  std::string e = Error("server:\n  addr: \":5000\"\n   bad indentation: [\n");
  EXPECT_CONTAINS(e, "source.yaml:");
  std::string f = Error("server: {addr: \":5000\"\nlog: {}\n");
  EXPECT_CONTAINS(f, "source.yaml:");
  std::string g = Error("log:\n  level: \"unterminated\n");
  EXPECT_CONTAINS(g, "source.yaml:");
  std::string h = Error("a: b\n\tc: d\n");
  EXPECT_CONTAINS(h, "source.yaml:");
}

TEST(ConfigTest, MalformedYamlNamesTheLine) {
  // A tab where indentation is expected on line 3.
  std::string e = Error("log:\n  level: info\n  format: [text\n");
  EXPECT_TRUE(e.find("source.yaml:3:") != std::string::npos || e.find("source.yaml:4:") != std::string::npos) << e;
  std::string f = Error("server:\n  addr: \":5000\"\nstorage: ]\n");
  EXPECT_CONTAINS(f, "source.yaml:3:");
}

class ConfigFileTest : public ::testing::Test {
 protected:
  testing_util::TempDir tmp_{"berth-config"};
  const std::string dir_ = tmp_.path();
};

TEST_F(ConfigFileTest, MissingFile) {
  auto c = LoadConfigFile(dir_ + "/missing.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_CONTAINS(c.status().message(), dir_ + "/missing.yaml");
}

TEST_F(ConfigFileTest, LoadsFile) {
  const std::string path = dir_ + "/config.yaml";
  std::ofstream(path) << "storage:\n  filesystem:\n    rootdirectory: /srv/registry\n";
  auto c = LoadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->storage.filesystem_root, "/srv/registry");
  EXPECT_EQ(c->server.addr, ":5000");
}

TEST_F(ConfigFileTest, ErrorsNameTheFile) {
  const std::string path = dir_ + "/bad.yaml";
  std::ofstream(path) << "log:\n  level: info\n  nope: 1\n";
  auto c = LoadConfigFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_CONTAINS(c.status().message(), path + ":3:3");
  EXPECT_CONTAINS(c.status().message(), "nope");
}

TEST_F(ConfigFileTest, EmptyFileMeansDefaults) {
  const std::string path = dir_ + "/empty.yaml";
  std::ofstream(path) << "";
  auto c = LoadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectDefaults(*c);
}

}  // namespace
}  // namespace berth::config

namespace berth::config {
namespace {

TEST(ConfigS3Test, FullSection) {
  Config c = Parse(R"(
server: {threads: 48}
storage:
  s3:
    endpoint: "http://127.0.0.1:7480/"
    region: eu-west-1
    bucket: registry
    rootdirectory: /berth
    accesskey: AK
    secretkey: SK
    forcepathstyle: true
    chunksize: 8388608
  redirect: {enabled: true}
)");
  EXPECT_TRUE(c.storage.s3_enabled);
  EXPECT_EQ(c.storage.s3.endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(c.storage.s3.region, "eu-west-1");
  EXPECT_EQ(c.storage.s3.bucket, "registry");
  EXPECT_EQ(c.storage.s3.rootdirectory, "/berth");
  EXPECT_EQ(c.storage.s3.accesskey, "AK");
  EXPECT_EQ(c.storage.s3.secretkey, "SK");
  EXPECT_TRUE(c.storage.s3.forcepathstyle);
  EXPECT_EQ(c.storage.s3.chunksize, 8388608);
  EXPECT_TRUE(c.storage.redirect_enabled);
  EXPECT_EQ(c.server.threads, 48);
}

TEST(ConfigS3Test, DefaultsAndAws) {
  Config c = Parse("storage: {s3: {bucket: my.bucket-1}}");
  EXPECT_TRUE(c.storage.s3_enabled);
  EXPECT_EQ(c.storage.s3.endpoint, "");
  EXPECT_EQ(c.storage.s3.region, "us-east-1");
  EXPECT_EQ(c.storage.s3.chunksize, 16 << 20);
  EXPECT_FALSE(c.storage.s3.forcepathstyle);
  EXPECT_FALSE(c.storage.redirect_enabled);
  EXPECT_EQ(c.server.threads, 0);
  EXPECT_FALSE(Parse("").storage.s3_enabled);
}

TEST(ConfigS3Test, Rejects) {
  EXPECT_CONTAINS(Error("storage: {filesystem: {rootdirectory: /d}, s3: {bucket: abc}}"), "exclusive");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: abc, chunksize: 1048576}}"), "chunksize");
  EXPECT_CONTAINS(Error("storage: {s3: {region: x}}"), "bucket");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: Upper_Case}}"), "bucket");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: ab}}"), "bucket");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: abc, endpoint: ftp://x}}"), "endpoint");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: abc, endpoint: http://x/path}}"), "endpoint");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: abc, rootdirectory: relative}}"), "rootdirectory");
  EXPECT_CONTAINS(Error("storage: {s3: {bucket: abc, secret: x}}"), "unknown key 'secret'");
  EXPECT_CONTAINS(Error("storage: {redirect: {enabled: maybe}}"), "redirect");
  EXPECT_CONTAINS(Error("server: {threads: -1}"), "threads");
}

}  // namespace
}  // namespace berth::config

namespace berth::config {
namespace {

TEST(ConfigMetadataTest, DefaultIsSqliteInTheDataDirectory) {
  Config c = Parse("");
  EXPECT_EQ(c.storage.metadata.driver, "sqlite");
  EXPECT_EQ(MetadataDbPath(c), "./data/metadata.db");
  EXPECT_EQ(MetadataDbPath(Parse("storage: {filesystem: {rootdirectory: /srv/reg/}}")), "/srv/reg/metadata.db");
  EXPECT_EQ(MetadataDbPath(Parse("storage: {metadata: {path: /var/lib/berth/md.db}}")), "/var/lib/berth/md.db");
}

TEST(ConfigMetadataTest, Postgres) {
  Config c = Parse(R"(
storage:
  metadata:
    driver: postgres
    host: db.internal
    port: 5433
    dbname: reg
    user: berth_app
    password_file: /run/secrets/pg
    sslmode: require
    ca_file: /etc/ssl/pg-ca.pem
    pool_size: 8
    connect_timeout: 3s
    statement_timeout: 1m
)");
  const MetadataConfig& m = c.storage.metadata;
  EXPECT_EQ(m.driver, "postgres");
  EXPECT_EQ(m.host, "db.internal");
  EXPECT_EQ(m.port, 5433);
  EXPECT_EQ(m.dbname, "reg");
  EXPECT_EQ(m.user, "berth_app");
  EXPECT_EQ(m.password_file, "/run/secrets/pg");
  EXPECT_EQ(m.sslmode, "require");
  EXPECT_EQ(m.ca_file, "/etc/ssl/pg-ca.pem");
  EXPECT_EQ(m.pool_size, 8);
  EXPECT_EQ(m.connect_timeout_s, 3);
  EXPECT_EQ(m.statement_timeout_s, 60);
}

TEST(ConfigMetadataTest, Rejects) {
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: mysql}}"), "'mysql' is not a valid value for driver");
  EXPECT_CONTAINS(Error("storage: {metadata: {host: db}}"), "storage.metadata.host is a postgres setting");
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: postgres, path: /x.db}}"), "path is a sqlite setting");
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: postgres, sslmode: prefer}}"), "sslmode");
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: postgres, port: 0}}"), "port");
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: postgres, password: a, password_file: b}}"), "exclusive");
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: postgres, pool_size: 0}}"), "pool_size");
  EXPECT_CONTAINS(Error("storage: {metadata: {driver: postgres, dsn: x}}"), "unknown key 'dsn'");
  EXPECT_CONTAINS(Error("storage: {metadata: {path: ''}}"), "path must not be empty");
  // Errors carry file:line:column.
  EXPECT_CONTAINS(Error("storage:\n  metadata:\n    driver: postgres\n    port: x\n"), "source.yaml:4:11");
}

}  // namespace
}  // namespace berth::config
