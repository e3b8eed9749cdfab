#!/usr/bin/env bash
# Install-time steps shared by the local trial (scripts/trial.sh), docker-compose and the
# Kubernetes secret script. Needs bash, openssl, curl, coreutils; rampart-pki and rampart-agent
# where a step says so.
#
#   rampart-init.sh secrets DIR [--host NAME ...]
#       DIR/service.keys ("rampart-services <hex>"), DIR/jwt.secret, DIR/admin.password and the
#       PKI in DIR/pki (CA + AgentCenter server certificate for localhost, agent-center and each
#       --host). Existing files are kept.
#   rampart-init.sh agent-cert PKI_DIR AGENT_CONFIG OUT_DIR
#       the agent's id (rampart-agent -c AGENT_CONFIG --show-id) and its client certificate
#       (CN = id) in OUT_DIR/agent.pem, agent.key, ca.pem
#   rampart-init.sh sync-plugins AC_ADMIN KEYS_FILE AGENT_ID PLUGINS_DIR NAME...
#       sends the desired plugin set (NAME..., binaries at PLUGINS_DIR/NAME/NAME) to the agent
#       through the AgentCenter's signed admin API (docs/agent.md, docs/signing.md)
set -euo pipefail
ACCESS_KEY=${RAMPART_ACCESS_KEY:-rampart-services}

die() {
  echo "rampart-init: $*" >&2
  exit 1
}

cmd_secrets() {
  local dir=$1 hosts=()
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --host)
        # An address goes in as an IP SAN, a name as a DNS SAN.
        if [[ $2 =~ ^[0-9.]+$ || $2 == *:* ]]; then hosts+=(--ip "$2"); else hosts+=(--host "$2"); fi
        shift 2
        ;;
      *) die "secrets: unknown argument $1" ;;
    esac
  done
  mkdir -p "$dir"
  (
    umask 077
    [ -s "$dir/service.keys" ] || printf '%s %s\n' "$ACCESS_KEY" "$(openssl rand -hex 32)" >"$dir/service.keys"
    [ -s "$dir/jwt.secret" ] || head -c 48 /dev/urandom | base64 -w0 >"$dir/jwt.secret"
    [ -s "$dir/admin.password" ] || openssl rand -base64 48 | tr -dc 'A-Za-z0-9' | head -c 24 >"$dir/admin.password"
  )
  if [ ! -f "$dir/pki/ca.pem" ]; then
    mkdir -p "$dir/pki"
    chmod 700 "$dir/pki"
    rampart-pki init --dir "$dir/pki" --host agent-center "${hosts[@]}" >/dev/null
  fi
  echo "rampart-init: secrets in $dir"
}

cmd_agent_cert() {
  local pki=$1 conf=$2 out=$3 id cn=""
  id=$(rampart-agent -c "$conf" --show-id 2>/dev/null) || die "rampart-agent --show-id failed"
  mkdir -p "$out"
  [ -f "$out/agent.pem" ] && cn=$(rampart-pki show "$out/agent.pem" 2>/dev/null || true)
  if [ "$cn" != "$id" ]; then
    rampart-pki issue --dir "$pki" --client --cn "$id" --out "$out/agent" --force >/dev/null
  fi
  [ "$pki/ca.pem" -ef "$out/ca.pem" ] || cp "$pki/ca.pem" "$out/ca.pem"
  chmod 600 "$out/agent.key"
  echo "$id"
}

# A signed request (docs/signing.md): METHOD\nPATH\nQUERY\nTIMESTAMP\nNONCE\nhex(sha256(body)).
signed() {
  local base=$1 keys=$2 method=$3 path=$4 body=${5:-} sk ts nonce bh sig
  sk=$(awk -v k="$ACCESS_KEY" '$1 == k {print $2}' "$keys")
  [ -n "$sk" ] || die "no key $ACCESS_KEY in $keys"
  ts=$(date +%s)
  nonce=$(openssl rand -hex 16)
  bh=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
  sig=$(printf '%s\n%s\n%s\n%s\n%s\n%s' "$method" "$path" "" "$ts" "$nonce" "$bh" |
    openssl dgst -sha256 -hmac "$sk" -r | cut -d' ' -f1)
  curl -sS --max-time 10 -X "$method" "http://$base$path" \
    -H "X-Rampart-Key: $ACCESS_KEY" -H "X-Rampart-Timestamp: $ts" \
    -H "X-Rampart-Nonce: $nonce" -H "X-Rampart-Signature: $sig" \
    -H 'Content-Type: application/json' ${body:+--data-binary "$body"} -w '\n%{http_code}'
}

cmd_sync_plugins() {
  local ac=$1 keys=$2 id=$3 dir=$4 p sha cfgs="" out code i
  shift 4
  for p in "$@"; do
    [ -f "$dir/$p/$p" ] || die "no plugin binary $dir/$p/$p"
    sha=$(sha256sum "$dir/$p/$p" | cut -d' ' -f1)
    cfgs+="${cfgs:+,}{\"name\":\"$p\",\"type\":\"plugin\",\"version\":\"${RAMPART_PLUGIN_VERSION:-0.1.0}\",\"sha256\":\"$sha\",\"detail\":\"\"}"
  done
  # The agent may still be connecting: 404 agent_not_connected is retried for 60 s.
  for ((i = 0; i < 60; i++)); do
    out=$(signed "$ac" "$keys" POST "/api/v1/agents/$id/commands" "{\"configs\":[$cfgs]}") || true
    code=${out##*$'\n'}
    [ "$code" = 202 ] && {
      echo "rampart-init: plugins sent to $id: $*"
      return 0
    }
    sleep 1
  done
  die "the AgentCenter refused the plugin set ($code): ${out%$'\n'*}"
}

case "${1:-}" in
  secrets) shift; cmd_secrets "$@" ;;
  agent-cert) shift; cmd_agent_cert "$@" ;;
  sync-plugins) shift; cmd_sync_plugins "$@" ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
