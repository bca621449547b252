#!/usr/bin/env python3
"""The fault suite's load (scripts/faults): citizens' reports over every channel -- the web form,
the app API, Open311, WhatsApp, Telegram, e-mail (Mailgun's inbound parse) and the phone
(Twilio's callbacks) -- spread over the gateways. Each is sent as its client or provider sends
it (the providers' requests signed as in ../shared/reference/vectors) and sent again after any
answer that is not 2xx (a 503, a broken connection, a timeout) as they do: a client with its
Idempotency-Key or the form's token, a provider with the same request (same message id, same
bytes), a caller who heard "please call again" by calling again -- until it is answered 2xx or
--give-up seconds passed. Every report has a recipient of its own for its acknowledgement (an
e-mail address, a WhatsApp number, a Telegram chat, a phone number for the SMS) and its key in
its text, so that the suite finds its ticket and counts its acknowledgements.

Writes one JSON line per report to --out: key, channel, ack ([channel, recipient] of its
acknowledgement), reference (for the channels whose answer carries one), answered (2xx in the
end), tries, and the answers that were not 2xx ("503" with Retry-After, "503 without
Retry-After", "twiml unavailable", "None" for a broken connection, ...). Progress and a summary
go to stderr. Only the Python standard library."""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse

TOKEN = re.compile(r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"')
CHANNELS = ["app", "webform", "open311", "whatsapp", "telegram", "email", "phone"]
PHONE_NUMBER_ID = "106540352242922"  # the town's WhatsApp number, as in the vectors
TOWN_NUMBER = "+4922123125000"


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


def failure(status, headers):
    """The key an answer that is not 2xx is counted under: a 503 must say when to come back."""
    if status == 503 and "retry-after" not in headers:
        return "503 without Retry-After"
    return str(status)


def send_app(client, port, r, a):
    body = json.dumps({"description": r["text"], "lat": r["lat"], "lon": r["lon"],
                       "email": r["ack"][1]})
    status, headers, data = client.request(
        port, "POST", "/api/v1/reports", body,
        {"Content-Type": "application/json", "Idempotency-Key": r["key"]})
    if status in (200, 202):
        return json.loads(data)["reference"], None
    return None, failure(status, headers)


def send_open311(client, port, r, a):
    form = urllib.parse.urlencode({"api_key": a.open311_key, "service_code": "STR-01",
                                   "lat": r["lat"], "long": r["lon"],
                                   "description": r["text"], "email": r["ack"][1]})
    status, headers, data = client.request(
        port, "POST", "/open311/v2/requests.json", form,
        {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": r["key"]})
    if status in (200, 201):
        return json.loads(data)[0]["service_request_id"], None
    return None, failure(status, headers)


def form_token(client, port):
    status, headers, data = client.request(port, "GET", "/")
    if status != 200:
        return None
    m = TOKEN.search(data.decode("utf-8", "replace"))
    return (m.group(1) or m.group(2)) if m else None


def send_form(client, port, r, a):
    if "token" not in r:
        token = form_token(client, port)
        if token is None:
            return None, "no form"
        r["token"], r["token_at"] = token, time.time()
    wait = r["token_at"] + a.token_age - time.time()
    if wait > 0:
        time.sleep(wait)  # a citizen takes longer than this to fill the form in
    form = urllib.parse.urlencode({"beschreibung": r["text"], "adresse": r["address"],
                                   "email": r["ack"][1], "website": "",
                                   "form_token": r["token"]})
    status, headers, data = client.request(
        port, "POST", "/formular/meldung", form,
        {"Content-Type": "application/x-www-form-urlencoded"})
    if status == 200 and headers.get("x-meldestelle-seite") == "bestaetigung":
        page = headers.get("x-meldestelle-statusseite", "")
        return page.split("/meldung/")[1].split("?")[0], None
    if status == 200:
        return None, "form shown again"
    return None, failure(status, headers)


def meta_json(obj):
    """JSON as Meta sends it: non-ASCII as \\uXXXX (lowercase hex), '/' as '\\/'."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/").encode()


def whatsapp_body(r):
    """One notification with the citizen's text and pin (a notification may carry several
    messages; the draft joins them into one report)."""
    wa_id = r["ack"][1]
    ts = str(int(r["created"]))
    messages = [
        {"from": wa_id, "id": "wamid.%s.1" % r["key"], "timestamp": ts, "type": "text",
         "text": {"body": r["text"]}},
        {"from": wa_id, "id": "wamid.%s.2" % r["key"], "timestamp": ts, "type": "location",
         "location": {"latitude": r["lat"], "longitude": r["lon"]}}]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": TOWN_NUMBER[1:],
                          "phone_number_id": PHONE_NUMBER_ID},
             "contacts": [{"profile": {"name": "Jürgen Müller"}, "wa_id": wa_id}],
             "messages": messages}
    return meta_json({"object": "whatsapp_business_account",
                      "entry": [{"id": "102290129340398",
                                 "changes": [{"value": value, "field": "messages"}]}]})


def post_whatsapp(client, port, body, secret):
    """POSTs a notification as Meta does: both signatures over the exact bytes."""
    return client.request(port, "POST", "/webhooks/whatsapp", body, {
        "Content-Type": "application/json", "User-Agent": "facebookexternalua",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256":
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()})


def send_whatsapp(client, port, r, a):
    status, headers, _ = post_whatsapp(client, port, whatsapp_body(r), a.whatsapp_secret)
    return ("", None) if status == 200 else (None, failure(status, headers))


def post_telegram(client, port, body, secret):
    return client.request(port, "POST", "/webhooks/telegram", body, {
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})


def send_telegram(client, port, r, a):
    """Two updates, as Telegram sends them (a message holds text or a pin, not both): the text,
    then the pin. Each is sent again until 2xx; the next only after."""
    chat = int(r["ack"][1])
    base = {"from": {"id": chat, "is_bot": False, "first_name": "Jürgen",
                     "language_code": "de"},
            "chat": {"id": chat, "first_name": "Jürgen", "type": "private"},
            "date": int(r["created"])}
    updates = [
        {"update_id": r["num"] * 2, "message": dict(base, message_id=1, text=r["text"])},
        {"update_id": r["num"] * 2 + 1,
         "message": dict(base, message_id=2,
                         location={"latitude": r["lat"], "longitude": r["lon"]})}]
    while r.setdefault("step", 0) < len(updates):
        body = json.dumps(updates[r["step"]], ensure_ascii=False).encode()
        status, headers, _ = post_telegram(client, port, body, a.telegram_secret)
        if status != 200:
            return None, failure(status, headers)
        r["step"] += 1
    return "", None


def twilio_signature(token, url, params):
    """Base64(HMAC-SHA1(auth token, URL + the body's parameters sorted, name and value))."""
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def post_twilio(client, port, path, params, a):
    return client.request(port, "POST", path, urllib.parse.urlencode(params), {
        "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
        "X-Twilio-Signature": twilio_signature(a.twilio_token, a.public_base + path, params)})


def send_phone(client, port, r, a):
    """A call as Twilio reports it: the call comes in (our voice menu), the caller keeps German,
    the recording is done (the report; the caller hears its reference), the caller's 1 for the
    SMS, the recording's status and its transcription. A caller who heard "please call again"
    calls again: a new call."""
    caller = r["ack"][1]
    n = r.setdefault("calls", 1)
    call = "CA%030d%02d" % (r["num"], n)
    rec = "RE%030d%02d" % (r["num"], n)
    url = "%s/2010-04-01/Accounts/%s/Recordings/%s" % (a.twilio_base, a.twilio_sid, rec)
    params = [("AccountSid", a.twilio_sid), ("ApiVersion", "2010-04-01"), ("CallSid", call),
              ("CallStatus", "in-progress"), ("From", caller), ("To", TOWN_NUMBER),
              ("Direction", "inbound")]
    recording = [("RecordingSid", rec), ("RecordingUrl", url)]
    steps = [
        ("/webhooks/phone/voice", params, b"/webhooks/phone/menu"),
        ("/webhooks/phone/menu", params + [("Digits", "")], b"/webhooks/phone/recorded"),
        ("/webhooks/phone/recorded?lang=de",
         params + recording + [("RecordingDuration", "12"), ("Digits", "#")],
         b"/webhooks/phone/sms"),  # else "Wegen einer technischen St\xc3\xb6rung ..."
        ("/webhooks/phone/sms?lang=de", params + [("Digits", "1")], "SMS".encode()),
        ("/webhooks/phone/recording",
         [("AccountSid", a.twilio_sid), ("CallSid", call)] + recording +
         [("RecordingStatus", "completed"), ("RecordingDuration", "12")], None),
        ("/webhooks/phone/transcription",
         params + [("TranscriptionSid", "TR%030d%02d" % (r["num"], n)),
                   ("TranscriptionText", r["text"]), ("TranscriptionStatus", "completed")] +
         recording, None)]
    while r.setdefault("step", 0) < len(steps):
        path, form, expect = steps[r["step"]]
        status, headers, data = post_twilio(client, port, path, form, a)
        if status is None or status // 100 != 2:
            return None, failure(status, headers)
        if expect is not None and expect not in data:
            if path.startswith("/webhooks/phone/recorded"):
                r["calls"], r["step"] = n + 1, 0  # the caller calls again
            return None, "twiml unavailable"
        r["step"] += 1
    return "", None


def send_email(client, port, r, a):
    """A mail as Mailgun's route forwards it: parsed fields, signed over timestamp and token.
    Mailgun's retry is the same request (same token)."""
    if "mailgun" not in r:
        ts = str(int(time.time()))
        token = secrets.token_hex(25)
        addr = r["ack"][1]
        r["mailgun"] = urllib.parse.urlencode([
            ("timestamp", ts), ("token", token),
            ("signature", hmac.new(a.mailgun_key.encode(), (ts + token).encode(),
                                   hashlib.sha256).hexdigest()),
            ("sender", addr), ("from", "Erika Mustermann <%s>" % addr),
            ("recipient", "maengel@musterstadt.example"), ("subject", "Meldung " + r["key"]),
            ("Message-Id", "<%s@example.net>" % r["key"]),
            ("body-plain", "Guten Tag,\n%s.\n" % r["text"])])
    status, headers, data = client.request(
        port, "POST", "/webhooks/mailgun", r["mailgun"],
        {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "mailgun/treq"})
    if status in (200, 202):
        return json.loads(data)["reference"], None
    return None, failure(status, headers)


SENDERS = {"app": send_app, "webform": send_form, "open311": send_open311,
           "whatsapp": send_whatsapp, "telegram": send_telegram, "email": send_email,
           "phone": send_phone}


def make_reports(a):
    channels = a.channels.split(",")
    reports = []
    for i in range(a.reports):
        num = a.base + i
        channel = channels[i % len(channels)]
        key = "%s-%06d" % (a.run, i)
        if channel == "whatsapp":
            ack = ["whatsapp", "4915%09d" % num]
        elif channel == "telegram":
            ack = ["telegram", str(7000000000 + num)]
        elif channel == "phone":
            ack = ["sms", "+4917%09d" % num]
        else:
            ack = ["email", "buerger-%s@example.net" % key]
        reports.append({"key": key, "num": num, "channel": channel, "ack": ack,
                        "text": "Schlagloch Nummer %s vor dem Haus" % key,
                        "address": "Marktplatz %d" % (1 + num % 40),
                        # Spread over the town (areas/stadtgebiet), 33 m apart: 5,808 places
                        # before one comes again. A report at a place that came again may be
                        # linked to the earlier one as a duplicate (docs/duplicates.md): still a
                        # ticket of its own, acknowledged with its own reference.
                        "lat": round(50.9302 + (num % 5808 % 66) * 0.0003, 6),
                        "lon": round(6.9402 + (num % 5808 // 66) * 0.00045, 6),
                        "created": time.time(), "reference": "", "answered": False,
                        "tries": 0, "errors": {}})
    return reports


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ports", required=True, help="the gateways' ports, comma-separated")
    p.add_argument("--reports", type=int, default=10000)
    p.add_argument("--channels", default=",".join(CHANNELS),
                   help="taken in turn (default: %(default)s)")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--out", required=True)
    p.add_argument("--run", default="f", help="tells this run's reports apart (in their keys)")
    p.add_argument("--base", type=int, default=0,
                   help="first number for the senders' ids (numbers, chats, calls), so that the "
                   "loads of one run never share one")
    p.add_argument("--give-up", type=float, default=180, help="seconds per report")
    p.add_argument("--started-file", help="written with the time the load begins (after the "
                   "form tokens are fetched)")
    p.add_argument("--rate", type=float, default=0,
                   help="new reports per second over all threads (0: as fast as answered)")
    p.add_argument("--token-age", type=float, default=3.5,
                   help="seconds a form token must be old (webform.token_min_age_seconds)")
    p.add_argument("--open311-key", default="")
    p.add_argument("--whatsapp-secret", default="")
    p.add_argument("--telegram-secret", default="")
    p.add_argument("--mailgun-key", default="")
    p.add_argument("--twilio-sid", default="")
    p.add_argument("--twilio-token", default="")
    p.add_argument("--twilio-base", default="", help="the REST API the recordings are on")
    p.add_argument("--public-base", default="",
                   help="gateway.public_base_url (Twilio signs the URL it calls)")
    a = p.parse_args()
    ports = [int(x) for x in a.ports.split(",")]
    reports = make_reports(a)
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
            r["created"] = time.time()
            give_up = time.time() + a.give_up
            k = n
            send = SENDERS[r["channel"]]
            while time.time() < give_up:
                port = ports[k % len(ports)]
                k += 1  # the next try goes to the next gateway, as a proxy's failover would
                r["tries"] += 1
                ref, why = send(client, port, r, a)
                if ref is not None:
                    r["reference"], r["answered"] = ref, True
                    break
                r["errors"][why] = r["errors"].get(why, 0) + 1
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
            for k in ("token", "token_at", "mailgun", "step", "calls", "lat", "lon", "address"):
                r.pop(k, None)
            f.write(json.dumps(r) + "\n")
    answered = sum(1 for r in reports if r["answered"])
    retried = sum(1 for r in reports if r["tries"] > 1)
    print("faults-load: %d reports, %d answered 2xx, %d needed more than one try, %.1f s"
          % (len(reports), answered, retried, time.time() - started), file=sys.stderr)
    return 0 if answered == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
