#!/usr/bin/env bash
# Installs rampart-agent on a host (as root): binary, configuration, certificates, systemd unit.
#
#   endpoint/agent/install.sh --binary build/release/endpoint/agent/rampart-agent \
#       [--config agent.yaml] [--ca ca.pem --cert agent.pem --key agent.key] [--no-start]
#
# Without --config an existing /etc/rampart/agent.yaml is kept, else the example is installed
# (edit sd.addrs). Without certificates it prints the agent id to issue one for:
#   rampart-pki issue --dir <pki> --client --cn <id>
# See docs/agent.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary="" config="" ca="" cert="" key="" start=1
prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --ca) ca=$2; shift 2 ;;
    --cert) cert=$2; shift 2 ;;
    --key) key=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
if [ -z "$binary" ]; then
  for b in "$here/../../build/release/endpoint/agent/rampart-agent" \
           "$here/../../build/dev/endpoint/agent/rampart-agent"; do
    [ -x "$b" ] && binary=$b && break
  done
fi
[ -x "$binary" ] || { echo "install.sh: no rampart-agent binary (use --binary)" >&2; exit 1; }

install -D -m 0755 "$binary" "$prefix/bin/rampart-agent"
install -d -m 0755 /etc/rampart /opt/rampart-agent/plugins
install -d -m 0750 /etc/rampart/agent /var/lib/rampart-agent
if [ -n "$config" ]; then
  install -m 0640 "$config" /etc/rampart/agent.yaml
elif [ ! -e /etc/rampart/agent.yaml ]; then
  install -m 0640 "$here/agent.example.yaml" /etc/rampart/agent.yaml
  echo "install.sh: wrote /etc/rampart/agent.yaml from the example: set sd.addrs"
fi
[ -n "$ca" ] && install -m 0644 "$ca" /etc/rampart/agent/ca.pem
[ -n "$cert" ] && install -m 0644 "$cert" /etc/rampart/agent/agent.pem
[ -n "$key" ] && install -m 0600 "$key" /etc/rampart/agent/agent.key

id=$("$prefix/bin/rampart-agent" -c /etc/rampart/agent.yaml --show-id)
echo "install.sh: agent id $id"
sed "s|/usr/local/bin/rampart-agent|$prefix/bin/rampart-agent|" "$here/rampart-agent.service" \
  > /etc/systemd/system/rampart-agent.service
if [ ! -e /etc/rampart/agent/agent.pem ]; then
  echo "install.sh: no certificate yet: issue one with CN=$id, e.g."
  echo "  rampart-pki issue --dir <pki dir> --client --cn $id"
  echo "then copy it to /etc/rampart/agent/agent.pem (+ agent.key, ca.pem) and"
  echo "  systemctl enable --now rampart-agent"
  start=0
fi
if command -v systemctl > /dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$start" = 1 ]; then
    systemctl enable --now rampart-agent
    echo "install.sh: rampart-agent started (journalctl -u rampart-agent)"
  fi
else
  echo "install.sh: no systemd here; run $prefix/bin/rampart-agent -c /etc/rampart/agent.yaml"
fi
