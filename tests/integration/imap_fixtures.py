"""Helpers for the IMAP integration tests (test_imap*.py).

Built on conftest.py (not a replacement for it):

- imap_server(postern, ...): a postern from conftest's `postern` factory with
  listen.imap (srv.imap_port, STARTTLS) and listen.imaps (srv.imaps_port,
  implicit TLS) beside the SMTP listener, no failure delay for IMAP logins and
  auth limits no ordinary test reaches. Fresh IMAP ports are picked whenever
  conftest picks a fresh SMTP port (its retry after "cannot listen").
  libconfig booleans (imap.login_without_tls), which conftest's config writer
  does not emit, go in `bools`.
- module_server(...): the same for a module-scoped fixture (one server shared
  by the tests of a module; each test works in mailboxes of its own). It uses
  conftest's Postern class and template data directly and performs the same
  teardown check (exit 0, no sanitizer report).
- IMAPConn: a raw IMAP client on conftest's SMTPClient socket layer (send
  bytes, read responses with timeouts, literals included) for exact protocol
  checks and hostile input.
- imaplib helpers (imaps(), imap_starttls()), message builders and direct
  Maildir writing (many messages quickly, as a delivery agent would).
- helpers the test files share: capability(), assert_alive(), mailboxes
  filled by APPEND (make_box(), fill(), box()), one() and exists_of().
"""
import contextlib
import imaplib
import os
import re
import socket
import ssl
import time
from pathlib import Path

import pytest

from conftest import (DOMAIN, HOST, IO_TIMEOUT, PASSWORD, ConnectionClosed, Postern, SMTPClient,
                      free_port, insecure_context, make_message, merge_config)

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"

NO_LIMITS = {"delay_base": "0", "max_attempts_per_ip": 100000, "max_attempts_per_username": 100000,
             "max_attempts_per_client_user": 100000, "fast_block_threshold": 100000}

SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk",
               "Archive": "\\Archive"}


# ---- the server --------------------------------------------------------------------------------


def _base_overrides(config, auth):
    over = {"auth": {"imap": dict(NO_LIMITS if auth is None else auth)},
            "limits": {"errors": 100}}
    return merge_config(over, config or {})


def _own_ports(srv, bools):
    """Fresh IMAP ports whenever conftest writes the config with a fresh SMTP
    port; libconfig booleans added inside their group."""
    plain_write = srv.write_config

    def write_config(port=None):
        if port is not None:
            taken = {port}
            for attr in ("imap_port", "imaps_port"):
                p = free_port()
                while p in taken:
                    p = free_port()
                taken.add(p)
                setattr(srv, attr, p)
            srv.overrides = merge_config(srv.overrides, {"listen": {
                "imap": [f"{HOST}:{srv.imap_port}"], "imaps": [f"{HOST}:{srv.imaps_port}"]}})
        plain_write(port)
        if bools:
            text = srv.config_path.read_text(encoding="utf-8")
            for group, kv in bools.items():
                inner = "".join(f"  {k} = {'true' if v else 'false'};\n" for k, v in kv.items())
                if re.search(rf"^{group} = {{\n", text, re.M):
                    text = re.sub(rf"^{group} = {{\n", lambda m: m.group(0) + inner, text,
                                  count=1, flags=re.M)
                else:
                    text += f"{group} = {{\n{inner}}};\n"
            srv.config_path.write_text(text, encoding="utf-8")

    srv.write_config = write_config


def imap_server(postern, config=None, auth=None, bools=None, start=True, template=True):
    """A postern (from conftest's factory) with IMAP listeners; see the module doc."""
    srv = postern(config=_base_overrides(config, auth), start=False, template=template)
    _own_ports(srv, bools)
    srv.write_config(srv.port)
    if start:
        srv.start()
    return srv


