"""Automatic bans (src/net/ban.c; ban = { ... } in docs/config.md): violations
of one client on one service ban it on every listener, closed right after
accept without a word; the ban ends, and a repeat offender's lasts twice as
long; ban.allow wins, also behind a PROXY listener (on the address the header
names), and the proxy is never banned for its clients; bans outlive a
restart; `postern ban list|add|del`, audited, applied by the running server.

Short durations (2 s doubling to 8 s) keep it quick. Each test's clients are
their own 127.0.0.x source addresses; 127.0.0.1 (the other tests' address)
is in ban.allow."""
import socket
import time

import pytest

from conftest import HOST, IO_TIMEOUT, ConnectionClosed, SMTPClient, merge_config
import imap_fixtures
from imap_fixtures import IMAPConn

BAN = {"threshold": 3, "window": "1m", "duration": "2s", "max_duration": "8s",
       "allow": ["127.0.0.1"]}


class From(SMTPClient):
    """An SMTP connection from a chosen 127.0.0.x source address."""

    def __init__(self, port, source, header=b"", banner=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect((HOST, port))
        self.timeout = IO_TIMEOUT
        self.buf = b""
        if header:
            self.sock.sendall(header)
        self.banner = self.reply() if banner else None


class IMAPFrom(IMAPConn):
    def __init__(self, port, source):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect((HOST, port))
        self.timeout = IO_TIMEOUT
        self.buf = b""
        self.ntag = 0
        self.greeting = self.read_response()


def first_bytes(port, source, header=b""):
    """What the server says first to a new connection: b"" when it closes it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    try:
        s.connect((HOST, port))
        if header:
            s.sendall(header)
        return s.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        s.close()


def refused(port, source, header=b""):
    return first_bytes(port, source, header) == b""


def wait_until(pred, timeout=8, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def probe_unknown(port, source, n=3, header=b""):
    """n RCPTs to users that do not exist: n violations."""
    c = From(port, source, header)
    c.ehlo()
    c.cmd("MAIL FROM:<x@remote.test>", expect=250)
    for i in range(n):
        c.cmd(f"RCPT TO:<nobody{i}@example.org>", expect=550)
    c.close()


def start(postern, extra=None, audit=False, bools=None):
    cfg = merge_config({"ban": BAN, "log": {"level": "debug"}}, extra or {})
    srv = postern(config=cfg, start=False)
    if audit:
        srv.audit_path = srv.root / "audit.log"
        srv.overrides = merge_config(srv.overrides, {"log": {"audit_file": str(srv.audit_path)}})
    imap_fixtures._own_ports(srv, bools)
    srv.write_config(srv.port)
    srv.start()
    return srv


def bans_of(srv, ip):
    return [e for e in srv.logs("ban.added") if e["ip"] == ip]


# ---- one service's violations, every listener's ban ------------------------------------


def test_unknown_recipients_on_smtp_ban_on_imap_too(postern):
    srv = start(postern)
    assert IMAPFrom(srv.imap_port, "127.0.0.11").greeting   # not banned yet
    probe_unknown(srv.port, "127.0.0.11")
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.11")[0]
    assert e["reason"] == "unknown_recipient" and e["source"] == "auto"
    assert e["offences"] == 1 and e["duration_ms"] == 2000
    # closed at once, before a greeting, on both listeners
    assert refused(srv.imap_port, "127.0.0.11")
    assert refused(srv.port, "127.0.0.11")
    srv.wait_log("net.refused", lambda e: e["ip"] == "127.0.0.11" and e["reason"] == "banned")
    # another client is not touched, nor the allowed 127.0.0.1
    assert first_bytes(srv.imap_port, "127.0.0.12").startswith(b"* OK")
    probe_unknown(srv.port, "127.0.0.1", n=5)
    assert first_bytes(srv.port, "127.0.0.1").startswith(b"220")
    assert bans_of(srv, "127.0.0.1") == []


def test_relay_attempts(postern):
    srv = start(postern)
    c = From(srv.port, "127.0.0.18")
    c.ehlo()
    c.cmd("MAIL FROM:<x@remote.test>", expect=250)
    for i in range(3):
        c.cmd(f"RCPT TO:<victim{i}@elsewhere.test>", expect=554)
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.18")[0]
    assert e["reason"] == "relay_attempt"
    assert refused(srv.imap_port, "127.0.0.18")


def test_protocol_errors_and_login_deadline(postern):
    srv = start(postern, {"limits": {"errors": 2}, "services": {"imap": {"timeouts": {"login": "1s"}}}})
    # too many errors on IMAP, three times
    for _ in range(3):
        c = IMAPFrom(srv.imap_port, "127.0.0.13")
        c.send(b"a1 BOGUS\r\na2 BOGUS\r\n")
        c.read_until_closed(timeout=5)
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.13")[0]
    assert e["reason"] == "protocol_errors"
    assert refused(srv.port, "127.0.0.13")
    # silent until the login deadline, three times
    for _ in range(3):
        c = IMAPFrom(srv.imap_port, "127.0.0.14")
        c.read_until_closed(timeout=5)
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.14")[0]
    assert e["reason"] == "login_deadline"
    assert refused(srv.port, "127.0.0.14")


def test_login_blocks(postern):
    auth = {"imap": {"delay_base": "0", "max_attempts_per_ip": 2}}
    srv = start(postern, {"auth": auth}, bools={"imap": {"login_without_tls": True}})
    for i in range(5):
        c = IMAPFrom(srv.imap_port, "127.0.0.17")
        c.send(b"a1 LOGIN alice@example.org wrong\r\n")
        line = c.read_line()
        assert b"a1 NO" in line, line
        c.close()
    # two failures, then three logins the limiter refused
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.17")[0]
    assert e["reason"] == "login_blocked"
    assert refused(srv.port, "127.0.0.17")


def test_connection_limit_hits(postern):
    srv = start(postern, {"limits": {"connections_per_ip": 1}})
    held = From(srv.port, "127.0.0.15")
    for _ in range(3):
        c = From(srv.port, "127.0.0.15", banner=False)
        assert c.reply().code == 421
        c.close()
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.15")[0]
    assert e["reason"] == "connection_limit"
    # the session that was open stays; a new one is closed without a word
    held.cmd("NOOP", expect=250)
    held.close()
    assert refused(srv.imap_port, "127.0.0.15")


# ---- expiry and doubling -----------------------------------------------------------------


def test_expiry_and_doubling(postern):
    srv = start(postern)
    probe_unknown(srv.port, "127.0.0.16")
    first = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.16")[0]
    assert first["duration_ms"] == 2000 and first["offences"] == 1
    assert refused(srv.port, "127.0.0.16")
    # its end: let in again (clock slack: poll)
    wait_until(lambda: not refused(srv.port, "127.0.0.16"), timeout=5, what="the ban's end")
    ended = time.monotonic()
    probe_unknown(srv.port, "127.0.0.16")
    again = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.16", count=2)[1]
    assert again["duration_ms"] == 4000 and again["offences"] == 2
    # past the first ban's length, the second still holds
    time.sleep(max(0, 2.5 - (time.monotonic() - ended)))
    assert refused(srv.port, "127.0.0.16")
    wait_until(lambda: not refused(srv.port, "127.0.0.16"), timeout=5, what="the second end")


# ---- the allowlist and the PROXY protocol ------------------------------------------------

PROXY = {"proxy_protocol": True, "trusted_proxies": ["127.0.0.31/32"],
         "proxy_protocol_timeout": "1s"}


def v1(ip):
    return f"PROXY TCP4 {ip} 127.0.0.1 40000 25\r\n".encode()


def test_allowlist_wins_also_behind_a_proxy(postern):
    allow = ["127.0.0.1", "127.0.0.21", "192.0.2.70"]
    srv = start(postern, {"ban": {"allow": allow}, "services": {"smtp": PROXY}})
    # behind the proxy: the client the header names is counted and banned
    probe_unknown(srv.port, "127.0.0.31", header=v1("192.0.2.60"))
    srv.wait_log("ban.added", lambda e: e["ip"] == "192.0.2.60")
    assert refused(srv.port, "127.0.0.31", v1("192.0.2.60"))
    # ... and the proxy never is: its other clients are served
    probe_unknown(srv.port, "127.0.0.31", header=v1("192.0.2.61"))
    srv.wait_log("ban.added", lambda e: e["ip"] == "192.0.2.61")
    assert first_bytes(srv.port, "127.0.0.31", v1("192.0.2.62")).startswith(b"220")
    assert bans_of(srv, "127.0.0.31") == []
    # a network banned by the admin: the allowed address in it is served
    p = srv.cli("ban", "add", "192.0.2.0/24", "--reason", "test net")
    assert p.returncode == 0, p.stderr
    wait_until(lambda: refused(srv.port, "127.0.0.31", v1("192.0.2.71")), what="the CLI's ban")
    assert first_bytes(srv.port, "127.0.0.31", v1("192.0.2.70")).startswith(b"220")
    # allowed without a proxy: never counted, and the admin's ban does not hold
    probe_unknown(srv.port, "127.0.0.31", header=v1("192.0.2.70"), n=4)
    for _ in range(4):     # untrusted on the PROXY listener: would count, but allowed
        assert refused(srv.port, "127.0.0.21", v1("192.0.2.90"))
    assert bans_of(srv, "127.0.0.21") == [] and bans_of(srv, "192.0.2.70") == []
    p = srv.cli("ban", "add", "127.0.0.21")
    assert p.returncode == 0 and "ban.allow" in p.stderr, p.stderr
    time.sleep(2.5)
    assert first_bytes(srv.imap_port, "127.0.0.21").startswith(b"* OK")
    # a PROXY listener reached from an untrusted address: a violation of that address
    for _ in range(3):
        assert refused(srv.port, "127.0.0.32", v1("192.0.2.80"))
    e = srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.32")[0]
    assert e["reason"] == "untrusted_proxy"
    assert refused(srv.imap_port, "127.0.0.32")


# ---- persistence and the CLI -------------------------------------------------------------


def test_bans_survive_a_restart(postern):
    srv = start(postern, {"ban": {"duration": "1h", "max_duration": "1d"}})
    probe_unknown(srv.port, "127.0.0.41")
    srv.wait_log("ban.added", lambda e: e["ip"] == "127.0.0.41")
    srv.stop()
    p = srv.cli("ban", "list")
    assert p.returncode == 0, p.stderr
    assert "127.0.0.41" in p.stdout and "unknown_recipient" in p.stdout and "auto" in p.stdout
    srv.start()
    assert refused(srv.port, "127.0.0.41")
    assert refused(srv.imap_port, "127.0.0.41")
    assert first_bytes(srv.port, "127.0.0.42").startswith(b"220")


def test_cli_add_list_del_while_running(postern):
    srv = start(postern, audit=True)
    p = srv.cli("ban", "add", "127.0.0.51", "--duration", "1h", "--reason", "scanner")
    assert p.returncode == 0, p.stderr
    assert "127.0.0.51 banned until" in p.stdout
    wait_until(lambda: refused(srv.port, "127.0.0.51"), what="the CLI's ban")
    srv.wait_log("ban.reloaded")
    p = srv.cli("ban", "list")
    assert p.returncode == 0
    line = next(l for l in p.stdout.splitlines() if l.startswith("127.0.0.51"))
    assert "cli" in line and "scanner" in line and "offences 1" in line
    assert p.stdout.rstrip().endswith("1 banned")
    # SIGHUP: at once
    p = srv.cli("ban", "del", "127.0.0.51")
    assert p.returncode == 0 and "127.0.0.51 unbanned" in p.stdout, p.stderr
    srv.send_signal(__import__("signal").SIGHUP)
    wait_until(lambda: not refused(srv.port, "127.0.0.51"), timeout=3, what="the unban")
    assert "0 banned" in srv.cli("ban", "list").stdout
    # audited: both changes
    audit = srv.logs(path=srv.audit_path)
    added = [e for e in audit if e["event"] == "ban.added" and e["ip"] == "127.0.0.51"]
    removed = [e for e in audit if e["event"] == "ban.removed" and e["ip"] == "127.0.0.51"]
    assert added and added[0]["source"] == "cli" and added[0]["reason"] == "scanner"
    assert removed
    # an automatic ban is audited too
    probe_unknown(srv.port, "127.0.0.52")
    wait_until(lambda: any(e["event"] == "ban.added" and e["ip"] == "127.0.0.52"
                           for e in srv.logs(path=srv.audit_path)), what="the audit line")
    # IPv6 by its /64, networks
    p = srv.cli("ban", "add", "2001:db8:1:2::77")
    assert p.returncode == 0 and "2001:db8:1:2::/64 banned" in p.stdout, p.stdout
    p = srv.cli("ban", "del", "2001:db8:1:2:ffff::1")
    assert p.returncode == 0 and "2001:db8:1:2::/64 unbanned" in p.stdout
    # mistakes
    for args, code, text in [(("add", "not-an-ip"), 2, "no IP address"),
                             (("add", "0.0.0.0/0"), 2, "too wide"),
                             (("add", "192.0.2.1", "--duration", "soon"), 2, "--duration"),
                             (("del", "192.0.2.99"), 1, "not banned"),
                             (("frobnicate",), 2, "expected")]:
        p = srv.cli("ban", *args)
        assert p.returncode == code and text in p.stderr, (args, p.returncode, p.stderr)
    assert srv.cli("ban", "--help").returncode == 0
