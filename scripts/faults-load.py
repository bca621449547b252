#!/usr/bin/env python3
"""The fault suite's load (scripts/faults): citizens' reports over the web form, the app API and
Open311, spread over the gateways, each sent again after any answer that is not 2xx (a 503, a
broken connection, a timeout) as a good client does -- with its Idempotency-Key, or the form's
token -- until it is answered 2xx or --give-up seconds passed. Every report carries an e-mail
address of its own, so that its acknowledgement can be counted in the SMTP sink.

Writes one JSON line per report to --out: key, channel, email, reference (empty if never
answered 2xx), tries, and the non-2xx answers seen. Progress and a summary go to stderr.
Only the Python standard library."""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse

TOKEN = re.compile(r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"')


class Client:
    """One keep-alive connection per gateway, opened again after any error."""

    def __init__(self, ports, timeout):
        self.ports = ports
        self.timeout = timeout
        self.conns = {}

    def request(self, port, method, path, body=None, headers=None):
        conn = self.conns.get(port)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
            self.conns[port] = conn
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            data = res.read()
            if res.getheader("Connection", "").lower() == "close":
                conn.close()
                self.conns.pop(port, None)
            return res.status, dict((k.lower(), v) for k, v in res.getheaders()), data
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            self.conns.pop(port, None)
            return None, {}, str(e).encode()


def send_app(client, port, r):
    body = json.dumps({"description": r["text"], "lat": r["lat"], "lon": r["lon"],
                       "email": r["email"]})
    status, headers, data = client.request(
        port, "POST", "/api/v1/reports", body,
        {"Content-Type": "application/json", "Idempotency-Key": r["key"]})
    if status in (200, 202):
        return json.loads(data)["reference"], status
    return None, status


def send_open311(client, port, r, api_key):
    form = urllib.parse.urlencode({"api_key": api_key, "service_code": "STR-01",
                                   "lat": r["lat"], "long": r["lon"],
                                   "description": r["text"], "email": r["email"]})
    status, headers, data = client.request(
        port, "POST", "/open311/v2/requests.json", form,
        {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": r["key"]})
    if status in (200, 201):
        return json.loads(data)[0]["service_request_id"], status
    return None, status


def form_token(client, port):
    status, headers, data = client.request(port, "GET", "/")
    if status != 200:
        return None
    m = TOKEN.search(data.decode("utf-8", "replace"))
    return (m.group(1) or m.group(2)) if m else None


def send_form(client, port, r):
    form = urllib.parse.urlencode({"beschreibung": r["text"], "adresse": r["address"],
                                   "email": r["email"], "website": "",
                                   "form_token": r["token"]})
    status, headers, data = client.request(
        port, "POST", "/formular/meldung", form,
        {"Content-Type": "application/x-www-form-urlencoded"})
    if status == 200 and headers.get("x-meldestelle-seite") == "bestaetigung":
        page = headers.get("x-meldestelle-statusseite", "")
        return page.split("/meldung/")[1].split("?")[0], status
    if status == 200:
        return None, "form shown again"
    return None, status


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ports", required=True, help="the gateways' ports, comma-separated")
    p.add_argument("--reports", type=int, default=10000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--open311-key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--run", default="f", help="tells this run's reports apart")
    p.add_argument("--give-up", type=float, default=180, help="seconds per report")
    p.add_argument("--started-file", help="written with the time the load begins (after the "
                   "form tokens are fetched)")
    p.add_argument("--rate", type=float, default=0,
                   help="new reports per second over all threads (0: as fast as answered)")
    p.add_argument("--token-age", type=float, default=3.5,
                   help="seconds a form token must be old (webform.token_min_age_seconds)")
    a = p.parse_args()
    ports = [int(x) for x in a.ports.split(",")]
    channels = ["app", "webform", "open311"]
    reports = []
    for i in range(a.reports):
        reports.append({"key": "%s-%06d" % (a.run, i), "channel": channels[i % 3],
                        "email": "buerger-%s-%06d@example.net" % (a.run, i),
                        "text": "Schlagloch Nummer %s-%06d vor dem Haus" % (a.run, i),
                        "address": "Marktplatz %d" % (1 + i % 40),
                        # Spread over the town, apart enough not to be linked as duplicates.
                        "lat": round(50.90 + (i % 100) * 0.0009, 6),
                        "lon": round(6.90 + (i // 100 % 100) * 0.0013, 6),
                        "reference": "", "tries": 0, "errors": {}})
    lock = threading.Lock()
    next_index = [0]
    done = [0]
    started = time.time()

    def worker(n):
        client = Client(ports, 15)
        while True:
            with lock:
                if next_index[0] >= len(reports):
                    return
                index = next_index[0]
                r = reports[index]
                next_index[0] += 1
            if a.rate > 0:
                # Paced: report i is due at i / rate seconds after the start.
                wait = started + index / a.rate - time.time()
                if wait > 0:
                    time.sleep(wait)
            give_up = time.time() + a.give_up
            k = n
            while time.time() < give_up:
                port = ports[k % len(ports)]
                k += 1  # the next try goes to the next gateway, as a proxy's failover would
                r["tries"] += 1
                if r["channel"] == "app":
                    ref, status = send_app(client, port, r)
                elif r["channel"] == "open311":
                    ref, status = send_open311(client, port, r, a.open311_key)
                else:
                    if "token" not in r:
                        token = form_token(client, port)
                        if token is None:
                            r["errors"]["no form"] = r["errors"].get("no form", 0) + 1
                            time.sleep(0.2)
                            continue
                        r["token"] = token
                        r["token_at"] = time.time()
                    wait = r["token_at"] + a.token_age - time.time()
                    if wait > 0:
                        time.sleep(wait)  # a citizen takes longer than this to fill the form in
                    ref, status = send_form(client, port, r)
                if ref:
                    r["reference"] = ref
                    break
                key = str(status)
                r["errors"][key] = r["errors"].get(key, 0) + 1
                time.sleep(0.2)  # the client's back-off
            with lock:
                done[0] += 1
                if done[0] % 1000 == 0:
                    print("faults-load: %d of %d reports answered (%.0f s)"
                          % (done[0], len(reports), time.time() - started), file=sys.stderr)

    # The form's tokens first (a citizen opens the form, then takes a while to fill it in): by
    # the time the load reaches a form report, its token is old enough.
    forms = [r for r in reports if r["channel"] == "webform"]

    def fetch(n):
        client = Client(ports, 15)
        for r in forms[n::a.threads]:
            for _ in range(50):
                token = form_token(client, ports[n % len(ports)])
                if token:
                    r["token"], r["token_at"] = token, time.time()
                    break
                time.sleep(0.2)
    fetchers = [threading.Thread(target=fetch, args=(n,)) for n in range(a.threads)]
    for t in fetchers:
        t.start()
    for t in fetchers:
        t.join()
    print("faults-load: %d form tokens fetched (%.1f s)" % (len(forms), time.time() - started),
          file=sys.stderr)
    started = time.time()
    if a.started_file:
        with open(a.started_file + ".tmp", "w") as f:
            f.write("%.3f\n" % started)
        os.rename(a.started_file + ".tmp", a.started_file)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(a.out, "w") as f:
        for r in reports:
            r.pop("token", None)
            r.pop("token_at", None)
            f.write(json.dumps(r) + "\n")
    answered = sum(1 for r in reports if r["reference"])
    retried = sum(1 for r in reports if r["tries"] > 1)
    print("faults-load: %d reports, %d answered 2xx, %d needed more than one try, %.1f s"
          % (len(reports), answered, retried, time.time() - started), file=sys.stderr)
    return 0 if answered == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
