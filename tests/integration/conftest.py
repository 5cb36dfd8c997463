"""Fixtures and helpers for postern's integration tests.

Every test talks to a real `postern serve` on 127.0.0.1 with a private
temporary data directory. The binary is $POSTERN_BIN, by default the
AddressSanitizer build at <repo>/build-asan/postern. At teardown each server
gets SIGTERM and the test fails when it does not exit 0 or when its stderr
mentions AddressSanitizer, LeakSanitizer or a UBSan "runtime error".

The `postern` fixture is a factory:

    def test_x(postern):
        srv = postern(config={"limits": {"recipients": 3}})
        c = srv.connect()            # raw-socket client (SMTPClient)
        ...
        assert len(srv.maildir("alice")) == 1

The data directory starts with domain example.org, users alice and bob
(password "secret") and the aliases listed in SETUP_ALIASES, all made by the
postern CLI itself: once per session in a template data dir, which each
server then gets a fresh copy of (postern(template=False) starts empty).

Helpers: Postern.cli() runs a subcommand with the server's -c FILE;
maildir()/messages() list and read <data>/mail/<domain>/<user>/Maildir/new;
logs()/wait_log()/transactions() read the JSON log lines; connect() gives an
SMTPClient (raw socket: send bytes, read replies, all with timeouts);
smtp() gives an smtplib.SMTP.

DNS: no server a test starts ever asks the system resolver. One unbound
(dnsserver.DnsServer) runs for the whole session, serving the zones in
SHARED_DNS_ZONES (test., example.org., example.com., example.net.) with no
records, so a name there is NXDOMAIN at once and any other name is refused
(SERVFAIL at once). Every Postern gets

    dns = { servers = ["127.0.0.1@PORT"]; allow_zones = ["test."]; };

unless its own config sets "dns" (that group then replaces this one whole;
{"dns": None} leaves dns out: the system resolver). Servers with a DNS of
their own (queue_fixtures.QueueServer, test_spf_check's) keep theirs.
A test adds records through srv.dns or the `shared_dns` fixture (both the
same SharedDns):

    srv.dns.add(["sel._domainkey.t1.test. TXT \"v=DKIM1; p=...\""])

The records a test adds are taken out again when it ends, so nothing it adds
is seen by the next test's servers; a module-scoped server shares the
server with every test of the module and caches answers (TTL 3600 unless the
record says otherwise), so give the records names of the test's own
("t-<test name>.example.net.") and short TTLs for records a test changes.
A test that needs zones of its own (another zone type, a broken server)
starts its own DnsServer and passes it in its config.

Run: POSTERN_BIN=... /usr/bin/python3 -m pytest -q tests/integration
POSTERN_ASAN_OPTIONS replaces the servers' ASAN_OPTIONS, e.g. with
fast_unwind_on_malloc=0 added for whole leak stacks through libraries built
without frame pointers (OpenSSL), at some cost in speed.
Test data lives in $TMPDIR/postern-it-<pid>, removed at the end unless
POSTERN_KEEP_TMP=1.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pytest

from dnsserver import DnsServer

REPO = Path(__file__).resolve().parents[2]
POSTERN_BIN = os.path.abspath(os.environ.get("POSTERN_BIN") or (REPO / "build-asan" / "postern"))

HOST = "127.0.0.1"
HOSTNAME = "mx.example.org"
DOMAIN = "example.org"
PASSWORD = "secret"
USERS = ["alice", "bob"]
# alias -> targets, created with `postern alias add` in the template data dir
SETUP_ALIASES = {
    "both@example.org": ["alice@example.org", "bob@example.org"],
    "postmaster@example.org": ["alice@example.org"],
    "fwd@example.org": ["someone@remote.test"],
}

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error")

SAN_ENV = {
    "ASAN_OPTIONS": os.environ.get("POSTERN_ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0"),
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}

# Socket timeout for every client read: nothing may hang.
IO_TIMEOUT = 5.0


def postern_env():
    env = dict(os.environ)
    env.update(SAN_ENV)
    return env


def sanitizer_report(text):
    """Returns the sanitizer lines in text ('' when clean)."""
    hits = [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKERS)]
    return "\n".join(hits)


def run_postern(*args, input=None, timeout=60, config=None, env=None, check_sanitizers=True):
    """Runs a postern CLI command; returns CompletedProcess with str stdout/stderr.
    Fails the test when the sanitizers report anything."""
    cmd = [POSTERN_BIN, *[str(a) for a in args]]
    if config is not None:
        cmd += ["-c", str(config)]
    p = subprocess.run(cmd, input=input if input is None or isinstance(input, bytes) else input.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=env or postern_env(), stdin=None if input is not None else subprocess.DEVNULL,
                       start_new_session=True)
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    if check_sanitizers:
        rep = sanitizer_report(p.stderr)
        assert not rep, f"sanitizer report from {cmd}:\n{p.stderr}"
    return p


def free_port():
    """A currently unused high TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    assert port >= 1024
    return port


