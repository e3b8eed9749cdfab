#!/usr/bin/env bash
# Checks docker-compose.yml and deploy/docker/Dockerfile without a Docker engine:
#  - Debian's docker-compose accepts the file (`docker-compose config`);
#  - every service built from the Dockerfile names one of its stages;
#  - the build stage runs the same CMake commands as `make release`, and the images hold exactly
#    the CMake targets that are the platform's programs (each found in BUILD_DIR at the same
#    path, so a renamed or moved target fails here);
#  - our services run as a non-root user with a health check; the backing servers have health
#    checks; the agent is privileged, in the host's PID namespace, with /sys/kernel/btf.
#   tests/deploy/check_compose.sh BUILD_DIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: check_compose.sh BUILD_DIR}" && pwd)
DF=$top/deploy/docker/Dockerfile
pass=0 failed=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "check_compose: FAIL: $*" >&2
  failed=$((failed + 1))
}
command -v docker-compose >/dev/null || {
  echo "check_compose: SKIPPED: docker-compose is not installed (scripts/install-deps.sh)"
  exit 77
}

# 1. docker-compose validates the file and prints it normalised; Debian's python3-yaml (a
#    dependency of docker-compose) turns that into JSON for jq.
cfg=$(cd "$top" && docker-compose -f docker-compose.yml config) || {
  bad "docker-compose config refused docker-compose.yml"
  exit 1
}
ok
json=$(/usr/bin/python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))' <<<"$cfg")
q() { jq -r "$@" <<<"$json"; }

# 2. Build targets exist as stages.
stages=$(sed -nE 's/^FROM [^ ]+ AS ([a-z-]+)$/\1/p' "$DF")
for svc in $(q '.services | to_entries[] | select(.value.build) | .key'); do
  target=$(q --arg s "$svc" '.services[$s].build.target')
  file=$(q --arg s "$svc" '.services[$s].build.dockerfile')
  [ "$file" = deploy/docker/Dockerfile ] || [ "$file" = "$DF" ] || bad "$svc: built from $file"
  if grep -qx "$target" <<<"$stages"; then ok; else bad "$svc: target '$target' is not a stage of the Dockerfile"; fi
done

# 3. Same CMake commands as `make release`.
while IFS= read -r line; do
  cmd=$(sed -E 's/ *(>\/dev\/null|-j .*)$//' <<<"$line")
  if grep -qF -- "$cmd" "$DF"; then ok; else bad "the Dockerfile does not run '$cmd' (make release does)"; fi
done < <(sed -n '/^release:/,/^$/p' "$top/Makefile" | sed -n 's/^\t\(cmake .*\)/\1/p')

#    Every program copied from the build stage is a target output of this tree ...
copied=$(sed -nE 's|^COPY --from=build /src/build/release/([^ ]+) .*|\1|p' "$DF")
[ -n "$copied" ] || bad "no program copied from the build stage"
for path in $copied; do
  if [ -x "$BUILD/$path" ]; then ok; else bad "the Dockerfile copies $path, which this build tree does not produce"; fi
done
#    ... and every program of the platform is in an image.
for prog in service-discovery/rampart-sd agent-center/rampart-agent-center hub/rampart-hub \
  manager/rampart-manager endpoint/agent/rampart-agent tools/pki/rampart-pki \
  endpoint/plugins/collector/rampart-collector endpoint/plugins/journal/rampart-journal \
  driver/plugin/rampart-driver; do
  if grep -qx "$prog" <<<"$copied"; then ok; else bad "$prog is in no image"; fi
done

# 4. Our service stages drop root and have a health check; the agent stage keeps root.
for st in sd agent-center hub manager agent; do
  body=$(awk -v s="$st" '/^FROM /{cur = ($NF == s)} cur' "$DF")
  grep -q '^HEALTHCHECK ' <<<"$body" && ok || bad "stage $st has no HEALTHCHECK"
  if [ "$st" = agent ]; then
    grep -q '^USER ' <<<"$body" && bad "the agent stage must stay root (eBPF)" || ok
  else
    grep -q '^USER rampart$' <<<"$body" && ok || bad "stage $st does not run as the rampart user"
  fi
done
for svc in redis mongo kafka; do
  [ "$(q --arg s "$svc" '.services[$s].healthcheck.test | length')" -gt 0 ] && ok ||
    bad "$svc has no health check"
done
[ "$(q '.services.agent.privileged')" = true ] && ok || bad "the agent is not privileged"
[ "$(q '.services.agent.pid')" = host ] && ok || bad "the agent is not in the host's PID namespace"
q '.services.agent.volumes[] | if type == "string" then . else "\(.source):\(.target)" end' |
  grep -q '^/sys/kernel/btf:/sys/kernel/btf' && ok || bad "the agent does not mount /sys/kernel/btf"
# Real Kafka (KRaft), MongoDB and Redis images, no test stand-ins.
q '.services.kafka.image' | grep -q '^apache/kafka:' && ok || bad "kafka is not the Apache Kafka image"
[ "$(q '.services.kafka.environment.KAFKA_PROCESS_ROLES')" = broker,controller ] && ok ||
  bad "kafka does not run in KRaft mode"
q '.services.mongo.image' | grep -q '^mongo:' && ok || bad "mongo is not the MongoDB image"
q '.services.redis.image' | grep -q '^redis:' && ok || bad "redis is not the Redis image"

echo "check_compose: $pass passed, $failed failed"
[ "$failed" = 0 ]
