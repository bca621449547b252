# shellcheck shell=bash
# Shared helpers for scripts/*, bench/run. Source it; it sets no shell options of its own.
#
# Settings (environment, all optional):
#   MELDESTELLE_VAR               state directory                      [<repo>/var]
#   MELDESTELLE_AMQP_PORT         RabbitMQ AMQP listener               [5672]
#   MELDESTELLE_RABBIT_DIST_PORT  Erlang distribution port             [AMQP port + 20000]
#   MELDESTELLE_EPMD_PORT         private epmd port                    [AMQP port - 1303, i.e. 4369 for 5672]
#   MELDESTELLE_RABBIT_NODENAME   Erlang node name                     [meldestelle@localhost]
#   MELDESTELLE_PG_PORT           PostgreSQL port                      [55432]
#   MELDESTELLE_PG_BIN            PostgreSQL server binaries           [/usr/lib/postgresql/15/bin]
#   MELDESTELLE_IMAP_PORT         Dovecot IMAP listener (e-mail tests) [10143]
#   MELDESTELLE_IMAP_USER         the Dovecot test mailbox's user      [maengel]
#   MELDESTELLE_SMTP_PORT         SMTP sink listener (e-mail tests)    [10025]
#   MELDESTELLE_MAIL_SERVICES     1: "services start" without a name and scripts/run start the
#                                 mail servers too                     [0]
#   MELDESTELLE_LDAP_PORT         OpenLDAP (slapd) listener            [10389]
#   MELDESTELLE_DIRECTORY_SERVICE 1: "services start|stop|status|env" without a name and
#                                 ms_services_start include slapd      [0]

MELDESTELLE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MELDESTELLE_SCRIPTS_DIR=$MELDESTELLE_ROOT/scripts

ms_log() { printf '%s: %s\n' "${MS_PROG:-meldestelle}" "$*" >&2; }
ms_die() { ms_log "error: $*"; exit 1; }

# ms_fill_unset_from FILE: exports each NAME=VALUE line of FILE (generated secrets) whose NAME is
# not set (or empty) in the environment; a value the operator set always wins. Other lines are
# ignored.
ms_fill_unset_from() {
  local line name
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    [[ -n ${!name:-} ]] && continue
    export "$name=${BASH_REMATCH[2]}"
  done <"$1"
}

