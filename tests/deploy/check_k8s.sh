#!/usr/bin/env bash
# Renders deploy/k8s (base and every overlay) offline, validates each object against the
# Kubernetes schemas of the pinned npm package kubernetes-models, and checks the Secrets that
# deploy/k8s/make-secrets.sh makes cover every Secret the manifests use.
#   tests/deploy/check_k8s.sh BUILD_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: check_k8s.sh BUILD_DIR}" && pwd)
export RAMPART_TOOLS_NODE=$top/tools/node
[ -f "$RAMPART_TOOLS_NODE/node_modules/kubernetes-models/package.json" ] || {
  echo "check_k8s: SKIPPED: kubernetes-models is not installed in tools/node (scripts/install-deps.sh)"
  exit 77
}
[ -x "$BUILD/tools/pki/rampart-pki" ] || {
  echo "check_k8s: SKIPPED: $BUILD/tools/pki/rampart-pki is not built"
  exit 77
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PATH=$BUILD/tools/pki:$PATH "$top/deploy/k8s/make-secrets.sh" -d "$work/secrets" >"$work/secrets.yaml" 2>/dev/null
rc=0
for k in "$top/deploy/k8s/base" "$top"/deploy/k8s/overlays/*/; do
  echo "check_k8s: ${k#"$top"/}"
  K8S_RENDER_OUT=$work/rendered.yaml node "$top/tests/deploy/k8s_check.mjs" "$k" "$work/secrets.yaml" || rc=1
done
exit $rc
