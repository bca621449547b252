#!/usr/bin/env bash
# packaging/systemd (issue 17, point 4): the units pass `systemd-analyze verify` (their keys,
# sandboxing options, dependencies and the program they start), as instances of the templates.
# The binary is the one just built (ARG 1), standing in for /usr/bin/meldestelle.
set -euo pipefail
bin=$(realpath "${1:?usage: units_test.sh PATH_TO_MELDESTELLE}")
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../packaging/systemd" && pwd)
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (scripts/install-deps installs systemd)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for f in "$src"/*; do
  sed "s|/usr/bin/meldestelle|$bin|g" "$f" >"$dir/$(basename "$f")"
done
fail=0
cd "$dir"
for unit in meldestelle-migrate.service meldestelle-gateway@0.service meldestelle-gateway@7.service \
  meldestelle-worker@0.service meldestelle-dispatcher@1.service meldestelle.target; do
  out=$(systemd-analyze verify "./$unit" 2>&1) || { echo "FAIL: $unit: $out" >&2; fail=1; continue; }
  # verify exits 0 on some complaints (unknown keys, bad values): they must not be there either.
  if [[ -n $out ]] && grep -v "Failed to put bus name\|System has not been booted with systemd\|Cannot access bus" <<<"$out" | grep -q .; then
    echo "FAIL: $unit: $out" >&2
    fail=1
  else
    echo "ok - $unit"
  fi
done
# A unit with a mistake is caught (the check can fail).
sed 's/^Restart=on-failure/Restart=sometimes/' meldestelle-gateway@.service >meldestelle-broken@.service
if out=$(systemd-analyze verify ./meldestelle-broken@0.service 2>&1) && [[ -z $out ]]; then
  echo "FAIL: a wrong Restart= value passed the check" >&2
  fail=1
else
  echo "ok - a wrong value is caught"
fi
if "$bin" --version | grep -q "meldestelle"; then
  echo "ok - the binary answers --version"
else
  echo "FAIL: $bin --version" >&2
  fail=1
fi
exit $fail
