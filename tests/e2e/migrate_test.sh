#!/usr/bin/env bash
# docs/migrate-from-registry2.md, followed and checked:
#  (b) the Berth config of the worked example (the block after the marker
#      "migrate-test: berth-config") passes `berth check-config`, and
#      `berth acl explain` gives every decision of the "explain-cases" table;
#  (a) docker-registry (distribution 2.8) writes a data directory and leaves an
#      upload half done; Berth, started on that directory with the doc's
#      config, serves the images byte-identical to the users the ACL allows,
#      finishes the upload, and serves again after distribution's offline
#      garbage collector ran on the directory;
#  (c) the doc's schema 1 finder works, and Berth's upload purging removes an
#      upload distribution started and left (its RFC 3339 start time).
# On-disk interchange without auth is tests/e2e/interchange_test.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

DOC=$E2E_REPO_ROOT/docs/migrate-from-registry2.md
SRC=$E2E_DIR/src
DATA=$E2E_DIR/registry
DOC_CFG=$E2E_DIR/doc-config.yaml
[[ -f $DOC ]] || fail "$DOC missing"

# doc_block_after MARKER: the first fenced block after the line containing MARKER
doc_block_after() {
  awk -v m="$1" 'index($0, m) { f = 1; next } f && /^```/ { if (g) exit; g = 1; next } g' "$DOC"
}

# ---------------------------------------------- (b) the config of the doc ---
doc_block_after "migrate-test: berth-config" >"$DOC_CFG"
[[ -s $DOC_CFG ]] || fail "(b) no config block after the berth-config marker in $DOC"
assert_succeeds "(b) berth check-config accepts the doc's translated config" "$BERTH_BIN" check-config "$DOC_CFG"

# Every hash of the Berth config also stands in the docker_auth config.
n=0
while read -r h; do
  (($(grep -cF -- "$h" "$DOC") >= 2)) || fail "(b) hash $h is not copied from the docker_auth config"
  n=$((n + 1))
done < <(grep -oE '[$]2[aby][$][0-9]{2}[$][./A-Za-z0-9]{53}' "$DOC_CFG")
((n == 3)) || fail "(b) expected 3 users in the doc's config, found $n hashes"
ok "(b) the 3 bcrypt hashes are the docker_auth ones, unchanged"

