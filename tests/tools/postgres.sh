#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, from Debian's packages (postgresql),
# run as the unprivileged 'postgres' user on 127.0.0.1 only, with a private port
# and socket directory under DIR. Needs root (runuser) and openssl.
#
#   postgres.sh start DIR PORT   # initdb + start; roles and TLS below
#   postgres.sh halt DIR         # pg_ctl stop -m fast, keeping the data (outage tests)
#   postgres.sh resume DIR       # start the halted server again on the same port
#   postgres.sh stop DIR         # stop and remove DIR
#
# Roles (database 'berth', owned by 'berth'), one per authentication method:
#   berth       / berth  scram-sha-256
#   berth_md5   / berth  md5
#   berth_clear / berth  password (cleartext)
#   berth_trust          trust
# TLS: DIR/tls/ca.pem signed the server certificate, which names "localhost" only
# (not 127.0.0.1), so tests can check a trusted connection and a host name
# mismatch; DIR/tls/other-ca.pem is an unrelated CA for the "wrong CA" case.
# DIR and its parents must be reachable by the postgres user (DIR itself is chowned).
set -euo pipefail
cmd=${1:?start|halt|resume|stop} dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)

pg_ctl_start() {
  local port
  port=$(cat "$dir/port")
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

case $cmd in
start)
  port=${3:?port}
  [ -n "$bin" ] || { echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  command -v openssl >/dev/null || { echo "postgres.sh: openssl missing" >&2; exit 1; }
  # A leftover server from an interrupted run would hold the port.
  [ -f "$dir/data/postmaster.pid" ] && runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir/data" "$dir/tls"
  mkdir -p "$dir/tls"
  echo "$port" >"$dir/port"
  # The bootstrap superuser only logs in over the socket (trust, local only);
  # pg_hba.conf is replaced below before the server starts.
  chown postgres: "$dir"
  chmod 700 "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=reject \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1

  # TLS: a CA, a server certificate for "localhost" signed by it, and another CA.
  (
    cd "$dir/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=berth test CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=berth other CA" \
      -keyout other-ca.key -out other-ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 \
      -extfile server.ext -out server.pem 2>/dev/null
    rm -f ca.key other-ca.key server.csr server.ext ca.srl
  )
  chown -R postgres: "$dir/tls"
  chmod 600 "$dir/tls/server.key"
  chmod 644 "$dir/tls/ca.pem" "$dir/tls/other-ca.pem" "$dir/tls/server.pem"

  cat >>"$dir/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$dir/tls/server.pem'
ssl_key_file = '$dir/tls/server.key'
password_encryption = 'scram-sha-256'
fsync = off
CONF
  # Top to bottom, first match wins. TCP is 127.0.0.1 only.
  cat >"$dir/data/pg_hba.conf" <<HBA
local all         postgres                  trust
host  all         berth_trust 127.0.0.1/32  trust
host  all         berth_md5   127.0.0.1/32  md5
host  all         berth_clear 127.0.0.1/32  password
host  all         all         127.0.0.1/32  scram-sha-256
HBA
  pg_ctl_start
  runuser -u postgres -- "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE ROLE berth LOGIN PASSWORD 'berth';
CREATE DATABASE berth OWNER berth;
SET password_encryption = 'md5';
CREATE ROLE berth_md5 LOGIN PASSWORD 'berth';
RESET password_encryption;
CREATE ROLE berth_clear LOGIN PASSWORD 'berth';
CREATE ROLE berth_trust LOGIN;
GRANT ALL ON DATABASE berth TO berth_md5, berth_clear, berth_trust;
SQL
  echo "host=127.0.0.1 port=$port dbname=berth user=berth password=berth"
  ;;
halt)
  [ -d "$dir/data" ] || { echo "postgres.sh: no server in $dir" >&2; exit 1; }
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
  ;;
resume)
  [ -d "$dir/data" ] || { echo "postgres.sh: no server in $dir" >&2; exit 1; }
  pg_ctl_start
  ;;
stop)
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start DIR PORT | halt DIR | resume DIR | stop DIR" >&2; exit 2 ;;
esac
