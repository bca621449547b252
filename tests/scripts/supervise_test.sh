#!/usr/bin/env bash
# The checks are strings evaluated later (SC2016, SC2034); cleanup runs from the trap (SC2317).
# shellcheck disable=SC2016,SC2034,SC2317
# scripts/lib.sh ms_supervise (issue 17, point 2): what scripts/run starts is started again when
# it dies, with a back-off and a line in its log, as systemd's Restart=on-failure does; a clean
# end or the supervisor's SIGTERM stops it; a process that cannot start is given up.
set -euo pipefail
MS_PROG=supervise_test
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

MELDESTELLE_VAR=$(mktemp -d)
export MELDESTELLE_VAR
supervisors=()
cleanup() {
  local p
  for p in "${supervisors[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  rm -rf "$MELDESTELLE_VAR"
}
trap cleanup EXIT
fail=0
check() {
  if eval "$1"; then
    echo "ok - $2"
  else
    echo "FAIL: $2 ($1)" >&2
    fail=1
  fi
}
# Waits up to 20 s for a condition (a deadline, not a sleep to synchronise).
until_true() {
  local i
  for ((i = 0; i < 200; i++)); do
    eval "$1" && return 0
    sleep 0.1
  done
  return 1
}
pid_of() { cat "$MELDESTELLE_VAR/run/$1.pid" 2>/dev/null || true; }

# A service that fails at its first start, then runs until it is killed or told to stop. Its
# TERM trap is set before it counts its start: the supervisor writes the pid file as soon as it
# has forked, so only the count says that the service is ready for a SIGTERM.
counter=$MELDESTELLE_VAR/starts
service=$MELDESTELLE_VAR/service.sh
cat >"$service" <<'SH'
#!/bin/sh
trap 'echo "stopped by TERM"; exit 0' TERM
n=$(($(cat "$1" 2>/dev/null || echo 0) + 1))
echo "$n" >"$1.new" && mv "$1.new" "$1"
echo "start $n"
[ "$n" -gt 1 ] || exit 3
while :; do sleep 0.05; done
SH
chmod +x "$service"
log=$MELDESTELLE_VAR/log/service.log
MS_SUPERVISE_MAX_DELAY=1 ms_supervise service "$log" "$service" "$counter"
sup=$MS_SUPERVISED_PID
supervisors+=("$sup")
until_true 'p=$(pid_of service); [[ $(cat "$counter" 2>/dev/null) == 2 && -n $p ]]' || true
check '[[ $(cat "$counter") == 2 ]]' "a failed start is started again"
check 'grep -q "supervisor: service ended (status 3); starting it again in 1s" "$log"' \
  "the restart is logged with the status and the delay"
first=$(pid_of service)
kill -9 "$first"
# (The pid file read once per try: between two reads it may be removed.)
until_true 'p=$(pid_of service); [[ -n $p && $p != "$first" && $(cat "$counter") == 3 ]]' || true
second=$(pid_of service)
check '[[ -n $second && $second != "$first" ]] && kill -0 "$second"' \
  "after kill -9 it runs again under a new pid"
check '[[ $(cat "$counter") == 3 ]]' "started a third time"
check 'grep -q "ended (status 137)" "$log"' "kill -9 is logged as status 137"
kill -TERM "$sup"
until_true '! kill -0 "$sup" 2>/dev/null' || true
check '! kill -0 "$sup" 2>/dev/null' "SIGTERM ends the supervisor"
check '! kill -0 "$second" 2>/dev/null' "and the service it ran"
check 'grep -q "stopped by TERM" "$log"' "the service was stopped with SIGTERM, not killed"
check '[[ ! -e $MELDESTELLE_VAR/run/service.pid ]]' "its pid file is gone"

# A process that cannot start at all is given up after five quick failures in a row.
MS_SUPERVISE_MAX_DELAY=0 ms_supervise broken "$MELDESTELLE_VAR/log/broken.log" sh -c 'exit 2'
broken=$MS_SUPERVISED_PID
supervisors+=("$broken")
status=0
wait "$broken" || status=$?
check '[[ $status == 1 ]]' "the supervisor of a process that cannot start gives up (status 1)"
check '[[ $(grep -c "starting it again" "$MELDESTELLE_VAR/log/broken.log") == 4 ]]' \
  "after four restarts"
check 'grep -q "failed 5 times in a row at start (status 2); giving up" "$MELDESTELLE_VAR/log/broken.log"' \
  "and says so in the log"

# An end with status 0 (told to stop from elsewhere) is not restarted.
ms_supervise clean "$MELDESTELLE_VAR/log/clean.log" true
clean=$MS_SUPERVISED_PID
status=9
wait "$clean" && status=0
check '[[ $status == 0 ]]' "a clean end ends the supervisor"
exit $fail
