"""A real SMTP server for the tests (aiosmtpd), on a loopback port it picks itself.

It prints its port on the first line of standard output, then serves until killed. Each
message it accepts is parsed with Python's email package (a real MIME parser) and written to
OUT/NNNNNN.json (what the tests read) beside the raw bytes in OUT/NNNNNN.eml.

Faults come from the recipient's address, so a test chooses them with its data:
  temp<N>-…@…  refused with 451 the first N times that address is tried (then accepted);
  perm-…@…     refused with 550, always.
With --tls-cert/--tls-key it offers STARTTLS and requires it before MAIL; with --auth
USER:PASSWORD it requires AUTH (PLAIN or LOGIN). With --count-only it accepts and
forgets (the benchmark's sink). With --dkim-key-file (the public key's
base64, as a DNS TXT p= holds it) each message's DKIM signature is verified.
"""

import argparse
import asyncio
import json
import os
import re
import ssl
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

try:
    import dkim  # dkimpy
except ImportError:  # pragma: no cover - verification is then reported as unavailable
    dkim = None


class Handler:
    def __init__(self, out, dkim_txt):
        self.out = out
        self.seq = 0
        self.tries = {}
        self.dkim_txt = dkim_txt

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        m = re.match(r"temp(\d+)-", local)
        if m:
            n = self.tries.get(address, 0)
            self.tries[address] = n + 1
            if n < int(m.group(1)):
                return "451 4.3.0 try again later"
        if local.startswith("perm-"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        self.seq += 1
        if self.out is None:  # --count-only: the benchmark's sink
            return "250 Message accepted for delivery"
        name = os.path.join(self.out, "%06d" % self.seq)
        with open(name + ".eml", "wb") as f:
            f.write(raw)
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        parts = []
        attachments = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            if part.get_content_disposition() == "attachment":
                data = part.get_payload(decode=True) or b""
                attachments.append(
                    {
                        "filename": part.get_filename(),
                        "content_type": part.get_content_type(),
                        "size": len(data),
                        "head": data[:8].decode("latin-1"),
                    }
                )
            else:
                parts.append(
                    {"content_type": part.get_content_type(), "text": part.get_content()}
                )
        headers = {}
        for key in (
            "From",
            "To",
            "Subject",
            "Message-ID",
            "Date",
            "Content-Language",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "Auto-Submitted",
            "DKIM-Signature",
        ):
            v = msg.get(key)
            if v is not None:
                headers[key] = str(v)
        verified = None
        if self.dkim_txt is not None and dkim is not None:
            txt = self.dkim_txt

            def dnsfunc(name, timeout=5):
                return txt

            import logging

            said = []

            class Keep(logging.Handler):
                def emit(self, record):
                    said.append(record.getMessage())

            log = logging.getLogger("dkim-check-%d" % self.seq)
            log.addHandler(Keep())
            log.setLevel(logging.DEBUG)
            try:
                verified = bool(dkim.verify(raw, logger=log, dnsfunc=dnsfunc))
            except Exception as e:  # a broken signature is a failed check, not a crash
                verified = "error: %s" % e
            if verified is not True:
                verified = "%s: %s" % (verified, " | ".join(said))
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "content_type": msg.get_content_type(),
            "headers": headers,
            "parts": parts,
            "attachments": attachments,
            "dkim_verified": verified,
        }
        tmp = name + ".json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        os.replace(tmp, name + ".json")
        return "250 Message accepted for delivery"


def authenticator_for(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == user and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    return check


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--count-only", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--auth")
    ap.add_argument("--dkim-key-file")
    a = ap.parse_args()
    if a.count_only:
        a.out = None
    else:
        os.makedirs(a.out, exist_ok=True)
    dkim_txt = None
    if a.dkim_key_file:
        with open(a.dkim_key_file, "rb") as f:
            dkim_txt = f.read().strip()
    handler = Handler(a.out, dkim_txt)
    tls = None
    if a.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.tls_cert, a.tls_key)
    kwargs = {}
    if a.auth:
        user, password = a.auth.split(":", 1)
        kwargs["authenticator"] = authenticator_for(user, password)
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = tls is not None

    def factory():
        return SMTP(
            handler,
            hostname="mail.test",
            tls_context=tls,
            require_starttls=tls is not None,
            enable_SMTPUTF8=True,
            **kwargs,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=a.port)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