# ---- configuration -------------------------------------------------------------


def _cfg_value(v, indent):
    pad = "  " * indent
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_cfg_value(x, indent) for x in v) + "]"
    if isinstance(v, dict):
        inner = "".join(f"{pad}  {k} = {_cfg_value(x, indent + 1)};\n" for k, x in v.items())
        return "{\n" + inner + pad + "}"
    raise TypeError(f"cannot write {v!r} to a config")


def config_text(cfg):
    """libconfig text for a dict (nested dicts are groups, lists are arrays)."""
    return "".join(f"{k} = {_cfg_value(v, 0)};\n" for k, v in cfg.items())


def merge_config(base, over):
    """Deep merge; a value of None removes the key."""
    out = dict(base)
    for k, v in (over or {}).items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_config(out[k], v)
        else:
            out[k] = v
    return out


# The zones of the session's DNS server (see the module docstring): NXDOMAIN for any
# name in them, SERVFAIL at once for the rest.
SHARED_DNS_ZONES = {"test.": "static", "example.org.": "static", "example.com.": "static",
                    "example.net.": "static"}


class SharedDns:
    """The session's DNS server as tests see it: add() puts records in, reset()
    (run after every test) takes them out again."""

    server = None               # the DnsServer, set by the session fixture

    @property
    def addr(self):
        return self.server.addr

    def config(self):
        return {"servers": [self.server.addr], "allow_zones": ["test."]}

    def add(self, records):
        """Adds records (unbound local-data strings in a served zone); live on return."""
        self.server.update(self.server.records + list(records))

    def query(self, name, qtype, **kw):
        return self.server.query(name, qtype, **kw)

    def reset(self):
        if self.server is not None and self.server.records:
            self.server.update([])


SHARED_DNS = SharedDns()


def base_config(data_dir, port):
    return {
        "hostname": HOSTNAME,
        "data_dir": str(data_dir),
        "user": "",     # the tests run as root and stay root, unless one sets a user
        "workers": 2,
        "listen": {"smtp": [f"{HOST}:{port}"]},
        "timeouts": {"shutdown": "5s"},
        "log": {"level": "info"},
        # on by default for port 25, it would defer every test's first message:
        # test_greylist.py and test_scan.py turn it on
        "greylist": {"enabled": False},
    }


# ---- raw SMTP client ---------------------------------------------------------------


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines                      # texts after "ddd-" / "ddd "
        first = lines[0] if lines else ""
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3}) ", first)
        self.enh = m.group(1) if m else None
        self.text = "\n".join(lines)

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"

    def __str__(self):
        return f"{self.code} {self.text}"


class ConnectionClosed(Exception):
    pass


