#!/usr/bin/env bash
# The web UI in a real browser (docs/ui.md): starts Berth with users and an
# ACL, pushes a multi-arch image, an image whose label holds <script> and
# <img onerror>, and a repository one user may not pull (umoci + skopeo, no
# network), then runs ui_test.mjs: Debian's chromium driven by playwright-core
# (installed by scripts/test: `npm ci` here). Screenshots of each main page go
# to $BERTH_UI_SHOTS (ctest: build/tests/ui-screenshots).
# Skips (exit 77) only when chromium is not installed or cannot start.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${BERTH_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
  printf 'SKIP ui_test.sh: %s is not installed (apt-get install chromium), the UI is not tested in a browser\n' "$CHROMIUM"
  exit 77
fi
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"
require_berth_impl
[[ -d $HERE/node_modules/playwright-core ]] ||
  fail "tests/ui/node_modules is missing: run 'npm ci' in tests/ui (scripts/test does)"
for tool in node umoci skopeo jq; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

ADMIN_PW=admin-$RANDOM-secret
DEV_PW=dev-$RANDOM-secret
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
DEV_HASH=$(berth_hash "$DEV_PW")
E2E_BERTH_AUTH="users:
  admin: {password: \"$ADMIN_HASH\"}
  developer: {password: \"$DEV_HASH\"}
acl:
  - account: admin
    name: \"*\"
    actions: [\"*\"]
    comment: administrators
  - account: developer
    name: \"team/*\"
    actions: [pull, push]
    comment: the team's repositories
  - account: developer
    name: \"secret/*\"
    actions: []
    comment: nobody but admin"
start_berth_auth "$E2E_DIR/data"

SRC=$E2E_DIR/src
make_image "$SRC" amd64 65536 amd64
make_image "$SRC" arm64 32768 arm64
make_index "$SRC" multi amd64 arm64
make_image "$SRC" evil 4096 amd64
# A label and an env value that would run script if the UI rendered them as HTML.
umoci config --image "$SRC:evil" \
  --config.label 'org.example.evil=<script>window.__xss=1</script><img src=x onerror="window.__xss=2">' \
  --config.env 'EVIL=<img src=x onerror="window.__xss=3">'
make_image "$SRC" secret 4096 amd64
make_image "$SRC" old 20000 amd64

CREDS=admin:$ADMIN_PW
sk_copy --dest-creds "$CREDS" --all "oci:$SRC:multi" "docker://$REG/team/multi:v1"
sk_copy --dest-creds "$CREDS" "oci:$SRC:old" "docker://$REG/team/multi:old"
sk_copy --dest-creds "$CREDS" "oci:$SRC:evil" "docker://$REG/team/evil:latest"
sk_copy --dest-creds "$CREDS" "oci:$SRC:secret" "docker://$REG/secret/app:v1"
ok "pushed team/multi:v1 (amd64+arm64), team/multi:old, team/evil:latest, secret/app:v1"

SHOTS=${BERTH_UI_SHOTS:-$E2E_DIR/shots}
mkdir -p "$SHOTS"
rc=0
BERTH_URL="http://$REG" ADMIN_PW=$ADMIN_PW DEV_PW=$DEV_PW SHOTS=$SHOTS CHROMIUM=$CHROMIUM \
  node "$HERE/ui_test.mjs" || rc=$?
((rc != 77)) || skip "chromium is installed but cannot start (see above)"
((rc == 0)) || fail "the browser test failed (screenshots in $SHOTS)"
ok "browser test passed; screenshots in $SHOTS"
