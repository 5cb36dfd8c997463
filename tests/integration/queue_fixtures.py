"""Fixtures for the outbound-queue tests (test_queue.py, test_queue_dkim.py).

The world under test, all on loopback:

    test client --SMTP--> postern 127.0.0.1:P --(queue)--> MX hosts 127.0.0.2.. :SINKPORT
                             |                                  (aiosmtpd "sinks")
                             +--DNS--> unbound 127.0.0.1@DNSPORT (zones under "test.")

- `queue_dns` (module): a DnsServer with the zones in DNS_RECORDS: which domain
  has which MX hosts at which loopback address.
- `queue_ca` (module): a private CA made with openssl(1) and certificates it
  signs (or self-signed ones) for the sinks; postern trusts it via
  queue.tls_ca_file.
- `sinks` (function): sinks.start("127.0.0.3", tls=...) runs an aiosmtpd
  Controller on 127.0.0.3:SINKPORT that records what it receives and answers
  as told: per recipient (accept / 4xx / 5xx, scripted per attempt), per DATA,
  or holding the DATA reply. All sinks of a test share one port, the one
  postern's queue.port points at.
- `qserver` (function): factory for a postern with the queue configured for
  all that (hostname mail.local.test, domain local.test, user alice whose
  Maildir receives the bounces). At teardown every server still running gets
  SIGTERM and must exit 0 without a sanitizer report.

Nothing here depends on conftest.py (written separately); pytest fixtures are
imported into the test modules with `from queue_fixtures import *`-style
explicit imports.
"""
import asyncio
import contextlib
import email
import email.policy
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import POSTERN_BIN, merge_config, postern_env, sanitizer_report
from dnsserver import DnsServer

DKIM_VERIFY = Path(__file__).resolve().parent / "dkim_verify.py"

HOST = "127.0.0.1"
HOSTNAME = "mail.local.test"
LOCAL_DOMAIN = "local.test"
ALICE = "alice@local.test"
PASSWORD = "pw"

# MX layout shared by the tests. Addresses are 127.0.0.x; what listens there
# (and on which port) is up to each test. Short TTLs: nothing is cached long.
MX = {
    "plain": "127.0.0.2",       # plain.test: one MX
    "tls": "127.0.0.3",         # tls.test: mx1.tls.test, a CA-signed cert
    "selfsigned": "127.0.0.4",  # selfsigned.test: a self-signed cert
    "secure": "127.0.0.5",      # secure.test: policy "required"
    "multi1": "127.0.0.6",      # multi.test MX 10 (nothing listens there)
    "multi2": "127.0.0.7",      # multi.test MX 20
    "down": "127.0.0.8",        # down.test: nothing listens
    "loop": "127.0.0.9",        # loop.test: postern itself (a mail loop)
}
DNS_RECORDS = [
    "plain.test. 5 MX 10 mx.plain.test.",
    "mx.plain.test. 5 A %s" % MX["plain"],
    "tls.test. 5 MX 10 mx1.tls.test.",
    "mx1.tls.test. 5 A %s" % MX["tls"],
    "selfsigned.test. 5 MX 10 mx.selfsigned.test.",
    "mx.selfsigned.test. 5 A %s" % MX["selfsigned"],
    "secure.test. 5 MX 10 mx.secure.test.",
    "mx.secure.test. 5 A %s" % MX["secure"],
    "multi.test. 5 MX 10 mx1.multi.test.",
    "multi.test. 5 MX 20 mx2.multi.test.",
    "mx1.multi.test. 5 A %s" % MX["multi1"],
    "mx2.multi.test. 5 A %s" % MX["multi2"],
    "down.test. 5 MX 10 mx.down.test.",
    "mx.down.test. 5 A %s" % MX["down"],
    "loop.test. 5 MX 10 mx.loop.test.",
    "mx.loop.test. 5 A %s" % MX["loop"],
    # RFC 5321 5.1: no MX, so the domain's own address is the implicit MX
    "implicit.test. 5 A %s" % MX["plain"],
    # RFC 7505: this domain accepts no mail
    "nullmx.test. 5 MX 0 .",
    # (nosuch.test is not listed: the static zone answers NXDOMAIN)
]

IO_TIMEOUT = 10.0