class SMTPClient:
    """A deliberately dumb SMTP client for hostile inputs: send raw bytes,
    read replies with timeouts."""

    def __init__(self, port, host=HOST, timeout=IO_TIMEOUT, banner=True, source=None):
        # source: another loopback address (127.0.0.2 ..) to be a distinct client
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.banner = self.reply() if banner else None

    # -- low level
    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            chunk = self.sock.recv(65536)
        except ssl.SSLError as e:
            # a TLS peer that vanishes without close_notify
            raise ConnectionClosed(f"TLS error: {e}") from e
        except ConnectionResetError as e:
            raise ConnectionClosed("connection reset") from e
        if not chunk:
            raise ConnectionClosed("connection closed by server")
        self.buf += chunk

    def read_line(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete line; buffered {self.buf!r}")
            self._fill(left)
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def reply(self, timeout=None):
        """Reads one (possibly multi-line) reply."""
        lines = []
        while True:
            raw = self.read_line(timeout)
            assert raw.endswith(b"\r\n"), f"reply line without CRLF: {raw!r}"
            text = raw[:-2].decode("utf-8", "replace")
            m = re.match(r"(\d{3})([ -])(.*)\Z", text, re.S)
            assert m, f"malformed reply line {text!r}"
            lines.append(m.group(3))
            if m.group(2) == " ":
                return Reply(int(m.group(1)), lines)

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, expect=None):
        """Sends one command line (CRLF added) and reads its reply."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        r = self.reply()
        if expect is not None:
            assert r.code == expect, f"{line!r}: expected {expect}, got {r}"
        return r

    def expect(self, code, enh=None, timeout=None):
        r = self.reply(timeout)
        assert r.code == code, f"expected {code}, got {r}"
        if enh is not None:
            assert r.enh == enh, f"expected {code} {enh}, got {r}"
        return r

    def ehlo(self, name="client.example.net"):
        return self.cmd(f"EHLO {name}", expect=250)

    def read_until_closed(self, timeout=None):
        """Reads until the server closes; returns everything received.
        Raises TimeoutError when the connection stays open."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"connection still open; got {self.buf!r}")
            try:
                self._fill(left)
            except ConnectionClosed:
                data, self.buf = self.buf, b""
                return data
            except socket.timeout:
                raise TimeoutError(f"connection still open; got {self.buf!r}")

    def is_closed(self, timeout=2.0):
        try:
            self.read_until_closed(timeout)
            return True
        except TimeoutError:
            return False

    def starttls(self, context=None, server_hostname=None):
        r = self.cmd("STARTTLS")
        assert r.code == 220, f"STARTTLS refused: {r}"
        assert self.buf == b"", f"plaintext after the 220 to STARTTLS: {self.buf!r}"
        self.wrap_tls(context, server_hostname)
        return r

    def wrap_tls(self, context=None, server_hostname=None):
        ctx = context or insecure_context()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.sock.settimeout(self.timeout)

    def send_message(self, mail_from, rcpts, body, ehlo=True):
        """A full transaction, one command at a time; returns the final reply."""
        if ehlo:
            self.ehlo()
        self.cmd(f"MAIL FROM:<{mail_from}>", expect=250)
        for r in rcpts:
            self.cmd(f"RCPT TO:<{r}>", expect=250)
        self.cmd("DATA", expect=354)
        self.send(body + b".\r\n")
        return self.reply()

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def insecure_context(minimum=None, maximum=None):
    """Client context that does not verify the (self-signed) certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum is not None or maximum is not None:
        # let the client really offer old versions, so that a refusal is the server's
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/TLSv1_1 on purpose
            if minimum is not None:
                ctx.minimum_version = minimum
            if maximum is not None:
                ctx.maximum_version = maximum
    return ctx


def make_message(subject="test", body="Hello from the integration tests.", extra_headers=(),
                 sender="sender@remote.test", to="alice@example.org"):
    """An RFC 5322 message with CRLF line ends (wire form, before dot-stuffing)."""
    hdrs = [f"From: <{sender}>", f"To: <{to}>", f"Subject: {subject}",
            "Message-ID: <%d.%d@remote.test>" % (time.time_ns(), os.getpid()), *extra_headers]
    text = "\r\n".join(hdrs) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
    if not text.endswith("\r\n"):
        text += "\r\n"
    return text.encode("utf-8")


def split_delivered(data):
    """Splits a delivered file into (trace header bytes, message bytes):
    the trace is Return-Path, on port 25 the Authentication-Results field of
    postern's checks, and the Received field postern added."""
    lines = data.split(b"\n")
    assert lines[0].startswith(b"Return-Path: <"), f"no Return-Path first: {data[:200]!r}"
    i = 1
    if lines[i].startswith(b"Authentication-Results: " + HOSTNAME.encode() + b";"):
        i = skip_folds(lines, i + 1)
    assert lines[i].startswith(b"Received: "), f"no Received after it: {data[:300]!r}"
    i = skip_folds(lines, i + 1)
    return b"\n".join(lines[:i]) + b"\n", b"\n".join(lines[i:])


