// berth: a container registry with a built-in token server, in one binary.
//   berth serve [--config FILE]          run the registry (CONFIG_PATH also names the file)
//   berth check-config FILE              validate a config file
//   berth hash-password [--cost N]       bcrypt a password (prompt without echo, or stdin)
//   berth acl explain --config FILE --user U --repo R [--action A]
//   berth verify [--config FILE]         check the store's consistency (read-only)
//   berth du [--config FILE] [--json]    storage used per repository (read-only)
//   berth db migrate|import|check [--config FILE]   the metadata database
//   berth token create --user U --name L [--scope S]... [--expires 90d] | token list [--user U] | token revoke ID
//   berth gc [--config FILE] [--dry-run] [--delete-untagged] [--json]   garbage collection
//   berth retention [--config FILE] [--dry-run] [--json]   the retention rules of policies:
//   berth events [--config FILE] [--json]   the webhook event queue's state
//   berth version
// This file only parses the command line; each command is a function in app/commands.h.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0-dev"
#endif

int main(int argc, char** argv) {
  using namespace berth;
  CLI::App app{"Berth: a container registry with built-in token auth, in one binary"};
  app.require_subcommand(1);

  std::string serve_config;
  auto* serve = app.add_subcommand("serve", "Run the registry");
  serve->add_option("-c,--config", serve_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a config file and exit non-zero if it is wrong");
  check->add_option("file", check_path, "Config file")->required();

  int cost = 10;
  auto* hash =
      app.add_subcommand("hash-password", "Read a password (no echo, or one line from stdin), print its bcrypt hash");
  hash->add_option("--cost", cost, "bcrypt cost (4-31)")->check(CLI::Range(4, 31));

  auto* acl = app.add_subcommand("acl", "ACL tools");
  acl->require_subcommand(1);
  app::AclQuery query;
  auto* explain = acl->add_subcommand("explain", "Show which ACL entry decides a request and what it grants");
  explain->add_option("--config", query.config_path, "Config file")->required();
  explain->add_option("--user", query.user, "Account (\"\" for anonymous)")->required();
  explain->add_option("--repo", query.repo, "Repository name, or 'catalog'")->required();
  explain->add_option("--action", query.action, "pull, push, delete or * (default: each of pull, push, delete)");
  explain->add_option("--ip", query.ip, "Client address, for ip conditions");
  explain->add_option("--service", query.service, "Service (default: auth.token.service)");
  explain->add_option("--group", query.groups, "A directory (LDAP) group the user is in (repeatable)");

  std::string store_config;
  bool du_json = false;
  auto* verify = app.add_subcommand("verify", "Check the store: re-hash every blob, check links, tags and manifests");
  verify->add_option("-c,--config", store_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");
  auto* du = app.add_subcommand("du", "Storage used per repository");
  du->add_option("-c,--config", store_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");
  du->add_flag("--json", du_json, "Print JSON");

  std::string db_config;
  auto* db = app.add_subcommand("db", "Metadata database tools");
  db->require_subcommand(1);
  auto* db_migrate = db->add_subcommand("migrate", "Apply pending schema migrations");
  auto* db_import = db->add_subcommand("import", "Fill the metadata database from the store (safe to run again)");
  auto* db_check = db->add_subcommand("check", "Compare the metadata database with the store (read-only)");
  for (auto* sub : {db_migrate, db_import, db_check}) {
    sub->add_option("-c,--config", db_config, "Config file (default: $CONFIG_PATH, else embedded defaults)");
  }

  app::TokenCommand token_cmd;
  auto* token = app.add_subcommand("token", "Personal access tokens (kept in the metadata database)");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create an access token and print it (once)");
  auto* token_list = token->add_subcommand("list", "List access tokens (never their secrets)");
  auto* token_revoke = token->add_subcommand("revoke", "Revoke an access token: refused at once");
  for (auto* sub : {token_create, token_list, token_revoke}) {
    sub->add_option("-c,--config", token_cmd.config_path,
                    "Config file (default: $CONFIG_PATH, else embedded defaults)");
  }
  token_create->add_option("--user", token_cmd.user, "The user (or robot) it logs in as")->required();
  token_create->add_option("--name", token_cmd.name, "A label for it")->required();
  token_create->add_option("--scope", token_cmd.scopes,
                           "Limit it to type:name-pattern:actions, e.g. 'repository:myorg/*:pull,push' (repeatable)");
  token_create->add_option("--expires", token_cmd.expires, "Lifetime: 90d (default), 12h, 30m, 45s or never");
  token_list->add_option("--user", token_cmd.user, "Only this user's tokens");
  token_revoke->add_option("id", token_cmd.id, "The token's id (from token list)")->required();

  app::GcCommand gc_command;
  auto* gc = app.add_subcommand("gc", "Garbage collection: remove unreferenced blobs and links (safe while serving)");
  gc->add_option("-c,--config", gc_command.config_path, "Config file (default: $CONFIG_PATH, else embedded defaults)");
  gc->add_flag("--dry-run", gc_command.dry_run, "List what would be removed; change nothing");
  gc->add_flag("--delete-untagged", gc_command.delete_untagged, "Also remove untagged manifests (past the grace)");
  gc->add_flag("--json", gc_command.json, "Print JSON");

  app::RetentionCommand retention_command;
  auto* retention =
      app.add_subcommand("retention", "Apply the retention rules of `policies:` (every tag: kept or removed, and why)");
  retention->add_option("-c,--config", retention_command.config_path,
                        "Config file (default: $CONFIG_PATH, else embedded defaults)");
  retention->add_flag("--dry-run", retention_command.dry_run, "Print the decisions; change nothing");
  retention->add_flag("--json", retention_command.json, "Print JSON");
  app::EventsCommand events_command;
  auto* events = app.add_subcommand("events", "Show the webhook event queue: pending events per endpoint (read-only)");
  events->add_option("-c,--config", events_command.config_path,
                     "Config file (default: $CONFIG_PATH, else embedded defaults)");
  events->add_flag("--json", events_command.json, "Print JSON");

  auto* version = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // verify/du/db: usage errors exit 2
    return rc != 0 && (verify->parsed() || du->parsed() || db->parsed() || gc->parsed() || retention->parsed() ||
                       events->parsed())
               ? 2
               : rc;
  }
  if (*verify) return app::Verify(store_config);
  if (*du) return app::DiskUsage(store_config, du_json);
  if (*gc) return app::Gc(gc_command);
  if (*retention) return app::Retention(retention_command);
  if (*events) return app::Events(events_command);
  if (*db_migrate) return app::DbMigrate(db_config);
  if (*db_import) return app::DbImport(db_config);
  if (*db_check) return app::DbCheck(db_config);
  if (*serve) return app::Serve(serve_config);
  if (*check) return app::CheckConfig(check_path);
  if (*hash) return app::HashPassword(cost);
  if (*explain) return app::AclExplain(query);
  if (*token_create) return app::TokenCreate(token_cmd);
  if (*token_list) return app::TokenList(token_cmd);
  if (*token_revoke) return app::TokenRevoke(token_cmd);
  if (*version) {
    std::cout << "berth " << BERTH_VERSION << "\n";
    return 0;
  }
  return 1;
}
