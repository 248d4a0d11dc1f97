#!/usr/bin/env bash
# `berth db migrate | import | check` and the database check of `berth verify`
# on a store written by a running Berth: versions printed, an idempotent import
# with progress and counts, exit codes 0 / 1 / 2, a difference on either side
# (a tag removed from the store, a row deleted from the database) reported, and
# a locked or corrupt SQLite file refused with a clear error and left untouched.
#
# DB_COMMANDS_ENGINE=postgres (ctest pg.db_commands, with the pg fixture's
# BERTH_TEST_PG_*): the same commands on PostgreSQL, in a schema of the test's
# own (role berth_md5's default schema), and an unreachable server.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
ENGINE=${DB_COMMANDS_ENGINE:-sqlite}
if [[ $ENGINE == postgres ]]; then
  [[ -n ${BERTH_TEST_PG_PORT:-} ]] || fail "DB_COMMANDS_ENGINE=postgres needs the pg fixture (ctest -R '^pg\.')"
  command -v psql >/dev/null || fail "needs psql (postgresql-client)"
else
  command -v sqlite3 >/dev/null || skip "needs the sqlite3 CLI (apt-get install sqlite3)"
fi

DATA=$E2E_DIR/data
start_registry "$DATA"

push_blob() {  # REPO FILE
  local loc
  loc=$(curl -sS -D - -o /dev/null -X POST "http://$REG/v2/$1/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  assert_quiet_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$2" \
    "http://$REG$loc?digest=$(sha256_file "$2")")" 201 "push $(basename "$2") to $1"
}
push_manifest() {  # REPO REF FILE
  assert_quiet_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$3" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/$1/manifests/$2")" 201 \
    "push manifest $1:$2"
}
image() {  # NAME: a config, the shared layer and a manifest naming both, in $E2E_DIR/NAME.*
  printf '{"architecture":"amd64","os":"linux","name":"%s"}' "$1" >"$E2E_DIR/$1.config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "$(sha256_file "$E2E_DIR/$1.config")" "$(stat -c %s "$E2E_DIR/$1.config")" \
    "$(sha256_file "$E2E_DIR/layer")" "$(stat -c %s "$E2E_DIR/layer")" >"$E2E_DIR/$1.manifest"
}

head -c 200000 /dev/urandom >"$E2E_DIR/layer"
image a
image b
for repo in team/a team/b; do push_blob "$repo" "$E2E_DIR/layer"; done
push_blob team/a "$E2E_DIR/a.config"
push_blob team/b "$E2E_DIR/b.config"
push_manifest team/a v1 "$E2E_DIR/a.manifest"
push_manifest team/a v2 "$E2E_DIR/a.manifest"
push_manifest team/b latest "$E2E_DIR/b.manifest"
stop_registry

run() {  # OUT_VAR RC_VAR CMD...: stdout+stderr and the exit code
  local -n _out=$1 _rc=$2
  shift 2
  set +e
  _out=$("$@" 2>&1)
  _rc=$?
  set -e
}

