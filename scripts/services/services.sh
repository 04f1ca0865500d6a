#!/usr/bin/env bash
# Throwaway backing services for integration tests: PostgreSQL, Redis, a single-node
# Apache Kafka (KRaft) and a Jaeger trace store, all on 127.0.0.1, all data under one state dir
# that `stop` deletes.
#
#   bash scripts/services/services.sh start   # install what is missing, start, wait, write env
#   bash scripts/services/services.sh stop    # stop all of them, delete the state dir
#   bash scripts/services/services.sh env     # print the env file written by `start`
#
#   bash scripts/services/services.sh start kafka redis   # only some of them (postgres, redis, kafka, jaeger)
#   bash scripts/services/services.sh kill kafka          # kill -9 one of them (a crash, for fault tests);
#                                                         # `start kafka` brings it back, same port and data
#
# Built for a fresh Debian 12 machine where we are root and only package registries are
# reachable (apt, Maven Central, npm): no Docker, no downloads from project websites.
# PostgreSQL, Redis and Prometheus (promtool, and the server the metrics test runs) come from apt; Kafka's jars come from Maven Central through
# scripts/services/kafka/pom.xml and are cached between runs. Jaeger (cmd/jaeger, the
# all-in-one build on the OpenTelemetry collector) is compiled once from the Go module proxy
# with the machine's Go toolchain and cached as a binary.
#
# Settings (environment):
#   STOREFRONT_SERVICES_DIR  state dir (data, logs, pid files, services.env)
#                            default /tmp/storefront-services
#   STOREFRONT_CACHE_DIR     jar, Go module and binary cache, default $HOME/.cache/storefront
#   PG_PORT (54329)  REDIS_PORT (63790)  KAFKA_PORT (19092)  KAFKA_CONTROLLER_PORT (KAFKA_PORT+1)
#   KAFKA_VERSION (4.1.2)    KAFKA_HEAP_OPTS ("-Xms512m -Xmx512m")  KAFKA_LOG_LEVEL (WARN)
#   JAEGER_VERSION (1.75.0)  JAEGER_OTLP_PORT (OTLP/HTTP receiver), JAEGER_QUERY_PORT (query API
#                            and UI), JAEGER_QUERY_GRPC_PORT (query gRPC): by default 14000,
#                            16000 and 16500 plus KAFKA_PORT's last three digits, so checkouts
#                            that each run their own Kafka port also get Jaeger ports of their own
#   GO                       the go command that builds Jaeger (default: `go` on PATH, else
#                            /usr/local/go/bin/go); a Go older than Jaeger's go.mod fetches the
#                            toolchain it names from the module proxy (GOTOOLCHAIN=auto)
#   SERVICES_TIMEOUT         seconds to wait for each service to become ready (default 120)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

STATE_DIR="${STOREFRONT_SERVICES_DIR:-/tmp/storefront-services}"
CACHE_DIR="${STOREFRONT_CACHE_DIR:-${HOME:-/root}/.cache/storefront}"
ENV_FILE="$STATE_DIR/services.env"
# Written into the state dir when we create it; `stop` only deletes a dir that has it, so a
# mistyped STOREFRONT_SERVICES_DIR can never make us `rm -rf` somebody else's directory.
MARKER="$STATE_DIR/.storefront-services"

PG_PORT="${PG_PORT:-54329}"
REDIS_PORT="${REDIS_PORT:-63790}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
# 4.1.x: kafkajs 2.2.4 is proven against it by the event-bus contract tests
# (packages/platform/test/event-bus.contract.test.ts). 3.9.x is the fallback (also works with this script).
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-WARN}"
TIMEOUT="${SERVICES_TIMEOUT:-120}"
JAEGER_VERSION="${JAEGER_VERSION:-1.75.0}"
JAEGER_OTLP_PORT="${JAEGER_OTLP_PORT:-$((14000 + KAFKA_PORT % 1000))}"
JAEGER_QUERY_PORT="${JAEGER_QUERY_PORT:-$((16000 + KAFKA_PORT % 1000))}"
JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-$((16500 + KAFKA_PORT % 1000))}"

