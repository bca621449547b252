#!/usr/bin/env bash
# scripts/lib.sh ms_fill_unset_from: generated secrets only fill in what the environment leaves
# unset; a value the operator exported always wins (issue 14, point 7).
set -euo pipefail
MS_PROG=fill_unset_test
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

file=$(mktemp)
trap 'rm -f "$file"' EXIT
cat >"$file" <<'LINES'
MELDESTELLE_T_SET=generated-set
MELDESTELLE_T_EMPTY=generated-empty
MELDESTELLE_T_UNSET=generated-unset
MELDESTELLE_T_EQUALS=a=b=c
# a comment
not a line of ours
lower_case=ignored
LINES

export MELDESTELLE_T_SET=from-operator
export MELDESTELLE_T_EMPTY=
unset MELDESTELLE_T_UNSET MELDESTELLE_T_EQUALS lower_case
ms_fill_unset_from "$file"

fail=0
expect() {
  local name=$1 want=$2
  if [[ ${!name-<unset>} != "$want" ]]; then
    echo "FAIL: $name is '${!name-<unset>}', want '$want'" >&2
    fail=1
  fi
}
expect MELDESTELLE_T_SET from-operator
expect MELDESTELLE_T_EMPTY generated-empty
expect MELDESTELLE_T_UNSET generated-unset
expect MELDESTELLE_T_EQUALS a=b=c
expect lower_case '<unset>'
# Exported: a child process sees the filled-in values.
[[ $(bash -c 'echo "$MELDESTELLE_T_UNSET"') == generated-unset ]] || {
  echo "FAIL: MELDESTELLE_T_UNSET not exported" >&2
  fail=1
}
exit $fail
