#!/usr/bin/env bash
# Installs every Debian and npm package the Rampart tree needs, on Debian 12.
# Idempotent: packages already present are skipped, so a second run is quick.
# Usage: scripts/install-deps.sh [--check]   (--check: exit 1 if something is missing)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

# Build and test toolchain, libraries from ARCHITECTURE.md, test servers.
DEBS=(
  build-essential cmake pkg-config git ca-certificates
  clang llvm libclang-rt-14-dev
  protobuf-c-compiler libprotobuf-c-dev
  libgrpc-dev
  libmicrohttpd-dev
  libmongoc-dev libbson-dev
  libhiredis-dev
  librdkafka-dev
  libjwt-dev
  libbpf-dev bpftool
  libyara-dev
  libyaml-dev
  libjansson-dev
  libcurl4-openssl-dev
  libssl-dev
  libargon2-dev
  libhyperscan-dev
  libcmocka-dev
  libsystemd-dev
  librpm-dev rpm
  redis-server redis-tools
  kcat
  nodejs npm
  chromium
  openssl procps iproute2
  jq docker-compose util-linux   # the trial, tests/e2e and tests/deploy (docker-compose config)
)

# npm packages the tests and the trial run, pinned; installed under tools/node.
NPMS=(
  "@jongodb/memory-server-bin-linux-x64-gnu@0.1.6"
  "kubernetes-models@5.1.0" "yaml@2.9.1"   # tests/deploy: Kubernetes schemas, offline
)

missing_debs() {
  local p
  for p in "${DEBS[@]}"; do
    # nodejs/npm may come from outside Debian (nodesource, nvm); a working binary is enough.
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

# The console's npm packages, as locked in console/package-lock.json (installed in console/).
console_stale() { [ "$top/console/package-lock.json" -nt "$top/console/node_modules/.package-lock.json" ] && echo console/node_modules || true; }

missing_npms() {
  local spec name ver have
  for spec in "${NPMS[@]}"; do
    name=${spec%@*}
    ver=${spec##*@}
    have=$(node -p "try{require('$top/tools/node/node_modules/$name/package.json').version}catch(e){''}" 2>/dev/null || true)
    [ "$have" = "$ver" ] || echo "$spec"
  done
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

debs=$(missing_debs)
if [ "${1:-}" = "--check" ]; then
  npms=""
  command -v node >/dev/null 2>&1 && npms=$(missing_npms; console_stale)
  [ -z "$debs$npms" ] && exit 0
  echo "missing:" $debs $npms >&2
  exit 1
fi

if [ -n "$debs" ]; then
  echo "install-deps: apt-get install" $debs
  as_root apt-get update -q
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $debs
fi

npms=$(missing_npms)
if [ -n "$npms" ]; then
  echo "install-deps: npm install" $npms
  mkdir -p "$top/tools/node"
  [ -f "$top/tools/node/package.json" ] || echo '{"name":"rampart-tools","private":true}' >"$top/tools/node/package.json"
  # shellcheck disable=SC2086
  (cd "$top/tools/node" && npm install --no-audit --no-fund --save-exact $npms)
fi
if [ -n "$(console_stale)" ]; then
  echo "install-deps: npm install (console, as locked)"
  (cd "$top/console" && npm install --no-save --no-audit --no-fund && touch node_modules/.package-lock.json)
fi

# Debian starts redis-server as a system service on install; tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
exit 0
