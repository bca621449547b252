# shellcheck shell=bash
# Sourced by bench/run and bench/instructions (after scripts/lib.sh, from the source directory):
# the benchmarks' private services and ports under var/bench, apart from scripts/run's and
# scripts/test's. The two benchmarks never run at once (each refuses services still running).
export MELDESTELLE_VAR=$MELDESTELLE_ROOT/var/bench
export MELDESTELLE_AMQP_PORT=5674
export MELDESTELLE_RABBIT_NODENAME=meldestelle-bench@localhost
export MELDESTELLE_PG_PORT=55434
export MELDESTELLE_HTTP_PORT=18080
export MELDESTELLE_PUBLIC_BASE_URL=http://127.0.0.1:18080
export MELDESTELLE_WORKER_METRICS_PORT=19101
export MELDESTELLE_FORM_SECRET=meldestelle-bench-form-secret-0123456789abcdef
export MELDESTELLE_REPORTS_PER_MINUTE=0  # one client sends thousands per second here
export MELDESTELLE_ADMIN_PORT=19170  # not 19180: scripts/faults uses 19180-19181
export MELDESTELLE_MAX_CONNECTIONS_PER_CLIENT=0  # wrk's connections all come from loopback
unset MELDESTELLE_RABBIT_DIST_PORT MELDESTELLE_EPMD_PORT MELDESTELLE_CONFIG
ms_defaults
export MELDESTELLE_MEDIA_DIR=$MELDESTELLE_VAR/media
export MELDESTELLE_STATE_DIR=$MELDESTELLE_VAR/state
