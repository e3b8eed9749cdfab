#!/usr/bin/env bash
# The "attacker's session" of the end-to-end test: runs the attack as a child process, so the
# attack's process chain (attack < this script < ...) starts from a process the platform saw
# being executed. The attack is $RAMPART_E2E_CMD run by `bash -c` (kept out of this script's
# own command line, so only the attacking process matches a rule), else the arguments.
#   RAMPART_E2E_CMD='...' attacker.sh      or      attacker.sh COMMAND [ARGS...]
if [ -n "${RAMPART_E2E_CMD:-}" ]; then
  bash -c "$RAMPART_E2E_CMD"
else
  "$@"
fi
rc=$?
exit "$rc"
