#!/usr/bin/python3
"""SMTP sink for the e-mail channel's tests: accepts every message and keeps it as a file.

usage: scripts/smtp-sink.py --listen 127.0.0.1:PORT --dir DIR

Started and stopped by 'scripts/services start|stop smtp-sink' (Debian package python3-aiosmtpd).
Each message becomes DIR/<UTC time>-<seq>.eml: the DATA exactly as received (headers and body
byte for byte, CRLF line ends, dot-stuffing removed; no Received: header is added), plus
DIR/<same name>.json with the envelope: {"mail_from", "rcpt_tos", "peer", "helo", "auth_user",
"received_at", "size"}. The .json is written first and the .eml appears last, atomically (written
under DIR/tmp/, then renamed), so a test that polls for *.eml never sees a half-written message.

AUTH PLAIN/LOGIN is offered without TLS and accepts any user and password (it is a sink: the
point is that a client configured with credentials can be tested). 'RCPT TO' is accepted for
every address. Runs in the foreground; SIGTERM/SIGINT end it.
"""

import argparse
import asyncio
import datetime
import itertools
import json
import logging
import os
import signal
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class FileSink:
    def __init__(self, directory):
        self.dir = directory
        self.tmp = os.path.join(directory, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.seq = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        now = datetime.datetime.now(datetime.timezone.utc)
        name = "%s-%06d" % (now.strftime("%Y%m%dT%H%M%S.%fZ"), next(self.seq))
        data = envelope.original_content or b""
        auth = session.auth_data
        if isinstance(auth, LoginPassword):
            auth = auth.login.decode("utf-8", "replace")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "peer": "%s:%s" % tuple(session.peer[:2]) if session.peer else None,
            "helo": session.host_name,
            "auth_user": auth if isinstance(auth, str) else None,
            "received_at": now.isoformat(),
            "size": len(data),
        }
        self._write(name + ".json", json.dumps(meta, indent=1).encode() + b"\n")
        self._write(name + ".eml", data)
        logging.info("stored %s.eml (%d bytes) from %s to %s", name, len(data),
                     envelope.mail_from, ",".join(envelope.rcpt_tos))
        return "250 OK stored as %s.eml" % name

    def _write(self, name, data):
        tmp = os.path.join(self.tmp, name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.dir, name))


def accept_any(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True, auth_data=auth_data)


async def serve(host, port, directory):
    handler = FileSink(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="meldestelle-smtp-sink", enable_SMTPUTF8=True,
                     auth_require_tls=False, authenticator=accept_any),
        host=host, port=port, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logging.info("listening on %s:%d, storing messages in %s", host, port, directory)
    await stop.wait()
    server.close()
    await server.wait_closed()
    logging.info("stopped")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True, help="HOST:PORT, e.g. 127.0.0.1:10025")
    p.add_argument("--dir", required=True, help="directory for the received messages")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(host, int(port), a.dir))


if __name__ == "__main__":
    main()
