#!/usr/bin/env bash
# Webhook events (docs/events.md, issue #21) against local receivers
# (tests/tools/webhook_receiver.py): skopeo push and delete produce
# distribution's events in order with the right fields; a second endpoint gets
# CloudEvents with blob events ignored by media type; signatures verify; an
# endpoint down for a while gets everything afterwards; events pending when
# berth is SIGKILLed are delivered after the restart; `berth events` and the
# metrics show the queue.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_berth_impl
command -v python3 >/dev/null || skip "python3 is not installed (the webhook receiver)"
RECEIVER=$E2E_REPO_ROOT/tests/tools/webhook_receiver.py
SRC=$E2E_DIR/src
DATA=$E2E_DIR/data
A_OUT=$E2E_DIR/a.jsonl   # distribution envelope, signed, pulls ignored
B_OUT=$E2E_DIR/b.jsonl   # CloudEvents, blob (octet-stream) events and pulls ignored
SECRET=$E2E_DIR/secret
printf 'webhook-secret\n' >"$SECRET"
chmod 600 "$SECRET"
: >"$A_OUT"
: >"$B_OUT"
A_PORT=$(free_port)
B_PORT=$(free_port)
A_PID=""

start_receiver() {  # PORT OUT [--secret-file F]
  local port=$1 out=$2
  shift 2
  python3 "$RECEIVER" --port "$port" --out "$out" "$@" >>"$E2E_DIR/receiver-$port.log" 2>&1 &
  local pid=$!
  E2E_PIDS+=("$pid")
  E2E_LOGS+=("$E2E_DIR/receiver-$port.log")
  wait_until 10 curl -sS -o /dev/null -X POST --data '' "http://127.0.0.1:$port/ping" || fail "receiver on $port did not start"
  RECEIVER_PID=$pid
}
start_a() {
  start_receiver "$A_PORT" "$A_OUT.raw" --secret-file "$SECRET"
  A_PID=$RECEIVER_PID
}
stop_a() {
  kill "$A_PID" 2>/dev/null || true
  wait "$A_PID" 2>/dev/null || true
}

write_config() {
  local cfg=$1 datadir=$2 port=$3
  cat >"$cfg" <<CFG
server:
  addr: "127.0.0.1:$port"
storage:
  filesystem: {rootdirectory: "$datadir"}
  delete: {enabled: true}
auth: {mode: none}
notifications:
  endpoints:
    - name: a
      url: http://127.0.0.1:$A_PORT/hook
      headers:
        X-Test-Token: [abc123]
      timeout: 2s
      threshold: 2
      backoff: 200ms
      secret_file: $SECRET
      ignore:
        actions: [pull]
    - name: b
      url: http://127.0.0.1:$B_PORT/ce
      format: cloudevents
      backoff: 200ms
      ignoredmediatypes: [application/octet-stream]
      ignore:
        actions: [pull]
CFG
}
start_events_registry() { _e2e_launch berth write_config "$DATA"; }

# The events A received (pings and everything else dropped), one JSON object a line.
a_events() { jq -c 'select(.path == "/hook") | .body.events[]' "$A_OUT.raw"; }
b_events() { jq -c 'select(.path == "/ce") | .body' "$B_OUT.raw"; }
a_count() { a_events | jq -s 'map(.id) | unique | length'; }
has_manifest_push() {  # DIGEST: A has the push event of this manifest
  a_events | jq -e --arg d "$1" 'select(.action == "push" and .target.digest == $d and (.target.mediaType | test("manifest")))' >/dev/null
}

start_a
start_receiver "$B_PORT" "$B_OUT.raw"
start_events_registry

# --------------------------------------------------------- push, in order ---
make_image "$SRC" one 8192
ONE=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" one)")
assert_succeeds "push oci:one -> $REG/ev/app:v1" sk_copy "oci:$SRC:one" "docker://$REG/ev/app:v1"
wait_until 20 has_manifest_push "$ONE" || fail "endpoint a did not get the manifest push of $ONE"
ok "endpoint a received the manifest push"

mapfile -t ACTIONS < <(a_events | jq -r '[.action, (.target.mediaType // ""), (.target.tag // "")] | join(" ")')
note "a received: ${ACTIONS[*]}"
assert_eq "${#ACTIONS[@]}" "4" "three blob pushes (two layers, the config) and one manifest push"
for i in 0 1 2; do
  assert_eq "${ACTIONS[$i]}" "push application/octet-stream " "event $i is a blob push"
done
assert_eq "${ACTIONS[3]}" "push application/vnd.oci.image.manifest.v1+json v1" "the manifest push comes last, with its tag"
M=$(a_events | jq -c --arg d "$ONE" 'select(.target.digest == $d)')
assert_eq "$(jq -r .target.repository <<<"$M")" "ev/app" "target.repository"
assert_eq "$(jq -r .target.size <<<"$M")" "$(jq -r .size <<<"$(oci_manifest_desc "$SRC" one)")" "target.size is the manifest's"
assert_eq "$(jq -r .target.length <<<"$M")" "$(jq -r .target.size <<<"$M")" "target.length equals size"
assert_eq "$(jq -r .target.url <<<"$M")" "http://$REG/v2/ev/app/manifests/$ONE" "target.url"
assert_eq "$(jq -r .request.method <<<"$M")" "PUT" "request.method"
assert_match "$(jq -r .request.useragent <<<"$M")" "containers|skopeo|Go-http" "request.useragent names the client"
assert_eq "$(jq -r .request.addr <<<"$M")" "127.0.0.1" "request.addr"
assert_match "$(jq -r .request.id <<<"$M")" "^[0-9a-zA-Z-]+$" "request.id"
assert_match "$(jq -r .source.instanceID <<<"$M")" "^[0-9a-f-]{36}$" "source.instanceID"
assert_match "$(jq -r .id <<<"$M")" "^[0-9a-f-]{36}$" "event id"
assert_match "$(jq -r .timestamp <<<"$M")" "^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z$" "timestamp"
assert_eq "$(jq -r 'select(.path == "/hook") | .content_type' "$A_OUT.raw" | sort -u)" \
  "application/vnd.docker.distribution.events.v1+json" "envelope media type"