if [[ $ENGINE == postgres ]]; then
  # Role berth_md5's default search_path starts with a schema named after it:
  # Berth's tables go there, apart from everything else on the shared server.
  PG_ROLE=berth_md5
  pg() { PGPASSWORD=berth psql -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$BERTH_TEST_PG_PORT" -U "$PG_ROLE" -d berth -c "$1"; }
  pg "DROP SCHEMA IF EXISTS $PG_ROLE CASCADE; CREATE SCHEMA $PG_ROLE"
  pg_config() {  # FILE PORT
    cat >"$1" <<EOF
storage:
  filesystem: {rootdirectory: "$DATA"}
  metadata: {driver: postgres, host: 127.0.0.1, port: $2, dbname: berth, user: $PG_ROLE, password: berth, sslmode: disable, connect_timeout: 2s}
auth: {mode: none}
EOF
  }
  CFG=$E2E_DIR/pg.yml
  pg_config "$CFG" "$BERTH_TEST_PG_PORT"
  WHERE="postgres://$PG_ROLE@127.0.0.1:$BERTH_TEST_PG_PORT/berth sslmode=disable"

  run out rc "$BERTH_BIN" db migrate --config "$CFG"
  assert_eq "$rc" 0 "db migrate on PostgreSQL: exit 0 ($out)"
  assert_match "$out" "metadata database $WHERE: schema version 0 -> [1-9][0-9]* \\(applied" "first migrate applies"
  assert_eq "$(pg "SELECT count(*) FROM $PG_ROLE.schema_migrations")" "$(pg "SELECT count(*) FROM schema_migrations")" \
    "the tables are in the test's schema"
  run out rc "$BERTH_BIN" db migrate --config "$CFG"
  assert_match "$out" "\\(up to date, nothing applied\\)" "second migrate is a no-op"
  run out rc "$BERTH_BIN" db import --config "$CFG"
  assert_eq "$rc" 0 "db import: exit 0 ($out)"
  assert_match "$out" "imported 5 blobs, 2 repositories, 4 layer links, 2 manifests, 3 tags, 0 skipped" "import counts"
  run out rc "$BERTH_BIN" db import --config "$CFG"
  assert_eq "$rc" 0 "second db import: exit 0"
  assert_eq "$(pg "SELECT count(*) FROM tags")" 3 "no duplicate rows after two imports"
  run out rc "$BERTH_BIN" db check --config "$CFG"
  assert_eq "$rc" 0 "db check: exit 0 ($out)"
  assert_match "$out" "compared 2 repositories, 2 manifests, 3 tags, 4 layer links, 5 blobs: OK" "db check summary"
  run out rc "$BERTH_BIN" verify --config "$CFG"
  assert_eq "$rc" 0 "verify with the PostgreSQL database: exit 0 ($out)"
  assert_match "$out" "checking metadata database $WHERE" "verify checks the configured database"
  pg "DELETE FROM tags WHERE name = 'latest'"
  run out rc "$BERTH_BIN" db check --config "$CFG"
  assert_eq "$rc" 1 "db check with a row deleted: exit 1"
  assert_match "$out" "tag-missing-in-db team/b latest" "the finding names the tag"
  tags=$DATA/docker/registry/v2/repositories/team/a/_manifests/tags
  mv "$tags/v2" "$E2E_DIR/v2.saved"
  run out rc "$BERTH_BIN" db check --config "$CFG"
  assert_match "$out" "tag-missing-in-store team/a v2" "a tag missing in the store too"
  mv "$E2E_DIR/v2.saved" "$tags/v2"
  run out rc "$BERTH_BIN" db import --config "$CFG"
  run out rc "$BERTH_BIN" db check --config "$CFG"
  assert_eq "$rc" 0 "clean again after the import ($out)"

  # A server that does not answer: check cannot run (2), migrate and import fail (1), verify 2.
  pg_config "$E2E_DIR/down.yml" "$(free_port)"
  for cmd in "db check:2" "db migrate:1" "db import:1" "verify:2"; do
    # shellcheck disable=SC2086 # the command's words
    run out rc "$BERTH_BIN" ${cmd%:*} --config "$E2E_DIR/down.yml"
    assert_eq "$rc" "${cmd#*:}" "${cmd%:*} with PostgreSQL down: exit ${cmd#*:}"
    assert_match "$out" "cannot connect" "${cmd%:*} says it cannot connect"
  done
  pg "DROP SCHEMA $PG_ROLE CASCADE"
  exit 0
fi

# The tools' config: the same store, the database in a file of this test (so
# that whether `serve` keeps one of its own does not matter here).
DB=$E2E_DIR/meta/metadata.db
tools_config() {  # FILE DBPATH
  cat >"$1" <<EOF
storage:
  filesystem: {rootdirectory: "$DATA"}
  metadata: {driver: sqlite, path: "$2"}
auth: {mode: none}
EOF
}
CFG=$E2E_DIR/tools.yml
tools_config "$CFG" "$DB"

# ---- no database yet ----
run out rc "$BERTH_BIN" verify --config "$CFG"
assert_eq "$rc" 0 "verify without a metadata database: exit 0 ($out)"
assert_match "$out" "metadata database: none at $DB \\(not checked\\)" "verify says the database was not checked"
run out rc "$BERTH_BIN" db check --config "$CFG"
assert_eq "$rc" 2 "db check without a database: exit 2"
assert_match "$out" "no metadata database at $DB" "db check names the missing file"
[[ ! -e $DB ]] || fail "verify or db check created $DB"
ok "verify and db check never create the database"

# ---- migrate: from -> to, then a no-op ----
run out rc "$BERTH_BIN" db migrate --config "$CFG"
assert_eq "$rc" 0 "db migrate: exit 0 ($out)"
assert_match "$out" "metadata database sqlite $DB: schema version 0 -> [1-9][0-9]* \\(applied [1-9]" "first migrate applies"
version=$(sed -n 's/.*schema version 0 -> \([0-9]*\).*/\1/p' <<<"$out")
migrations=$(sqlite3 "$DB" 'SELECT count(*) FROM schema_migrations')
run out rc "$BERTH_BIN" db migrate --config "$CFG"
assert_eq "$rc" 0 "second db migrate: exit 0"
assert_match "$out" "schema version $version -> $version \\(up to date, nothing applied\\)" "second migrate is a no-op"
assert_eq "$(sqlite3 "$DB" 'SELECT count(*) FROM schema_migrations')" "$migrations" "no migration row added"

# ---- import, twice ----
set +e
"$BERTH_BIN" db import --config "$CFG" >"$E2E_DIR/import.out" 2>"$E2E_DIR/import.err"
rc=$?
set -e
assert_eq "$rc" 0 "db import: exit 0 ($(cat "$E2E_DIR/import.err"))"
assert_match "$(cat "$E2E_DIR/import.err")" "importing .* into sqlite $DB" "import says what it imports (stderr)"
assert_match "$(cat "$E2E_DIR/import.err")" "import: [0-9]+ blobs, [0-9]+ repositories" "a progress line with counts (stderr)"
summary="imported 5 blobs, 2 repositories, 4 layer links, 2 manifests, 3 tags, 0 skipped"
assert_match "$(cat "$E2E_DIR/import.out")" "^$summary in [0-9]+ ms" "import summary counts"
run out rc "$BERTH_BIN" db import --config "$CFG"
assert_eq "$rc" 0 "second db import: exit 0"
assert_match "$out" "$summary" "a second import finds the same"
assert_eq "$(sqlite3 "$DB" 'SELECT count(*) FROM tags')" 3 "no duplicate rows after two imports"

# ---- clean ----
run out rc "$BERTH_BIN" db check --config "$CFG"
assert_eq "$rc" 0 "db check after import: exit 0 ($out)"
assert_match "$out" "compared 2 repositories, 2 manifests, 3 tags, 4 layer links, 5 blobs: OK" "db check summary"
run out rc "$BERTH_BIN" verify --config "$CFG"
assert_eq "$rc" 0 "verify with the database: exit 0 ($out)"
assert_match "$out" "OK: no problems" "verify: store clean"
assert_match "$out" "checking metadata database sqlite $DB" "verify checks the database too"
assert_match "$out" "5 blobs: OK" "verify: database clean"

# ---- the store loses a tag: tag-missing-in-store, exit 1 ----
tags=$DATA/docker/registry/v2/repositories/team/a/_manifests/tags
mv "$tags/v2" "$E2E_DIR/v2.saved"
run out rc "$BERTH_BIN" db check --config "$CFG"
assert_eq "$rc" 1 "db check with a tag missing in the store: exit 1"
assert_match "$out" "tag-missing-in-store team/a v2" "the finding names the tag"
assert_match "$out" "1 difference" "one difference"
run out rc "$BERTH_BIN" verify --config "$CFG"
assert_eq "$rc" 1 "verify exits 1 when only the database check finds something"
assert_match "$out" "tag-missing-in-store team/a v2" "verify prints the finding"
mv "$E2E_DIR/v2.saved" "$tags/v2"

# ---- the database loses a row: tag-missing-in-db, exit 1; import repairs it ----
sqlite3 "$DB" "DELETE FROM tags WHERE name = 'latest'"
run out rc "$BERTH_BIN" db check --config "$CFG"
assert_eq "$rc" 1 "db check with a row deleted: exit 1"
assert_match "$out" "tag-missing-in-db team/b latest" "the finding names the tag"
run out rc "$BERTH_BIN" db import --config "$CFG"
assert_eq "$rc" 0 "import again"
run out rc "$BERTH_BIN" db check --config "$CFG"
assert_eq "$rc" 0 "clean again after the import ($out)"

# ---- an older schema: check refuses (2), migrate says so ----
# (simulated: the newest migration's row removed; nothing else is touched)
sqlite3 "$DB" "DELETE FROM schema_migrations WHERE version = $version"
run out rc "$BERTH_BIN" db check --config "$CFG"
assert_eq "$rc" 2 "db check on an older schema: exit 2"
assert_match "$out" "run \`berth db migrate\`" "db check says to migrate"
sqlite3 "$DB" "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($version, 'restored', 0)"

# ---- a locked file: a clear error, nothing written ----
cp "$DB" "$E2E_DIR/locked.db"
tools_config "$E2E_DIR/locked.yml" "$E2E_DIR/locked.db"
before=$(sha256sum <"$E2E_DIR/locked.db")
coproc LOCKER { sqlite3 "$E2E_DIR/locked.db"; }
printf 'PRAGMA locking_mode=EXCLUSIVE;\nBEGIN EXCLUSIVE;\nSELECT count(*) FROM tags;\n' >&"${LOCKER[1]}"
read -r -t 10 mode <&"${LOCKER[0]}" || fail "the sqlite3 CLI did not answer"
assert_eq "$mode" exclusive "sqlite3 in exclusive locking mode"
read -r -t 10 held <&"${LOCKER[0]}" || fail "the sqlite3 CLI did not take the lock"
assert_eq "$held" 3 "sqlite3 holds an exclusive lock"
for cmd in "db check" "db migrate" "db import" "verify"; do
  # shellcheck disable=SC2086 # the command's words
  run out rc "$BERTH_BIN" $cmd --config "$E2E_DIR/locked.yml"
  assert_ne "$rc" 0 "$cmd on a locked database fails"
  assert_match "$out" "locked by another process" "$cmd says the file is locked"
done
run out rc "$BERTH_BIN" db check --config "$E2E_DIR/locked.yml"
assert_eq "$rc" 2 "db check on a locked database: exit 2 (could not run)"
printf 'ROLLBACK;\n.quit\n' >&"${LOCKER[1]}"
wait "$LOCKER_PID" 2>/dev/null || true
assert_eq "$(sha256sum <"$E2E_DIR/locked.db")" "$before" "the locked file is byte-identical"

# ---- a corrupt file: a clear error, nothing written ----
head -c 65536 /dev/urandom >"$E2E_DIR/corrupt.db"
tools_config "$E2E_DIR/corrupt.yml" "$E2E_DIR/corrupt.db"
before=$(sha256sum <"$E2E_DIR/corrupt.db")
for cmd in "db check" "db migrate" "db import" "verify"; do
  # shellcheck disable=SC2086
  run out rc "$BERTH_BIN" $cmd --config "$E2E_DIR/corrupt.yml"
  assert_ne "$rc" 0 "$cmd on a corrupt database fails"
  assert_match "$out" "corrupt or not a SQLite database; it was left untouched" "$cmd says the file is corrupt"
done
assert_eq "$(sha256sum <"$E2E_DIR/corrupt.db")" "$before" "the corrupt file is byte-identical"
[[ ! -e $E2E_DIR/corrupt.db-wal && ! -e $E2E_DIR/corrupt.db-journal ]] || fail "a journal was created next to the corrupt file"
ok "no journal next to the corrupt file"

# ---- usage ----
run out rc "$BERTH_BIN" db
assert_eq "$rc" 2 "berth db without a subcommand: exit 2"
run out rc "$BERTH_BIN" db check --config "$E2E_DIR/missing.yml"
assert_eq "$rc" 2 "db check with a missing config file: exit 2"
