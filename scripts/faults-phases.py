#!/usr/bin/env python3
"""The fault suite's requests around its outages (scripts/faults); the load itself is
scripts/faults-load.py.

  vectors --during   POSTs the providers' webhook vectors (../shared/reference/vectors) once, while
                     the broker is down: each must be answered 503 with Retry-After, which makes
                     the provider deliver it again (channels.md: WhatsApp, Telegram, Twilio and
                     SendGrid retry on 5xx).
  vectors --after    delivers them again, as the provider does, until 2xx; then the providers'
                     own redeliveries (whatsapp/06, telegram/05), which must change nothing.
  disk --full        sends reports with a photo while the media folder's disk is full: the web
                     form (must answer 503 with the German notice), the app API (503,
                     storage_failed) and WhatsApp (200: the worker stores the photo, and holds
                     the message until it can).
  disk --freed       sends the web form's and the API's reports again (same token, same
                     Idempotency-Key) until 2xx.

WhatsApp, Telegram and SendGrid vectors are sent byte for byte with their headers (the
gateways run with the vectors' test secrets). Twilio's are signed for its URL as configured in
Twilio: the vectors' bodies, signed again for our URL (their paths are the vectors' own). Each
command prints one line per request and writes what it sent to --state; it exits 1 when an
answer was not the one expected."""
import argparse
import hashlib
import hmac
import importlib.util
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("faults_load", os.path.join(HERE, "faults-load.py"))
load = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load)

# The vectors a provider sends again after a 5xx, and the text each must leave in one ticket.
VECTORS = [
    ("whatsapp/02-text-umlauts", "flackert seit Tagen"),
    ("whatsapp/03-image-with-caption", "Schlagloch auf dem Radweg"),
    ("whatsapp/04-location-only", None),
    ("telegram/01-text-umlauts", "Schaukel kaputt"),
    ("telegram/02-photo-with-caption", "Baum blockiert Gehweg"),
    ("telegram/03-location-only", None),
    ("email/08-sendgrid-inbound-parse", "schon gestolpert"),
]
REDELIVERIES = ["whatsapp/06-duplicate-retry-of-02", "telegram/05-duplicate-redelivery-of-01"]
# Twilio's callbacks: 503 while the broker is down. Not delivered again afterwards: their
# RecordingUrl points at api.twilio.com, which this machine cannot reach.
TWILIO = [("twilio/02-recording-status-completed", "/webhooks/phone/recording"),
          ("twilio/03-transcription-completed", "/webhooks/phone/transcription?report=voice")]


def read_vector(vectors, name):
    """(headers, body) of a vector: the .headers file's header lines, the body byte for byte."""
    lines = [x for x in open(os.path.join(vectors, name + ".headers"), encoding="utf-8")
             .read().splitlines() if x and not x.startswith("#")]
    headers = dict(x.split(": ", 1) for x in lines[1:])
    for ext in (".json", ".txt"):
        if os.path.exists(os.path.join(vectors, name + ext)):
            return headers, open(os.path.join(vectors, name + ext), "rb").read()
    raise FileNotFoundError(name)


def post_vector(client, port, a, name):
    headers, body = read_vector(a.vectors, name)
    if name.startswith("whatsapp/"):
        path = "/webhooks/whatsapp"
        keep = ("Content-Type", "User-Agent", "X-Hub-Signature", "X-Hub-Signature-256")
    elif name.startswith("telegram/"):
        path = "/webhooks/telegram"
        keep = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")
    else:
        path = "/webhooks/sendgrid?key=" + a.sendgrid_secret
        keep = ("Content-Type", "User-Agent")
    return client.request(port, "POST", path, body, {k: headers[k] for k in keep if k in headers})


def post_twilio_vector(client, port, a, name, path):
    import urllib.parse
    headers, body = read_vector(a.vectors, name)
    params = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    signature = load.twilio_signature(a.twilio_token, a.public_base + path, params)
    return client.request(port, "POST", path, body, {
        "Content-Type": headers["Content-Type"], "User-Agent": headers["User-Agent"],
        "X-Twilio-Signature": signature})