# The explain table: | user | repository | action | client address | decision |
rows=0
while IFS='|' read -r _ user repo action ip decision _; do
  trim() { sed -e 's/`//g' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' <<<"$1"; }
  user=$(trim "$user") repo=$(trim "$repo") action=$(trim "$action") ip=$(trim "$ip") decision=$(trim "$decision")
  [[ $user == user || $user == ---* ]] && continue
  shown_user=$user shown_repo=$repo
  [[ $user == "(anonymous)" ]] && user=""
  [[ $repo == catalog ]] && shown_repo=registry:catalog
  args=(acl explain --config "$DOC_CFG" --user "$user" --repo "$repo" --action "$action")
  [[ -z $ip ]] || args+=(--ip "$ip")
  out=$("$BERTH_BIN" "${args[@]}" 2>&1 || true)
  want="$shown_user $action $shown_repo: $decision"
  [[ $out == "$want"* ]] || fail "(b) acl explain ${args[*]:2}: expected '$want...', got '$out'"
  ok "(b) $want"
  rows=$((rows + 1))
done < <(awk '/<!-- migrate-test: explain-cases -->/ { f = 1; next } /<!-- \/migrate-test -->/ { f = 0 } f && /^\|/' "$DOC")
((rows >= 8)) || fail "(b) expected at least 8 explain cases in the doc, found $rows"

# ------------------------------------ (a) distribution writes the directory ---
make_image "$SRC" app 65536
make_image "$SRC" old 4096
make_image "$SRC" base 8192
make_image "$SRC" tool 4096
desc_digest() { jq -r .digest <<<"$(oci_manifest_desc "$SRC" "$1")"; }
APP=$(desc_digest app)
OLD=$(desc_digest old)
BASE=$(desc_digest base)
TOOL=$(desc_digest tool)

start_distribution "$DATA"
sk_copy "oci:$SRC:app" "docker://$REG/acme/app:v1" || fail "(a) push acme/app:v1 to distribution"
sk_copy "oci:$SRC:old" "docker://$REG/acme/app:old" || fail "(a) push acme/app:old to distribution"
sk_copy "oci:$SRC:base" "docker://$REG/public/base:1" || fail "(a) push public/base:1 to distribution"
ok "(a) distribution holds acme/app:v1, acme/app:old, public/base:1"

# An upload left half done: 100000 of 300000 bytes.
head -c 300000 /dev/urandom >"$E2E_DIR/blob.bin"
BLOB=$(sha256_file "$E2E_DIR/blob.bin")
head -c 100000 "$E2E_DIR/blob.bin" >"$E2E_DIR/blob.head"
tail -c +100001 "$E2E_DIR/blob.bin" >"$E2E_DIR/blob.tail"
loc=$(curl -sS -o /dev/null -D - -X POST "http://$REG/v2/acme/app/blobs/uploads/" | response_header location)
[[ -n $loc ]] || fail "(a) distribution gave no upload Location"
loc=$(curl -sS -o /dev/null -D - -X PATCH -H 'Content-Type: application/octet-stream' \
  --data-binary @"$E2E_DIR/blob.head" "http://$REG${loc#http://"$REG"}" | response_header location)
UPLOAD_PATH=${loc#http://"$REG"}
assert_match "$UPLOAD_PATH" '^/v2/acme/app/blobs/uploads/[0-9a-f-]{36}\?_state=' "(a) distribution's upload URL carries _state"
stop_registry

# ------------------------------ Berth on the same directory, doc's config ---
# The doc's config with only what a test must change: the port, the data
# directory, and no public_url (the realm then follows the Host header).
write_doc_config() {
  local cfg=$1 datadir=$2 port=$3
  sed -e "s|addr: \"127.0.0.1:5000\"|addr: \"127.0.0.1:$port\"|" \
    -e 's|public_url: "https://registry.example.com"|public_url: ""|' \
    -e "s|rootdirectory: \"/var/lib/registry\"|rootdirectory: \"$datadir\"|" "$DOC_CFG" >"$cfg"
  (($(grep -cE "127\.0\.0\.1:$port\"|public_url: \"\"|rootdirectory: \"$datadir\"" "$cfg") == 3)) ||
    fail "the doc's config no longer has addr 127.0.0.1:5000, public_url and rootdirectory /var/lib/registry"
}
start_berth_doc() { _e2e_launch berth write_doc_config "$DATA" any; }

ADMIN=admin:admin-secret
ALICE=alice:alice-secret
sk_digest_as() {
  local raw
  raw=$(sk inspect --raw --tls-verify=false --creds "$1" "$2" | sha256sum) || return 1
  printf 'sha256:%s\n' "${raw%% *}"
}

# check_served LABEL: what distribution wrote is there, for the right users
check_served() {
  local label=$1 out
  out=$(mktemp -d "$E2E_DIR/pull.XXXXXX")
  assert_eq "$(sk_digest_as "$ADMIN" "docker://$REG/acme/app:v1")" "$APP" "$label: admin reads acme/app:v1, same manifest digest"
  sk_copy --src-creds "$ADMIN" "docker://$REG/acme/app:v1" "oci:$out:app" || fail "$label: admin pulls acme/app:v1"
  check_layout_blobs "$label: acme/app:v1 pulled" "$SRC" "$out" "$APP"
  assert_eq "$(sk_digest "docker://$REG/public/base:1")" "$BASE" "$label: anonymous reads public/base:1"
  sk_copy "docker://$REG/public/base:1" "oci:$out:base" || fail "$label: anonymous pulls public/base:1"
  check_layout_blobs "$label: public/base:1 pulled anonymously" "$SRC" "$out" "$BASE"
  assert_fails "$label: anonymous may not read acme/app" sk_raw "docker://$REG/acme/app:v1"
  assert_eq "$(sk_digest_as "$ALICE" "docker://$REG/acme/app:v1")" "$APP" "$label: alice reads acme/app:v1"
  rm -rf "$out"
}

start_berth_doc
check_served "(a) Berth serving distribution's directory"
assert_eq "$(sk list-tags --tls-verify=false --creds "$ALICE" "docker://$REG/acme/app" | jq -r '.Tags[]' | sort | paste -sd' ')" \
  "old v1" "(a) tags of acme/app as distribution wrote them"
assert_fails "(a) alice may not push to acme/app" \
  sk_copy --dest-creds "$ALICE" "oci:$SRC:tool" "docker://$REG/acme/app:alice"
assert_succeeds "(a) alice pushes to her namespace alice/tool" \
  sk_copy --dest-creds "$ALICE" "oci:$SRC:tool" "docker://$REG/alice/tool:1"
assert_eq "$(curl -fsS -u "$ALICE" "http://$REG/v2/_catalog" | jq -c .repositories)" \
  '["acme/app","alice/tool","public/base"]' "(a) alice lists the catalog"

# The upload distribution started goes on here, at the URL distribution gave.
hdrs=$(curl -sS -o /dev/null -D - -u "$ADMIN" "http://$REG$UPLOAD_PATH")
assert_eq "$(head -1 <<<"$hdrs" | tr -d '\r' | cut -d' ' -f2)" 204 "(a) Berth knows distribution's upload"
assert_eq "$(response_header range <<<"$hdrs")" "0-99999" "(a) ... with the 100000 bytes distribution received"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -u "$ADMIN" -X PUT -H 'Content-Type: application/octet-stream' \
  --data-binary @"$E2E_DIR/blob.tail" "http://$REG$UPLOAD_PATH&digest=$BLOB")" 201 "(a) Berth completes it with the rest"
curl -fsS -u "$ADMIN" -o "$E2E_DIR/blob.back" "http://$REG/v2/acme/app/blobs/$BLOB" || fail "(a) GET the completed blob"
cmp -s "$E2E_DIR/blob.bin" "$E2E_DIR/blob.back" || fail "(a) the completed blob differs"
ok "(a) the completed blob is the 300000 bytes, byte for byte"

# Delete through Berth, collect with distribution while Berth is stopped.
sk delete --tls-verify=false --creds "$ADMIN" "docker://$REG/acme/app:old" || fail "(a) admin deletes acme/app:old"
ok "(a) admin deleted acme/app:old"
stop_registry
OLD_LAYER=$(jq -r '.layers[0].digest' "$(blob_path "$SRC" "$OLD")")
OLD_LAYER_FILE=$DATA/docker/registry/v2/blobs/sha256/${OLD_LAYER:7:2}/${OLD_LAYER:7}/data
[[ -f $OLD_LAYER_FILE ]] || fail "(a) the layer of acme/app:old should still be on disk before collection"
_e2e_write_distribution_config "$E2E_DIR/gc.yml" "$DATA" 1
(
  while read -r v; do unset "$v"; done < <(compgen -e | grep '^REGISTRY_')
  exec "$DISTRIBUTION_BIN" garbage-collect "$E2E_DIR/gc.yml"
) >"$E2E_DIR/gc.log" 2>&1 || { sed 's/^/#   /' "$E2E_DIR/gc.log" >&2; fail "(a) docker-registry garbage-collect failed"; }
[[ ! -e $OLD_LAYER_FILE ]] || fail "(a) garbage-collect left the layer of the deleted manifest"
ok "(a) distribution's garbage-collect removed the deleted manifest's layer"

start_berth_doc
check_served "(a) Berth after garbage-collect"
assert_eq "$(sk_digest_as "$ALICE" "docker://$REG/alice/tool:1")" "$TOOL" "(a) alice/tool:1 (pushed through Berth) survived collection"
stop_registry

# ------------------------------------------------ (c) the doc's snippets ---
# Schema 1 finder: nothing in DATA; one planted manifest in a copy.
finder=$(doc_block_after "Finding schema 1 manifests")
[[ -n $finder ]] || fail "(c) no schema 1 finder in the doc"
assert_eq "$(cd "$DATA/docker/registry/v2" && bash -c "$finder")" "" "(c) schema 1 finder: none in distribution's directory"
S1=$E2E_DIR/s1/docker/registry/v2
mkdir -p "$S1"
cp -a "$DATA/docker/registry/v2/." "$S1/"
printf '{\n   "schemaVersion": 1,\n   "name": "legacy/app",\n   "tag": "latest"\n}' >"$E2E_DIR/s1.json"
S1D=$(sha256_file "$E2E_DIR/s1.json")
mkdir -p "$S1/blobs/sha256/${S1D:7:2}/${S1D:7}" "$S1/repositories/legacy/app/_manifests/revisions/sha256/${S1D:7}"
cp "$E2E_DIR/s1.json" "$S1/blobs/sha256/${S1D:7:2}/${S1D:7}/data"
printf '%s' "$S1D" >"$S1/repositories/legacy/app/_manifests/revisions/sha256/${S1D:7}/link"
assert_eq "$(cd "$S1" && bash -c "$finder")" "repositories/legacy/app" "(c) schema 1 finder names the repository"

# Upload purging: distribution starts an upload and leaves it; its start time
# is moved back to 2020 (same format); Berth's purge removes it, not a fresh one.
P=$E2E_DIR/purge
start_distribution "$P"
loc=$(curl -sS -o /dev/null -D - -X POST "http://$REG/v2/acme/app/blobs/uploads/" | response_header location)
curl -sS -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @"$E2E_DIR/blob.head" \
  "http://$REG${loc#http://"$REG"}"
stop_registry
PU=$P/docker/registry/v2/repositories/acme/app/_uploads
old=$(ls "$PU")
[[ $old =~ ^[0-9a-f-]{36}$ && -s $PU/$old/data ]] || fail "(c) distribution left no upload in $PU"
started=$(cat "$PU/$old/startedat")
assert_match "$started" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "(c) distribution writes RFC 3339 start times"
printf '%s' "2020${started:4}" >"$PU/$old/startedat"
E2E_BERTH_STORAGE_EXTRA='  maintenance: {uploadpurging: {enabled: true, age: 1h, interval: 1s}}' start_berth "$P"
fresh=$(curl -sS -o /dev/null -D - -X POST "http://$REG/v2/acme/app/blobs/uploads/" | response_header location)
[[ -n $fresh ]] || fail "(c) Berth gave no upload Location"
for ((i = 0; i < 150; i++)); do
  [[ -e $PU/$old ]] || break
  sleep 0.1
done
[[ ! -e $PU/$old ]] || fail "(c) Berth did not purge distribution's abandoned upload within 15 s"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://$REG${fresh}")
assert_eq "$code" 204 "(c) the fresh upload is still there"
grep -q 'upload purge: removed abandoned uploads' "$REG_LOG" || fail "(c) no purge log line in $REG_LOG"
stop_registry
ok "(c) Berth's upload purging removed distribution's old upload, kept the fresh one"