# ---- small helpers ---------------------------------------------------------------


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port_on(addresses):
    """A high TCP port that is free on every given address right now."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        ok = True
        for a in addresses:
            try:
                with socket.socket() as t:
                    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    t.bind((a, port))
            except OSError:
                ok = False
                break
        if ok and port >= 1024:
            return port
    raise RuntimeError("no common free port")


def _cfg_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, tuple):           # libconfig list ( ... ): groups allowed
        return "(" + ", ".join(_cfg_value(x) for x in v) + ")"
    if isinstance(v, list):            # libconfig array [ ... ]: scalars
        return "[" + ", ".join(_cfg_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + " ".join(f"{k} = {_cfg_value(x)};" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r}")


def config_text(cfg):
    return "".join(f"{k} = {_cfg_value(v)};\n" for k, v in cfg.items())


def run_cli(config_path, *args, input=None, timeout=60):
    """Runs `postern ARGS -c CONFIG`; returns CompletedProcess (str output).
    Fails the test on a sanitizer report."""
    cmd = [POSTERN_BIN, *[str(a) for a in args], "-c", str(config_path)]
    p = subprocess.run(cmd, input=(input.encode() if isinstance(input, str) else input),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=postern_env())
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    rep = sanitizer_report(p.stderr)
    assert not rep, f"sanitizer report from {cmd}:\n{p.stderr}"
    return p


# ---- messages ------------------------------------------------------------------------


_msg_counter = [0]


def make_message(subject, to, sender=ALICE, body=None, extra_headers=()):
    """(message_id, bytes): an RFC 5322 message with CRLF line ends. The
    body has lines that need dot-stuffing on the wire."""
    _msg_counter[0] += 1
    mid = "<q%d.%d.%d@local.test>" % (time.time_ns(), os.getpid(), _msg_counter[0])
    if body is None:
        body = ("Hello,\r\n\r\nthis is %s.\r\n.a line with a leading dot\r\n.\r\n"
                "..two dots\r\nlast line\r\n" % subject)
    hdrs = [f"From: Alice <{sender}>" if sender else "From: <MAILER-DAEMON@remote.test>",
            f"To: <{to}>", f"Subject: {subject}", "Date: Tue, 24 Nov 2026 10:00:00 +0000",
            f"Message-ID: {mid}", *extra_headers]
    return mid, ("\r\n".join(hdrs) + "\r\n\r\n" + body).encode("utf-8")


def send_mail(port, mail_from, rcpts, message, host=HOST, mail_options=()):
    """One SMTP transaction to postern; raises on any refusal."""
    with smtplib.SMTP(host, port, local_hostname="client.local.test", timeout=IO_TIMEOUT) as s:
        refused = s.sendmail(mail_from, rcpts, message, mail_options=list(mail_options))
        assert not refused, refused


def header_value(data, name):
    """The first header field `name` of a message (bytes), unfolded; None if absent."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    v = msg.get(name)
    return None if v is None else re.sub(r"\s+", " ", str(v)).strip()


