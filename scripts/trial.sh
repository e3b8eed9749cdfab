#!/usr/bin/env bash
# The local trial: the whole platform on this host, every file under one folder.
#
#   scripts/trial.sh start     (make trial)       install, build, make secrets, start, wait
#   scripts/trial.sh stop      (make trial-stop)  stop everything it started
#   scripts/trial.sh status                       what runs, and where the logs are
#
# Started, in order: redis-server, rampart-kafka-mock (a Kafka-protocol broker), jongodb (a
# MongoDB-protocol server), rampart-sd, rampart-agent-center, rampart-hub, rampart-manager
# (serving the console when it is built) and, as root, rampart-agent with the collector,
# journal and driver plugins. Re-running start keeps the secrets and certificates and starts
# only what is not running. See docs/install.md.
#
# Environment (all optional):
#   RAMPART_TRIAL_DIR        data folder (default ./trial at the top of the tree)
#   RAMPART_TRIAL_BUILD      build folder (default build/release, built with the release preset;
#                            another folder is built with cmake --build --target ...)
#   RAMPART_TRIAL_NO_BUILD=1 use the binaries already in the build folder
#   RAMPART_TRIAL_NO_AGENT=1 do not start the agent (e.g. not root)
#   RAMPART_TRIAL_ADVERTISE  address agents on other hosts use for this host (default 127.0.0.1)
#   RAMPART_TRIAL_PORT_*     REDIS 6390, KAFKA 9092, MONGO 27017, SD 8088, AC_GRPC 6751,
#                            AC_HTTP 6752, HUB 6761, MANAGER 6701, AGENT 6770
#   RAMPART_TRIAL_WAIT       seconds to wait for the host to show online (default 60)
#   RAMPART_TRIAL_PLUGIN_MEMORY  memory limit of each plugin (default 512MiB; 0 for sanitizer builds)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
DIR=${RAMPART_TRIAL_DIR:-$top/trial}
BUILD=${RAMPART_TRIAL_BUILD:-$top/build/release}
ADVERTISE=${RAMPART_TRIAL_ADVERTISE:-127.0.0.1}
WAIT_ONLINE=${RAMPART_TRIAL_WAIT:-60}
PLUGIN_MEMORY=${RAMPART_TRIAL_PLUGIN_MEMORY:-512MiB}
P_REDIS=${RAMPART_TRIAL_PORT_REDIS:-6390}
P_KAFKA=${RAMPART_TRIAL_PORT_KAFKA:-9092}
P_MONGO=${RAMPART_TRIAL_PORT_MONGO:-27017}
P_SD=${RAMPART_TRIAL_PORT_SD:-8088}
P_AC_GRPC=${RAMPART_TRIAL_PORT_AC_GRPC:-6751}
P_AC_HTTP=${RAMPART_TRIAL_PORT_AC_HTTP:-6752}
P_HUB=${RAMPART_TRIAL_PORT_HUB:-6761}
P_MANAGER=${RAMPART_TRIAL_PORT_MANAGER:-6701}
P_AGENT=${RAMPART_TRIAL_PORT_AGENT:-6770}
ACCESS_KEY=rampart-services
INIT=$top/deploy/docker/rampart-init.sh
PKI=$DIR/secrets/pki
JONGODB=$top/tools/node/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb
# Start order; stop goes the other way.
SERVICES=(redis kafka mongo sd agent-center hub manager agent)
PLUGINS=(collector journal driver)

log() { printf 'trial: %s\n' "$*"; }
die() {
  printf 'trial: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- binaries and build

bin_of() {
  case "$1" in
    sd) echo "$BUILD/service-discovery/rampart-sd" ;;
    agent-center) echo "$BUILD/agent-center/rampart-agent-center" ;;
    hub) echo "$BUILD/hub/rampart-hub" ;;
    manager) echo "$BUILD/manager/rampart-manager" ;;
    agent) echo "$BUILD/endpoint/agent/rampart-agent" ;;
    kafka) echo "$BUILD/tests/tools/kafka-mock/rampart-kafka-mock" ;;
    pki) echo "$BUILD/tools/pki/rampart-pki" ;;
    collector) echo "$BUILD/endpoint/plugins/collector/rampart-collector" ;;
    journal) echo "$BUILD/endpoint/plugins/journal/rampart-journal" ;;
    driver) echo "$BUILD/driver/plugin/rampart-driver" ;;
    redis) command -v redis-server ;;
    mongo) echo "$JONGODB" ;;
  esac
}

