// Config: the YAML configuration model, its embedded defaults and validation.
// Unknown keys and wrong types are errors reported as "<file>:<line>:<col>: <what>".
//
// Plain data that the other layers read; config/ includes nothing of theirs
// (only util/). What only a layer can judge is checked by that layer from the
// positions kept here: auth/access_rules.h compiles `users` (bcrypt hashes)
// and `acl` (patterns) with the same kind of error message. Thread-safe once built.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/ip_range.h"
#include "util/status.h"

namespace berth::config {

// Where a value stands in the config file (1-based; line 0: unknown), for error messages.
struct SourcePos {
  int line = 0;
  int column = 0;
};

// InvalidArgument "<source>:<line>:<column>: <what>" ("<source>: <what>" when the line is unknown):
// the one format of every config error, whichever layer finds it.
Status ErrorAt(const std::string& source, SourcePos pos, const std::string& what);

struct TlsConfig {
  bool enabled = false;
  std::string certificate;
  std::string key;
  int64_t poll_interval = 2;             // seconds between checks of the files for changes; 0: reload only on SIGHUP
  std::string profile = "intermediate";  // intermediate | modern (TLS 1.3 only): http/tls_profile.h
  // Strict-Transport-Security, sent when Berth terminates TLS itself (max_age 0: not sent).
  int64_t hsts_max_age = 365LL * 24 * 3600;
  bool hsts_include_subdomains = false;
};

// Connection timeouts in seconds (see http::Timeouts for what each bounds).
struct TimeoutsConfig {
  int64_t header = 30;  // the whole request head, from its first byte (and the wait for it on a new connection)
  int64_t idle = 120;   // keep-alive wait for the next request
  int64_t read = 60;    // between two reads of a request body
  int64_t write = 120;  // between two writes of a response
};

struct MetricsConfig {
  bool enabled = true;     // GET /metrics on the main port
  bool is_public = false;  // YAML `public`: no credentials needed (otherwise registry:metrics:*)
};

struct ServerConfig {
  std::string addr = ":5000";
  std::string public_url;                     // how clients reach us, e.g. https://registry.example.com (token realm)
  std::vector<std::string> trusted_proxies;   // addresses/CIDRs whose X-Forwarded-* headers are believed
  std::vector<IpRange> trusted_proxy_ranges;  // the same, parsed
  TlsConfig tls;
  TimeoutsConfig timeouts;
  int64_t max_connections = 4096;        // more concurrent connections are closed on accept
  int64_t max_header_bytes = 64 * 1024;  // a larger request head gets 431
  // A second, unauthenticated plain-HTTP listener for /metrics, /healthz and /readyz
  // (bind it to localhost or an internal network). Empty: none.
  std::string debug_addr;
  MetricsConfig metrics;
  int64_t threads = 0;  // I/O threads; 0 = auto (cores for filesystem storage, 32 for s3)
};

struct TokenConfig {
  std::string service = "berth";  // JWT audience
  std::string issuer = "berth";
  std::string key;               // default: <storage root>/token-key.pem
  std::string key_type = "rsa";  // rsa (RS256, 2048 bits) | ec (ES256, P-256) for a new key
  int64_t expiration = 300;      // seconds
  int64_t refresh_expiration = 30LL * 24 * 3600;
  // Certificates (or private key files) of keys whose tokens are still accepted
  // but that never sign: the previous key after a rotation, the next key before one.
  std::vector<std::string> previous_keys;
  std::string bundle;     // the published certificates; default: next to the key, token-bundle.pem
  std::string jwks_file;  // the published JWKS; default: next to the key, token-jwks.json
};

// auth.ldap: users not in the YAML authenticate against a directory
// (auth/ldap/directory.h). Checked here: the shape, the url's scheme and the
// filters' placeholders; the filters' syntax and the password file are checked
// by auth/access_rules.h and the directory.
struct LdapConfig {
  bool enabled = false;            // auth.ldap present
  std::string url;                 // ldap://host[:389] or ldaps://host[:636]
  std::string bind_dn;             // the service account that searches
  std::string bind_password_file;  // its password (the first line; never in the YAML itself)
  std::string user_base;
  std::string user_filter = "(uid={username})";  // {username}: the login name, escaped (RFC 4515)
  // The user entry's attribute that must hold the login name exactly (case and
  // spaces included): directory matching ignores both, the account name must not.
  std::string username_attribute = "uid";
  std::string group_base;                      // empty: no group search (member_of, or no groups)
  std::string group_filter = "(member={dn})";  // {dn}: the user's DN, {username}: the login name, escaped
  std::string group_name_attribute = "cn";     // a group's name for `account: "@name"`
  std::string member_of;  // e.g. memberOf: read groups from this attribute of the user instead (first RDN value)
  bool start_tls = false;
  // ldap:// without start_tls: binds (the service account's and every user's
  // password) cross the network in cleartext. Refused unless this says so.
  bool insecure_plaintext = false;
  std::string ca_file;         // empty: the system CAs
  int64_t cache_seconds = 60;  // successful logins and their groups are remembered this long
  int64_t timeout_seconds = 5;
  SourcePos pos, user_filter_pos, group_filter_pos;
};

struct AuthConfig {
  std::string mode = "token";  // token | none (no authentication at all)
  TokenConfig token;
  LdapConfig ldap;
};

struct S3StorageConfig {
  std::string endpoint;  // empty: AWS, https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string bucket;
  std::string rootdirectory;
  std::string accesskey;  // empty: $AWS_ACCESS_KEY_ID
  std::string secretkey;  // empty: $AWS_SECRET_ACCESS_KEY; never logged
  bool forcepathstyle = false;
  int64_t chunksize = 16LL << 20;
};

// storage.metadata: where the metadata database lives (docs/metadata.md).
// Plain data; app/metadata_factory.h opens it.
struct MetadataConfig {
  std::string driver = "sqlite";  // sqlite (embedded, the default) | postgres (several replicas)
  // sqlite: the database file; empty: <storage.filesystem.rootdirectory>/metadata.db
  std::string path;
  // postgres (the password is a secret: never logged)
  std::string host = "127.0.0.1";
  int64_t port = 5432;
  std::string dbname = "berth";
  std::string user = "berth";
  std::string password;                 // or:
  std::string password_file;            // read at start; one trailing newline ignored
  std::string sslmode = "verify-full";  // disable | require | verify-full
  std::string ca_file;                  // verify-full: the CAs to trust; empty: the system's
  int64_t pool_size = 16;               // connections per replica
  int64_t connect_timeout_s = 5;
  int64_t statement_timeout_s = 30;
  SourcePos pos;  // of storage.metadata, for errors found when it is opened
};

struct StorageConfig {
  // Blob storage when s3 is off; with s3 still the local directory of the
  // auth bootstrap files (admin password, default token key).
  std::string filesystem_root = "./data";
  bool delete_enabled = true;
  bool s3_enabled = false;  // storage.s3 present (exclusive with storage.filesystem)
  S3StorageConfig s3;
  MetadataConfig metadata;
  bool redirect_enabled = false;  // GET blob answers 307 to a presigned URL when the driver has them
  // storage.maintenance.uploadpurging (distribution's keys and defaults):
  // uploads started more than `age` ago are removed every `interval`.
  bool upload_purging = true;
  int64_t upload_purge_age_s = 168 * 3600;
  int64_t upload_purge_interval_s = 24 * 3600;
  bool upload_purge_dry_run = false;
  // storage.gc (docs/gc.md): online garbage collection in `berth serve`, and
  // the defaults of `berth gc`. Off by default: deleting data is opted into.
  // The grace `delay` protects layers uploaded before their manifest (6 h:
  // longer than the slowest push; `berth gc` uses it too).
  bool gc_enabled = false;
  int64_t gc_interval_s = 3600;
  int64_t gc_delay_s = 6 * 3600;
  bool gc_delete_untagged = false;
};

struct LogConfig {
  std::string level = "info";   // debug | info | warn | error
  std::string format = "text";  // text | json
  bool accesslog = true;        // one line per request
};

// One entry of `users:`.
struct UserConfig {
  std::string name;        // 1-128 characters, no ':' or spaces
  std::string password;    // must be a bcrypt hash: auth/access_rules.h checks it
  SourcePos password_pos;  // of the password, or of the entry when it has none
  bool robot = false;      // `robot: true`: no password, logs in only with access tokens
};

// One entry of `groups:` (`developers: [alice, bob]`): ACL entries name it as
// `account: "@developers"`. Members need not be YAML users when auth.ldap is
// set (directory users may be listed too); auth/access_rules.h checks that.
struct GroupConfig {
  std::string name;                   // 1-128 characters, no control characters, no leading '@'
  std::vector<std::string> members;   // user names, in file order
  SourcePos pos;                      // of the group's name
  std::vector<SourcePos> member_pos;  // of each member
};

// One entry of `acl:` as written. Keys, type, ip and actions are checked here;
// the account, name and service patterns are compiled by auth/access_rules.h.
struct AclEntryConfig {
  std::optional<std::string> account;  // absent: any signed-in user; "": the anonymous user only; "@g": group g
  std::optional<std::string> name;
  std::optional<std::string> service;
  std::optional<std::string> type;  // "repository" | "registry"
  std::vector<IpRange> ips;         // empty: any address
  std::set<std::string> actions;    // of pull, push, delete, * ([] denies)
  std::string comment;
  int line = 0;  // where the entry starts (for acl explain)
  SourcePos account_pos, name_pos, service_pos;
};

// One entry of `proxy:` (docs/proxy.md): an upstream registry that Berth caches
// (pull-through). Plain data; src/proxy/ reads the password file and connects.
struct ProxyUpstreamConfig {
  std::string prefix;         // local repository prefix, ending in '/': "docker.io/"
  std::string url;            // http(s)://host[:port], no path: "https://registry-1.docker.io"
  std::string username;       // empty: anonymous
  std::string password;       // secret: never logged
  std::string password_file;  // or: read at start; one trailing newline ignored
  std::string ca_file;        // the CAs to trust for this upstream; empty: the system bundle
  int64_t tag_ttl_s = 300;    // how long a tag fetched from the upstream is served without asking it again
  bool mirror = false;        // also serves names without a proxied prefix that are not found locally (at most one)
  int64_t max_fills = 32;     // blob fetches from this upstream at once; a miss beyond it is 503 with Retry-After
  SourcePos pos;              // of the entry, for errors found when it is set up
};

// `ui:` (docs/ui.md): the web UI at / (on by default).
struct UiConfig {
  bool enabled = true;
  int64_t session_ttl_s = 12 * 3600;  // a UI session ends this long after sign-in
};

// One entry of `policies:` (docs/policies.md): retention, immutable tags and a
// quota for the repositories whose name matches `name` (the ACL's glob
// language; the first matching entry wins). The patterns are compiled by
// policy/policy_set.h, which reports their errors at the positions kept here.
struct RetentionConfig {
  std::vector<std::string> keep_tags;  // tag patterns always kept
  std::vector<SourcePos> keep_tags_pos;
  std::optional<int64_t> keep_last;             // the N most recently pushed of the others
  std::optional<int64_t> keep_pushed_within_s;  // pushed within this many seconds
  std::optional<int64_t> keep_pulled_within_s;  // pulled within this many seconds
};

struct PolicyConfig {
  std::string name;  // repository name pattern
  SourcePos name_pos;
  std::vector<std::string> immutable_tags;  // tag patterns
  std::vector<SourcePos> immutable_tags_pos;
  std::optional<RetentionConfig> retention;  // absent: keep everything
  std::optional<int64_t> quota_bytes;        // absent: no limit
  int line = 0;                              // where the entry starts
};

// One entry of `notifications.endpoints` (distribution's keys and defaults;
// docs/events.md). Plain data; src/events/ reads the secret file and delivers.
struct NotificationEndpointConfig {
  std::string name;  // unique; names the delivery cursor and the metrics label
  std::string url;   // http(s)://host[:port]/path
  // Sent with every request: name, values.
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;
  int64_t timeout_ms = 1000;  // one delivery attempt
  int64_t threshold = 10;     // failures in a row before backing off
  int64_t backoff_ms = 1000;  // the first back-off; doubles per failure after the threshold, up to 64x
  std::vector<std::string> ignored_media_types;  // ignoredmediatypes and ignore.mediatypes
  std::vector<std::string> ignored_actions;      // ignore.actions: push | pull | delete | mount
  std::string format = "distribution";           // distribution (the envelope) | cloudevents (CloudEvents 1.0 JSON)
  std::string secret_file;  // HMAC-SHA256 key for X-Berth-Signature; mode must deny group and others
  bool disabled = false;
  SourcePos pos;
};

// `notifications:` (docs/events.md): the durable event queue and its endpoints.
struct NotificationsConfig {
  // Where the queue's segments and cursors live (local disk, one per replica).
  // Empty: <storage.filesystem.rootdirectory>/_events (required with storage.s3).
  std::string queue_dir;
  int64_t max_queue_bytes = 1LL << 30;  // beyond it the oldest segment is dropped (logged, counted)
  // Pull events are appended without waiting for the disk; a background sync
  // makes them durable within this many milliseconds (what a crash can lose).
  int64_t pull_sync_ms = 1000;
  std::vector<NotificationEndpointConfig> endpoints;
  SourcePos pos;
};

struct Config {
  std::string source;  // what it was read from (the file path), for error messages
  ServerConfig server;
  StorageConfig storage;
  LogConfig log;
  AuthConfig auth;
  std::vector<UserConfig> users;           // in file order, names unique
  std::vector<GroupConfig> groups;         // in file order, names unique
  std::vector<AclEntryConfig> acl;         // in file order
  std::vector<ProxyUpstreamConfig> proxy;  // in file order; prefixes never overlap
  UiConfig ui;
  std::vector<PolicyConfig> policies;      // in file order (first match wins)
  NotificationsConfig notifications;
};

// "50GiB", "500MB", "1.5TiB", "1024" (bytes): SI units are powers of 1000, binary ones of 1024.
// InvalidArgument (without a position) when it is not a size or is over 2^62.
Result<int64_t> ParseSize(std::string_view text);
// "90d", "12h", "1d12h", "30m", "45s" to seconds (at least 1s, at most 100 years).
Result<int64_t> ParseDays(std::string_view text);
// A size for people: "49.9 GiB", "200 MiB", "512 B".
std::string FormatSize(int64_t bytes);

// Where the token key lives when auth.token.key is not set.
std::string TokenKeyPath(const Config& c);
// Where the accepted keys are published (auth.token.bundle / jwks_file, or next to the key).
std::string TokenBundlePath(const Config& c);
std::string TokenJwksPath(const Config& c);

// Where the SQLite metadata database lives (storage.metadata.path, or in the data directory).
std::string MetadataDbPath(const Config& c);

// Where the event queue lives (notifications.queue_dir, or in the data directory).
std::string EventQueueDir(const Config& c);

// The embedded default: listen on :5000, filesystem storage under ./data.
Config DefaultConfig();

// Parses YAML text; `source` names it in error messages (usually the file path).
Result<Config> ParseConfig(std::string_view yaml, const std::string& source);
Result<Config> LoadConfigFile(const std::string& path);

}  // namespace berth::config
