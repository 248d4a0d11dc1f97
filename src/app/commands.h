// The berth commands, one function each; main.cpp parses the command line
// (CLI11) and calls them. Each returns the process exit code and writes its
// own output (stdout for results, stderr for errors).
#pragma once

#include <string>
#include <vector>

namespace berth::config {
struct Config;
}
namespace berth::storage {
class StorageDriver;
}

namespace berth::app {

// berth serve: run the registry until SIGINT/SIGTERM (app/serve.cpp). 0 after a
// clean stop, 2 for a config error, 1 when the storage, the token key, the
// users or the listeners cannot be set up.
int Serve(std::string config_path);

// berth check-config FILE: 0 and a summary when valid, 1 and the error otherwise.
int CheckConfig(const std::string& path);

// berth hash-password: reads a password (app/password_prompt.h) and prints its bcrypt hash.
int HashPassword(int cost);

// berth acl explain: which ACL entry decides each action for a user, repository
// and address, and what it grants. 0 when something is granted.
struct AclQuery {
  std::string config_path;
  std::string user;    // "" is the anonymous user
  std::string repo;    // a repository name, or "catalog"
  std::string action;  // empty: each of pull, push, delete ("*" for the catalog)
  std::string ip;
  std::string service;              // empty: auth.token.service
  std::vector<std::string> groups;  // directory groups to assume the user has (the YAML's are known)
};
int AclExplain(const AclQuery& query);

// berth verify / berth du: read-only, so they may run next to `serve`. verify
// exits 0 clean, 1 with problems; both exit 2 for a config or storage error.
// verify also compares the metadata database with the store when there is one
// (CheckMetadataDatabase below); its exit code is the worse of the two.
int Verify(std::string config_path);
int DiskUsage(std::string config_path, bool json);

// berth gc (app/gc_command.cpp): one garbage collection run (docs/gc.md),
// safe next to `berth serve`; prints what it removes and the totals. 0 on
// success, 1 when it could not run or stopped (another collector holds the
// lease, database or storage error), 2 for a config error.
struct GcCommand {
  std::string config_path;
  bool dry_run = false;
  bool delete_untagged = false;  // also set by storage.gc.delete_untagged
  bool json = false;
};
int Gc(const GcCommand& command);

// berth retention (app/retention_command.cpp): the retention pass of
// `policies:` (docs/policies.md), safe next to `berth serve`; prints every tag
// of every governed repository, kept or removed, with the rule that decided,
// and the manifests removed with them. 0 on success, 1 when it could not run,
// 2 for a config error. (GC then frees their data.)
struct RetentionCommand {
  std::string config_path;
  bool dry_run = false;
  bool json = false;
};
int Retention(const RetentionCommand& command);

// berth db (app/db_commands.cpp). Each exits 2 for a config or usage error.
// migrate: applies pending schema migrations, prints the versions from -> to;
//   0 (also when nothing was pending), 1 when the database cannot be opened or migrated.
int DbMigrate(std::string config_path);
// import: fills the database from the store (progress on stderr, a summary on
//   stdout); idempotent, so an interrupted import is run again. 0, or 1 on failure.
int DbImport(std::string config_path);
// check: compares database and store, one line per finding; 0 clean, 1 with
//   findings, 2 when the check could not run (no database, unreachable, wrong schema).
int DbCheck(std::string config_path);

// The check `db check` and `verify` share, on an opened config and store.
// `optional`: a missing SQLite file is reported and counts as clean (verify on a
// store that has no database yet) instead of exit 2. Never creates or migrates the database.
int CheckMetadataDatabase(const config::Config& cfg, storage::StorageDriver& store, bool optional);

// berth events (app/events_command.cpp): the webhook event queue's state
// (docs/events.md), read-only. 0, 1 when there is no queue, 2 for a config error.
struct EventsCommand {
  std::string config_path;
  bool json = false;
};
int Events(const EventsCommand& command);

// berth token create|list|revoke: personal access tokens in the metadata
// database (auth/token_store.h), which they may change while `serve` runs.
// 0 done, 1 refused (unknown user or id, bad scope), 2 config or database error.
struct TokenCommand {
  std::string config_path;          // empty: $CONFIG_PATH, else the embedded defaults
  std::string user;                 // create: required; list: only this user's
  std::string name;                 // create: the token's label
  std::vector<std::string> scopes;  // create: type:name-pattern:actions; none = the user's whole ACL
  std::string expires;              // create: "90d", "12h", "30m", "never" (default 90d)
  std::string id;                   // revoke
};
int TokenCreate(TokenCommand command);
int TokenList(TokenCommand command);
int TokenRevoke(TokenCommand command);

}  // namespace berth::app