# Fills in every setting that is not given. Call once after the caller has exported its overrides.
ms_defaults() {
  : "${MELDESTELLE_VAR:=$MELDESTELLE_ROOT/var}"
  : "${MELDESTELLE_AMQP_PORT:=5672}"
  : "${MELDESTELLE_RABBIT_DIST_PORT:=$((MELDESTELLE_AMQP_PORT + 20000))}"
  # Each instance gets its own epmd so that test, bench and run never share a node registry.
  : "${MELDESTELLE_EPMD_PORT:=$((MELDESTELLE_AMQP_PORT - 1303))}"
  : "${MELDESTELLE_RABBIT_NODENAME:=meldestelle@localhost}"
  : "${MELDESTELLE_PG_PORT:=55432}"
  # The gateway's /readyz and /metrics (config/example: gateway.admin_port).
  : "${MELDESTELLE_ADMIN_PORT:=9180}"
  : "${MELDESTELLE_IMAP_PORT:=10143}"
  : "${MELDESTELLE_IMAP_USER:=maengel}"
  : "${MELDESTELLE_SMTP_PORT:=10025}"
  : "${MELDESTELLE_MAIL_SERVICES:=0}"
  : "${MELDESTELLE_LDAP_PORT:=10389}"
  : "${MELDESTELLE_DIRECTORY_SERVICE:=0}"
  if [[ -z ${MELDESTELLE_PG_BIN:-} ]]; then
    MELDESTELLE_PG_BIN=/usr/lib/postgresql/15/bin
    if [[ ! -x $MELDESTELLE_PG_BIN/pg_ctl ]]; then
      local d
      for d in /usr/lib/postgresql/*/bin; do [[ -x $d/pg_ctl ]] && MELDESTELLE_PG_BIN=$d; done
    fi
  fi
  export MELDESTELLE_VAR MELDESTELLE_AMQP_PORT MELDESTELLE_RABBIT_DIST_PORT MELDESTELLE_EPMD_PORT \
         MELDESTELLE_ADMIN_PORT MELDESTELLE_RABBIT_NODENAME MELDESTELLE_PG_PORT MELDESTELLE_PG_BIN \
         MELDESTELLE_IMAP_PORT MELDESTELLE_IMAP_USER MELDESTELLE_SMTP_PORT MELDESTELLE_MAIL_SERVICES \
         MELDESTELLE_LDAP_PORT MELDESTELLE_DIRECTORY_SERVICE
  [[ $MELDESTELLE_IMAP_USER =~ ^[a-z][a-z0-9._-]*$ ]] ||
    ms_die "MELDESTELLE_IMAP_USER must be a plain lower-case name: '$MELDESTELLE_IMAP_USER'"
  [[ $MELDESTELLE_VAR == /* ]] || MELDESTELLE_VAR=$PWD/$MELDESTELLE_VAR
  [[ $MELDESTELLE_VAR != *[[:space:]\'\"]* ]] ||
    ms_die "MELDESTELLE_VAR must not contain blanks or quotes: '$MELDESTELLE_VAR'"
}

# The vhost is spelled out: by the AMQP URI spec (and amqp_parse_url) a bare trailing "/" names
# the empty vhost "", which does not exist; the default vhost "/" is "%2f".
ms_amqp_url() { printf 'amqp://guest:guest@127.0.0.1:%s/%%2f' "$MELDESTELLE_AMQP_PORT"; }
ms_database_url() {
  printf 'postgresql://postgres@127.0.0.1:%s/meldestelle' "$MELDESTELLE_PG_PORT"
}

# ms_elapsed START: seconds since START (an $EPOCHREALTIME value), e.g. "0.21s".
ms_elapsed() {
  local now=${EPOCHREALTIME/,/.} start=${1/,/.}
  awk -v a="$start" -v b="$now" 'BEGIN { printf "%.2fs", b - a }'
}

# True if something accepts TCP connections on 127.0.0.1:$1.
ms_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True if PID $1 exists, is not a zombie and (if $2 is given) its command line contains $2.
# Zombies matter here: reparented children of this sandbox's PID 1 are never reaped.
ms_pid_alive() {
  local pid=$1 want=${2:-} stat cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]] || return 1
  if [[ -n $want ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"$want"* ]] || return 1
  fi
}

# ms_children PID: the PIDs whose parent is PID.
ms_children() {
  local stat f
  for f in /proc/[0-9]*/stat; do
    stat=$(cat "$f" 2>/dev/null) || continue
    stat=${stat##*) }
    local ppid
    read -r _ ppid _ <<<"$stat"
    [[ $ppid != "$1" ]] || { f=${f#/proc/}; echo "${f%/stat}"; }
  done
}

# ms_wait_gone PID SECONDS: waits until PID is gone; false on timeout.
ms_wait_gone() {
  local pid=$1 tenths=$(($2 * 10))
  while ((tenths-- > 0)); do
    ms_pid_alive "$pid" || return 0
    sleep 0.1
  done
  ! ms_pid_alive "$pid"
}

# ms_stop_pid PID NAME [SECONDS]: TERM, wait, then KILL. For processes this script family started.
ms_stop_pid() {
  local pid=$1 name=$2 secs=${3:-20}
  ms_pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! ms_wait_gone "$pid" "$secs"; then
    ms_log "$name (pid $pid) did not stop within ${secs}s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
    ms_wait_gone "$pid" 5 || true
  fi
}

# ms_wait_http URL SECONDS [PID]: polls URL until it answers 2xx; fails early if PID dies.
ms_wait_http() {
  local url=$1 tenths=$(($2 * 10)) pid=${3:-}
  while ((tenths-- > 0)); do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    [[ -z $pid ]] || ms_pid_alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# --- used by scripts/run and bench/run ------------------------------------------------------

# ms_services_start: starts RabbitMQ and PostgreSQL (and Dovecot and the SMTP sink if
# MELDESTELLE_MAIL_SERVICES=1, OpenLDAP's slapd if MELDESTELLE_DIRECTORY_SERVICE=1), remembering
# in MS_STARTED_SERVICES the ones that were not running before, so that
# ms_services_stop_started leaves other people's instances alone.
MS_STARTED_SERVICES=()
ms_services_start() {
  local s list=(rabbitmq postgres)
  [[ ${MELDESTELLE_MAIL_SERVICES:-0} != 1 ]] || list+=(dovecot smtp-sink)
  [[ ${MELDESTELLE_DIRECTORY_SERVICE:-0} != 1 ]] || list+=(slapd)
  for s in "${list[@]}"; do
    if ! "$MELDESTELLE_SCRIPTS_DIR/services" status "$s" >/dev/null 2>&1; then
      MS_STARTED_SERVICES+=("$s")
    fi
    "$MELDESTELLE_SCRIPTS_DIR/services" start "$s"
  done
}
ms_services_stop_started() {
  local s
  for s in "${MS_STARTED_SERVICES[@]}"; do
    "$MELDESTELLE_SCRIPTS_DIR/services" stop "$s" || true
  done
  MS_STARTED_SERVICES=()
}

# ms_supervise NAME LOG CMD...: runs CMD in the background under a supervisor, as systemd's
# Restart=on-failure does in production: when CMD ends with a failure (a status other than 0, or
# a signal such as kill -9) it is started again after a back-off (1 s, doubling up to
# MS_SUPERVISE_MAX_DELAY [30] s; back to 1 s once it ran a minute), and each restart is logged to
# LOG and to stderr. After MS_SUPERVISE_GIVE_UP [5] failures in a row within 10 s of starting
# (a broken configuration, a port in use) the supervisor gives up and ends with status 1. An
# end with status 0 (CMD was told to stop) ends the supervisor too. SIGTERM to the supervisor
# stops CMD (SIGTERM, then waits) and the supervisor. Sets MS_SUPERVISED_PID to the supervisor's
# pid; CMD's current pid is in $MELDESTELLE_VAR/run/NAME.pid while it runs.
MS_SUPERVISED_PID=
ms_supervise() {
  local name=$1 log=$2
  shift 2
  mkdir -p "$MELDESTELLE_VAR/run" "$(dirname "$log")"
  (
    set +e
    pidfile=$MELDESTELLE_VAR/run/$name.pid
    # (What runs is asked with jobs -p, not a remembered pid: a SIGTERM between a start and
    # reading $! would otherwise leave the new process running.)
    # shellcheck disable=SC2317 # invoked by the trap
    stop() {
      local p
      for p in $(jobs -p); do
        kill -TERM "$p" 2>/dev/null
      done
      wait 2>/dev/null
      rm -f "$pidfile"
      exit 0
    }
    trap stop TERM HUP
    delay=1 quick=0
    while :; do
      started=$SECONDS
      "$@" >>"$log" 2>&1 </dev/null &
      echo "$!" >"$pidfile"
      wait "$!"
      rc=$?
      rm -f "$pidfile"
      if ((rc == 0)); then
        ms_log "$name ended by itself (status 0); not started again"
        exit 0
      fi
      if ((SECONDS - started < 10)); then
        quick=$((quick + 1))
      else
        quick=0
      fi
      if ((quick >= ${MS_SUPERVISE_GIVE_UP:-5})); then
        echo "$(date -u +%FT%TZ) supervisor: $name failed $quick times in a row at start" \
          "(status $rc); giving up" >>"$log"
        ms_log "$name failed $quick times in a row at start (status $rc); giving up (log: $log)"
        exit 1
      fi
      ((SECONDS - started < 60)) || delay=1
      echo "$(date -u +%FT%TZ) supervisor: $name ended (status $rc); starting it again in ${delay}s" \
        >>"$log"
      ms_log "$name ended (status $rc); starting it again in ${delay}s (log: $log)"
      # (In the background: a SIGTERM's trap runs during wait, not until a foreground sleep ends.)
      sleep "$delay" &
      wait "$!"
      delay=$((delay * 2))
      ((delay <= ${MS_SUPERVISE_MAX_DELAY:-30})) || delay=${MS_SUPERVISE_MAX_DELAY:-30}
    done
  ) &
  # shellcheck disable=SC2034 # read by the callers
  MS_SUPERVISED_PID=$!
}

# ms_migrate BIN CONFIG LOGDIR: 'meldestelle migrate' (log in LOGDIR/migrate.log); dies on failure.
ms_migrate() {
  local bin=$1 config=$2 logdir=$3
  mkdir -p "$logdir"
  ms_log "migrating the database"
  "$bin" migrate --config "$config" >>"$logdir/migrate.log" 2>&1 ||
    { tail -n 20 "$logdir/migrate.log" >&2; ms_die "migrate failed (log: $logdir/migrate.log)"; }
}

# ms_app_start BIN CONFIG LOGDIR: migrates, starts gateway, worker and dispatcher in the
# background (MS_GATEWAY_PID, MS_WORKER_PID, MS_DISPATCHER_PID) and waits until the gateway's
# /readyz answers.
MS_GATEWAY_PID=
MS_WORKER_PID=
MS_DISPATCHER_PID=
MS_MAILPOLL_PID=
ms_app_start() {
  local bin=$1 config=$2 logdir=$3 port=${MELDESTELLE_HTTP_PORT:-8080}
  ms_migrate "$bin" "$config" "$logdir"
  if ms_port_open "$port"; then
    ms_die "port $port is already in use (set MELDESTELLE_HTTP_PORT)"
  fi
  if [[ ${MELDESTELLE_ADMIN_PORT:-0} != 0 ]] && ms_port_open "$MELDESTELLE_ADMIN_PORT"; then
    ms_die "port $MELDESTELLE_ADMIN_PORT is already in use (set MELDESTELLE_ADMIN_PORT)"
  fi
  "$bin" gateway --config "$config" >>"$logdir/gateway.log" 2>&1 &
  MS_GATEWAY_PID=$!
  "$bin" worker --config "$config" >>"$logdir/worker.log" 2>&1 &
  MS_WORKER_PID=$!
  "$bin" dispatcher --config "$config" >>"$logdir/dispatcher.log" 2>&1 &
  MS_DISPATCHER_PID=$!
  # IMAP polling only when a mailbox is configured (docs/channels/email.md).
  if [[ -n ${MELDESTELLE_IMAP_URL:-} && -n ${MELDESTELLE_MAIL_SECRET:-} ]]; then
    "$bin" mail-poll --config "$config" >>"$logdir/mail-poll.log" 2>&1 &
    MS_MAILPOLL_PID=$!
  fi
  ms_log "gateway pid $MS_GATEWAY_PID, worker pid $MS_WORKER_PID," \
    "dispatcher pid $MS_DISPATCHER_PID, logs in $logdir"
  local ready_port=$port
  [[ ${MELDESTELLE_ADMIN_PORT:-0} == 0 ]] || ready_port=$MELDESTELLE_ADMIN_PORT
  if ! ms_wait_http "http://127.0.0.1:$ready_port/readyz" 60 "$MS_GATEWAY_PID"; then
    tail -n 20 "$logdir/gateway.log" >&2
    ms_die "gateway did not become ready on port $port (log: $logdir/gateway.log)"
  fi
  ms_pid_alive "$MS_WORKER_PID" ||
    { tail -n 20 "$logdir/worker.log" >&2; ms_die "worker exited (log: $logdir/worker.log)"; }
}
ms_app_stop() {
  [[ -z $MS_MAILPOLL_PID ]] || ms_stop_pid "$MS_MAILPOLL_PID" mail-poll
  [[ -z $MS_DISPATCHER_PID ]] || ms_stop_pid "$MS_DISPATCHER_PID" dispatcher
  [[ -z $MS_WORKER_PID ]] || ms_stop_pid "$MS_WORKER_PID" worker
  [[ -z $MS_GATEWAY_PID ]] || ms_stop_pid "$MS_GATEWAY_PID" gateway
  MS_WORKER_PID='' MS_GATEWAY_PID='' MS_DISPATCHER_PID='' MS_MAILPOLL_PID=''
}