assert_eq "$(jq -r 'select(.path == "/hook") | .headers["x-test-token"]' "$A_OUT.raw" | sort -u)" "abc123" "configured headers sent"
assert_eq "$(jq -r 'select(.path == "/hook") | .sig_ok' "$A_OUT.raw" | sort -u)" "true" "every signature verifies"

# b: CloudEvents, blob events ignored (application/octet-stream), pulls ignored.
wait_until 20 bash -c "[[ \$(jq -c 'select(.path == \"/ce\")' '$B_OUT.raw' | wc -l) -ge 1 ]]" || fail "endpoint b got nothing"
B1=$(b_events | head -1)
assert_eq "$(b_events | wc -l)" "1" "b gets only the manifest push (blob media type ignored)"
assert_eq "$(jq -r .specversion <<<"$B1")" "1.0" "CloudEvents specversion"
assert_eq "$(jq -r .type <<<"$B1")" "dev.berth.registry.push" "CloudEvents type"
assert_eq "$(jq -r .subject <<<"$B1")" "ev/app:v1" "CloudEvents subject"
assert_eq "$(jq -r .data.target.digest <<<"$B1")" "$ONE" "CloudEvents data is the distribution event"
assert_eq "$(jq -r 'select(.path == "/ce") | .content_type' "$B_OUT.raw" | sort -u)" "application/cloudevents+json" "CloudEvents content type"

# Pulls are recorded but ignored by both endpoints.
assert_succeeds "pull ev/app:v1" sk_copy "docker://$REG/ev/app:v1" "oci:$E2E_DIR/out:one"
# ------------------------------------------------------------------ delete ---
assert_eq "$(http_status DELETE "http://$REG/v2/ev/app/manifests/$ONE")" "202" "DELETE the manifest"
has_delete() { a_events | jq -e --arg d "$ONE" 'select(.action == "delete" and .target.digest == $d)' >/dev/null; }
wait_until 20 has_delete || fail "no delete event"
ok "delete event with the digest"
assert_eq "$(a_events | jq -r .action | grep -c pull || true)" "0" "ignored actions (pull) are not sent"
assert_eq "$(b_events | jq -r .data.action | tr '\n' ' ')" "push delete " "b: push, then delete"

# ------------------------------------------------- endpoint down, then up ---
stop_a
make_image "$SRC" two 4096
TWO=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" two)")
assert_succeeds "push while endpoint a is down" sk_copy "oci:$SRC:two" "docker://$REG/ev/app:v2"
sleep 1
PENDING=$("$BERTH_BIN" events --config "$REG_CFG" --json | jq -r '.endpoints[] | select(.name == "a") | .pending')
assert_match "$PENDING" "^[1-9][0-9]*$" "berth events shows events pending for a ($PENDING)"
assert_match "$(curl -fsS "http://$REG/metrics" | grep '^berth_events_failed_total{endpoint="a"}')" ' [1-9][0-9]*$' \
  "metrics count a's failed attempts"
start_a
wait_until 30 has_manifest_push "$TWO" || fail "events queued while a was down were not delivered"
ok "everything queued while a was down is delivered once it is up"
assert_eq "$(a_events | jq -r .id | sort | uniq -d | wc -l)" "0" "no event id delivered twice (so far)"

# ------------------------------------------------- SIGKILL with pending ---
stop_a
make_image "$SRC" three 4096
THREE=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" three)")
assert_succeeds "push while a is down" sk_copy "oci:$SRC:three" "docker://$REG/ev/app:v3"
kill -9 "$REG_PID"
wait "$REG_PID" 2>/dev/null || true
REG_PID=""
note "berth SIGKILLed with events pending"
start_a
start_events_registry
wait_until 30 has_manifest_push "$THREE" || fail "events pending at the SIGKILL were not delivered after the restart"
ok "events pending at SIGKILL are delivered after the restart"
TOTAL=$(a_events | jq -r .id | wc -l)
UNIQUE=$(a_count)
note "a received $TOTAL events, $UNIQUE distinct ids (at least once: ids let receivers dedupe)"
assert_eq "$(a_events | jq -r 'select(.action == "push" and (.target.mediaType | test("manifest"))) | .target.tag' | sort -u | tr '\n' ' ')" \
  "v1 v2 v3 " "every manifest push arrived"
assert_eq "$(jq -r 'select(.path == "/hook") | .sig_ok' "$A_OUT.raw" | sort -u)" "true" "every signature verifies"
assert_match "$(curl -fsS "http://$REG/metrics" | grep '^berth_events_pending{endpoint="a"}')" ' 0$' "nothing pending for a"
stop_registry