@contextlib.contextmanager
def module_server(tmp_path_factory, template_data, config=None, auth=None, bools=None):
    """A module-scoped IMAP server: `with module_server(...) as srv: yield srv`."""
    root = tmp_path_factory.mktemp("imapsrv")
    srv = Postern(root, template_data, _base_overrides(config, auth))
    _own_ports(srv, bools)
    srv.write_config(srv.port)
    srv.start()
    try:
        yield srv
    finally:
        problems = srv.check_exit() if srv.proc is not None else []
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)


# The fixtures most IMAP test files use (import them by name):
@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    """One server for the tests of a module; each works in mailboxes of its own."""
    with module_server(tmp_path_factory, template_data) as s:
        yield s


@pytest.fixture
def own_srv(postern):
    """A server of the test's own (hostile input, memory measured, a fresh INBOX): the
    teardown check (exit 0, no sanitizer report) belongs to this test."""
    return imap_server(postern)


# ---- raw client ---------------------------------------------------------------------------------


class Result:
    """The outcome of one command: tagged status and the untagged responses."""

    def __init__(self, tag, status, text, untagged, continuations):
        self.tag = tag
        self.status = status            # "OK" / "NO" / "BAD"
        self.text = text                # after the status
        self.untagged = untagged        # list of bytes, "* " stripped, literals inlined
        self.continuations = continuations

    @property
    def code(self):
        m = re.match(r"\[([^\]]*)\]", self.text)
        return m.group(1) if m else None

    def lines(self, prefix=None):
        """Untagged responses as str (utf-8, replace), optionally those starting with prefix
        (case-insensitive, after an optional message number)."""
        out = []
        for u in self.untagged:
            s = u.decode("utf-8", "replace")
            if prefix is None:
                out.append(s)
                continue
            body = re.sub(r"^\d+ ", "", s)
            if s.upper().startswith(prefix.upper()) or body.upper().startswith(prefix.upper()):
                out.append(s)
        return out

    def __repr__(self):
        return f"Result({self.tag} {self.status} {self.text!r}, untagged={self.untagged!r})"


