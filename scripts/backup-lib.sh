# shellcheck shell=bash
# Shared by scripts/backup and scripts/restore (installed by the Debian package as
# /usr/sbin/meldestelle-backup and meldestelle-restore, with this file beside them in
# /usr/share/meldestelle/scripts). Source it; it sets no shell options of its own.
#
# Where the settings come from, first match wins:
#   1. the environment (MELDESTELLE_DATABASE_URL, MELDESTELLE_MEDIA_DIR, MELDESTELLE_PG_BIN);
#   2. --env-file FILE, or /etc/meldestelle/meldestelle.env on an installed system: fills in only
#      what the environment leaves unset;
#   3. in a source tree, the instances of scripts/run (scripts/lib.sh: var/, its PostgreSQL port);
#      installed, the media under /var/lib/meldestelle/media.

bk_here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)

# The name in messages: scripts/backup in a source tree, meldestelle-backup installed.
bk_prog=${0##*/}
[[ -f $bk_here/lib.sh ]] && bk_prog=scripts/$bk_prog

bk_log() { printf '%s: %s\n' "$bk_prog" "$*" >&2; }
bk_die() { bk_log "error: $*"; exit 1; }
bk_usage_error() { bk_log "$*"; echo "Try '$bk_prog --help'." >&2; exit 2; }

# bk_fill_unset_from FILE: exports each NAME=VALUE line whose NAME the environment leaves unset.
# Values may be quoted as systemd's EnvironmentFile= allows ("…" or '…').
bk_fill_unset_from() {
  local line name value
  [[ -r $1 ]] || bk_die "cannot read the environment file $1"
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    [[ -n ${!name:-} ]] && continue
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    export "$name=$value"
  done <"$1"
}

# bk_settings ENV_FILE: fills MELDESTELLE_DATABASE_URL, MELDESTELLE_MEDIA_DIR and bk_pg_bin.
bk_settings() {
  local env_file=$1
  if [[ -n $env_file ]]; then
    bk_fill_unset_from "$env_file"
  elif [[ ! -f $bk_here/lib.sh && -r /etc/meldestelle/meldestelle.env ]]; then
    bk_fill_unset_from /etc/meldestelle/meldestelle.env
  fi
  if [[ -f $bk_here/lib.sh ]]; then
    # A source tree: what scripts/run started, unless both are given (then MELDESTELLE_VAR, which
    # lib.sh checks, plays no part).
    if [[ -z ${MELDESTELLE_DATABASE_URL:-} || -z ${MELDESTELLE_MEDIA_DIR:-} ]]; then
      # shellcheck source=scripts/lib.sh
      . "$bk_here/lib.sh"
      ms_defaults
      : "${MELDESTELLE_DATABASE_URL:=$(ms_database_url)}"
      : "${MELDESTELLE_MEDIA_DIR:=$MELDESTELLE_VAR/media}"
    fi
  else
    : "${MELDESTELLE_MEDIA_DIR:=/var/lib/meldestelle/media}"
  fi
  [[ -n ${MELDESTELLE_DATABASE_URL:-} ]] ||
    bk_die "no database: set MELDESTELLE_DATABASE_URL or pass --database-url"
  [[ $MELDESTELLE_DATABASE_URL =~ ^postgres(ql)?://[^/]*/[^/?]+ ]] ||
    bk_die "the database URL must look like postgresql://user@host:port/name, not '$(bk_safe_url "$MELDESTELLE_DATABASE_URL")'"
  # pg_dump must be at least as new as the server: the newest installed client.
  bk_pg_bin=${MELDESTELLE_PG_BIN:-}
  if [[ -z $bk_pg_bin ]]; then
    local d
    for d in /usr/lib/postgresql/*/bin; do [[ -x $d/pg_dump ]] && bk_pg_bin=$d; done
  fi
  if [[ -z $bk_pg_bin ]]; then
    command -v pg_dump >/dev/null || bk_die "pg_dump not found: install postgresql-client"
    bk_pg_bin=$(dirname "$(command -v pg_dump)")
  fi
  local tool
  for tool in pg_dump pg_restore psql; do
    [[ -x $bk_pg_bin/$tool ]] || bk_die "$tool not found in $bk_pg_bin: install postgresql-client"
  done
}

# The URL with its password hidden, for messages.
bk_safe_url() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# The database's name, and the URL of the server's maintenance database "postgres".
bk_db_name() {
  local base=${1%%\?*}
  printf '%s' "${base##*/}"
}
bk_admin_url() {
  local base=${1%%\?*}
  printf '%s/postgres%s' "${base%/*}" "${1#"$base"}"
}

bk_psql() {
  local url=$1
  shift
  "$bk_pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$url" "$@"
}

# A stored photo or recording: <aa>/<bb>/<sha256> (core/media.hpp, BlobStore).
bk_media_pattern='^\./([0-9a-f]{2})/([0-9a-f]{2})/(([0-9a-f]{64}))$'

# bk_media_list DIR: the blob store's files, one relative path per line (temporary files of
# writes in progress and anything else are not part of it).
bk_media_list() {
  [[ -d $1 ]] || return 0
  (cd "$1" && find . -type f | LC_ALL=C sort | while IFS= read -r f; do
    if [[ $f =~ $bk_media_pattern && ${BASH_REMATCH[3]:0:2} == "${BASH_REMATCH[1]}" &&
      ${BASH_REMATCH[3]:2:2} == "${BASH_REMATCH[2]}" ]]; then
      printf '%s\n' "${f#./}"
    fi
  done)
}

# bk_dump_media DUMP: the SHA-256 of every file of the media folder that the database in a pg_dump
# (custom format) names, sorted, once each: the same four places privacy's retention asks before
# it deletes a file (privacy/anonymise.cpp, UnreferencedCondition) — the tickets' photos and
# documents (attachments), those of chat messages not yet a report (chat_draft_items), the phone
# calls' recordings not deleted (phone_calls) and the photos sent after a report
# (ticket_followups' attachments, JSON). A table the dump lacks names nothing.
bk_dump_media() {
  "$bk_pg_bin/pg_restore" --data-only --table=attachments --table=chat_draft_items \
    --table=phone_calls --table=ticket_followups --file=- "$1" |
    awk -F '\t' '
      # col(NAME): the number of the column NAME in the COPY block that starts here, else 0.
      function col(name,   i) { for (i = 1; i <= n; i++) if (c[i] == name) return i; return 0 }
      /^COPY [^ ]* \(.*\) FROM stdin;$/ {
        table = $0; sub(/^COPY /, "", table); sub(/ .*/, "", table); sub(/^.*\./, "", table)
        cols = $0; sub(/^[^(]*\(/, "", cols); sub(/\) FROM stdin;$/, "", cols); gsub(/"/, "", cols)
        n = split(cols, c, ", ")
        sha = 0; deleted = 0; doc = 0
        if (table == "attachments" || table == "chat_draft_items") sha = col("sha256")
        else if (table == "phone_calls") { sha = col("recording_sha256"); deleted = col("recording_deleted_at") }
        else if (table == "ticket_followups") doc = col("attachments")
        inside = sha > 0 || doc > 0; next
      }
      inside && $0 == "\\." { inside = 0; next }
      !inside { next }
      sha > 0 {
        if ($sha ~ /^[0-9a-f]+$/ && (deleted == 0 || $deleted == "\\N")) print $sha
        next
      }
      {
        # A JSON array of attachments (COPY escapes no quote): every "sha256": "<hex>" in it.
        s = $doc
        while (match(s, /"sha256": *"[0-9a-f]+"/)) {
          m = substr(s, RSTART, RLENGTH); sub(/^"sha256": *"/, "", m); sub(/"$/, "", m); print m
          s = substr(s, RSTART + RLENGTH)
        }
      }' | LC_ALL=C sort -u
}
