#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap
# scripts/package (issue 17, point 4): the Debian package holds what it must, its dependencies
# resolve on this Debian 12, and it installs: the units pass `systemd-analyze verify` where they
# are installed, the binary answers --version, the user and the secrets file's rights are made,
# backup and restore run; it is upgraded to a next version and goes back, keeping the town's
# edits, secrets and media; then it is removed and purged, leaving nothing of it behind but the
# media.
#
# The real installation runs as root when no meldestelle package is installed already (a machine
# that runs Meldestelle is never touched) and MELDESTELLE_PACKAGE_INSTALL is not 0; it is what the
# fresh-machine check (../shared/tools/fresh-debian-check) shows on a new Debian 12.
# ARG 1: the meldestelle binary just built (it stands in for the release build).
set -euo pipefail
bin=$(realpath "${1:?usage: package_test.sh PATH_TO_MELDESTELLE}")
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$(mktemp -d)
installed_here=0 user_made=0 varlib_made=0
cleanup() {
  if ((installed_here)); then
    dpkg --purge meldestelle >/dev/null 2>&1 || true
    if ((user_made)); then
      userdel meldestelle 2>/dev/null || true
      groupdel meldestelle 2>/dev/null || true
    fi
  fi
  ((!varlib_made)) || rm -rf /var/lib/meldestelle
  rm -rf "$dir"
}
trap cleanup EXIT
fail=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*" >&2; fail=1; }
# expect WHAT COMMAND...: ok WHAT when COMMAND succeeds, else a failure named WHAT.
expect() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "not so: $what"; fi
}

"$src/scripts/package" --binary "$bin" --output "$dir" --compress none >"$dir/package.log" 2>&1 ||
  { cat "$dir/package.log" >&2; echo "FAIL: scripts/package" >&2; exit 1; }
deb=$(echo "$dir"/meldestelle_*_"$(dpkg --print-architecture)".deb)
[[ -f $deb ]] || { echo "FAIL: no .deb in $dir" >&2; exit 1; }

# What it holds.
contents=$(dpkg-deb -c "$deb" | awk '{ print $1, $6 }')
for want in "-rwxr-xr-x ./usr/bin/meldestelle" "-rwxr-xr-x ./usr/bin/meldestelle-tnef" \
  "-rw-r----- ./etc/meldestelle/meldestelle.env" \
  "-rw-r--r-- ./etc/meldestelle/meldestelle.yaml" "-rw-r--r-- ./etc/meldestelle/rules.yaml" \
  "-rw-r--r-- ./etc/meldestelle/areas/stadtgebiet.geojson" \
  "-rw-r--r-- ./lib/systemd/system/meldestelle-gateway@.service" \
  "-rw-r--r-- ./lib/systemd/system/meldestelle.target" \
  "lrwxrwxrwx ./usr/sbin/meldestelle-backup" "-rw-r--r-- ./usr/share/doc/meldestelle/operations.md" \
  "-rw-r--r-- ./usr/share/doc/meldestelle/copyright"; do
  if grep -qxF -- "$want" <<<"$contents"; then ok "holds $want"; else bad "does not hold $want"; fi
done
if dpkg-deb -c "$deb" | awk '{ print $2 }' | grep -qv '^root/root$'; then
  bad "files not owned by root"
else
  ok "every file is root's"
fi
# Every file under /etc is a conffile (a town's edits survive upgrades), and nothing else is.
dpkg-deb -e "$deb" "$dir/control"
want_conf=$(grep -o '\./etc/[^ ]*[^/]$' <<<"$contents" | sed 's,^\.,,' | LC_ALL=C sort)
if [[ $(LC_ALL=C sort "$dir/control/conffiles") == "$want_conf" ]]; then
  ok "the conffiles are /etc/meldestelle's files"
else
  bad "conffiles: $(cat "$dir/control/conffiles") against $want_conf"
fi
for s in postinst prerm postrm; do
  if sh -n "$dir/control/$s"; then ok "$s is valid sh"; else bad "$s"; fi