def show(what, status, headers, ok):
    print("  %-5s %s: %s%s" % ("ok" if ok else "FAIL", what, status,
                                " (Retry-After: %s)" % headers["retry-after"]
                                if "retry-after" in headers else ""))
    return ok


def vectors(a, ports):
    client = load.Client(ports, 15)
    good = True
    if a.during:
        # A connection that broke before any answer (None) is not an answer: sent once more,
        # as the provider would.
        for name, _ in VECTORS:
            for _ in range(3):
                status, headers, _ = post_vector(client, ports[0], a, name)
                if status is not None:
                    break
            good &= show(name, status, headers, status == 503 and "retry-after" in headers)
        for name, path in TWILIO:
            for _ in range(3):
                status, headers, _ = post_twilio_vector(client, ports[0], a, name, path)
                if status is not None:
                    break
            good &= show(name + " (signed for " + path + ")", status, headers,
                         status == 503 and "retry-after" in headers)
        return good
    deadline = time.time() + a.give_up
    for k, (name, _) in enumerate(VECTORS):
        tries = 0
        while True:
            tries += 1
            status, headers, _ = post_vector(client, ports[k % len(ports)], a, name)
            if status is not None and status // 100 == 2 or time.time() > deadline:
                break
            time.sleep(0.5)
        good &= show("%s delivered again (%d tries)" % (name, tries), status, headers,
                     status is not None and status // 100 == 2)
    for name in REDELIVERIES:
        status, headers, _ = post_vector(client, ports[1 % len(ports)], a, name)
        good &= show(name + " (the provider's redelivery)", status, headers, status == 200)
    return good


def tiny_jpeg(a):
    return open(a.photo, "rb").read()


def multipart(key, fields, files):
    """The same bytes for the same report (the Idempotency-Key's request must not change)."""
    boundary = "----faults-" + key
    out = b""
    for k, v in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (boundary, k, v)).encode()
    for k, name, data in files:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                "Content-Type: image/jpeg\r\n\r\n" % (boundary, k, name)).encode() + data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return "multipart/form-data; boundary=" + boundary, out


def send_disk(client, port, r, a):
    """One try of report r; (status, headers, body)."""
    photo = tiny_jpeg(a)
    if r["channel"] == "webform":
        ctype, body = multipart(r["key"], [("beschreibung", r["text"]), ("adresse", "Marktplatz 3"),
                                 ("email", r["ack"][1]), ("website", ""),
                                 ("form_token", r["token"])],
                                [("fotos[]", "schlagloch.jpg", photo)])
        return client.request(port, "POST", "/formular/meldung", body, {"Content-Type": ctype})
    if r["channel"] == "app":
        ctype, body = multipart(r["key"], [("description", r["text"]), ("lat", str(r["lat"])),
                                 ("lon", str(r["lon"])), ("email", r["ack"][1])],
                                [("photos", "schlagloch.jpg", photo)])
        return client.request(port, "POST", "/api/v1/reports", body,
                              {"Content-Type": ctype, "Idempotency-Key": r["key"]})
    wa_id = r["ack"][1]
    ts = str(int(time.time()))
    messages = [
        {"from": wa_id, "id": "wamid.%s.1" % r["key"], "timestamp": ts, "type": "image",
         "image": {"caption": r["text"], "mime_type": "image/jpeg",
                   "sha256": hashlib.sha256(photo).hexdigest(),
                   "id": str(1037543291000000 + r["num"])}},
        {"from": wa_id, "id": "wamid.%s.2" % r["key"], "timestamp": ts, "type": "location",
         "location": {"latitude": r["lat"], "longitude": r["lon"]}}]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "4922123125000",
                          "phone_number_id": load.PHONE_NUMBER_ID},
             "contacts": [{"profile": {"name": "Erika"}, "wa_id": wa_id}], "messages": messages}
    body = load.meta_json({"object": "whatsapp_business_account",
                           "entry": [{"id": "1", "changes": [{"value": value,
                                                              "field": "messages"}]}]})
    return load.post_whatsapp(client, port, body, a.whatsapp_secret)