TARGETS=(rampart-sd rampart-agent-center rampart-hub rampart-manager rampart-agent
         rampart-collector rampart-journal rampart-driver rampart-pki rampart-kafka-mock)

build() {
  [ "${RAMPART_TRIAL_NO_BUILD:-0}" = 1 ] && return 0
  local jobs
  jobs=$(nproc)
  if [ "$BUILD" = "$top/build/release" ]; then
    log "building (release preset, build/release)"
    (cd "$top" && cmake --preset release >/dev/null && cmake --build --preset release -j "$jobs")
  else
    [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$top" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    log "building in $BUILD"
    cmake --build "$BUILD" -j "$jobs" --target "${TARGETS[@]}"
  fi
}

check_binaries() {
  local n b
  for n in sd agent-center hub manager agent kafka pki collector journal driver redis mongo; do
    b=$(bin_of "$n") || true
    [ -n "$b" ] && [ -x "$b" ] || die "missing $n binary (${b:-not found}); run scripts/install-deps.sh and build"
  done
}

# A built console: the manager serves it when one of these holds index.html.
console_dir() {
  local d
  for d in "$BUILD/console/dist" "$BUILD/console" "$top/console/dist"; do
    [ -f "$d/index.html" ] && {
      echo "$d"
      return 0
    }
  done
  # Not built yet: try the console's own build once (non-fatal).
  if [ "${RAMPART_TRIAL_NO_BUILD:-0}" != 1 ] && [ -f "$top/console/package.json" ] &&
    [ -d "$top/console/node_modules" ] && grep -q '"build"' "$top/console/package.json"; then
    (cd "$top/console" && npm run --silent build >"$DIR/logs/console-build.log" 2>&1) || true
    [ -f "$top/console/dist/index.html" ] && echo "$top/console/dist"
  fi
  return 0
}

# ---------------------------------------------------------------- secrets and certificates

have_root() { [ "$(id -u)" = 0 ]; }

make_secrets() {
  mkdir -p "$DIR"/{etc,logs,run,data/agent/spool,data/plugins,data/hub}
  FIRST_PASSWORD=""
  [ -s "$DIR/secrets/admin.password" ] || FIRST_PASSWORD=new
  local extra=() ip
  ip=$(hostname -I 2>/dev/null | awk '{print $1}') || true
  extra+=(--host "$(hostname)")
  [ -n "$ip" ] && extra+=(--host "$ip")
  [ "$ADVERTISE" != 127.0.0.1 ] && extra+=(--host "$ADVERTISE")
  PATH="$BUILD/tools/pki:$PATH" "$INIT" secrets "$DIR/secrets" "${extra[@]}" >/dev/null
  chmod 700 "$DIR/secrets"
  [ -n "$FIRST_PASSWORD" ] && FIRST_PASSWORD=$(cat "$DIR/secrets/admin.password")
  return 0
}

# The local agent's certificate: CN = its id (rampart-agent --show-id).
agent_certificate() {
  AGENT_ID=$(PATH="$BUILD/tools/pki:$BUILD/endpoint/agent:$PATH" \
    "$INIT" agent-cert "$PKI" "$DIR/etc/agent.yaml" "$PKI")
}

# ---------------------------------------------------------------- configuration files

write_configs() {
  local e=$DIR/etc s=$DIR/secrets
  cat >"$e/sd.yaml" <<EOF
# written by scripts/trial.sh (regenerated at every start)
http: {listen: 0.0.0.0:$P_SD}
redis: {addr: 127.0.0.1:$P_REDIS}
auth: {keys_file: $s/service.keys}
EOF
  cat >"$e/ac.yaml" <<EOF
# written by scripts/trial.sh (regenerated at every start)
instance: {id: trial-ac-1}
grpc: {listen: 0.0.0.0:$P_AC_GRPC, drain_timeout: 2s}
tls: {ca_file: $PKI/ca.pem, cert_file: $PKI/server.pem, key_file: $PKI/server.key}
http: {listen: 127.0.0.1:$P_AC_HTTP}
auth: {keys_file: $s/service.keys}
kafka: {brokers: 127.0.0.1:$P_KAFKA, flush_timeout: 5s}
sd: {addrs: [127.0.0.1:$P_SD], advertise: $ADVERTISE, access_key: $ACCESS_KEY, renew_interval: 5s}
EOF
  cat >"$e/hub.yaml" <<EOF
# written by scripts/trial.sh (regenerated at every start)
instance: trial-hub-1
# A shorter fetch wait than librdkafka's 500 ms: an event is evaluated as soon as it arrives.
kafka: {brokers: 127.0.0.1:$P_KAFKA, properties: [fetch.wait.max.ms=50]}
rules: {dir: $top/hub/rules, state_dir: $DIR/data/hub}
http: {listen: 127.0.0.1:$P_HUB}
auth: {keys_file: $s/service.keys}
sd: {addrs: [127.0.0.1:$P_SD], advertise: 127.0.0.1, access_key: $ACCESS_KEY, renew_interval: 5s}
EOF
  local console
  console=$(console_dir)
  CONSOLE_DIR=$console
  cat >"$e/manager.yaml" <<EOF
# written by scripts/trial.sh (regenerated at every start)
instance: trial-manager-1
http: {listen: 0.0.0.0:$P_MANAGER}
mongo: {uri: "mongodb://127.0.0.1:$P_MONGO", database: rampart}
redis: {addr: 127.0.0.1:$P_REDIS}
kafka: {brokers: 127.0.0.1:$P_KAFKA}
auth: {jwt_secret_file: $s/jwt.secret, keys_file: $s/service.keys, access_key: $ACCESS_KEY}
console: {dir: "$console"}
sd: {addrs: [127.0.0.1:$P_SD], advertise: 127.0.0.1}
EOF
  cat >"$e/agent.yaml" <<EOF
# written by scripts/trial.sh (regenerated at every start)
agent: {state_dir: $DIR/data/agent}
sd: {addrs: [127.0.0.1:$P_SD]}
agent_center: {addrs: [127.0.0.1:$P_AC_GRPC]}
tls: {ca_file: $PKI/ca.pem, cert_file: $PKI/agent.pem, key_file: $PKI/agent.key}
transport: {drain_timeout: 2s, backoff_max: 5s}
spool: {dir: $DIR/data/agent/spool}
# A busy build host makes thousands of events a second: room above the 5000/s default.
plugins: {dir: $DIR/data/plugins, memory_max: $PLUGIN_MEMORY, cpu_percent: 50, rate: 20000, burst: 50000}
heartbeat: {interval: 30s}
http: {port: $P_AGENT}
EOF
}

# ---------------------------------------------------------------- processes

pidfile() { echo "$DIR/run/$1.pid"; }

# The pid of a service we started that still runs (its executable is the expected one).
running_pid() {
  local f pid exe want
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(head -n1 "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  want=$(sed -n 2p "$f")
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  exe=${exe% (deleted)}
  [ -z "$want" ] || [ "$(basename "$exe")" = "$(basename "$want")" ] || return 1
  echo "$pid"
}

# start NAME PROGRAM ARGS...: runs it in its own session, log and pid file under DIR.
start() {
  local name=$1
  shift
  if running_pid "$name" >/dev/null; then
    log "$name already running (pid $(running_pid "$name"))"
    return 0
  fi
  local logf=$DIR/logs/$name.log
  printf -- '--- %s start\n' "$(date -u +%FT%TZ)" >>"$logf"
  setsid "$@" >>"$logf" 2>&1 </dev/null &
  # The resolved program: /proc/PID/exe names it so even through symbolic links.
  local pid=$! want i
  want=$(readlink -f "$(command -v "$1")")
  printf '%s\n%s\n' "$pid" "$want" >"$(pidfile "$name")"
  # Until setsid has exec'd the program, /proc/PID/exe is still this shell.
  for ((i = 0; i < 100; i++)); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$want" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  STARTED+=("$name")
  WATCH=$name
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 200 ms.
wait_until() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    [ -n "${WATCH:-}" ] && ! running_pid "$WATCH" >/dev/null &&
      die "$WATCH exited while starting (log: $DIR/logs/$WATCH.log)"
    sleep 0.2
  done
  die "$what not ready after ${secs}s (logs: $DIR/logs/)"
}

health_ok() { curl -fsS --max-time 2 "http://127.0.0.1:$1/health" >/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port another program holds would make our service fail (or its health check lie).
free_port() {
  running_pid "$1" >/dev/null && return 0
  port_open "$2" && die "port $2 (for $1) is in use by another program; set RAMPART_TRIAL_PORT_* to move it"
  return 0
}

start_all() {
  STARTED=()
  free_port redis "$P_REDIS"
  free_port kafka "$P_KAFKA"
  free_port mongo "$P_MONGO"
  free_port sd "$P_SD"
  free_port agent-center "$P_AC_GRPC"
  free_port agent-center "$P_AC_HTTP"
  free_port hub "$P_HUB"
  free_port manager "$P_MANAGER"
  free_port agent "$P_AGENT"
  start redis "$(bin_of redis)" --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$DIR/data"
  wait_until 10 redis port_open "$P_REDIS"
  start kafka "$(bin_of kafka)" --port "$P_KAFKA" --bootstrap-file "$DIR/run/kafka.bootstrap"
  wait_until 20 "the Kafka broker" test -s "$DIR/run/kafka.bootstrap"
  start mongo "$(bin_of mongo)" --port="$P_MONGO"
  wait_until 60 "jongodb (MongoDB)" port_open "$P_MONGO"
  start sd "$(bin_of sd)" -c "$DIR/etc/sd.yaml"
  wait_until 20 rampart-sd health_ok "$P_SD"
  start agent-center "$(bin_of agent-center)" -c "$DIR/etc/ac.yaml"
  wait_until 20 rampart-agent-center health_ok "$P_AC_HTTP"
  start hub "$(bin_of hub)" -c "$DIR/etc/hub.yaml"
  wait_until 30 rampart-hub health_ok "$P_HUB"
  # The first admin gets this password when the users collection is empty (jongodb keeps
  # nothing across restarts, so it is created again at every start).
  RAMPART_MANAGER_ADMIN_PASSWORD=$(cat "$DIR/secrets/admin.password") \
    start manager "$(bin_of manager)" -c "$DIR/etc/manager.yaml"
  wait_until 30 rampart-manager health_ok "$P_MANAGER"
  if [ "${RAMPART_TRIAL_NO_AGENT:-0}" = 1 ]; then
    log "agent not started (RAMPART_TRIAL_NO_AGENT=1)"
    return 0
  fi
  have_root || {
    log "not root: the agent (and its eBPF driver) is not started; run 'sudo make trial' for it"
    return 0
  }
  DRIVER_LOG_LINES=0
  [ -f "$DIR/data/agent/plugins/driver.log" ] && ! running_pid agent >/dev/null &&
    DRIVER_LOG_LINES=$(wc -l <"$DIR/data/agent/plugins/driver.log")
  install_plugins
  start agent "$(bin_of agent)" -c "$DIR/etc/agent.yaml"
  wait_until 30 "rampart-agent connected" agent_connected
  sync_plugins
}

agent_connected() { curl -fsS --max-time 2 "http://127.0.0.1:$P_AGENT/health" | grep -q '"connected":true'; }
driver_live() { tail -n +"$((DRIVER_LOG_LINES + 1))" "$DIR/data/agent/plugins/driver.log" | grep -q "event=driver_started"; }

# Plugins live at <plugins.dir>/<name>/<name>; the agent checks their SHA-256 before each start.
install_plugins() {
  local p d
  for p in "${PLUGINS[@]}"; do
    d=$DIR/data/plugins/$p
    mkdir -p "$d"
    cmp -s "$(bin_of "$p")" "$d/$p" || install -m 0755 "$(bin_of "$p")" "$d/$p"
  done
}

# The desired plugin set, sent as a Config command through the AgentCenter (docs/agent.md):
# the agent starts them, checks their hashes and keeps the set for its next start.
sync_plugins() {
  "$INIT" sync-plugins "127.0.0.1:$P_AC_HTTP" "$DIR/secrets/service.keys" "$AGENT_ID" \
    "$DIR/data/plugins" "${PLUGINS[@]}" >/dev/null
  log "plugins sent to the agent: ${PLUGINS[*]}"
  for p in "${PLUGINS[@]}"; do
    wait_until 30 "plugin $p" grep -q "event=plugin_started plugin=$p " "$DIR/logs/agent.log"
  done
  # The sensor is live once the driver has loaded its eBPF programs (a few seconds).
  wait_until 60 "the eBPF driver" driver_live
}

# ---------------------------------------------------------------- manager API

api_token() {
  local pw
  pw=$(cat "$DIR/secrets/admin.password")
  curl -fsS --max-time 5 -X POST "http://127.0.0.1:$P_MANAGER/api/v1/auth/login" \
    -H 'Content-Type: application/json' \
    --data-binary "{\"username\":\"admin\",\"password\":\"$pw\"}" | jq -r .access_token
}

host_online() {
  local tok=$1
  curl -fsS --max-time 5 -H "Authorization: Bearer $tok" \
    "http://127.0.0.1:$P_MANAGER/api/v1/hosts?agent_id=$AGENT_ID" |
    jq -e '.items[0].online == true' >/dev/null
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local t0=$SECONDS
  if [ "${RAMPART_TRIAL_NO_BUILD:-0}" != 1 ]; then
    "$top/scripts/install-deps.sh" --check >/dev/null 2>&1 || "$top/scripts/install-deps.sh"
  fi
  build
  check_binaries
  make_secrets
  write_configs
  have_root && [ "${RAMPART_TRIAL_NO_AGENT:-0}" != 1 ] && agent_certificate
  start_all
  local tok
  tok=$(api_token) || die "cannot log in to the manager (log: $DIR/logs/manager.log)"
  if [ -n "${AGENT_ID:-}" ] && running_pid agent >/dev/null; then
    wait_until "$WAIT_ONLINE" "host $AGENT_ID online in the manager" host_online "$tok"
    log "host $(hostname) ($AGENT_ID) is online"
  fi
  local host url
  host=$ADVERTISE
  [ "$host" = 127.0.0.1 ] && host=localhost
  url="http://$host:$P_MANAGER/"
  echo
  echo "Rampart trial is up ($((SECONDS - t0)) s). Data, logs and pid files: $DIR"
  if [ -n "$CONSOLE_DIR" ]; then
    echo "  console:  $url"
  else
    echo "  console:  not built yet; the REST API is at ${url}api/v1 (docs/api.md)"
  fi
  echo "  user:     admin"
  if [ -n "$FIRST_PASSWORD" ]; then
    echo "  password: $FIRST_PASSWORD   (shown once; kept in $DIR/secrets/admin.password)"
  else
    echo "  password: in $DIR/secrets/admin.password"
  fi
  echo "  stop:     make trial-stop"
}

cmd_stop() {
  local i name pid n
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    name=${SERVICES[i]}
    pid=$(running_pid "$name") || {
      rm -f "$(pidfile "$name")"
      continue
    }
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < 150; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop in 15 s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    else
      log "$name stopped"
    fi
    rm -f "$(pidfile "$name")"
  done
  rm -f "$DIR/run/kafka.bootstrap"
}

cmd_status() {
  local name pid rc=0
  for name in "${SERVICES[@]}"; do
    if pid=$(running_pid "$name"); then
      printf '%-13s running  pid %-8s log %s\n' "$name" "$pid" "$DIR/logs/$name.log"
    else
      printf '%-13s stopped\n' "$name"
      rc=3
    fi
  done
  return $rc
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h | --help) sed -n '2,23p' "$0" ;;
  *) die "unknown command '$1' (start, stop, status)" ;;
esac
