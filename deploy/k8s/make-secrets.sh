#!/usr/bin/env bash
# Makes the Kubernetes Secrets of a Rampart installation (never committed):
#   rampart-service-keys  service.keys (HMAC keys shared by SD, AgentCenters, hubs, managers)
#   rampart-jwt           jwt.secret (the manager's JWT signing secret)
#   rampart-admin         admin.password (the first admin's password)
#   rampart-pki-server    ca.pem, server.pem, server.key (the AgentCenters' TLS)
#   rampart-ca            ca.pem, ca.key (read by the agent DaemonSet's init container, which
#                         issues each node's client certificate for its agent id)
# The files are kept in STATE_DIR (default ./rampart-secrets, mode 0700): run it again to print
# the same Secrets; the CA is never replaced.
#   deploy/k8s/make-secrets.sh [-n NAMESPACE] [-d STATE_DIR] [--host NAME ...] > secrets.yaml
#   kubectl apply -f secrets.yaml && kubectl apply -k deploy/k8s/overlays/production
# Needs rampart-pki on PATH (or build/release/tools/pki).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ns=rampart dir=./rampart-secrets hosts=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ns=$2; shift 2 ;;
    -d) dir=$2; shift 2 ;;
    --host) hosts+=(--host "$2"); shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "make-secrets: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v rampart-pki >/dev/null || PATH=$top/build/release/tools/pki:$PATH
mkdir -p "$dir"
chmod 700 "$dir"
"$top/deploy/docker/rampart-init.sh" secrets "$dir" --host agent-center \
  --host "agent-center.$ns.svc" "${hosts[@]}" >&2

# secret NAME FILE... : one Secret whose keys are the files' names.
secret() {
  local name=$1 f
  shift
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' "$name" "$ns"
  printf '  labels: {app.kubernetes.io/part-of: rampart}\ntype: Opaque\ndata:\n'
  for f in "$@"; do
    printf '  %s: %s\n' "$(basename "$f")" "$(base64 -w0 <"$f")"
  done
}
secret rampart-service-keys "$dir/service.keys"
secret rampart-jwt "$dir/jwt.secret"
secret rampart-admin "$dir/admin.password"
secret rampart-pki-server "$dir/pki/ca.pem" "$dir/pki/server.pem" "$dir/pki/server.key"
secret rampart-ca "$dir/pki/ca.pem" "$dir/pki/ca.key"