PG_DIR="$STATE_DIR/postgres"
REDIS_DIR="$STATE_DIR/redis"
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
JAEGER_DIR="$STATE_DIR/jaeger"
JAEGER_BIN="$CACHE_DIR/jaeger-$JAEGER_VERSION/jaeger"
JAEGER_PID="$JAEGER_DIR/jaeger.pid"

export DEBIAN_FRONTEND=noninteractive

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Print the last lines of a log file (if it exists) and fail: every bounded wait ends here,
# so a broken service explains itself in CI output instead of a bare "timed out".
die_with_log() {
  local what="$1" file="$2"
  log "ERROR: $what"
  if [[ -f "$file" ]]; then
    log "---- last 40 lines of $file ----"
    tail -n 40 "$file" >&2 || true
    log "---- end of $file ----"
  fi
  exit 1
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# initdb and pg_ctl refuse to run as root, so as root we run them as the `postgres` OS user
# (created by Debian's postgresql-common). A non-root developer runs them as themself.
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# True if something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no netcat needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Installing what is missing
# ---------------------------------------------------------------------------------------------

# Directory holding initdb/pg_ctl/postgres/pg_isready/psql of ONE PostgreSQL version. Debian
# keeps these in /usr/lib/postgresql/<major>/bin and puts only wrappers (psql, pg_ctlcluster)
# on PATH, so PATH alone is not enough; some images do symlink initdb/pg_ctl onto PATH.
find_pg_bin() {
  local p d
  if p="$(command -v pg_ctl 2>/dev/null)" && command -v initdb >/dev/null 2>&1; then
    d="$(dirname "$(readlink -f "$p")")"
    [[ -x "$d/initdb" && -x "$d/postgres" && -x "$d/pg_isready" ]] && { echo "$d"; return 0; }
  fi
  # Newest major version first.
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5nr); do
    [[ -x "$d/pg_ctl" && -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_packages() {
  local pkgs=()
  find_pg_bin >/dev/null || pkgs+=(postgresql)
  { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || pkgs+=(redis-server)
  # Most machines have these already; a bare Debian 12 does not, and they are one apt call away.
  command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
  # The browser tests drive Debian's Chromium with playwright-core (no browser download works offline).
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
  # promtool unit-tests the alert rules (ops/prometheus/); the metrics test scrapes the services with
  # a real Prometheus, which the test starts itself on a port of its own.
  { command -v prometheus && command -v promtool; } >/dev/null 2>&1 || pkgs+=(prometheus)
  ((${#pkgs[@]})) || return 0

  is_root || die "missing ${pkgs[*]}; run as root (or install them: apt-get install ${pkgs[*]})"
  log "installing with apt: ${pkgs[*]}"

  # Debian's maintainer scripts start every newly installed daemon (a postgres cluster on
  # 5432, redis on 6379). We only want the binaries: a policy-rc.d that answers 101 ("action
  # forbidden") stops invoke-rc.d from starting them. Only if there is none already (Docker
  # images ship one), and removed again afterwards.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  local rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } \
    >"${TMPDIR:-/tmp}/storefront-services-apt.log" 2>&1 || rc=$?
  ((made_policy)) && rm -f "$policy"
  ((rc == 0)) || die_with_log "apt-get install ${pkgs[*]} failed" "${TMPDIR:-/tmp}/storefront-services-apt.log"
  rm -f "${TMPDIR:-/tmp}/storefront-services-apt.log"

  find_pg_bin >/dev/null || die "postgresql installed but no pg_ctl found in /usr/lib/postgresql/*/bin"
}

# Starts with different state dirs (say a developer's stack and a benchmark's) share the cache.
# The first to find a download or build missing makes it while the others wait here, then find
# it made: two at once would replace the files under a broker or Jaeger the other one runs.
# Released before any daemon starts (they must not inherit fd 8).
lock_cache() {
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/$1.lock"
  flock -w 1800 8 || die "another services.sh has been making $1 in $CACHE_DIR for more than 30 minutes"
}
unlock_cache() { exec 8>&-; }

# Kafka's broker is not packaged for Debian or npm; Maven Central has it as
# org.apache.kafka:kafka_2.13 plus its runtime dependencies. We copy that whole classpath once
# into a per-version cache dir and reuse it: a warm start never runs Maven.
ensure_kafka_libs() {
  [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
  lock_cache "kafka-$KAFKA_VERSION"
  [[ -f "$KAFKA_LIBS/.complete" ]] || fetch_kafka_libs
  unlock_cache
}

fetch_kafka_libs() {
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (once; cached in $KAFKA_LIBS)"
  local tmp="$KAFKA_LIBS.tmp.$$" mvnlog
  mvnlog="$(mktemp)"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # -B: no ANSI colours / progress bars in CI logs. The dependency plugin copies every
  # resolved dependency, kafka_2.13-<v>.jar itself included (it is a direct dependency).
  if ! mvn -B -q -f "$SCRIPT_DIR/kafka/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
    rm -rf "$tmp"
    die_with_log "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "$mvnlog"
  fi
  rm -f "$mvnlog"
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  # Rename into place only when complete, so an interrupted download is never mistaken for a
  # cache hit on the next run.
  touch "$tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  mv "$tmp" "$KAFKA_LIBS"
}

# Jaeger is not packaged for Debian or npm either, and its release archives live on GitHub,
# which CI cannot reach. The Go module proxy serves its source: we compile cmd/jaeger once (a
# few minutes on two cores) and keep the binary; a warm start never runs Go. Its go.mod has a
# `replace` directive, which `go install module@version` refuses, so we build inside a copy of
# the module. Modules are cached under $CACHE_DIR/go-mod (reused by the next version's build);
# the compiler's cache is thrown away with the build directory.
find_go() {
  if [[ -n "${GO:-}" ]]; then echo "$GO"; return 0; fi
  command -v go 2>/dev/null && return 0
  [[ -x /usr/local/go/bin/go ]] && { echo /usr/local/go/bin/go; return 0; }
  return 1
}

ensure_jaeger_bin() {
  [[ -x "$JAEGER_BIN" ]] && return 0
  lock_cache "jaeger-$JAEGER_VERSION"
  [[ -x "$JAEGER_BIN" ]] || build_jaeger_bin
  unlock_cache
}

build_jaeger_bin() {
  local go
  go="$(find_go)" || die "building Jaeger needs Go (1.21 or newer; set GO=/path/to/go): none on PATH or in /usr/local/go"
  log "building Jaeger $JAEGER_VERSION from the Go module proxy with $("$go" version | cut -d' ' -f3) (once; cached in $JAEGER_BIN)"
  local t0=$SECONDS work buildlog
  work="$(mktemp -d "${TMPDIR:-/tmp}/storefront-jaeger-build.XXXXXX")"
  buildlog="$work/build.log"
  # Settings of this build only, whatever the machine's go env says. GOFLAGS=-mod=readonly: the
  # module's own go.sum decides every dependency; CGO off: a static binary, no C compiler needed.
  local -a goenv=(env "GOMODCACHE=$CACHE_DIR/go-mod" "GOPATH=$CACHE_DIR/go-path" "GOCACHE=$work/cache"
    GOFLAGS=-mod=readonly CGO_ENABLED=0 GOTOOLCHAIN=auto GOWORK=off
    "GOPROXY=${GOPROXY:-https://proxy.golang.org}" "GOSUMDB=${GOSUMDB:-sum.golang.org}")
  local dir
  if ! dir="$(cd "$work" && "${goenv[@]}" "$go" mod download -json "github.com/jaegertracing/jaeger@v$JAEGER_VERSION" 2>"$buildlog" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || [[ -z "$dir" ]]; then
    rm -rf "$work"
    die "go mod download github.com/jaegertracing/jaeger@v$JAEGER_VERSION failed (is the Go module proxy reachable?)"
  fi
  cp -R "$dir" "$work/src" && chmod -R u+w "$work/src"
  mkdir -p "$(dirname "$JAEGER_BIN")"
  # -trimpath and -s -w: no build paths or debug tables in the binary (smaller, reproducible).
  if ! (cd "$work/src" && "${goenv[@]}" "$go" build -trimpath -ldflags='-s -w' \
      -o "$JAEGER_BIN.tmp" ./cmd/jaeger) >>"$buildlog" 2>&1; then
    cp "$buildlog" "${TMPDIR:-/tmp}/storefront-jaeger-build.log"
    chmod -R u+w "$work" 2>/dev/null; rm -rf "$work" "$JAEGER_BIN.tmp"
    die_with_log "go build of Jaeger $JAEGER_VERSION failed" "${TMPDIR:-/tmp}/storefront-jaeger-build.log"
  fi
  # Renamed into place only when complete: an interrupted build is never a cache hit.
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
  chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"
  log "built Jaeger $JAEGER_VERSION in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# State dir
# ---------------------------------------------------------------------------------------------

ensure_state_dir() {
  if [[ -e "$STATE_DIR" && ! -f "$MARKER" ]] && [[ -n "$(ls -A "$STATE_DIR" 2>/dev/null)" ]]; then
    die "$STATE_DIR exists, is not empty and was not made by this script; pick another STOREFRONT_SERVICES_DIR"
  fi
  mkdir -p "$STATE_DIR" "$PG_DIR" "$REDIS_DIR" "$KAFKA_DIR" "$JAEGER_DIR"
  touch "$MARKER"
  # The postgres OS user must be able to reach its data dir through every parent directory.
  chmod 755 "$STATE_DIR"
  if is_root; then
    chown postgres:postgres "$PG_DIR"
    runuser -u postgres -- test -x "$STATE_DIR" ||
      die "user postgres cannot enter $STATE_DIR (a parent dir is private?); set STOREFRONT_SERVICES_DIR under /tmp"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

pg_start() {
  PG_BIN="$(find_pg_bin)"
  local data="$PG_DIR/data"
  if as_pg "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    log "postgres already running ($data)"
    return 0
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    # trust auth: loopback-only throwaway server; C locale + UTF8 so the cluster does not
    # depend on which locales a fresh machine has generated. --no-sync: data is disposable.
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
      >"$PG_DIR/initdb.log" 2>&1 || die_with_log "initdb failed" "$PG_DIR/initdb.log"
    # Appended last, so these win over initdb's defaults.
    cat >>"$data/postgresql.conf" <<EOF

# --- storefront throwaway test server (scripts/services/services.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
# Our own socket dir: /var/run/postgresql may not exist (or belong to the system cluster).
unix_socket_directories = '$PG_DIR'
# Tests create a database per test file and open a pool per service.
max_connections = 300
# Durability is worthless for throwaway data and costs test time.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  if port_open "$PG_PORT"; then
    die "port $PG_PORT is taken by another process; set PG_PORT"
  fi
  # -W (no wait): Kafka and Redis start meanwhile; pg_wait_and_provision does a bounded
  # wait with pg_isready and shows this log on failure.
  as_pg "$PG_BIN/pg_ctl" start -W -D "$data" -l "$PG_DIR/postgres.log" -s >/dev/null 2>&1 9>&- ||
    die_with_log "pg_ctl start failed" "$PG_DIR/postgres.log"
}

pg_wait_and_provision() {
  PG_BIN="${PG_BIN:-$(find_pg_bin)}"
  local deadline=$((SECONDS + TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; do
    ((SECONDS < deadline)) || die_with_log "postgres not ready on 127.0.0.1:$PG_PORT after ${TIMEOUT}s" "$PG_DIR/postgres.log"
    sleep 0.2
  done
  # Role and database, idempotently. SUPERUSER implies CREATEDB: tests create a database per
  # test file. The password is only for URLs that carry one; trust auth ignores it.
  "$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null <<'SQL'
SELECT 'CREATE ROLE storefront LOGIN SUPERUSER CREATEDB PASSWORD ''storefront'''
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'storefront') \gexec
SELECT 'CREATE DATABASE storefront OWNER storefront'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'storefront') \gexec
SQL
}

pg_stop() {
  local data="$PG_DIR/data" bin
  [[ -f "$data/postmaster.pid" ]] || return 0
  bin="$(find_pg_bin)" || return 0
  # fast = roll back open transactions and disconnect clients; no waiting for idle pools.
  as_pg "$bin/pg_ctl" stop -D "$data" -m fast -s -t 30 >/dev/null 2>&1 ||
    as_pg "$bin/pg_ctl" stop -D "$data" -m immediate -s >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

redis_start() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    log "redis already running on 127.0.0.1:$REDIS_PORT"
    return 0
  fi
  # No persistence at all (--save "" --appendonly no): a cache / rate-limit store for tests.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize yes --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" \
    --logfile "$REDIS_DIR/redis.log" 9>&- ||
    die_with_log "redis-server failed to start" "$REDIS_DIR/redis.log"
}

redis_wait() {
  local deadline=$((SECONDS + TIMEOUT))
  until redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
    ((SECONDS < deadline)) || die_with_log "redis not ready on 127.0.0.1:$REDIS_PORT after ${TIMEOUT}s" "$REDIS_DIR/redis.log"
    sleep 0.2
  done
}

redis_stop() {
  command -v redis-cli >/dev/null 2>&1 || return 0
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  # If it did not answer (hung, or bound elsewhere), fall back to our pid file.
  local pid
  pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------------------------------------
# Kafka (single node: broker + KRaft controller in one JVM)
# ---------------------------------------------------------------------------------------------

kafka_running_pid() {
  local pid
  pid="$(cat "$KAFKA_PID" 2>/dev/null || true)"
  # Guard against a stale pid file whose pid was reused by an unrelated process.
  if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
    return 0
  fi
  return 1
}

# Kafka moved StorageTool from the Scala core (kafka.tools.StorageTool, up to 4.1) to the tools
# module (org.apache.kafka.tools.StorageTool) in later releases; ask the jars which it is.
# Zip archives store entry names uncompressed, so grep finds them without unzip (which a
# fresh machine lacks). The longer name is tested first: the short one is its suffix.
kafka_storage_tool_class() {
  if grep -qF 'org/apache/kafka/tools/StorageTool.class' "$KAFKA_LIBS"/*.jar; then
    echo org.apache.kafka.tools.StorageTool
  elif grep -qF 'kafka/tools/StorageTool.class' "$KAFKA_LIBS"/*.jar; then
    echo kafka.tools.StorageTool
  else
    return 1
  fi
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by scripts/services/services.sh: one JVM is both broker and KRaft controller.
process.roles=broker,controller
node.id=1
# Static single-voter quorum: works the same on 3.9 and 4.x and needs no --standalone format.
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data

# One broker: every internal topic must live with replication factor 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Fewer partitions for internal topics than the default 50: the first consumer group on a
# fresh broker waits for __consumer_offsets to be created, and 50 partitions make that slow.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5

auto.create.topics.enable=true
num.partitions=3
# Groups rebalance at once instead of waiting 3s for more members: tests start fast.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF

  # log4j2: everything to a file in the state dir, nothing on our stdout. WARN by default;
  # KAFKA_LOG_LEVEL=INFO for a full broker log when debugging.
  cat >"$KAFKA_DIR/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $KAFKA_DIR/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = $KAFKA_LOG_LEVEL
rootLogger.appenderRef.file.ref = FILE
# Keep the "started"/"shutting down" lines even at WARN, so the log shows the lifecycle.
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
EOF
}

# The java command line shared by the storage formatter and the broker, as an array so the
# classpath wildcard reaches the JVM unexpanded (the JVM expands 'libs/*' itself).
kafka_java_cmd() {
  local heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  # Same GC flags as Kafka's own kafka-run-class.sh, with a small fixed heap.
  KAFKA_JAVA=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties"
    "-Dkafka.logs.dir=$KAFKA_DIR/logs"
    -cp "$KAFKA_LIBS/*")
}

kafka_start() {
  local pid
  if pid="$(kafka_running_pid)"; then
    log "kafka already running (pid $pid)"
    return 0
  fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process; set KAFKA_PORT"
  port_open "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is taken; set KAFKA_CONTROLLER_PORT"
  kafka_write_config
  kafka_java_cmd

  # KRaft needs its log dir formatted with a cluster id before the first start. The id is
  # 16 random bytes in URL-safe base64 without padding (what `StorageTool random-uuid`
  # prints); making it here saves one JVM start. Like Kafka's Uuid.randomUuid() we reject
  # ids starting with '-': StorageTool's argument parser would read one as an option
  # ("argument --cluster-id/-t: expected one argument"), i.e. 1 start in 64 would fail.
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    local cluster_id='-' tool
    while [[ "$cluster_id" == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    tool="$(kafka_storage_tool_class)" || die "no StorageTool class in $KAFKA_LIBS"
    "${KAFKA_JAVA[@]}" "$tool" format --ignore-formatted -t "$cluster_id" \
      -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/format.log" 2>&1 ||
      die_with_log "formatting Kafka storage failed" "$KAFKA_DIR/logs/format.log"
  fi

  # setsid: own session, so a Ctrl-C in the terminal that ran `start` does not reach the
  # broker. stdout/stderr (JVM messages, crashes) go to kafka.out next to server.log.
  setsid "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >"$KAFKA_DIR/logs/kafka.out" 2>&1 </dev/null 9>&- &
  echo $! >"$KAFKA_PID"
}

kafka_wait() {
  local deadline=$((SECONDS + TIMEOUT)) pid
  pid="$(cat "$KAFKA_PID" 2>/dev/null || true)"
  # 1) The port answers (cheap; no Node start-ups while the JVM boots).
  until port_open "$KAFKA_PORT"; do
    pid_alive "$pid" || die_with_log "kafka exited during start-up" "$KAFKA_DIR/logs/kafka.out"
    ((SECONDS < deadline)) || die_with_log "kafka not listening on 127.0.0.1:$KAFKA_PORT after ${TIMEOUT}s" "$KAFKA_DIR/logs/server.log"
    sleep 0.3
  done
  # 2) A real client round trip (ApiVersions + Metadata via kafkajs): the listener opens
  # before the broker has caught up with the controller, and until then metadata fails.
  local left=$((deadline - SECONDS)) rc=0
  ((left > 0)) || left=1
  node "$SCRIPT_DIR/kafka-ready.mjs" "127.0.0.1:$KAFKA_PORT" "$((left * 1000))" || rc=$?
  case "$rc" in
    0) ;;
    3) log "WARNING: kafkajs not installed under $REPO_ROOT/node_modules (run npm ci); Kafka checked by port only" ;;
    *) log "---- tail of $KAFKA_DIR/logs/kafka.out ----"; tail -n 20 "$KAFKA_DIR/logs/kafka.out" >&2 || true
       die_with_log "kafka accepts connections but metadata requests fail" "$KAFKA_DIR/logs/server.log" ;;
  esac
}

kafka_stop() {
  local pid
  pid="$(kafka_running_pid)" || { rm -f "$KAFKA_PID"; return 0; }
  # TERM = controlled shutdown (flushes logs, closes the quorum cleanly); KILL if it hangs.
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${KAFKA_STOP_TIMEOUT:-30}))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    log "kafka did not stop within ${KAFKA_STOP_TIMEOUT:-30}s; killing"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$KAFKA_PID"
}

# ---------------------------------------------------------------------------------------------
# Jaeger (all-in-one: OTLP/HTTP receiver, in-memory store, query API)
# ---------------------------------------------------------------------------------------------

jaeger_running_pid() {
  local pid
  pid="$(cat "$JAEGER_PID" 2>/dev/null || true)"
  if pid_alive "$pid" && [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$JAEGER_BIN")" ]]; then
    echo "$pid"
    return 0
  fi
  return 1
}

# Only what the tests use, each on loopback and a port of ours: its default config would also
# open Jaeger's, Zipkin's, sampling, health and metrics ports (4317, 9411, 5778, 13133, 8888 …),
# which other instances on the machine hold.
jaeger_write_config() {
  cat >"$JAEGER_DIR/config.yaml" <<EOF
# Generated by scripts/services/services.sh.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 20000
  jaeger_query:
    storage:
      traces: memory_store
    # Jaeger would otherwise trace its own queries and send them to an OTLP endpoint of its own.
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:$JAEGER_QUERY_PORT
    grpc:
      endpoint: 127.0.0.1:$JAEGER_QUERY_GRPC_PORT
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$JAEGER_OTLP_PORT
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
EOF
}

jaeger_start() {
  local pid port
  if pid="$(jaeger_running_pid)"; then
    log "jaeger already running (pid $pid)"
    return 0
  fi
  for port in "$JAEGER_OTLP_PORT" "$JAEGER_QUERY_PORT" "$JAEGER_QUERY_GRPC_PORT"; do
    port_open "$port" && die "port $port is taken by another process; set JAEGER_OTLP_PORT, JAEGER_QUERY_PORT, JAEGER_QUERY_GRPC_PORT"
  done
  jaeger_write_config
  # OTEL_SDK_DISABLED: the environment may point OTEL_* at this very Jaeger; it must not trace itself.
  OTEL_SDK_DISABLED=true setsid "$JAEGER_BIN" --config "$JAEGER_DIR/config.yaml" \
    >"$JAEGER_DIR/jaeger.log" 2>&1 </dev/null 9>&- &
  echo $! >"$JAEGER_PID"
}

jaeger_wait() {
  local deadline=$((SECONDS + TIMEOUT)) pid
  pid="$(cat "$JAEGER_PID" 2>/dev/null || true)"
  # Extensions (storage, query API) start before receivers: both ports open means ready.
  until port_open "$JAEGER_QUERY_PORT" && port_open "$JAEGER_OTLP_PORT"; do
    pid_alive "$pid" || die_with_log "jaeger exited during start-up" "$JAEGER_DIR/jaeger.log"
    ((SECONDS < deadline)) || die_with_log "jaeger not ready on 127.0.0.1:$JAEGER_QUERY_PORT after ${TIMEOUT}s" "$JAEGER_DIR/jaeger.log"
    sleep 0.2
  done
}

jaeger_stop() {
  local pid
  pid="$(jaeger_running_pid)" || { rm -f "$JAEGER_PID"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.1; done
  pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$JAEGER_PID"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

# The variables of the services this state dir has started.
write_env() {
  {
    if [[ -f "$PG_DIR/data/PG_VERSION" ]]; then
      echo "DATABASE_URL=postgresql://storefront:storefront@127.0.0.1:$PG_PORT/storefront"
    fi
    if [[ -f "$REDIS_DIR/redis.pid" ]]; then echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"; fi
    if [[ -f "$KAFKA_DIR/server.properties" ]]; then echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"; fi
    if [[ -f "$JAEGER_DIR/config.yaml" ]]; then
      # Where to send traces (an OTLP/HTTP base URL) and where to read them back.
      echo "JAEGER_OTLP_URL=http://127.0.0.1:$JAEGER_OTLP_PORT"
      echo "JAEGER_QUERY_URL=http://127.0.0.1:$JAEGER_QUERY_PORT"
    fi
  } >"$ENV_FILE"
}

# Which of them a command acts on: the names given, or all of them.
select_services() {
  WANT_POSTGRES=0 WANT_REDIS=0 WANT_KAFKA=0 WANT_JAEGER=0
  (($#)) || set -- postgres redis kafka jaeger
  local name
  for name in "$@"; do
    case "$name" in
      postgres) WANT_POSTGRES=1 ;;
      redis) WANT_REDIS=1 ;;
      kafka) WANT_KAFKA=1 ;;
      jaeger) WANT_JAEGER=1 ;;
      *) die "unknown service '$name' (postgres, redis, kafka or jaeger)" ;;
    esac
  done
}

cmd_start() {
  local t0=$SECONDS
  select_services "$@"
  ensure_packages
  if ((WANT_KAFKA)); then ensure_kafka_libs; fi
  if ((WANT_JAEGER)); then ensure_jaeger_bin; fi
  ensure_state_dir
  # Kafka's JVM takes longest to boot, so launch it first and start the others meanwhile.
  if ((WANT_KAFKA)); then kafka_start; fi
  if ((WANT_POSTGRES)); then pg_start; fi
  if ((WANT_REDIS)); then redis_start; fi
  if ((WANT_JAEGER)); then jaeger_start; fi
  if ((WANT_POSTGRES)); then
    pg_wait_and_provision
    log "postgres ready on 127.0.0.1:$PG_PORT ($((SECONDS - t0))s)"
  fi
  if ((WANT_REDIS)); then
    redis_wait
    log "redis ready on 127.0.0.1:$REDIS_PORT ($((SECONDS - t0))s)"
  fi
  if ((WANT_KAFKA)); then
    kafka_wait
    log "kafka $KAFKA_VERSION ready on 127.0.0.1:$KAFKA_PORT ($((SECONDS - t0))s)"
  fi
  if ((WANT_JAEGER)); then
    jaeger_wait
    log "jaeger $JAEGER_VERSION ready: OTLP on 127.0.0.1:$JAEGER_OTLP_PORT, query on 127.0.0.1:$JAEGER_QUERY_PORT ($((SECONDS - t0))s)"
  fi
  write_env
  log "ready in $((SECONDS - t0))s (state: $STATE_DIR)"
  cat "$ENV_FILE"
}

# kill -9 of one service, found by the pid file in this state dir (never by name or port, so
# no other instance on the machine is touched). Its data stays: `start <name>` resumes it.
cmd_kill() {
  (($# == 1)) || die "usage: $0 kill postgres|redis|kafka|jaeger"
  local pid=''
  case "$1" in
    kafka) pid="$(kafka_running_pid)" || true ;;
    jaeger) pid="$(jaeger_running_pid)" || true ;;
    redis) pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)" ;;
    postgres) pid="$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)" ;;
    *) die "unknown service '$1' (postgres, redis, kafka or jaeger)" ;;
  esac
  pid_alive "$pid" || die "$1 is not running from $STATE_DIR"
  kill -KILL "$pid"
  for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.05; done
  if pid_alive "$pid"; then die "$1 (pid $pid) survived kill -9"; fi
  log "killed $1 (pid $pid)"
}

cmd_stop() {
  # Every step tolerates "not running" / "never started": stop must never fail.
  jaeger_stop || true
  kafka_stop || true
  redis_stop || true
  pg_stop || true
  if [[ -f "$MARKER" ]]; then
    rm -rf "$STATE_DIR"
  elif [[ -e "$STATE_DIR" ]]; then
    log "not deleting $STATE_DIR: it was not created by this script"
  fi
  log "stopped"
}

cmd_env() {
  [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE; run: bash scripts/services/services.sh start"
  cat "$ENV_FILE"
}

# Two `start`s (or a `start` and a `stop`) running at once, e.g. a developer's terminal and a
# test script, would race on the same pid files and ports: serialise them on a lock file
# beside the state dir (flock is in util-linux, on every Debian). The daemons are started
# with fd 9 closed (`9>&-`): one that inherited it would hold the lock for as long as it runs.
with_lock() {
  local lock="${STATE_DIR%/}.start-stop.lock"
  exec 9>"$lock"
  flock -w "$TIMEOUT" 9 || die "another services.sh holds $lock for more than ${TIMEOUT}s"
  "$@"
}

command="${1:-}"
if (($#)); then shift; fi
case "$command" in
  start) with_lock cmd_start "$@" ;;
  stop) with_lock cmd_stop ;;
  kill) with_lock cmd_kill "$@" ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 start [postgres|redis|kafka|jaeger ...] | stop | kill postgres|redis|kafka|jaeger | env" >&2
    exit 2
    ;;
esac