def skip_folds(lines, i):
    """The index of the first line at or after i that does not continue a field."""
    while i < len(lines) and lines[i][:1] in (b"\t", b" "):
        i += 1
    return i


# the text of the 250 reply to a message accepted on the MX service
QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([A-Za-z0-9]+)$")


def start_data(c, rcpts=("alice@example.org",)):
    """EHLO, MAIL, RCPT for each of rcpts and DATA on an SMTPClient: ready for the message."""
    c.ehlo()
    c.cmd("MAIL FROM:<s@remote.test>", expect=250)
    for r in rcpts:
        c.cmd(f"RCPT TO:<{r}>", expect=250)
    c.cmd("DATA", expect=354)


# ---- reply codes in what other programs print ---------------------------------------------
# A reply code is three digits at the start of a reply line, not three digits anywhere:
# "235" in swaks's output also matches "=== Trying 127.0.0.1:52355...".

SMTP_REPLY_LINE = re.compile(rb"^([2-5]\d\d)(?:[ -]|\r?$)", re.M)

# swaks marks each line the server sent: "<- " (plain), "<~ " (in TLS), "<**" / "<~*" (an
# error reply), then a space
SWAKS_REPLY_LINE = re.compile(r"^<(?:- |~ |\*\*|~\*) (\d{3})(?:[ -](.*))?$", re.M)


def smtp_reply_codes(data):
    """The codes of the SMTP reply lines in raw bytes read from a server."""
    return [int(m.group(1)) for m in SMTP_REPLY_LINE.finditer(data)]


def swaks_replies(output):
    """(code, text) of each server reply line in swaks's output; the text starts with the
    enhanced status code when there is one."""
    return [(int(m.group(1)), m.group(2) or "") for m in SWAKS_REPLY_LINE.finditer(output)]


def swaks_got_reply(output, code, text_prefix=""):
    """True when swaks shows a server reply line with this code, its text starting so."""
    return any(c == code and t.startswith(text_prefix) for c, t in swaks_replies(output))


# ---- the server ----------------------------------------------------------------------