done
dpkg-deb -x "$deb" "$dir/root"
for u in "$src"/packaging/systemd/*; do
  cmp -s "$u" "$dir/root/lib/systemd/system/$(basename "$u")" || bad "$(basename "$u") differs from packaging/systemd"
done
# An admin's command finds the service's folders from any directory: the installed configuration
# and meldestelle.env name them absolutely (docs/operations.md, "Running a command as the service
# does").
for d in media state; do
  if grep -q "_dir: \${MELDESTELLE_${d^^}_DIR:-/var/lib/meldestelle/$d}$" "$dir/root/etc/meldestelle/meldestelle.yaml" &&
    grep -qx "MELDESTELLE_${d^^}_DIR=/var/lib/meldestelle/$d" "$dir/root/etc/meldestelle/meldestelle.env"; then
    ok "meldestelle.yaml and meldestelle.env name /var/lib/meldestelle/$d"
  else
    bad "the installed storage.${d}_dir is not /var/lib/meldestelle/$d"
  fi
done
# An upgrade restarts nothing (the migration comes first), and postinst and prerm say so.
if grep -q 'restart' <(grep -v '^ *#\|echo' "$dir/control/postinst" "$dir/control/prerm"); then
  bad "a maintainer script restarts units"
else
  ok "the maintainer scripts restart nothing"
fi
if "$dir/root/usr/bin/meldestelle" --version | grep -q '^meldestelle '; then
  ok "the packaged binary answers --version"
else
  bad "the packaged binary does not answer --version"
fi
# Its dependencies resolve on this system (apt's own resolver, from the archive where missing).
if out=$(apt-get install --simulate --no-install-recommends "$deb" 2>&1); then
  ok "apt resolves its dependencies"
else
  bad "apt cannot install it: $out"
fi

# The real installation.
if [[ ${MELDESTELLE_PACKAGE_INSTALL:-1} == 0 || $(id -u) != 0 ]]; then
  echo "ok - not installed (MELDESTELLE_PACKAGE_INSTALL=0 or not root)"
  exit $fail
fi
if dpkg-query -W -f '${Status}' meldestelle 2>/dev/null | grep -q 'installed'; then
  echo "ok - not installed: a meldestelle package is installed on this machine already"
  exit $fail
fi
getent passwd meldestelle >/dev/null || user_made=1
installed_here=1
if ! out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" 2>&1); then
  echo "FAIL: apt-get install: $out" >&2
  exit 1
fi
ok "installed: $(dpkg-query -W -f '${Package} ${Version} ${Status}' meldestelle)"
grep -q "fill in /etc/meldestelle/meldestelle.env" <<<"$out" || bad "postinst did not say what to do next"
version=$(/usr/bin/meldestelle --version) || true
if [[ $version == "meldestelle "* ]]; then ok "/usr/bin/meldestelle --version: $version"; else bad "meldestelle --version: $version"; fi
# The winmail.dat reader runs with the libraries the package depends on (libytnef0).
if files=$(/usr/bin/meldestelle-tnef <"$src/tests/data/winmail.dat" | tr -d '\0' | grep -ac 'Schlagloch'); then
  ok "/usr/bin/meldestelle-tnef reads tests/data/winmail.dat ($files)"
else
  bad "/usr/bin/meldestelle-tnef does not read tests/data/winmail.dat"
fi
cd /lib/systemd/system
for unit in meldestelle-migrate.service meldestelle-gateway@0.service meldestelle-worker@0.service \
  meldestelle-dispatcher@0.service meldestelle.target; do
  out=$(systemd-analyze verify "$unit" 2>&1) || { bad "systemd-analyze verify $unit: $out"; continue; }
  if grep -v "Failed to put bus name\|System has not been booted with systemd\|Cannot access bus" <<<"$out" | grep -q .; then
    bad "systemd-analyze verify $unit: $out"
  else
    ok "systemd-analyze verify /lib/systemd/system/$unit"
  fi
done
cd /
if getent passwd meldestelle >/dev/null; then ok "the user meldestelle exists"; else bad "no user meldestelle"; fi
rights=$(stat -c '%a %U:%G' /etc/meldestelle/meldestelle.env)
if [[ $rights == "640 root:meldestelle" ]]; then ok "meldestelle.env is 640 root:meldestelle"; else bad "meldestelle.env is $rights"; fi
if /usr/sbin/meldestelle-backup --help | grep -q 'usr/sbin/meldestelle-backup\|meldestelle-backup \['; then
  ok "meldestelle-backup runs"
else
  bad "meldestelle-backup --help"
fi
# The installed configuration is the example: it loads, with its rules, areas and fixtures.
if out=$(/usr/bin/meldestelle rules check --config /etc/meldestelle/meldestelle.yaml 2>&1); then
  ok "meldestelle rules check with /etc/meldestelle/meldestelle.yaml"
else
  bad "the installed configuration does not load: $out"
fi

# An upgrade, as docs/operations.md ("Upgrading") has the town's IT do it, on what an admin made of
# the installation: secrets in meldestelle.env, an edited rule file, the service's media. The
# next version is this package with a higher version and a changed meldestelle.yaml and
# meldestelle.env: the maintainer scripts and the conffiles are what an upgrade goes through.
old_version=$(dpkg-query -W -f '${Version}' meldestelle)
new_version=$old_version+upgrade1
secret='MELDESTELLE_FORM_SECRET=the-towns-own-secret-0123456789abcdef'
echo "$secret" >>/etc/meldestelle/meldestelle.env
echo '# edited by the town' >>/etc/meldestelle/rules.yaml
rules_edited=$(sha256sum </etc/meldestelle/rules.yaml)
# The service's folder only where the test makes it: a machine from which Meldestelle was purged
# keeps the town's media there, which the test must not touch.
if [[ ! -e /var/lib/meldestelle ]]; then
  varlib_made=1
  install -d -o meldestelle -g meldestelle -m 0750 /var/lib/meldestelle /var/lib/meldestelle/media
  echo 'a photo' >/var/lib/meldestelle/media/kept-by-the-town
fi
# media_kept WHEN: the media are still there (not checked where the folder was the town's).
media_kept() {
  if ((varlib_made)); then
    expect "$1 kept the media" test -f /var/lib/meldestelle/media/kept-by-the-town
  else
    ok "not checked: /var/lib/meldestelle was there before, and is left alone"
  fi
}
dpkg-deb -R "$deb" "$dir/next"
sed -i "s/^Version: .*/Version: $new_version/" "$dir/next/DEBIAN/control"
echo '# new in the next version' >>"$dir/next/etc/meldestelle/meldestelle.yaml"
echo '# MELDESTELLE_NEW_SETTING=' >>"$dir/next/etc/meldestelle/meldestelle.env"
next_yaml=$(sha256sum <"$dir/next/etc/meldestelle/meldestelle.yaml")
next_deb=$dir/meldestelle_${new_version}_$(dpkg --print-architecture).deb
dpkg-deb --root-owner-group -Znone --build "$dir/next" "$next_deb" >/dev/null
# Both the admin and the package changed meldestelle.env, so dpkg asks. The documented answer is
# to keep one's own (--force-confold: an admin's "N"), with the new file beside it (.dpkg-dist).
upgrade() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold 2>&1
}
if ! out=$(upgrade "$next_deb"); then
  bad "the upgrade to $new_version failed: $out"
