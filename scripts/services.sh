#!/usr/bin/env bash
# Starts on loopback the servers that the scale-out tests need, installing
# them with apt-get when missing, and prints the environment that points the
# tests at them. Idempotent and quick when everything already runs:
#
#   eval "$(scripts/services.sh)"      # then go test ./store/clickhouse/ …
#
# - ClickHouse (Debian's clickhouse-server, 18.16 on bookworm): instances
#   1 and 2 form the 2-shard cluster "sightline" (remote_servers); instances
#   1 and 3 form "sightline_failover", whose second shard the shard-failure
#   test stops and restarts without disturbing tests on "sightline". Small
#   caches and two threads per query, as the machine is shared.
#     instance 1: native 127.0.0.1:19000, HTTP 127.0.0.1:18123
#     instance 2: native 127.0.0.1:19001, HTTP 127.0.0.1:18124
#     instance 3: native 127.0.0.1:19002, HTTP 127.0.0.1:18125
# - PostgreSQL 15 (Debian's): a cluster of its own on 127.0.0.1:15432, with
#   trust authentication for user sightline (loopback only).
#
# Everything lives under $SIGHTLINE_SERVICES_DIR (default
# /var/tmp/sightline-services). `scripts/services.sh stop` stops it all;
# `scripts/services.sh stop-shard 3` / `start-shard 3` stop and start one
# ClickHouse instance (what the shard-failure test does).
#
# The environment printed:
#   SIGHTLINE_TEST_CLICKHOUSE=clickhouse://127.0.0.1:19000/default
#   SIGHTLINE_TEST_CLICKHOUSE_CLUSTER=sightline
#   SIGHTLINE_TEST_CLICKHOUSE_FAILOVER_CLUSTER=sightline_failover
#   SIGHTLINE_TEST_POSTGRES=postgres://sightline@127.0.0.1:15432/sightline?sslmode=disable
#   SIGHTLINE_SERVICES=<path of this script>
set -euo pipefail

DIR=${SIGHTLINE_SERVICES_DIR:-/var/tmp/sightline-services}
CH_TCP=(19000 19001 19002)
CH_HTTP=(18123 18124 18125)
CH_INTER=(19009 19010 19011)
PG_PORT=15432
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

log() { printf 'services: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local need=()
  [ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
  command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
  pg_bin >/dev/null 2>&1 || need+=(postgresql-15)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >&2
  fi
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

# tcp_up PORT: is something accepting connections on 127.0.0.1:PORT?
tcp_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2 i
  for i in $(seq 1 150); do
    tcp_up "$port" && return 0
    sleep 0.2
  done
  log "$what did not start on port $port"
  return 1
}

ch_config() {
  local n=$1 i=$(($1 - 1)) d=$DIR/clickhouse$1
  mkdir -p "$d/data" "$d/tmp" "$d/log" "$d/user_files" "$d/format_schemas"
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$d/log/server.log</log>
    <errorlog>$d/log/server.err.log</errorlog>
    <size>50M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>${CH_TCP[$i]}</tcp_port>
  <http_port>${CH_HTTP[$i]}</http_port>
  <interserver_http_port>${CH_INTER[$i]}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_connections>256</max_connections>
  <max_concurrent_queries>32</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <background_pool_size>2</background_pool_size>
  <background_schedule_pool_size>2</background_schedule_pool_size>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <sightline>
      <shard><replica><host>127.0.0.1</host><port>${CH_TCP[0]}</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>${CH_TCP[1]}</port></replica></shard>
    </sightline>
    <sightline_failover>
      <shard><replica><host>127.0.0.1</host><port>${CH_TCP[0]}</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>${CH_TCP[2]}</port></replica></shard>
    </sightline_failover>
  </remote_servers>
  <macros><shard>$n</shard><replica>r1</replica></macros>
</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <max_threads>2</max_threads>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>in_order</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

ch_start() {
  local n=$1 i=$(($1 - 1)) d=$DIR/clickhouse$1
  # Written even when the server runs: it reloads remote_servers live.
  ch_config "$n"
  tcp_up "${CH_TCP[$i]}" && return 0
  log "starting ClickHouse instance $n on 127.0.0.1:${CH_TCP[$i]}"
  # Own session, so that the server outlives this script and ignores the
  # caller's signals; setsid execs the server, so $! is its pid, which is
  # how stop finds it.
  setsid /usr/sbin/clickhouse-server --config-file="$d/config.xml" \
    </dev/null >"$d/log/stdout.log" 2>&1 &
  echo $! >"$d/server.pid"
  wait_port "${CH_TCP[$i]}" "ClickHouse instance $n" || { tail -20 "$d/log/server.err.log" >&2 || true; return 1; }
}

ch_stop() {
  local n=$1 d=$DIR/clickhouse$1 pid
  [ -f "$d/server.pid" ] || return 0
  pid=$(cat "$d/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping ClickHouse instance $n (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$d/server.pid"
}

pg_start() {
  local bin d=$DIR/postgres
  tcp_up "$PG_PORT" && return 0
  bin=$(pg_bin)
  # PostgreSQL refuses to run as root: the cluster belongs to postgres.
  local run=()
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
  if [ ! -f "$d/PG_VERSION" ]; then
    mkdir -p "$d"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$d"
    log "creating a PostgreSQL cluster in $d"
    "${run[@]}" "$bin/initdb" -D "$d" -U postgres --auth=trust -E UTF8 >/dev/null
    cat >>"$d/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$d'
shared_buffers = 128MB
max_connections = 200
# A test cluster: durability is not what it is for.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  "${run[@]}" "$bin/pg_ctl" -D "$d" -l "$d/server.log" -w start >/dev/null
  "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAtc \
    "SELECT 1 FROM pg_roles WHERE rolname = 'sightline'" | grep -q 1 ||
    "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE ROLE sightline LOGIN CREATEDB" >/dev/null
  "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAtc \
    "SELECT 1 FROM pg_database WHERE datname = 'sightline'" | grep -q 1 ||
    "${run[@]}" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE sightline OWNER sightline" >/dev/null
}

pg_stop() {
  local d=$DIR/postgres run=()
  [ -f "$d/postmaster.pid" ] || return 0
  if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
  "${run[@]}" "$(pg_bin)/pg_ctl" -D "$d" -m fast -w stop >/dev/null || true
}

print_env() {
  cat <<EOF
export SIGHTLINE_TEST_CLICKHOUSE='clickhouse://127.0.0.1:${CH_TCP[0]}/default'
export SIGHTLINE_TEST_CLICKHOUSE_CLUSTER='sightline'
export SIGHTLINE_TEST_CLICKHOUSE_FAILOVER_CLUSTER='sightline_failover'
export SIGHTLINE_TEST_POSTGRES='postgres://sightline@127.0.0.1:${PG_PORT}/sightline?sslmode=disable'
export SIGHTLINE_SERVICES='$SELF'
EOF
}

mkdir -p "$DIR"
case "${1:-start}" in
start)
  install_packages
  ch_start 1
  ch_start 2
  ch_start 3
  pg_start
  print_env
  ;;
stop)
  ch_stop 1
  ch_stop 2
  ch_stop 3
  pg_stop
  ;;
stop-shard) ch_stop "${2:?shard number}" ;;
start-shard) ch_start "${2:?shard number}" ;;
env) print_env ;;
*)
  echo "usage: $0 [start|stop|stop-shard N|start-shard N|env]" >&2
  exit 2
  ;;
esac
