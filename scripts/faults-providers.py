#!/usr/bin/env python3
"""The fault suite's stand-ins for the providers' APIs (scripts/faults), as the integration tests
have them (tests/integration/fake_providers.cpp): Meta's Graph API (media lookup and download,
POST /{phone-number-id}/messages), the Telegram Bot API (getFile, file download, sendMessage) and
Twilio's REST API (a recording as WAV, its deletion, the Messages API for SMS).

Every message sent through them -- a WhatsApp or Telegram reply, an SMS -- is appended to --out as
one JSON line {"channel", "to", "text", "at"}, so that the suite counts each acknowledgement per
recipient. Media ids and file ids are answered with --photo's bytes; every recording with a short
WAV. Tokens are checked as the providers do (a bearer token, the bot token in the path, Basic
auth). Runs until SIGTERM; only the Python standard library."""
import argparse
import base64
import hashlib
import http.server
import json
import re
import signal
import struct
import sys
import threading
import time
import urllib.parse


def wav(samples=4000):
    data = b"".join(struct.pack("<h", 8000 if (i // 9) % 2 else -8000) for i in range(samples))
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<I", 16) +
            fmt + b"data" + struct.pack("<I", len(data)) + data)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True, help="JSON lines, one per message sent")
    p.add_argument("--photo", required=True, help="the bytes served for every media id")
    p.add_argument("--whatsapp-token", required=True)
    p.add_argument("--telegram-token", required=True)
    p.add_argument("--twilio-sid", required=True)
    p.add_argument("--twilio-token", required=True)
    a = p.parse_args()
    photo = open(a.photo, "rb").read()
    recording = wav()
    basic = "Basic " + base64.b64encode(
        ("%s:%s" % (a.twilio_sid, a.twilio_token)).encode()).decode()
    out = open(a.out, "a", buffering=1)
    lock = threading.Lock()  # guards out and counter
    counter = [0]

    def record(channel, to, text):
        with lock:
            counter[0] += 1
            out.write(json.dumps({"channel": channel, "to": str(to), "text": text,
                                  "at": round(time.time(), 3)}) + "\n")
            out.flush()
            return counter[0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body=b"", ctype="application/json"):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def bearer(self):
            return self.headers.get("Authorization") == "Bearer " + a.whatsapp_token

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path)
            m = re.fullmatch(r"/v[0-9.]+/(\d+)", path.path)
            if m:  # WhatsApp media, step 1
                if not self.bearer():
                    return self.send(401)
                return self.send(200, {
                    "messaging_product": "whatsapp", "id": m.group(1),
                    "url": "http://127.0.0.1:%d/whatsapp-media/%s" % (a.port, m.group(1)),
                    "mime_type": "image/jpeg", "sha256": hashlib.sha256(photo).hexdigest(),
                    "file_size": str(len(photo))})
            if re.fullmatch(r"/whatsapp-media/\d+", path.path):  # step 2
                return self.send(200, photo, "image/jpeg") if self.bearer() else self.send(401)
            if path.path == "/bot%s/getFile" % a.telegram_token:
                file_id = urllib.parse.parse_qs(path.query).get("file_id", [""])[0]
                return self.send(200, {"ok": True, "result": {
                    "file_id": file_id, "file_unique_id": "U" + file_id[-12:],
                    "file_size": len(photo), "file_path": "photos/%s.jpg" % file_id}})
            if path.path.startswith("/file/bot%s/photos/" % a.telegram_token):
                return self.send(200, photo, "image/jpeg")
            if re.fullmatch(r"/2010-04-01/Accounts/[^/]+/Recordings/[^/.]+\.wav", path.path):
                if self.headers.get("Authorization") != basic:
                    return self.send(401)
                return self.send(200, recording, "audio/x-wav")
            self.send(404, {"error": "unknown path"})

        def do_DELETE(self):
            if re.fullmatch(r"/2010-04-01/Accounts/[^/]+/Recordings/[^/.]+\.json", self.path):
                return self.send(204) if self.headers.get("Authorization") == basic \
                    else self.send(401)
            self.send(404, {"error": "unknown path"})

        def do_POST(self):
            raw = self.body()
            path = urllib.parse.urlsplit(self.path).path
            if re.fullmatch(r"/v[0-9.]+/\d+/messages", path):
                if not self.bearer():
                    return self.send(401, {"error": {"message": "bad token", "code": 190}})
                m = json.loads(raw)
                text = (m.get("text") or {}).get("body") or json.dumps(m.get("template"))
                n = record("whatsapp", m.get("to"), text)
                return self.send(200, {"messaging_product": "whatsapp",
                                       "contacts": [{"input": m.get("to"), "wa_id": m.get("to")}],
                                       "messages": [{"id": "wamid.FAULTS%08d" % n}]})
            if path == "/bot%s/sendMessage" % a.telegram_token:
                m = json.loads(raw)
                n = record("telegram", m.get("chat_id"), m.get("text", ""))
                return self.send(200, {"ok": True, "result": {
                    "message_id": n, "date": int(time.time()),
                    "chat": {"id": m.get("chat_id"), "type": "private"},
                    "text": m.get("text", "")}})
            if re.fullmatch(r"/2010-04-01/Accounts/[^/]+/Messages\.json", path):
                if self.headers.get("Authorization") != basic:
                    return self.send(401, {"code": 20003, "message": "Authenticate"})
                f = dict(urllib.parse.parse_qsl(raw.decode()))
                n = record("sms", f.get("To"), f.get("Body", ""))
                return self.send(201, {"sid": "SM%032d" % n, "status": "queued"})
            self.send(404, {"error": "unknown path"})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("faults-providers: listening on 127.0.0.1:%d" % a.port, file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