else
  expect "upgraded from $old_version to $new_version" \
    test "$(dpkg-query -W -f '${Version} ${Status}' meldestelle)" = "$new_version install ok installed"
  expect "postinst names the version upgraded from" grep -q "upgraded from $old_version" <<<"$out"
  expect "the upgrade kept the town's meldestelle.env" grep -qxF "$secret" /etc/meldestelle/meldestelle.env
  expect "the new meldestelle.env is beside it, as meldestelle.env.dpkg-dist" \
    grep -q MELDESTELLE_NEW_SETTING /etc/meldestelle/meldestelle.env.dpkg-dist
  expect "meldestelle.env is still 640 root:meldestelle" \
    test "$(stat -c '%a %U:%G' /etc/meldestelle/meldestelle.env)" = "640 root:meldestelle"
  expect "meldestelle.yaml, which nobody edited, is the new version's" \
    test "$(sha256sum </etc/meldestelle/meldestelle.yaml)" = "$next_yaml"
  expect "the town's edit of rules.yaml is kept" \
    test "$(sha256sum </etc/meldestelle/rules.yaml)" = "$rules_edited"
  media_kept "the upgrade"
fi
# Going back: the previous package installed over the newer one (docs/operations.md).
if ! out=$(upgrade --allow-downgrades "$deb"); then
  bad "going back to $old_version failed: $out"
else
  expect "went back to $old_version" test "$(dpkg-query -W -f '${Version}' meldestelle)" = "$old_version"
  expect "going back kept the town's meldestelle.env" grep -qxF "$secret" /etc/meldestelle/meldestelle.env
fi

# Removed: the configuration stays. Purged: nothing of it stays but the town's media.
dpkg --remove meldestelle >/dev/null 2>&1 || bad "dpkg --remove"
expect "removed: the binary is gone" test ! -e /usr/bin/meldestelle
expect "removed: /etc/meldestelle stays" grep -qxF "$secret" /etc/meldestelle/meldestelle.env
dpkg --purge meldestelle >/dev/null 2>&1 || bad "dpkg --purge"
installed_here=0
for gone in /usr/bin/meldestelle /usr/bin/meldestelle-tnef \
  /lib/systemd/system/meldestelle-gateway@.service /etc/meldestelle \
  /usr/sbin/meldestelle-backup; do
  [[ ! -e $gone ]] || bad "$gone is still there after the purge"
done
((fail)) || ok "purged: no file of it is left"
media_kept "the purge"
if ((user_made)); then
  userdel meldestelle 2>/dev/null || true
  groupdel meldestelle 2>/dev/null || true
fi
exit $fail
