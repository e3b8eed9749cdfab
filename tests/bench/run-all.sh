#!/usr/bin/env bash
# Runs every benchmark of an optimised build: tests/bench/run-all.sh build/bench
set -euo pipefail
build=${1:-build/bench}
echo "machine: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
"$build/tests/bench/bench_sd" --seconds 5 --connections 8
"$build/tests/bench/bench_ac" --seconds 10 --agents 100 --rate 2000 --idle 10000
"$build/tests/bench/hub/bench_hub" --seconds 5
"$build/tests/bench/agent/bench_agent" --seconds 10
"$build/tests/bench/driver/bench_driver" --rounds 7
"$build/tests/bench/manager/bench_manager" --hosts 10000 --alerts 20000 --clients 32 --seconds 5
