#!/usr/bin/env bash
# Berth behind nginx, with the server block of docs/deploy.md (the block
# after the marker "nginx-test: server block"), TLS on a loopback port:
#  - the token realm follows X-Forwarded-Proto/-Host (public_url unset);
#  - skopeo pushes and pulls a multi-MB image through it (HTTP/2), byte-identical;
#  - curl uploads a blob over HTTP/1.1 with a chunked PATCH;
#  - X-Forwarded-For: the client's address reaches the ACL (ip condition),
#    and an address the client puts into the header itself does not.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

DOC=$E2E_REPO_ROOT/docs/deploy.md
NGINX_BIN=${NGINX_BIN:-nginx}
command -v "$NGINX_BIN" >/dev/null || PATH=$PATH:/usr/sbin
command -v "$NGINX_BIN" >/dev/null || fail "nginx not found (scripts/test installs Debian's nginx)"
command -v openssl >/dev/null || fail "openssl not found"

SRC=$E2E_DIR/src
NG=$E2E_DIR/nginx
mkdir -p "$NG/tmp"
LAYER_MB=${E2E_NGINX_LAYER_MB:-24}

ADMIN_PW=admin-pw-$RANDOM$RANDOM
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
# Berth: trusts the proxy on 127.0.0.1, no public_url (the realm then comes
# from the forwarded headers); anonymous may pull near/* from 127.0.0.2 only.
write_config() {
  local cfg=$1 datadir=$2 port=$3
  cat >"$cfg" <<EOF
server:
  addr: "127.0.0.1:$port"
  trusted_proxies: ["127.0.0.1"]
storage:
  filesystem: {rootdirectory: "$datadir"}
auth:
  token: {service: "registry.test"}
users:
  admin: {password: "$ADMIN_HASH"}
acl:
  - {account: "admin", actions: ["*"]}
  - {account: "", name: "near/*", ip: "127.0.0.2", actions: ["pull"]}
EOF
}
_e2e_launch berth write_config "$E2E_DIR/data" any
BERTH=$REG

