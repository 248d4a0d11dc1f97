#!/usr/bin/env bash
# A throw-away single-node Ceph cluster (monitor + memstore OSD + RADOS Gateway)
# on 127.0.0.1, the real S3 engine the S3 driver tests run against.
#
#   ceph_rgw.sh start DIR PORT [BUCKET...]  # S3 on http://127.0.0.1:PORT, keys TESTACCESS/TESTSECRET,
#                                           # and https://localhost:PORT+1 (self-signed DIR/tls/cert.pem)
#   ceph_rgw.sh start DIR auto [BUCKET...]  # PORT: a free block in 10000-19999 (ctest's fixture), so
#                                           # it never meets the e2e tests' ports (20000-31999, lib.sh's
#                                           # free_port) nor the kernel's ephemeral ones (32768-)
#   ceph_rgw.sh stop DIR
#
# Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl.
# Monitor and OSD use PORT+40 .. PORT+60. cephx must stay on (radosgw refuses 'auth none').
# The OSD keeps data in memory (memstore, 4 GiB cap, about 2 GB RAM): always stop it.
# On start, writes DIR/env with BERTH_TEST_S3_* variables for the tests.
set -euo pipefail
cmd=${1:?start|stop}; D=${2:?directory}

stop() {
  [ -d "$D/run" ] || return 0
  for f in "$D"/run/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  for f in "$D"/run/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null) || continue
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  # memstore data lives in RAM; the directory only holds config, keys and logs.
  rm -rf "$D"/osd.0 "$D"/mon.a
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR [PORT [BUCKET...]]" >&2; exit 2; }
P=${3:?port}; shift 3
if [ "$P" = auto ]; then
  # A base port whose whole block (P, P+1, P+40..P+60) nothing listens on.
  declare -A used=()
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ local_addr _; do
      [[ $local_addr == *:* ]] || continue
      used[$((16#${local_addr##*:}))]=1
    done <"$f"
  done
  P=""
  for _ in $(seq 1 100); do
    c=$((10000 + RANDOM % 9900))
    clash=0
    for p in $c $((c + 1)) $(seq $((c + 40)) $((c + 60))); do [ -z "${used[$p]:-}" ] || clash=1; done
    [ $clash = 0 ] && { P=$c; break; }
  done
  [ -n "$P" ] || { echo "ceph_rgw.sh: no free port block found" >&2; exit 1; }
fi
for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool uuidgen curl openssl; do
  command -v "$tool" >/dev/null || { echo "ceph_rgw.sh: $tool missing (apt-get install ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl)" >&2; exit 1; }
done
stop
rm -rf "$D"; mkdir -p "$D"/run "$D"/log "$D"/mon.a "$D"/osd.0 "$D"/rgw
FSID=$(uuidgen)
# A self-signed certificate for "localhost" only (not 127.0.0.1), so tests can
# check both a trusted connection and a host name mismatch.
mkdir -p "$D"/tls
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost -addext "subjectAltName=DNS:localhost" \
  -keyout "$D"/tls/key.pem -out "$D"/tls/cert.pem 2>/dev/null
cat > "$D"/ceph.conf <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$((P+40))
public addr = 127.0.0.1
ms bind port min = $((P+41))
ms bind port max = $((P+60))
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
mon data avail warn = 1
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
[mon]
mon data = $D/mon.\$id
[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$P ssl_endpoint=127.0.0.1:$((P+1)) ssl_certificate=$D/tls/cert.pem ssl_private_key=$D/tls/key.pem
rgw data = $D/rgw
CONF
C="-c $D/ceph.conf"
trap 'echo "ceph_rgw.sh: start failed; logs in $D/log" >&2; stop' ERR
ceph-authtool --create-keyring "$D"/keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$D"/keyring --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$D"/keyring --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
ceph-authtool "$D"/keyring --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
OSD_UUID=$(uuidgen)
monmaptool --create --addv a "[v2:127.0.0.1:$((P+40))]" --fsid "$FSID" "$D"/monmap >/dev/null
ceph-mon $C --mkfs -i a --monmap "$D"/monmap --keyring "$D"/keyring
ceph-mon $C -i a
ceph $C osd new "$OSD_UUID" >/dev/null
ceph-osd $C -i 0 --mkfs --osd-uuid "$OSD_UUID" --no-mon-config 2>/dev/null
ceph $C osd crush add-bucket localhost host >/dev/null
ceph $C osd crush move localhost root=default >/dev/null
ceph $C osd crush add osd.0 1.0 host=localhost >/dev/null
ceph-osd $C -i 0 2>/dev/null
up=0
for _ in $(seq 1 60); do ceph $C osd stat 2>/dev/null | grep -q '1 up' && { up=1; break; }; sleep 1; done
[ $up = 1 ] || { echo "ceph_rgw.sh: OSD did not come up" >&2; false; }
radosgw $C -n client.rgw.a
ready=0
for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$P/" && { ready=1; break; }; sleep 1; done
[ $ready = 1 ] || { echo "ceph_rgw.sh: radosgw did not answer" >&2; false; }
radosgw-admin $C user create --uid=test --display-name=test --access-key=TESTACCESS --secret-key=TESTSECRET >/dev/null
for b in "$@"; do
  # CreateBucket, signed with SigV4 by curl (which needs the empty body's hash spelled out).
  code=$(curl -s -o "$D/log/create-$b.txt" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    --user TESTACCESS:TESTSECRET "http://127.0.0.1:$P/$b")
  [ "$code" = 200 ] || { echo "ceph_rgw.sh: creating bucket $b: HTTP $code" >&2; cat "$D/log/create-$b.txt" >&2; false; }
done
cat > "$D/env" <<ENV
BERTH_TEST_S3_ENDPOINT=http://127.0.0.1:$P
BERTH_TEST_S3_REGION=us-east-1
BERTH_TEST_S3_BUCKET=${1:-}
BERTH_TEST_S3_ACCESS_KEY=TESTACCESS
BERTH_TEST_S3_SECRET_KEY=TESTSECRET
BERTH_TEST_S3_TLS_ENDPOINT=https://localhost:$((P+1))
BERTH_TEST_S3_CA_FILE=$D/tls/cert.pem
ENV
trap - ERR
echo "rgw ready on http://127.0.0.1:$P (TESTACCESS/TESTSECRET)"
