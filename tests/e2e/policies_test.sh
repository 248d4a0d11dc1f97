#!/usr/bin/env bash
# policies: (docs/policies.md) with real clients. The policies arrive by
# SIGHUP (the reload). Immutable tags: skopeo re-pushes the same digest (ok)
# and another one (refused; the message reaches the user), and so does podman.
# Quotas: a push over the quota fails early and leaves the usage unchanged.
# Retention: `berth retention` removes exactly what its dry run said, and
# `berth gc` then frees the space.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

export E2E_BERTH_STORAGE_EXTRA='  gc: {delay: 1s}'
start_registry "$E2E_DIR/data"

# ------------------------------------------------------- SIGHUP reload ---
cat >>"$REG_CFG" <<'YAML'
policies:
  - name: "imm/**"
    immutable_tags: ["v*"]
  - name: "quota/**"
    quota: {bytes: 500000}
  - name: "ret/**"
    retention: {keep_tags: [keep], keep_last: 1}
YAML
kill -HUP "$REG_PID"
wait_until 10 grep -q "policies reloaded" "$REG_LOG" || fail "no 'policies reloaded' after SIGHUP: $(cat "$REG_LOG")"
ok "policies reloaded on SIGHUP"

LAYOUT=$E2E_DIR/layout
make_image "$LAYOUT" a 300000
make_image "$LAYOUT" b 300000
make_image "$LAYOUT" c 300000
make_image "$LAYOUT" d 300000  # only in ret/app: what retention removes and GC frees

# ------------------------------------------------------ immutable tags ---
sk_copy "oci:$LAYOUT:a" "docker://$REG/imm/app:v1"
a_digest=$(registry_digest imm/app v1)
assert_succeeds "skopeo re-pushes the same digest to the immutable tag" \
  sk_copy "oci:$LAYOUT:a" "docker://$REG/imm/app:v1"
if out=$(sk_copy "oci:$LAYOUT:b" "docker://$REG/imm/app:v1" 2>&1); then
  fail "skopeo moved the immutable tag v1"
fi
# (skopeo's log line escapes the quotes: \")
assert_match "$out" 'denied: tag \\?"v1\\?" of imm/app is immutable \(policies\[0\] \\?"imm/\*\*\\?", immutable_tags \\?"v\*\\?"\)' \
  "skopeo shows the refusal and the rule"
assert_eq "$(registry_digest imm/app v1)" "$a_digest" "v1 still points at a"

# podman: pull b (through the registry, from a mutable tag), then push it to the immutable v1.
sk_copy "oci:$LAYOUT:b" "docker://$REG/imm/src:b"
pm a pull --signature-policy "$E2E_POLICY" --tls-verify=false --quiet "$REG/imm/src:b" >/dev/null ||
  fail "podman pull imm/src:b failed"
if out=$(pm a push --signature-policy "$E2E_POLICY" --tls-verify=false "$REG/imm/src:b" "docker://$REG/imm/app:v1" 2>&1); then
  fail "podman moved the immutable tag v1"
fi
assert_match "$out" 'tag \\?"v1\\?" of imm/app is immutable' "podman shows the refusal: $(tail -1 <<<"$out")"
assert_eq "$(registry_digest imm/app v1)" "$a_digest" "v1 still points at a after podman's attempt"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://$REG/v2/imm/app/manifests/v1")" 403 \
  "DELETE of the immutable tag is refused"

# -------------------------------------------------------------- quota ---
used() { curl -fsS "http://$REG/metrics" | awk '$1 == "berth_quota_used_bytes{policy=\"quota/**\"}" { print $2 }'; }
sk_copy "oci:$LAYOUT:a" "docker://$REG/quota/one:a"
before=$(used)
[[ $before -gt 300000 && $before -lt 500000 ]] || fail "quota usage after one image: $before"
ok "quota usage after one image: $before bytes"
if out=$(sk_copy "oci:$LAYOUT:b" "docker://$REG/quota/two:b" 2>&1); then
  fail "a push over the quota succeeded"
fi
assert_match "$out" 'denied: quota exceeded for quota/\*\*: [0-9.]+ KiB of 488.3 KiB used, this upload needs' \
  "skopeo shows the quota refusal"
# skopeo uploads an image's layers in parallel: the small one may be stored
# before the big one is refused. The refused bytes are never counted.
after=$(used)
[[ $after -ge $before && $after -lt $((before + 4096)) ]] ||
  fail "the refused 300 KB layer was counted: usage $before -> $after"