# nginx: the doc's server block, with a loopback port, a throw-away
# certificate and Berth's port; everything else as written.
block=$(awk '/<!-- nginx-test: server block/ { f = 1; next } f && /^```/ { if (g) exit; g = 1; next } g' "$DOC")
[[ -n $block ]] || fail "no nginx block after the marker in $DOC"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$NG/key.pem" -out "$NG/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
NPORT=$(free_port)
block=$(sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NPORT ssl http2;|" \
  -e "s|ssl_certificate .*;|ssl_certificate $NG/cert.pem;|" \
  -e "s|ssl_certificate_key .*;|ssl_certificate_key $NG/key.pem;|" \
  -e "s|proxy_pass http://127.0.0.1:5000;|proxy_pass http://$BERTH;|" <<<"$block")
for want in "listen 127.0.0.1:$NPORT ssl http2;" "ssl_certificate $NG/cert.pem;" \
  "ssl_certificate_key $NG/key.pem;" "proxy_pass http://$BERTH;"; do
  grep -qF -- "$want" <<<"$block" || fail "the doc's nginx block changed shape: no '$want' after substitution"
done
user_line=""
[[ $(id -u) != 0 ]] || user_line="user root root;"  # workers read and write under $E2E_DIR (0700)
cat >"$NG/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 256; }
http {
    access_log $NG/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
$block
}
EOF
"$NGINX_BIN" -t -p "$NG" -e "$NG/error.log" -c "$NG/nginx.conf" >"$NG/check.log" 2>&1 ||
  { sed 's/^/#   /' "$NG/check.log" >&2; fail "nginx -t rejects the doc's server block"; }
"$NGINX_BIN" -p "$NG" -e "$NG/error.log" -c "$NG/nginx.conf" >"$NG/stdout.log" 2>&1 </dev/null &
E2E_PIDS+=("$!")
E2E_LOGS+=("$NG/error.log")
wait_until 10 curl -sk -o /dev/null "https://127.0.0.1:$NPORT/v2/" || fail "nginx did not answer on 127.0.0.1:$NPORT"
REG=127.0.0.1:$NPORT
note "nginx listening on $REG in front of Berth on $BERTH"
ok "nginx accepts the doc's server block"

# --------------------------------------------------------------- realm ---
hdrs=$(curl -sk -o /dev/null -D - "https://$REG/v2/")
assert_eq "$(head -1 <<<"$hdrs" | tr -d '\r' | cut -d' ' -f2)" 401 "GET /v2/ through nginx without credentials: 401"
assert_match "$(response_header www-authenticate <<<"$hdrs")" "realm=\"https://127\\.0\\.0\\.1:$NPORT/v2/token\"" \
  "the realm is nginx's https URL with its port (X-Forwarded-Proto/-Host)"

# ------------------------------------------------- skopeo push and pull ---
make_image "$SRC" big $((LAYER_MB * 1024 * 1024))
make_image "$SRC" near 4096
desc_digest() { jq -r .digest <<<"$(oci_manifest_desc "$SRC" "$1")"; }
BIG=$(desc_digest big)
NEAR=$(desc_digest near)
assert_succeeds "skopeo pushes a ${LAYER_MB} MB image through nginx" \
  sk_copy --dest-creds "admin:$ADMIN_PW" "oci:$SRC:big" "docker://$REG/team/big:1"
sk_copy --dest-creds "admin:$ADMIN_PW" "oci:$SRC:near" "docker://$REG/near/img:1" || fail "push near/img:1"
assert_succeeds "skopeo pulls it back through nginx" \
  sk_copy --src-creds "admin:$ADMIN_PW" "docker://$REG/team/big:1" "oci:$E2E_DIR/out:big"
check_layout_blobs "pulled through nginx" "$SRC" "$E2E_DIR/out" "$BIG"
grep -q 'HTTP/2.0' "$NG/access.log" || fail "skopeo did not use HTTP/2 through nginx"
ok "skopeo talked HTTP/2 to nginx"

# ------------------------------------------ chunked upload over HTTP/1.1 ---
# The body comes from a pipe (curl sends it chunked, size unknown). The first
# 4 MiB must reach Berth's upload file while the rest is still unsent: with
# proxy_request_buffering on, nginx would hold the whole body first.
head -c $((6 * 1024 * 1024 + 17)) /dev/urandom >"$E2E_DIR/chunked.bin"
CH=$(sha256_file "$E2E_DIR/chunked.bin")
loc=$(curl -sk --http1.1 -u "admin:$ADMIN_PW" -o /dev/null -D - -X POST "https://$REG/v2/team/big/blobs/uploads/" |
  response_header location)
[[ $loc == /v2/team/big/blobs/uploads/* ]] || fail "POST upload through nginx: Location '$loc'"
uuid=${loc##*/}
uuid=${uuid%%\?*}
updata=$E2E_DIR/data/docker/registry/v2/repositories/team/big/_uploads/$uuid/data
mkfifo "$E2E_DIR/body.fifo"
curl -sk --http1.1 -u "admin:$ADMIN_PW" -o /dev/null -w '%{http_code}' -X PATCH -T - \
  -H 'Content-Type: application/octet-stream' "https://$REG$loc" <"$E2E_DIR/body.fifo" >"$E2E_DIR/patch.status" &
patch_pid=$!
exec 3>"$E2E_DIR/body.fifo"
head -c $((4 * 1024 * 1024)) "$E2E_DIR/chunked.bin" >&3
upload_has_4mib() { (($(stat -c %s "$updata" 2>/dev/null || echo 0) >= 4 * 1024 * 1024)); }
if ! wait_until 60 upload_has_4mib; then
  exec 3>&-
  wait "$patch_pid" || true
  fail "the first 4 MiB of a chunked PATCH did not reach Berth before the body ended (nginx buffers the request?)"
fi
ok "nginx streams a chunked upload to Berth as it arrives"
tail -c +$((4 * 1024 * 1024 + 1)) "$E2E_DIR/chunked.bin" >&3
exec 3>&-
wait "$patch_pid" || fail "curl PATCH failed"
assert_eq "$(cat "$E2E_DIR/patch.status")" 202 "chunked PATCH over HTTP/1.1 through nginx"
assert_eq "$(curl -sk --http1.1 -u "admin:$ADMIN_PW" -o /dev/null -w '%{http_code}' -X PUT "https://$REG$loc?digest=$CH")" \
  201 "PUT ?digest= completes the chunked upload"
curl -fsSk -u "admin:$ADMIN_PW" -o "$E2E_DIR/chunked.back" "https://$REG/v2/team/big/blobs/$CH" ||
  fail "GET the blob through nginx"
cmp -s "$E2E_DIR/chunked.bin" "$E2E_DIR/chunked.back" || fail "the blob read back through nginx differs"
ok "the chunked upload is stored byte for byte"

# ------------------------------------------------------ X-Forwarded-For ---
sk_digest_creds() {
  local raw
  raw=$(sk inspect --raw --tls-verify=false --creds "$1" "$2" | sha256sum) || return 1
  printf 'sha256:%s\n' "${raw%% *}"
}
# anon_pull FROM [XFF]: the actions an anonymous token grants on near/img
anon_pull() {
  local args=(-sk --interface "$1" --get --data-urlencode service=registry.test
    --data-urlencode scope=repository:near/img:pull)
  [[ -z ${2:-} ]] || args+=(-H "X-Forwarded-For: $2")
  jwt_payload "$(curl "${args[@]}" "https://$REG/v2/token" | jq -r .token)" |
    jq -r '[.access[]? | .actions[]] | join(",")'
}
assert_eq "$(anon_pull 127.0.0.2)" pull "anonymous from 127.0.0.2 (via nginx's X-Forwarded-For) may pull near/img"
assert_eq "$(anon_pull 127.0.0.1)" "" "anonymous from 127.0.0.1 may not"
assert_eq "$(anon_pull 127.0.0.3 127.0.0.2)" "" "a client's own X-Forwarded-For: 127.0.0.2 is not believed"
assert_fails "skopeo (from 127.0.0.1) cannot read near/img anonymously" sk_raw "docker://$REG/near/img:1"
assert_eq "$(sk_digest_creds "admin:$ADMIN_PW" "docker://$REG/near/img:1")" "$NEAR" "admin reads near/img:1"
