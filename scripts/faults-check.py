#!/usr/bin/env python3
"""The fault suite's counts (scripts/faults): which reports became tickets, which
acknowledgements went out how often, per phase and channel.

Reads the load's JSON lines of each phase (--phase NAME=FILE, scripts/faults-load.py), the
tickets (--tickets: CSV of channel, reference, text), the SMTP sink's messages (--sink) and the
messages the providers' stand-ins took (--sent, scripts/faults-providers.py). A report's ticket
is the one whose text holds its key (and, where the answer carried a reference, has that
reference); its acknowledgements are the messages to its own recipient -- every mail to its
address, and the WhatsApp, Telegram or SMS messages to its number that name its ticket's
reference (a question for the place, say, is counted apart as "other").

Prints a table per phase and channel, a Markdown row per phase for docs/reliability.md, and
the check lines; exits 1 if a check failed. --expect-once TEXT: exactly one ticket's text
holds TEXT (the vectors' tickets, which are not the load's). --once-in PHASE: no acknowledgement
of that phase went out twice."""
import argparse
import collections
import csv
import email
import json
import os
import re
import sys

KEY = re.compile(r"\b(r\d+[a-z]+-\d{6})\b")
ACK_CHANNEL = {"whatsapp": "whatsapp", "telegram": "telegram", "phone": "sms"}