class Postern:
    def __init__(self, root, template, config=None):
        self.root = Path(root)
        self.data_dir = self.root / "data"
        self.config_path = self.root / "postern.conf"
        self.stdout_path = self.root / "stdout.txt"
        self.stderr_path = self.root / "stderr.txt"
        self.overrides = config or {}
        self.proc = None
        self.returncode = None
        self.port = None
        self.preexec = None         # run in the server process before exec (e.g. setrlimit)
        self.dns = SHARED_DNS       # the session's DNS server (module docstring)
        if template is not None:
            shutil.copytree(template, self.data_dir)
        self.write_config(free_port())

    # -- configuration
    def write_config(self, port=None):
        if port is not None:
            self.port = port
        base = base_config(self.data_dir, self.port)
        # never the system resolver: the session's DNS server unless the test brings its own
        if SHARED_DNS.server is not None and "dns" not in self.overrides:
            base["dns"] = SHARED_DNS.config()
        self.config = merge_config(base, self.overrides)
        self.config_path.write_text(config_text(self.config), encoding="utf-8")

    @property
    def log_path(self):
        f = self.config.get("log", {}).get("file")
        return Path(f) if f else self.stderr_path

    # -- CLI
    def cli(self, *args, input=None, timeout=60):
        return run_postern(*args, input=input, timeout=timeout, config=self.config_path)

    def add_user(self, address, password=PASSWORD):
        p = self.cli("user", "add", address, "--password-stdin", input=password + "\n")
        assert p.returncode == 0, p.stderr
        return p

    def add_domain(self, domain):
        p = self.cli("domain", "add", domain)
        assert p.returncode == 0, p.stderr
        return p

    def add_alias(self, alias, *targets):
        p = self.cli("alias", "add", alias, *targets)
        assert p.returncode == 0, p.stderr
        return p

    # -- process
    def start(self, timeout=20):
        for attempt in range(3):
            if attempt:
                self.write_config(free_port())
            self._spawn()
            if self._wait_ready(timeout):
                return self
            if "cannot listen" not in self.stderr_text():
                break
        err = self.stderr_text()
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait(5)
        self._close_files()
        self.proc = None  # reported here; nothing left for the teardown check
        pytest.fail(f"postern serve did not start (rc={rc}):\n{err}")

    def _spawn(self):
        self._started_before = len(self.logs("server.started"))
        self.out_f = open(self.stdout_path, "wb")
        self.err_f = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([POSTERN_BIN, "serve", "-c", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self.out_f,
                                     stderr=self.err_f, env=postern_env(),
                                     start_new_session=True, preexec_fn=self.preexec)
        self.returncode = None

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close_files()
                return False
            # logged once the listeners are bound and the workers run; no probe
            # connection, so that tests of connection limits start from zero
            if len(self.logs("server.started")) > self._started_before:
                return True
            time.sleep(0.02)
        return False

    def _close_files(self):
        for f in (getattr(self, "out_f", None), getattr(self, "err_f", None)):
            if f:
                f.close()

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server; returns its exit code (None: it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.returncode = "killed"
                self._close_files()
                return None
        if self.returncode is None:
            self.returncode = self.proc.returncode
        self._close_files()
        return self.returncode

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.returncode = self.proc.returncode
        return self.returncode

    def stderr_text(self):
        try:
            return self.stderr_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def check_exit(self):
        """Teardown check: exit 0 and no sanitizer report."""
        rc = self.stop()
        err = self.stderr_text()
        rep = sanitizer_report(err)
        problems = []
        if rep:
            problems.append("sanitizer report:\n" + err[-20000:])
        if rc != 0:
            problems.append(f"postern serve exited with {rc!r} (expected 0)\n" + err[-5000:])
        return problems

    # -- logs
    def logs(self, event=None, path=None):
        """Parsed JSON log lines (optionally only one event)."""
        out = []
        try:
            data = Path(path or self.log_path).read_bytes()
        except FileNotFoundError:
            return out
        for line in data.splitlines():
            if not line.startswith(b"{"):
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if event is None or e.get("event") == event:
                out.append(e)
        return out

    def wait_log(self, event, pred=lambda e: True, timeout=10, count=1):
        deadline = time.monotonic() + timeout
        while True:
            hits = [e for e in self.logs(event) if pred(e)]
            if len(hits) >= count:
                return hits
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count} x {event} in the log within {timeout}s; "
                                     f"have {hits}")
            time.sleep(0.05)

    def transactions(self):
        return self.logs("smtp.transaction")

    # -- mailboxes
    def maildir_path(self, user, domain=DOMAIN):
        return self.data_dir / "mail" / domain / user / "Maildir"

    def maildir(self, user, domain=DOMAIN, sub="new"):
        d = self.maildir_path(user, domain) / sub
        if not d.is_dir():
            return []
        return sorted(p for p in d.iterdir() if not p.name.startswith("."))

    def messages(self, user, domain=DOMAIN, sub="new"):
        return [p.read_bytes() for p in self.maildir(user, domain, sub)]

    def all_delivered(self):
        """Every file under any Maildir's new/ and tmp/ (for 'nothing delivered')."""
        root = self.data_dir / "mail"
        if not root.is_dir():
            return []
        return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name in ("new", "tmp", "cur"))

    # -- clients
    def connect(self, **kw):
        return SMTPClient(self.port, **kw)

    def smtp(self, timeout=IO_TIMEOUT):
        import smtplib
        return smtplib.SMTP(HOST, self.port, local_hostname="client.example.net", timeout=timeout)