def disk(a, ports):
    client = load.Client(ports, 15)
    good = True
    if a.full:
        reports = []
        for i, channel in enumerate(["webform", "app", "whatsapp"] * a.per_channel):
            num = a.base + i
            key = "%s-%06d" % (a.run, i)
            ack = ["whatsapp", "4916%09d" % num] if channel == "whatsapp" else \
                ["email", "buerger-%s@example.net" % key]
            r = {"key": key, "num": num, "channel": channel, "ack": ack,
                 "text": "Schlagloch Nummer %s vor dem Haus, Foto anbei" % key,
                 "lat": round(50.935 + (i % 20) * 0.0005, 6),
                 "lon": round(6.95 + (i // 20) * 0.0007, 6), "reference": "",
                 "answered": False, "tries": 0, "errors": {}, "photo": True}
            if channel == "webform":
                r["token"] = load.form_token(client, ports[0])
            reports.append(r)
        time.sleep(a.token_age)  # the form's tokens must be old enough (a citizen filling it in)
        for r in reports:
            status, headers, data = send_disk(client, ports[0], r, a)
            r["tries"] += 1
            text = data.decode("utf-8", "replace")
            if r["channel"] == "webform":
                ok = status == 503 and "retry-after" in headers and \
                    "Ihre Meldung konnte gerade nicht angenommen werden" in text
                what = "web form with a photo, disk full: 503, Retry-After, German notice"
            elif r["channel"] == "app":
                ok = status == 503 and "retry-after" in headers and \
                    '"storage_failed"' in text
                what = "app API with a photo, disk full: 503, Retry-After, storage_failed"
            else:
                ok = status == 200
                what = "WhatsApp photo, disk full: 200 (the worker stores the photo)"
                r["answered"] = ok
            if status is not None and status // 100 != 2:
                r["errors"][load.failure(status, headers)] = 1
            good &= show(what, status, headers, ok)
        json.dump(reports, open(a.state, "w"))
        return good
    reports = json.load(open(a.state))
    for k, r in enumerate(reports):
        if r["answered"]:
            continue
        deadline = time.time() + a.give_up
        while time.time() < deadline:
            r["tries"] += 1
            status, headers, data = send_disk(client, ports[k % len(ports)], r, a)
            if status is not None and status // 100 == 2 and (
                    r["channel"] != "webform" or
                    headers.get("x-meldestelle-seite") == "bestaetigung"):
                r["answered"] = True
                if r["channel"] == "app":
                    r["reference"] = json.loads(data)["reference"]
                else:
                    r["reference"] = headers.get("x-meldestelle-statusseite", "") \
                        .split("/meldung/")[-1].split("?")[0]
                break
            time.sleep(0.5)
        good &= show("%s report with a photo sent again after the space was freed (%d tries)"
                     % (r["channel"], r["tries"]), status, headers, r["answered"])
    with open(a.out, "w") as f:
        for r in reports:
            r.pop("token", None)
            f.write(json.dumps(r) + "\n")
    return good


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["vectors", "disk"])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--during", action="store_true")
    g.add_argument("--after", action="store_true")
    g.add_argument("--full", action="store_true")
    g.add_argument("--freed", action="store_true")
    p.add_argument("--ports", required=True)
    p.add_argument("--vectors", default=os.path.join(HERE, "../../shared/reference/vectors"))
    p.add_argument("--photo", default="")
    p.add_argument("--state", default="")
    p.add_argument("--out", default="")
    p.add_argument("--run", default="d")
    p.add_argument("--base", type=int, default=0)
    p.add_argument("--per-channel", type=int, default=3)
    p.add_argument("--give-up", type=float, default=120)
    p.add_argument("--token-age", type=float, default=3.5)
    p.add_argument("--whatsapp-secret", default="")
    p.add_argument("--sendgrid-secret", default="")
    p.add_argument("--twilio-token", default="")
    p.add_argument("--public-base", default="")
    a = p.parse_args()
    ports = [int(x) for x in a.ports.split(",")]
    ok = vectors(a, ports) if a.what == "vectors" else disk(a, ports)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