def sink_counts(sink):
    seen = collections.Counter()
    for root, _, files in os.walk(sink):
        for f in files:
            if not f.endswith(".eml"):
                continue
            with open(os.path.join(root, f), "rb") as fh:
                msg = email.message_from_binary_file(fh)
            to = (msg.get("To") or "").strip().strip("<>").split("<")[-1].strip(">")
            seen[to] += 1
    return seen


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phase", action="append", default=[], help="NAME=FILE")
    p.add_argument("--tickets", required=True)
    p.add_argument("--sink", required=True)
    p.add_argument("--sent", required=True)
    p.add_argument("--expect-once", action="append", default=[])
    p.add_argument("--ignore-prefix", default="Letzte Probe",
                   help="tickets whose text starts so are the suite's own probes")
    p.add_argument("--markdown", help="write the per-phase and per-channel rows here")
    p.add_argument("--once-in", action="append", default=[], metavar="PHASE",
                   help="a phase in which no acknowledgement may go out twice (no dispatcher is "
                        "killed in it)")
    a = p.parse_args()

    tickets = []
    with open(a.tickets, newline="", encoding="utf-8") as f:
        for channel, reference, text in csv.reader(f):
            tickets.append((channel, reference, text))
    by_key = collections.defaultdict(list)
    unkeyed = []
    for t in tickets:
        keys = set(KEY.findall(t[2]))
        for k in keys:
            by_key[k].append(t)
        if not keys and not t[2].startswith(a.ignore_prefix) and \
                not any(x in t[2] for x in a.expect_once):
            unkeyed.append(t)
    mails = sink_counts(a.sink)
    sent = collections.defaultdict(list)
    if os.path.exists(a.sent):
        for line in open(a.sent, encoding="utf-8"):
            m = json.loads(line)
            sent[(m["channel"], m["to"])].append(m["text"].replace("-", ""))

    rows = []
    fail = []
    totals = collections.Counter()
    errors_all = collections.Counter()
    for spec in a.phase:
        phase, path = spec.split("=", 1)
        reports = [json.loads(x) for x in open(path, encoding="utf-8")]
        per = collections.OrderedDict()
        for r in reports:
            c = per.setdefault(r["channel"], collections.Counter())
            c["sent"] += 1
            c["answered"] += r["answered"]
            c["retried"] += r["tries"] > 1
            for why, n in r["errors"].items():
                errors_all[(phase, r["channel"], why)] += n
            if not r["answered"]:
                continue
            found = by_key.get(r["key"], [])
            if r.get("reference"):
                wrong = [t for t in found if t[1] != r["reference"]]
                c["wrong reference"] += len(wrong)
            if len(found) == 1:
                c["tickets"] += 1
            elif not found:
                c["no ticket"] += 1
            else:
                c["tickets"] += 1
                c["doubled"] += len(found) - 1
            kind, to = r["ack"]
            if kind == "email":
                n = mails.get(to, 0)
                other = 0
            else:
                refs = {t[1] for t in found}
                texts = sent.get((kind, to), [])
                n = sum(1 for x in texts if any(ref in x for ref in refs))
                other = len(texts) - n
            c["acks once"] += n == 1
            c["acks twice"] += n > 1
            c["acks missing"] += n == 0
            c["other messages"] += other
        rows.append((phase, per))
        for c in per.values():
            totals.update(c)

    cols = ["sent", "answered", "retried", "tickets", "no ticket", "doubled", "wrong reference",
            "acks once", "acks twice", "acks missing", "other messages"]
    print("%-9s %-9s " % ("phase", "channel") + " ".join("%9s" % c[:9] for c in cols))
    md = []
    for phase, per in rows:
        sums = collections.Counter()
        for channel, c in per.items():
            sums.update(c)
            print("%-9s %-9s " % (phase, channel) + " ".join("%9d" % c[k] for k in cols))
            md.append("| %s | %s | " % (phase, channel) + " | ".join(
                "{:,}".format(c[k]) for k in cols) + " |")
        print("%-9s %-9s " % (phase, "all") + " ".join("%9d" % sums[k] for k in cols))
        md.append("| %s | **all** | " % phase + " | ".join(
            "{:,}".format(sums[k]) for k in cols) + " |")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("| phase | channel | " + " | ".join(cols) + " |\n")
            f.write("|---|---|" + "---|" * len(cols) + "\n")
            f.write("\n".join(md) + "\n")
    print()
    print("Answers that were not 2xx, per phase and channel (each was sent again):")
    by_pc = collections.defaultdict(list)
    for (phase, channel, why), n in sorted(errors_all.items()):
        by_pc[(phase, channel)].append("%s x%d" % (why, n))
    for (phase, channel), items in by_pc.items():
        print("  %-9s %-9s %s" % (phase, channel, ", ".join(items)))
    no_retry_after = sum(n for (_, _, why), n in errors_all.items()
                         if why == "503 without Retry-After")

    def check(ok, text):
        print("  %-5s %s" % ("ok" if ok else "FAIL", text))
        if not ok:
            fail.append(text)

    print()
    print("Checks over all phases:")
    check(totals["answered"] == totals["sent"],
          "every report answered 2xx in the end: %d of %d" % (totals["answered"], totals["sent"]))
    check(totals["tickets"] == totals["answered"] and totals["no ticket"] == 0,
          "each answered report is a ticket: %d of %d" % (totals["tickets"], totals["answered"]))
    check(totals["doubled"] == 0, "no report doubled: %d" % totals["doubled"])
    check(totals["wrong reference"] == 0,
          "each ticket has the reference its report was answered with: %d differ"
          % totals["wrong reference"])
    check(not unkeyed, "no ticket beyond them: %d%s" % (
        len(unkeyed), "" if not unkeyed else " (%s)" % "; ".join(
            "%s %s %r" % (t[0], t[1], t[2][:60]) for t in unkeyed[:5])))
    check(totals["acks missing"] == 0,
          "every acknowledgement sent: %d once, %d missing"
          % (totals["acks once"], totals["acks missing"]))
    check(totals["acks twice"] * 100 <= totals["sent"],
          "acknowledgements sent twice (a dispatcher killed mid-send): %d (at most 1 %%)"
          % totals["acks twice"])
    for phase, per in rows:
        if phase in a.once_in:
            twice = sum(c["acks twice"] for c in per.values())
            check(twice == 0, "%s: every acknowledgement sent exactly once (no dispatcher killed): "
                  "%d twice" % (phase, twice))
    check(no_retry_after == 0, "every 503 had a Retry-After header: %d had none" % no_retry_after)
    for text in a.expect_once:
        n = sum(1 for t in tickets if text in t[2])
        check(n == 1, "the vector's text %r is in exactly one ticket: %d" % (text, n))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