class IMAPConn(SMTPClient):
    """A raw IMAP client: exact bytes out, responses with literals in."""

    LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n\Z")

    def __init__(self, port, host=HOST, timeout=IO_TIMEOUT, tls=False, greeting=True,
                 server_hostname=None, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.ntag = 0
        if tls:
            self.wrap_tls(server_hostname=server_hostname)
        self.greeting = self.read_response() if greeting else None

    # -- reading
    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"wanted {n} octets, have {len(self.buf)}")
            self._fill(left)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, timeout=None):
        """One response (a line, with any literals and the lines after them), CRLF removed."""
        out = b""
        while True:
            line = self.read_line(timeout)
            assert line.endswith(b"\r\n"), f"response line without CRLF: {line!r}"
            m = self.LITERAL_RE.search(line)
            if m:
                n = int(m.group(1))
                out += line + self.read_exact(n, timeout)
                continue
            return out + line[:-2]

    def next_tag(self):
        self.ntag += 1
        return f"t{self.ntag}"

    def cmd(self, text, tag=None, timeout=None):
        """Sends 'tag text' and reads up to the tagged reply; returns a Result."""
        tag = tag or self.next_tag()
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.wait_tagged(tag, timeout)

    def wait_tagged(self, tag, timeout=None):
        untagged, conts = [], []
        while True:
            r = self.read_response(timeout)
            if r.startswith(b"* "):
                untagged.append(r[2:])
            elif r.startswith(b"+"):
                conts.append(r)
            elif r.startswith(tag.encode() + b" "):
                rest = r[len(tag) + 1:].decode("utf-8", "replace")
                status, _, text = rest.partition(" ")
                return Result(tag, status.upper(), text, untagged, conts)
            else:
                raise AssertionError(f"unexpected response {r!r} while waiting for {tag}")

    def ok(self, text, timeout=None):
        r = self.cmd(text, timeout=timeout)
        assert r.status == "OK", f"{text!r}: {r}"
        return r

    def until(self, pred, timeout=None):
        """Reads responses until pred(response) is true; returns all read."""
        got = []
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"condition not met; got {got!r}")
            r = self.read_response(left)
            got.append(r)
            if pred(r):
                return got

    def quiet(self, wait=0.3):
        """True when nothing arrives within `wait` seconds."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if chunk:
            self.buf += chunk
            return False
        raise ConnectionClosed("connection closed by server")

    # -- session helpers
    def starttls_now(self):
        r = self.cmd("STARTTLS")
        assert r.status == "OK", r
        assert self.buf == b"", f"plaintext after the OK to STARTTLS: {self.buf!r}"
        self.wrap_tls()
        return r

    def login(self, user=ALICE, password=PASSWORD):
        r = self.cmd(f"LOGIN {quote(user)} {quote(password)}")
        assert r.status == "OK", r
        return r

    def append(self, mailbox, message, flags=None, date=None):
        """APPEND with a synchronising literal; returns the Result."""
        tag = self.next_tag()
        parts = [tag, "APPEND", quote(mailbox)]
        if flags is not None:
            parts.append(f"({flags})")
        if date is not None:
            parts.append(f'"{date}"')
        self.send(" ".join(parts).encode() + b" {%d}\r\n" % len(message))
        r = self.read_response()
        if not r.startswith(b"+"):
            tail = r.decode("utf-8", "replace")
            m = re.match(re.escape(tag) + r" (\w+) ?(.*)", tail)
            assert m, f"APPEND: unexpected {r!r}"
            return Result(tag, m.group(1).upper(), m.group(2), [], [])
        self.send(message + b"\r\n")
        return self.wait_tagged(tag)


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_conn(srv, tls="imaps", login=ALICE, password=PASSWORD, **kw):
    """A raw connection: tls = "imaps" (implicit), "starttls" or None (clear text)."""
    if tls == "imaps":
        c = IMAPConn(srv.imaps_port, tls=True, **kw)
    else:
        c = IMAPConn(srv.imap_port, **kw)
        if tls == "starttls":
            c.starttls_now()
    if login:
        c.login(login, password)
    return c


# ---- imaplib ---------------------------------------------------------------------------------


def imaps(srv, user=ALICE, password=PASSWORD, timeout=IO_TIMEOUT):
    m = imaplib.IMAP4_SSL(HOST, srv.imaps_port, ssl_context=insecure_context(), timeout=timeout)
    if user:
        m.login(user, password)
    return m


def imap_starttls(srv, user=ALICE, password=PASSWORD, timeout=IO_TIMEOUT):
    m = imaplib.IMAP4(HOST, srv.imap_port, timeout=timeout)
    m.starttls(insecure_context())
    if user:
        m.login(user, password)
    return m


# ---- messages ------------------------------------------------------------------------------


def crlf(text):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def simple_message(subject="hello", body="Hello world.\n", sender="sender@remote.test",
                   to=ALICE, date="Mon, 02 Mar 2026 10:00:00 +0000", extra=()):
    hdrs = [f"From: Sender <{sender}>", f"To: <{to}>", f"Subject: {subject}", f"Date: {date}",
            f"Message-ID: <{time.time_ns()}.{os.getpid()}@remote.test>", *extra]
    return crlf("\n".join(hdrs) + "\n\n" + body)


def deep_message(depth):
    """multipart/mixed nested `depth` levels."""
    head = "From: <deep@remote.test>\nTo: <alice@example.org>\nSubject: deep\n"
    out = [head]
    for i in range(depth):
        out.append(f"Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n")
    out.append("Content-Type: text/plain\n\ninnermost\n")
    for i in reversed(range(depth)):
        out.append(f"--b{i}--\n")
    return crlf("".join(out))


def many_parts_message(n):
    lines = ["From: <many@remote.test>", "To: <alice@example.org>", "Subject: many parts",
             "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="xx"', ""]
    for i in range(n):
        lines += ["--xx", "Content-Type: text/plain", "", f"part {i}"]
    lines += ["--xx--", ""]
    return crlf("\n".join(lines))


def write_maildir(maildir, messages, sub="new", host="imaptest", flags=None):
    """Writes messages straight into <maildir>/<sub> as a delivery agent would
    (tmp/ then rename); returns the file names."""
    maildir = Path(maildir)
    for d in ("tmp", "new", "cur"):
        (maildir / d).mkdir(parents=True, exist_ok=True)
    names = []
    now = int(time.time())
    for i, msg in enumerate(messages):
        name = f"{now}.M{i}P{os.getpid()}.{host}"
        if sub == "cur":
            name += ":2," + (flags or "")
        tmp = maildir / "tmp" / name
        tmp.write_bytes(msg)
        os.rename(tmp, maildir / sub / name)
        names.append(name)
    return names


def deliver_smtp(srv, rcpt=ALICE, msg=None, subject="via smtp"):
    """Sends one message over SMTP (conftest's port 25 listener); returns the raw message."""
    msg = msg or make_message(subject=subject, to=rcpt)
    with srv.connect() as c:
        r = c.send_message("sender@remote.test", [rcpt], msg)
        assert r.code == 250, r
        c.cmd("QUIT")
    return msg


# ---- response parsing -------------------------------------------------------------------------


def fetch_items(data):
    """Parses the parenthesised list of one FETCH response ('n FETCH (...)' bytes)
    into {ITEM: value}; values are bytes for literals and strings, str for atoms,
    nested lists for parenthesised lists."""
    m = re.match(rb"(\d+) FETCH ", data)
    assert m, f"not a FETCH response: {data[:80]!r}"
    val, pos = parse_sexp(data, m.end())
    assert pos == len(data), f"trailing data after FETCH list: {data[pos:]!r}"
    items = {}
    it = iter(val)
    for k in it:
        items[k.upper() if isinstance(k, str) else k] = next(it)
    return int(m.group(1)), items


def parse_sexp(data, pos=0):
    """One IMAP value at pos: returns (value, new_pos). NIL -> None."""
    while data[pos:pos + 1] == b" ":
        pos += 1
    c = data[pos:pos + 1]
    if c == b"(":
        out = []
        pos += 1
        while True:
            while data[pos:pos + 1] == b" ":
                pos += 1
            if data[pos:pos + 1] == b")":
                return out, pos + 1
            v, pos = parse_sexp(data, pos)
            out.append(v)
    if c == b'"':
        pos += 1
        s = bytearray()
        while data[pos:pos + 1] != b'"':
            if data[pos:pos + 1] == b"\\":
                pos += 1
            s += data[pos:pos + 1]
            pos += 1
            if pos > len(data):
                raise ValueError("unterminated string")
        return bytes(s), pos + 1
    if c == b"{":
        m = re.compile(rb"\{(\d+)\}\r\n").match(data, pos)
        n = int(m.group(1))
        return data[m.end():m.end() + n], m.end() + n
    # an atom; "BODY[...]<n>" style names keep their brackets
    m = re.compile(rb"[^ ()\[\]]+(\[[^\]]*\](<\d+>)?)?").match(data, pos)
    if not m or m.end() == pos:
        raise ValueError(f"cannot parse at {pos}: {data[pos:pos + 40]!r}")
    atom = m.group(0).decode()
    return (None if atom.upper() == "NIL" else atom), m.end()


def fetch_all(result):
    """{seq: items} for every FETCH response of a Result."""
    out = {}
    for u in result.untagged:
        if re.match(rb"\d+ FETCH ", u):
            seq, items = fetch_items(u)
            out.setdefault(seq, {}).update(items)
    return out


def search_numbers(result):
    for u in result.untagged:
        if u.upper().startswith(b"SEARCH"):
            return [int(x) for x in u.split()[1:] if x.isdigit()]
    raise AssertionError(f"no SEARCH response: {result}")


def resp_code(result, name):
    """The argument of an untagged 'OK [NAME arg]' response (str) or None."""
    for u in result.untagged:
        m = re.match(rb"OK \[" + name.encode() + rb"(?: ([^\]]*))?\]", u)
        if m:
            return (m.group(1) or b"").decode()
    return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- helpers shared by the test files ----------------------------------------------------------


def capability(c):
    """The capabilities a CAPABILITY command lists (the one untagged line)."""
    r = c.ok("CAPABILITY")
    lines = r.lines("CAPABILITY")
    assert len(lines) == 1, r
    return lines[0].split()[1:]


def assert_alive(srv):
    """The server still logs in, selects and answers (after hostile input)."""
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    c.ok("NOOP")
    c.close()


def make_box(c, name, messages, flags=None, dates=None, date=None):
    """CREATE name and APPEND the messages (message i with flags[i] and internal date
    dates[i], else `date`); SELECTs it; returns the SELECT Result."""
    c.ok(f'CREATE "{name}"')
    for i, m in enumerate(messages):
        r = c.append(name, m, flags=(flags or {}).get(i), date=(dates or {}).get(i, date))
        assert r.status == "OK", r
    return c.ok(f'SELECT "{name}"')


def one(c, cmd):
    """The items of the one message a FETCH command answers for."""
    r = c.ok(cmd)
    f = fetch_all(r)
    assert len(f) == 1, r
    return next(iter(f.values()))


def fill(c, name, n, prefix="m", flagged=()):
    """CREATE name and APPEND n messages with subjects prefix1..prefixN, \\Flagged
    the ones whose number (from 1) is in `flagged`."""
    c.ok(f'CREATE "{name}"')
    for i in range(n):
        flags = "\\Flagged" if i + 1 in flagged else None
        assert c.append(name, simple_message(f"{prefix}{i + 1}"), flags=flags).status == "OK"


def box(c, name, n):
    """CREATE name and APPEND n messages with subjects name-1..name-N."""
    c.ok(f'CREATE "{name}"')
    for i in range(n):
        assert c.append(name, simple_message(f"{name}-{i + 1}")).status == "OK"


def exists_of(result_or_lines):
    """The last N of the '* N EXISTS' responses (of a Result or of lines), or None."""
    lines = result_or_lines.lines() if hasattr(result_or_lines, "lines") else result_or_lines
    n = [int(l.split()[0]) for l in lines if re.fullmatch(r"\d+ EXISTS", l)]
    return n[-1] if n else None


def subjects_and_flags(srv, mailbox="INBOX"):
    """{subject: set of flags} of a mailbox, read over a fresh connection with EXAMINE (so
    as to change nothing), for checking what a real client left on the server."""
    c = imap_conn(srv)
    try:
        r = c.ok(f"EXAMINE {quote(mailbox)}", timeout=30)
        r = None if "0 EXISTS" in r.lines() else \
            c.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", timeout=30)
    finally:
        c.close()
    out = {}
    for u in (r.untagged if r else []):
        text = u.decode("utf-8", "replace")
        flags = re.search(r"FLAGS \(([^)]*)\)", text)
        subject = re.search(r"Subject: (.*?)\r\n", text)
        if flags and subject:
            out[subject.group(1)] = set(flags.group(1).split())
    return out


def wait_mailbox(srv, pred, what, mailbox="INBOX", deadline=60.0):
    """Polls subjects_and_flags(mailbox) until pred(state) holds (a client's changes may
    reach the server a moment after its screen or reply shows them); fails with the state."""
    end = time.monotonic() + deadline
    while True:
        state = subjects_and_flags(srv, mailbox)
        if pred(state):
            return state
        if time.monotonic() > end:
            pytest.fail(f"server: {what} not true within {deadline:.0f}s; {mailbox}: {state}",
                        pytrace=False)
        time.sleep(0.3)
