#!/usr/bin/env bash
# packaging/monitoring (issue 17, point 4): the Prometheus alert rules pass `promtool check rules`
# and their unit tests (tests/monitoring/alerts_test.yml: each fires on trouble, with its texts,
# and a healthy installation fires none); the Grafana dashboard is well-formed and every one of its
# queries parses; and every meldestelle_* metric the two name is one the code exports, so that a
# renamed metric cannot leave an alert silently empty.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mon=$src/packaging/monitoring
command -v promtool >/dev/null ||
  { echo "FAIL: promtool missing (scripts/install-deps installs prometheus)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*" >&2; fail=1; }

if out=$(promtool check rules "$mon/meldestelle-alerts.yml" 2>&1); then
  ok "promtool check rules: $(grep -o '[0-9]* rules found' <<<"$out")"
else
  bad "promtool check rules: $out"
fi
if out=$(cd "$src/tests/monitoring" && promtool test rules alerts_test.yml 2>&1); then
  ok "promtool test rules tests/monitoring/alerts_test.yml"
else
  bad "promtool test rules: $out"
fi

# The dashboard: its structure, and its queries as recording rules for promtool to parse.
dashboard_rules() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
problems = []
if d.get("uid") != "meldestelle" or not d.get("title"):
    problems.append("uid/title")
ids = [p.get("id") for p in d["panels"]]
if len(ids) != len(set(ids)) or None in ids:
    problems.append("panel ids missing or repeated")
rules = []
for p in d["panels"]:
    if p.get("type") == "row":
        continue
    if not p.get("title") or "gridPos" not in p:
        problems.append(f"panel {p.get('id')}: no title or place")
    if p.get("datasource", {}).get("uid") != "${datasource}":
        problems.append(f"panel {p.get('id')}: not on the dashboard's data source variable")
    if not p.get("targets"):
        problems.append(f"panel {p.get('id')}: no query")
    for t in p.get("targets", []):
        if not t.get("expr") or not t.get("refId"):
            problems.append(f"panel {p.get('id')}: a query without expr or refId")
            continue
        rules.append({"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": t["expr"]})
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
print(len(rules))
EOF
}
if n=$(dashboard_rules "$mon/meldestelle-dashboard.json" "$dir/dashboard-rules.json"); then
  if out=$(promtool check rules "$dir/dashboard-rules.json" 2>&1); then
    ok "the dashboard's $n queries parse"
  else
    bad "a dashboard query does not parse: $out"
  fi
else
  bad "the dashboard is malformed"
fi

# The metric names against the code (registered as "name" in a .cpp outside tests/).
exported() {
  grep -rqF --include='*.cpp' "\"$1\"" "$src"/core "$src"/gateway "$src"/workers "$src"/outbox \
    "$src"/tickets "$src"/channels "$src"/routing "$src"/app "$src"/privacy 2>/dev/null
}
check_names() {
  local name base missing=0
  while IFS= read -r name; do
    base=${name%_bucket}
    base=${base%_count}
    base=${base%_sum}
    if ! exported "$base"; then
      echo "  $name is not a metric of the code" >&2
      missing=1
    fi
  done < <(grep -oh 'meldestelle_[a-z0-9_]*' "$@" | sort -u)
  return $missing
}
if check_names "$mon/meldestelle-alerts.yml" "$mon/meldestelle-dashboard.json"; then
  ok "every metric the alerts and the dashboard name is exported"
else
  bad "the alerts or the dashboard name metrics the code does not export (above)"
fi

# The checks can fail: a broken query, a structural fault and a renamed metric are caught.
sed 's/expr: meldestelle_broker_connected == 0/expr: meldestelle_broker_connected == == 0/' \
  "$mon/meldestelle-alerts.yml" >"$dir/broken.yml"
if promtool check rules "$dir/broken.yml" >/dev/null 2>&1; then
  bad "a broken alert query passed promtool"
else
  ok "a broken alert query is caught"
fi
python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); d["panels"][1]["targets"][0]["expr"] = "sum(rate(x[5m])"
json.dump(d, open(sys.argv[2], "w"))' "$mon/meldestelle-dashboard.json" "$dir/broken-dashboard.json"
if dashboard_rules "$dir/broken-dashboard.json" "$dir/broken-rules.json" >/dev/null &&
  promtool check rules "$dir/broken-rules.json" >/dev/null 2>&1; then
  bad "a broken dashboard query passed"
else
  ok "a broken dashboard query is caught"
fi
echo 'expr: rate(meldestelle_reports_acepted_total[5m])' >"$dir/renamed.yml"
if check_names "$dir/renamed.yml" 2>/dev/null; then
  bad "a misspelt metric passed the name check"
else
  ok "a misspelt metric is caught"
fi
exit $fail