# ---- pytest hooks ----------------------------------------------------------------------


def pytest_configure(config):
    # A private base temp dir: pytest's default /tmp/pytest-of-$USER rotation lets a
    # concurrent pytest run (unit tests, another suite) delete our live data dirs.
    if config.option.basetemp is None:
        base = Path(tempfile.gettempdir()) / f"postern-it-{os.getpid()}"
        config.option.basetemp = str(base)
        config._postern_basetemp = base


def pytest_sessionfinish(session, exitstatus):
    base = getattr(session.config, "_postern_basetemp", None)
    if base is None:
        return
    if os.environ.get("POSTERN_KEEP_TMP"):
        print(f"\npostern integration test data kept in {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postern_bin():
    if not os.access(POSTERN_BIN, os.X_OK):
        pytest.exit(f"postern binary not found at {POSTERN_BIN}: run ninja -C build-asan "
                    "or set POSTERN_BIN", returncode=1)
    return POSTERN_BIN


@pytest.fixture(scope="session", autouse=True)
def _shared_dns_server():
    """The one DNS server every Postern is configured with (module docstring)."""
    with DnsServer([], zones=SHARED_DNS_ZONES) as dns:
        SHARED_DNS.server = dns
        try:
            yield dns
        finally:
            SHARED_DNS.server = None


@pytest.fixture(autouse=True)
def shared_dns(_shared_dns_server):
    """SHARED_DNS for the test: the records it adds go when it ends."""
    yield SHARED_DNS
    SHARED_DNS.reset()


@pytest.fixture(scope="session")
def template_data(tmp_path_factory, postern_bin):
    """A data dir set up once with the postern CLI: domain, users, aliases."""
    root = tmp_path_factory.mktemp("template")
    data = root / "data"
    conf = root / "postern.conf"
    conf.write_text(config_text(base_config(data, 1)), encoding="utf-8")
    steps = [(("domain", "add", DOMAIN), None)]
    steps += [(("user", "add", f"{u}@{DOMAIN}", "--password-stdin"), PASSWORD + "\n") for u in USERS]
    steps += [(("alias", "add", a, *t), None) for a, t in SETUP_ALIASES.items()]
    for args, stdin in steps:
        p = run_postern(*args, input=stdin, config=conf)
        assert p.returncode == 0, f"setup {args} failed: {p.stderr}"
    return data


@pytest.fixture
def postern(tmp_path, template_data):
    """Factory: postern(config=overrides, start=True) -> Postern."""
    servers = []
    counter = [0]

    def make(config=None, start=True, template=True):
        counter[0] += 1
        root = tmp_path / f"srv{counter[0]}"
        root.mkdir()
        srv = Postern(root, template_data if template else None, config)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    problems = []
    for srv in servers:
        if srv.proc is not None:
            problems += srv.check_exit()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def server(postern):
    """A started server with the default test configuration."""
    return postern()


@pytest.fixture(scope="session")
def openssl():
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("openssl(1) not installed")
    return path


def make_cert(openssl_bin, directory, cn, name):
    """A self-signed P-256 certificate and key: returns (cert_path, key_path)."""
    cert = Path(directory) / f"{name}-cert.pem"
    key = Path(directory) / f"{name}-key.pem"
    subprocess.run([openssl_bin, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    return cert, key


def cert_der(pem_path):
    return ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())