ok "the refused layer is not counted (usage $before -> $after: at most the image's small layer)"
before=$after
assert_eq "$(http_status GET "http://$REG/v2/quota/two/manifests/b")" 404 "nothing of the refused image is visible"
# The same image into another repository of the namespace costs nothing more.
assert_succeeds "a shared image fits" sk_copy "oci:$LAYOUT:a" "docker://$REG/quota/three:a"
assert_eq "$(used)" "$before" "shared blobs counted once"
du_json=$("$BERTH_BIN" du --config "$REG_CFG" --json)
assert_eq "$(jq '.quotas[0].used_bytes' <<<"$du_json")" "$before" "berth du shows the usage next to the limit"

# ---------------------------------------------------------- retention ---
sk_copy "oci:$LAYOUT:a" "docker://$REG/ret/app:keep"
sk_copy "oci:$LAYOUT:d" "docker://$REG/ret/app:old"
sleep 1.1
sk_copy "oci:$LAYOUT:c" "docker://$REG/ret/app:new"
d_digest=$(registry_digest ret/app old)
dry=$("$BERTH_BIN" retention --config "$REG_CFG" --dry-run --json) || fail "retention dry run: $dry"
assert_eq "$(jq -c '[.tags[] | {tag, decision, rule}]' <<<"$dry")" \
  '[{"tag":"keep","decision":"keep","rule":"keep_tags"},{"tag":"new","decision":"keep","rule":"keep_last"},{"tag":"old","decision":"remove","rule":"no-keep-rule"}]' \
  "the dry run decides every tag with its rule"
assert_eq "$(jq -r '.manifests[].digest' <<<"$dry")" "$d_digest" "the dry run removes old's manifest"
assert_eq "$(sk_tags "docker://$REG/ret/app" | tr '\n' ' ')" "keep new old " "the dry run changed nothing"
du_before=$("$BERTH_BIN" du --config "$REG_CFG" --json | jq .store.bytes)
real=$("$BERTH_BIN" retention --config "$REG_CFG" --json) || fail "retention: $real"
assert_eq "$(jq -c '[.tags[] | {tag, decision}]' <<<"$real")" "$(jq -c '[.tags[] | {tag, decision}]' <<<"$dry")" \
  "retention did what the dry run said"
assert_eq "$(sk_tags "docker://$REG/ret/app" | tr '\n' ' ')" "keep new " "old is gone"
assert_eq "$(http_status GET "http://$REG/v2/ret/app/manifests/$d_digest")" 404 "old's manifest is gone"
sleep 1.1  # past the grace
"$BERTH_BIN" gc --config "$REG_CFG" >/dev/null || fail "gc after retention"
du_after=$("$BERTH_BIN" du --config "$REG_CFG" --json | jq .store.bytes)
[[ $((du_before - du_after)) -gt 300000 ]] || fail "gc freed only $((du_before - du_after)) bytes"
ok "gc freed $((du_before - du_after)) bytes of the removed image"
for t in keep new; do
  assert_succeeds "ret/app:$t still pulls" sk_copy "docker://$REG/ret/app:$t" "oci:$E2E_DIR/pulled:$t"
done
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after retention and gc: $out"
kill -0 "$REG_PID" || fail "berth died"
stop_registry

# ------------------------------------------- retention inside online GC ---
# The same store with online GC every second: pushing "newer" makes "new" the
# second most recent (keep_last: 1), and the next collection removes it.
export E2E_BERTH_STORAGE_EXTRA='  gc: {enabled: true, interval: 1s, delay: 1s}'
start_registry "$E2E_DIR/data"
cat >>"$REG_CFG" <<'YAML'
policies:
  - name: "ret/**"
    retention: {keep_tags: [keep], keep_last: 1}
YAML
kill -HUP "$REG_PID"
wait_until 10 grep -q "policies reloaded" "$REG_LOG" || fail "no 'policies reloaded' after SIGHUP"
sleep 1.1
sk_copy "oci:$LAYOUT:b" "docker://$REG/ret/app:newer"
wait_until 30 grep -q "retention: removed tag.*tag=new " "$REG_LOG" ||
  fail "online GC did not remove ret/app:new: $(grep -E 'retention|gc:' "$REG_LOG" | tail -5)"
ok "online GC ran retention: $(grep -m1 'retention: removed tag' "$REG_LOG")"
assert_eq "$(sk_tags "docker://$REG/ret/app" | tr '\n' ' ')" "keep newer " "online retention kept keep and newer"
kill -0 "$REG_PID" || fail "berth died"
stop_registry
soft_checks_done