def parse_report(data):
    """Parses a DSN (RFC 3464) as delivered into a Maildir. Returns a dict:
    msg (the email.message.Message), return_path, subject, report_type,
    per_message (dict of the first status block), recipients (list of dicts,
    keys lower-case), headers_part (text of text/rfc822-headers), human (text)."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    out = {"msg": msg, "return_path": msg.get("Return-Path"), "subject": msg.get("Subject"),
           "content_type": msg.get_content_type(),
           "report_type": msg.get_param("report-type"), "per_message": None,
           "recipients": [], "headers_part": None, "human": None, "parts": []}
    if not msg.is_multipart():
        return out
    for part in msg.get_payload():
        ct = part.get_content_type()
        out["parts"].append(ct)
        if ct == "message/delivery-status":
            blocks = part.get_payload()
            if blocks:
                out["per_message"] = {k.lower(): str(v) for k, v in blocks[0].items()}
                for b in blocks[1:]:
                    out["recipients"].append({k.lower(): re.sub(r"\s+", " ", str(v)).strip()
                                              for k, v in b.items()})
        elif ct == "text/rfc822-headers":
            out["headers_part"] = part.get_payload(decode=True).decode("utf-8", "replace")
        elif ct == "text/plain" and out["human"] is None:
            out["human"] = part.get_payload(decode=True).decode("utf-8", "replace")
    return out


# ---- the sinks: receiving SMTP servers ---------------------------------------------


class _Script:
    """Replies consumed one per use; the last one sticks."""

    def __init__(self, replies):
        self.replies = list(replies)

    def next(self):
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


class Sink:
    """An aiosmtpd server on ip:port that records deliveries and answers as told.

    - rcpt(addr, *replies): RCPT replies for addr, one per attempt, the last
      sticking ("550 5.1.1 ..." rejects forever; "451 ...", "250 ..." defers once).
    - default_rcpt(reply): the RCPT reply for everyone else (default 250).
    - data(*replies): DATA (final dot) replies, one per message, last sticking.
    - mail(*replies): MAIL FROM replies, likewise (mail_log records the parameters).
    - pipelining / smtputf8: whether EHLO offers PIPELINING / SMTPUTF8.
    - hold(n): the next n messages get no DATA reply until release(reply).
    - after_ack: a callable run right after a 2xx DATA reply went out.
    - quit_delay: seconds to wait before answering QUIT.
    Only messages answered 2xx at DATA are recorded in .deliveries (each a
    dict: mail_from, rcpts, data (bytes, CRLF), tls (bool), time, message_id,
    peer (the client's IP), helo).
    """

    def __init__(self, ip, port, tls_context=None, name=None, pipelining=False, smtputf8=True):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        self.ip, self.port, self.name = ip, port, name or ip
        self.lock = threading.Lock()
        self._rcpt = {}
        self._default_rcpt = _Script(["250 2.1.5 Ok"])
        self._data = _Script(["250 2.0.0 Ok: stored"])
        self._mail = _Script(["250 2.1.0 Ok"])
        self.pipelining = pipelining
        self.mail_log = []          # (address, options, reply)
        self._hold_left = 0
        self._release = threading.Event()
        self._release_reply = None
        self.held_now = 0
        self.held_total = 0
        self.held_dropped = 0       # held messages whose client had gone
        self.deliveries = []
        self.rcpt_log = []          # (addr, reply)
        self.data_log = []          # replies given to the final dot
        self.connections = 0
        self.tls_sessions = 0
        # called on the sink's loop right after a 2xx DATA reply has been written
        self.after_ack = None
        self.quit_delay = 0         # seconds before the reply to QUIT
        sink = self

        class CountingSMTP(SMTP):
            def connection_made(self, transport):
                with sink.lock:
                    sink.connections += 1
                super().connection_made(transport)

        class CountingController(Controller):
            def factory(self):
                return CountingSMTP(self.handler, **self.SMTP_kwargs)

        kw = {}
        if tls_context is not None:
            kw = {"tls_context": tls_context, "require_starttls": False}
        self.controller = CountingController(_SinkHandler(self), hostname=ip, port=port,
                                             server_hostname=f"sink-{self.name}", ready_timeout=10,
                                             decode_data=False, enable_SMTPUTF8=smtputf8, **kw)
        self.controller.start()
        with self.lock:
            self.connections = 0      # the controller's readiness probe is not a client

    # -- behaviour
    def rcpt(self, addr, *replies):
        with self.lock:
            self._rcpt[addr.lower()] = _Script(replies)

    def default_rcpt(self, *replies):
        with self.lock:
            self._default_rcpt = _Script(replies)

    def data(self, *replies):
        with self.lock:
            self._data = _Script(replies)

    def mail(self, *replies):
        with self.lock:
            self._mail = _Script(replies)

    def hold(self, n=1):
        with self.lock:
            self._hold_left = n
            self._release.clear()

    def release(self, reply=None):
        """Lets held messages go on: with reply (e.g. "451 ...") or the normal DATA reply."""
        with self.lock:
            self._release_reply = reply
            self._hold_left = 0
        self._release.set()

    # -- what happened
    def count(self, message_id):
        with self.lock:
            return sum(1 for d in self.deliveries if d["message_id"] == message_id)

    def received(self):
        with self.lock:
            return list(self.deliveries)

    def wait_deliveries(self, n, timeout=15.0):
        return wait_for(lambda: len(self.deliveries) >= n and self.received(), timeout,
                        what=f"{n} deliveries at sink {self.name}")

    def stop(self):
        self._release.set()
        with contextlib.suppress(Exception):
            self.controller.stop()


class _SinkHandler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.sink.pipelining:
            # aiosmtpd reads one command at a time, so it copes with pipelined input
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_QUIT(self, server, session, envelope):
        if self.sink.quit_delay:
            await asyncio.sleep(self.sink.quit_delay)
        return "221 2.0.0 Bye"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        s = self.sink
        with s.lock:
            reply = s._mail.next()
            s.mail_log.append((address, list(mail_options), reply))
        if reply.startswith("2"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        s = self.sink
        with s.lock:
            script = s._rcpt.get(address.lower(), s._default_rcpt)
            reply = script.next()
            s.rcpt_log.append((address, reply))
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server, session, envelope):
        s = self.sink
        with s.lock:
            held = s._hold_left > 0
            if held:
                s._hold_left -= 1
                s.held_now += 1
                s.held_total += 1
        if held:
            deadline = time.monotonic() + 120
            try:
                while not s._release.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
            finally:
                with s.lock:
                    s.held_now -= 1
            gone = server.transport is None or server.transport.is_closing()
            if gone:
                with s.lock:
                    s.held_dropped += 1
                return "451 4.3.0 client went away"
            with s.lock:
                reply = s._release_reply or s._data.next()
        else:
            with s.lock:
                reply = s._data.next()
        with s.lock:
            s.data_log.append(reply)
            if reply.startswith("2"):
                data = bytes(envelope.content)
                s.deliveries.append({
                    "mail_from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos),
                    "mail_options": list(envelope.mail_options),
                    "data": data, "tls": session.ssl is not None, "time": time.time(),
                    "message_id": header_value(data, "Message-ID"),
                    # the client as SPF sees it (test_srs.py)
                    "peer": session.peer[0] if session.peer else None,
                    "helo": session.host_name,
                })
                if session.ssl is not None:
                    s.tls_sessions += 1
                if s.after_ack is not None:
                    # runs once this task yields, i.e. after aiosmtpd has written the reply
                    asyncio.get_running_loop().call_soon(s.after_ack)
        return reply


# ---- certificates -------------------------------------------------------------------------


class QueueCA:
    """A throw-away CA (openssl CLI) and the certificates the sinks present."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.pem"
        self.key = self.dir / "ca.key"
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                      "-subj", "/CN=postern test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _openssl(self, *args):
        subprocess.run(["openssl", *[str(a) for a in args]], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def issue(self, name):
        """(cert, key) for DNS name `name`, signed by this CA."""
        cert, key, csr = (self.dir / f"{name}.pem", self.dir / f"{name}.key",
                          self.dir / f"{name}.csr")
        if cert.exists():
            return cert, key
        ext = self.dir / f"{name}.ext"
        ext.write_text(f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n"
                       "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                      "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key

    def self_signed(self, name):
        """(cert, key) for `name`, signed by nobody the server trusts."""
        cert, key = self.dir / f"self-{name}.pem", self.dir / f"self-{name}.key"
        if not cert.exists():
            self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                          "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}")
        return cert, key

    @staticmethod
    def server_context(cert, key):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx


# ---- postern ----------------------------------------------------------------------------------


class QueueServer:
    """One `postern serve` with its data dir, config and log (its stderr)."""

    def __init__(self, root, template, dns_addr, sink_port, ca_file, overrides=None,
                 extra_listen=()):
        self.root = Path(root)
        self.extra_listen = list(extra_listen)
        self.data_dir = self.root / "data"
        self.config_path = self.root / "postern.conf"
        self.log_path = self.root / "postern.log"
        self.sink_port = sink_port
        self.proc = None
        shutil.copytree(template, self.data_dir)
        base = {
            "hostname": HOSTNAME,
            "data_dir": str(self.data_dir),
            "user": "",
            "workers": 1,
            "listen": {"smtp": [f"{HOST}:0"]},
            "timeouts": {"shutdown": "3s"},
            "relay": {"hosts": ["127.0.0.0/8"]},
            "greylist": {"enabled": False},     # tests that relay from 127.0.0.2+ are not greylisted
            "dns": {"servers": [dns_addr], "allow_zones": ["test."]},
            "queue": {
                "port": sink_port, "allow_loopback": True, "min_retry": "1s",
                "max_retry": "2s", "max_age": "20s", "warn_after": "1h", "timeout": "5s",
                "circuit_failures": 3, "circuit_cooldown": "5s", "tls": "opportunistic",
                "tls_ca_file": str(ca_file),
                "tls_policy": ({"domain": "secure.test", "tls": "required"},),
            },
            "log": {"level": "debug"},
        }
        self.config = merge_config(base, overrides)
        self.write_config(self._free_port())

    @staticmethod
    def _free_port():
        with socket.socket() as s:
            s.bind((HOST, 0))
            return s.getsockname()[1]

    def write_config(self, port):
        self.port = port
        self.config["listen"] = {"smtp": [f"{HOST}:{port}", *self.extra_listen]}
        self.config_path.write_text(config_text(self.config), encoding="utf-8")

    # -- CLI
    def cli(self, *args, input=None):
        return run_cli(self.config_path, *args, input=input)

    def queue_list(self):
        """{id: {"sender", "held", "rcpts": {addr: {"status", "attempts"}}}} from `queue list`."""
        p = self.cli("queue", "list")
        assert p.returncode == 0, p.stderr
        out, cur = {}, None
        for line in p.stdout.splitlines():
            m = re.match(r"^(\S+)\s+(\d+)\s+.*<(.*?)>(\s+\(held\))?$", line)
            if m and not line.startswith(" "):
                cur = out.setdefault(m.group(1), {"sender": m.group(3), "held": bool(m.group(4)),
                                                  "rcpts": {}})
                continue
            m = re.match(r"^\s+(\w+)\s+(\S+)\s+attempts (\d+)", line)
            if m and cur is not None:
                cur["rcpts"][m.group(2)] = {"status": m.group(1), "attempts": int(m.group(3))}
        tail = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        m = re.match(r"(\d+) messages?, (\d+) recipients?", tail)
        assert m, f"no summary line in `queue list`:\n{p.stdout}"
        assert int(m.group(1)) == len(out), p.stdout
        return out

    def queue_files(self):
        d = self.data_dir / "queue"
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []

    # -- process
    def start(self, timeout=20):
        for attempt in range(3):
            if attempt:
                self.write_config(self._free_port())
            before = len(self.logs("server.started"))
            err = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen([POSTERN_BIN, "serve", "-c", str(self.config_path)],
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=err, env=postern_env(),
                                             start_new_session=True)
            finally:
                err.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if len(self.logs("server.started")) > before:
                    return self
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            if "cannot listen" not in self.log_text():
                break
        pytest.fail(f"postern serve did not start:\n{self.log_text()[-5000:]}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.proc = None
                return None
        rc, self.proc = self.proc.returncode, None
        return rc

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- logs
    def log_text(self):
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def logs(self, event=None, **match):
        out = []
        for line in self.log_text().splitlines():
            if not line.startswith("{"):
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if event is not None and e.get("event") != event:
                continue
            if all(e.get(k) == v for k, v in match.items()):
                out.append(e)
        return out

    def wait_log(self, event, count=1, timeout=15.0, pred=lambda e: True, **match):
        def hits():
            h = [e for e in self.logs(event, **match) if pred(e)]
            return h if len(h) >= count else None
        try:
            return wait_for(hits, timeout, what=f"{count} x {event} {match}")
        except AssertionError:
            raise AssertionError(f"no {count} x {event} {match} within {timeout}s; log tail:\n"
                                 + "\n".join(self.log_text().splitlines()[-40:])) from None

    # -- mail
    def send(self, rcpts, subject="queue test", sender=ALICE, mail_from=None, **kw):
        """Relays one message through postern; returns its Message-ID."""
        to = rcpts[0] if rcpts else ""
        mid, data = make_message(subject, to, sender=sender, **kw)
        send_mail(self.port, sender if mail_from is None else mail_from, rcpts, data)
        return mid

    def maildir(self, user="alice", domain=LOCAL_DOMAIN):
        d = self.data_dir / "mail" / domain / user / "Maildir" / "new"
        if not d.is_dir():
            return []
        return [p.read_bytes() for p in sorted(d.iterdir()) if not p.name.startswith(".")]

    def reports(self, user="alice"):
        """Parsed DSNs (bounces and delay notices) in user's Maildir."""
        return [parse_report(m) for m in self.maildir(user)]

    def wait_reports(self, n, timeout=15.0, user="alice"):
        return wait_for(lambda: len(self.maildir(user)) >= n and self.reports(user), timeout,
                        what=f"{n} report(s) in {user}'s Maildir")

    def wait_queue_empty(self, timeout=15.0):
        try:
            wait_for(lambda: self.queue_list() == {} and not self.queue_files(), timeout,
                     what="an empty queue")
        except AssertionError:
            raise AssertionError(
                f"queue not empty after {timeout}s: files {self.queue_files()}\n"
                + self.cli("queue", "list").stdout + "log tail:\n"
                + "\n".join(self.log_text().splitlines()[-30:])) from None


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def queue_dns():
    # servfail.test answers REFUSED (the resolver's view: a temporary DNS failure)
    with DnsServer(DNS_RECORDS, zones={"test.": "static", "servfail.test.": "refuse"}) as dns:
        yield dns


@pytest.fixture(scope="module")
def queue_ca(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl(1) not installed")
    return QueueCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def queue_template(tmp_path_factory):
    """A data dir with domain local.test and user alice, made by the CLI."""
    if not os.access(POSTERN_BIN, os.X_OK):
        pytest.exit(f"postern binary not found at {POSTERN_BIN}: run ninja -C build-asan",
                    returncode=1)
    root = tmp_path_factory.mktemp("qtemplate")
    conf = root / "postern.conf"
    conf.write_text(config_text({"hostname": HOSTNAME, "data_dir": str(root / "data"), "user": "",
                                 "listen": {"smtp": [f"{HOST}:1"]}}))
    for args, stdin in ((("domain", "add", LOCAL_DOMAIN), None),
                        (("user", "add", ALICE, "--password-stdin"), PASSWORD + "\n")):
        p = run_cli(conf, *args, input=stdin)
        assert p.returncode == 0, p.stderr
    return root / "data"


class Sinks:
    """Factory for the sinks of one test; all on one port."""

    def __init__(self, queue_ca):
        self.port = free_port_on(["127.0.0.%d" % i for i in range(2, 12)])
        self.ca = queue_ca
        self.all = []

    def start(self, ip, tls=None, cert_name=None, **kw):
        """tls: None (no STARTTLS), "ca" (a CA-signed cert for cert_name),
        "self" (a self-signed cert for cert_name); kw: Sink options."""
        ctx = None
        if tls == "ca":
            ctx = QueueCA.server_context(*self.ca.issue(cert_name))
        elif tls == "self":
            ctx = QueueCA.server_context(*self.ca.self_signed(cert_name))
        elif tls is not None:
            raise ValueError(tls)
        last = None
        for _ in range(50):          # the previous sink on this address may still be closing
            try:
                sink = Sink(ip, self.port, tls_context=ctx, **kw)
                break
            except Exception as e:   # aiosmtpd wraps bind errors variously
                last = e
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cannot start a sink on {ip}:{self.port}: {last}")
        self.all.append(sink)
        return sink

    def stop(self, sink):
        sink.stop()
        with contextlib.suppress(ValueError):
            self.all.remove(sink)

    def stop_all(self):
        for s in self.all:
            s.stop()
        self.all = []


@pytest.fixture
def sinks(queue_ca):
    s = Sinks(queue_ca)
    yield s
    s.stop_all()


@pytest.fixture
def qserver(tmp_path, queue_template, queue_dns, queue_ca, sinks):
    """Factory: qserver(overrides=None, start=True, extra_listen=()) -> QueueServer
    (queue.port = sinks.port; extra_listen: more listen.smtp addresses)."""
    servers = []

    def make(overrides=None, start=True, extra_listen=()):
        root = tmp_path / f"srv{len(servers) + 1}"
        root.mkdir()
        srv = QueueServer(root, queue_template, queue_dns.addr, sinks.port, queue_ca.cert,
                          overrides, extra_listen)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    problems = []
    for srv in servers:
        if srv.proc is None:
            continue
        rc = srv.stop()
        text = srv.log_text()
        rep = sanitizer_report(text)
        if rep:
            problems.append("sanitizer report:\n" + text[-20000:])
        if rc != 0:
            problems.append(f"postern serve exited with {rc!r}:\n" + text[-3000:])
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
