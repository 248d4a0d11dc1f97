#!/usr/bin/env bash
# A throw-away OpenLDAP server for the tests, from Debian's packages (slapd,
# ldap-utils), run as the unprivileged 'openldap' user on 127.0.0.1 only, on a
# private port, with a generated config, CA and directory under DIR.
#
#   slapd.sh start DIR PORT   # generate everything and start (ldaps:// on PORT+1); prints the ldap:// url
#   slapd.sh halt DIR         # stop the server, keeping the data (outage tests)
#   slapd.sh resume DIR       # start the halted server again on the same port
#   slapd.sh stop DIR         # stop and remove DIR
#
# Suffix dc=example,dc=test. Service account cn=admin,dc=example,dc=test,
# its password in DIR/bind-password. Users (inetOrgPerson under ou=people):
# alice/alicepw (groups developers, readers), bob/bobpw (readers), carol/carolpw
# (no group). Groups: groupOfNames under ou=groups, `member` holds user DNs
# (developers also holds cn=nobody, so alice can be taken out of it).
# TLS (StartTLS on the same port): DIR/tls/ca.pem signed the server certificate,
# which names 127.0.0.1 and localhost. DIR/env has BERTH_TEST_LDAP_* for the tests.
# DIR and its parents must be reachable by the openldap user (DIR itself is chowned).
set -euo pipefail
cmd=${1:?start|halt|resume|stop} dir=${2:?directory}
sfx="dc=example,dc=test"
slapd_bin=/usr/sbin/slapd

run_slapd() {
  local port
  port=$(cat "$dir/port")
  # -u/-g: drop root right after binding; -h: loopback only (ldap:// with StartTLS on PORT, ldaps:// on PORT+1).
  "$slapd_bin" -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$((port + 1))/" -u openldap -g openldap
  for _ in $(seq 1 100); do
    ldapsearch -x -H "ldap://127.0.0.1:$port/" -b "$sfx" -s base >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "slapd.sh: slapd did not start (port $port)" >&2
  return 1
}

halt_slapd() {
  [ -f "$dir/slapd.pid" ] || return 0
  local pid
  pid=$(cat "$dir/slapd.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$dir/slapd.pid"
}

case $cmd in
start)
  port=${3:?port}
  [ -x "$slapd_bin" ] && command -v ldapsearch >/dev/null ||
    { echo "slapd.sh: slapd or ldap-utils missing (apt-get install slapd ldap-utils)" >&2; exit 1; }
  id openldap >/dev/null 2>&1 || { echo "slapd.sh: no 'openldap' user (the slapd package creates it)" >&2; exit 1; }
  [ -d "$dir" ] && halt_slapd
  rm -rf "$dir"
  mkdir -p "$dir/db" "$dir/tls"
  echo "$port" >"$dir/port"
  (
    cd "$dir/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=berth test LDAP CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 \
      -extfile server.ext -out server.pem 2>/dev/null
    rm -f ca.key server.csr server.ext ca.srl
  )
  echo adminsecret >"$dir/bind-password"
  cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile $dir/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $dir/tls/ca.pem
TLSCertificateFile $dir/tls/server.pem
TLSCertificateKeyFile $dir/tls/server.key
database mdb
maxsize 104857600
suffix "$sfx"
rootdn "cn=admin,$sfx"
rootpw adminsecret
directory $dir/db
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by * read
CONF
  {
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n\n' "$sfx"
    printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$sfx"
    printf 'dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n' "$sfx"
    for u in alice bob carol; do
      printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %spw\n\n' \
        "$u" "$sfx" "$u" "$u" "$u" "$u"
    done
    printf 'dn: cn=developers,ou=groups,%s\nobjectClass: groupOfNames\ncn: developers\nmember: uid=alice,ou=people,%s\nmember: cn=nobody,%s\n\n' "$sfx" "$sfx" "$sfx"
    printf 'dn: cn=readers,ou=groups,%s\nobjectClass: groupOfNames\ncn: readers\nmember: uid=alice,ou=people,%s\nmember: uid=bob,ou=people,%s\n\n' "$sfx" "$sfx" "$sfx"
  } >"$dir/init.ldif"
  "${slapd_bin%slapd}slapadd" -f "$dir/slapd.conf" -l "$dir/init.ldif" >"$dir/slapadd.log" 2>&1
  chown -R openldap:openldap "$dir"
  chmod 600 "$dir/tls/server.key"
  chmod 755 "$dir"  # the tests (root) and berth read ca.pem and bind-password
  chmod 644 "$dir/tls/ca.pem"
  run_slapd
  {
    echo "BERTH_TEST_LDAP_URL=ldap://127.0.0.1:$port"
    echo "BERTH_TEST_LDAPS_URL=ldaps://127.0.0.1:$((port + 1))"
    echo "BERTH_TEST_LDAP_CA_FILE=$dir/tls/ca.pem"
    echo "BERTH_TEST_LDAP_BIND_DN=cn=admin,$sfx"
    echo "BERTH_TEST_LDAP_BIND_PASSWORD_FILE=$dir/bind-password"
    echo "BERTH_TEST_LDAP_SUFFIX=$sfx"
  } >"$dir/env"
  echo "ldap://127.0.0.1:$port"
  ;;
halt) halt_slapd ;;
resume) run_slapd ;;
stop)
  [ -d "$dir" ] && halt_slapd
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start DIR PORT | halt DIR | resume DIR | stop DIR" >&2
  exit 2
  ;;
esac
