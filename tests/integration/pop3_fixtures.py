"""Helpers for the POP3 integration tests (test_pop3*.py).

Built on conftest.py and imap_fixtures.py (not a replacement for them):

- pop3_server(postern, ...): a postern from conftest's `postern` factory with
  listen.pop3 (srv.pop3_port, STLS) and listen.pop3s (srv.pop3s_port, implicit
  TLS) beside the SMTP and IMAP listeners (srv.imap_port, srv.imaps_port, so a
  test can look at the same mailbox over IMAP), no failure delay and limits no
  ordinary test reaches for POP3 and IMAP logins. Fresh ports whenever
  conftest picks a fresh SMTP port.
- POP3Conn: a raw POP3 client on conftest's SMTPClient socket layer (send
  bytes, read status lines and multi-line responses with timeouts) for exact
  protocol checks and hostile input.
- poplib helpers (pop3s(), pop3_stls()) and Maildir helpers.
"""
import poplib
import re

from conftest import HOST, IO_TIMEOUT, PASSWORD, SMTPClient, free_port, insecure_context, merge_config
import imap_fixtures
from imap_fixtures import ALICE, BOB, NO_LIMITS

__all__ = ["ALICE", "BOB", "PASSWORD", "POP3Conn", "pop3_server", "pop3_conn", "pop3s",
           "pop3_stls", "Status"]


def _own_ports(srv):
    """Fresh POP3 ports whenever conftest writes the config with a fresh SMTP port."""
    plain_write = srv.write_config

    def write_config(port=None):
        if port is not None:
            taken = {port, getattr(srv, "imap_port", 0), getattr(srv, "imaps_port", 0)}
            for attr in ("pop3_port", "pop3s_port"):
                p = free_port()
                while p in taken:
                    p = free_port()
                taken.add(p)
                setattr(srv, attr, p)
            srv.overrides = merge_config(srv.overrides, {"listen": {
                "pop3": [f"{HOST}:{srv.pop3_port}"], "pop3s": [f"{HOST}:{srv.pop3s_port}"]}})
        plain_write(port)

    srv.write_config = write_config


def pop3_server(postern, config=None, auth=None, start=True, template=True):
    """A postern with POP3 (and IMAP) listeners; see the module doc."""
    over = {"auth": {"pop3": dict(NO_LIMITS if auth is None else auth), "imap": dict(NO_LIMITS)},
            "limits": {"errors": 100}}
    srv = postern(config=merge_config(over, config or {}), start=False, template=template)
    imap_fixtures._own_ports(srv, None)
    _own_ports(srv)
    srv.write_config(srv.port)
    if start:
        srv.start()
    return srv


# ---- raw client -------------------------------------------------------------------------------


class Status:
    """A status line: ok (True for +OK), code (RFC 2449 response code or None), text."""

    def __init__(self, raw):
        self.raw = raw
        text = raw.decode("utf-8", "replace")
        m = re.match(r"(\+OK|-ERR)(?: (?:\[([^\]]*)\] ?)?(.*))?\Z", text, re.S)
        assert m, f"malformed status line {raw!r}"
        self.ok = m.group(1) == "+OK"
        self.code = m.group(2)
        self.text = m.group(3) or ""

    def __repr__(self):
        return f"Status({self.raw!r})"


class POP3Conn(SMTPClient):
    """A raw POP3 client: exact bytes out, status lines and multi-line bodies in."""

    def __init__(self, port, host=HOST, timeout=IO_TIMEOUT, tls=False, greeting=True):
        import socket
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        if tls:
            self.wrap_tls()
        self.greeting = self.status() if greeting else None

    def status(self, timeout=None):
        line = self.read_line(timeout)
        assert line.endswith(b"\r\n"), f"status line without CRLF: {line!r}"
        return Status(line[:-2])

    def body(self, timeout=None):
        """The rest of a multi-line response: the raw bytes up to and including
        CRLF.CRLF, and the lines with the stuffing removed."""
        raw = b""
        lines = []
        while True:
            line = self.read_line(timeout)
            raw += line
            assert line.endswith(b"\r\n"), f"line without CRLF: {line!r}"
            if line == b".\r\n":
                return raw, lines
            line = line[:-2]
            lines.append(line[1:] if line.startswith(b".") else line)

    def cmd(self, line, timeout=None):
        """Sends one command line (CRLF added) and reads its status line."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.status(timeout)

    def ok(self, line, timeout=None):
        st = self.cmd(line, timeout)
        assert st.ok, f"{line!r}: {st}"
        return st

    def multi(self, line, timeout=None):
        """A command with a multi-line answer: (status, lines) (lines None after -ERR)."""
        st = self.cmd(line, timeout)
        if not st.ok:
            return st, None
        return st, self.body(timeout)[1]

    def stls(self):
        st = self.cmd("STLS")
        assert st.ok, f"STLS refused: {st}"
        assert self.buf == b"", f"plaintext after the +OK to STLS: {self.buf!r}"
        self.wrap_tls()
        return st

    def login(self, user=ALICE, password=PASSWORD):
        self.ok(f"USER {user}")
        return self.ok(f"PASS {password}")

    def capa(self):
        st, lines = self.multi("CAPA")
        assert st.ok, st
        return [l.decode() for l in lines]


def pop3_conn(srv, tls="pop3s", user=ALICE, password=PASSWORD, **kw):
    """A raw connection: tls = "pop3s" (implicit), "stls" or None (clear text);
    logged in unless user is None."""
    if tls == "pop3s":
        c = POP3Conn(srv.pop3s_port, tls=True, **kw)
    else:
        c = POP3Conn(srv.pop3_port, **kw)
        if tls == "stls":
            c.stls()
    if user:
        c.login(user, password)
    return c


# ---- poplib ----------------------------------------------------------------------------------


def pop3s(srv, user=ALICE, password=PASSWORD, timeout=IO_TIMEOUT):
    p = poplib.POP3_SSL(HOST, srv.pop3s_port, context=insecure_context(), timeout=timeout)
    if user:
        p.user(user)
        p.pass_(password)
    return p


def pop3_stls(srv, user=ALICE, password=PASSWORD, timeout=IO_TIMEOUT):
    p = poplib.POP3(HOST, srv.pop3_port, timeout=timeout)
    p.stls(insecure_context())
    if user:
        p.user(user)
        p.pass_(password)
    return p


def retr_bytes(p, n):
    """A message as poplib gives it back, CRLF line ends restored."""
    return b"".join(l + b"\r\n" for l in p.retr(n)[1])
