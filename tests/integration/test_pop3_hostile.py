"""POP3 against hostile input: overlong lines (RFC 2449 4: 255 octets),
control characters and NUL, unknown and misplaced commands, the error limit,
bad message numbers (signs, zero, huge, extra arguments), DELE twice, AUTH
garbage and an overlong AUTH line, STLS injection, 10,000 pipelined commands
(read late, with reading paused while the output is full), a client that
vanishes in the middle of a RETR, and commands before login. After each the
server still answers (and the teardown checks for sanitizer reports)."""
import socket
import time

import pytest

from conftest import PASSWORD
from imap_fixtures import NO_LIMITS, rss_kib, simple_message, write_maildir
from pop3_fixtures import ALICE, POP3Conn, pop3_conn, pop3_server
from submission_util import b64


@pytest.fixture
def s(postern):
    srv = pop3_server(postern)
    write_maildir(srv.maildir_path("alice"),
                  [simple_message(f"m{i}", body=f"body {i}\n").replace(b"\r\n", b"\n")
                   for i in range(3)])
    return srv


def alive(srv):
    c = pop3_conn(srv)
    assert c.ok("STAT").text.startswith("3 ")
    c.ok("QUIT")


def test_long_lines(s):
    c = pop3_conn(s, user=None)
    st = c.cmd("NOOP " + "x" * 300)                  # over 255 octets with its CRLF
    assert not st.ok and "too long" in st.text.lower(), st
    c.send(b"A" * 200_000)                           # no line end at all, for a while
    time.sleep(0.3)
    c.send(b"\r\n")
    st = c.status()
    assert not st.ok and "too long" in st.text.lower(), st
    # exactly 255 octets with CRLF is fine (an unknown user, a failed login)
    c.ok("USER " + "u" * (255 - 7))
    st = c.cmd(f"USER {'u' * 249}")
    assert not st.ok
    c.login()
    assert c.ok("STAT").text.startswith("3 ")
    c.ok("QUIT")


def test_control_characters_and_nul(s):
    c = pop3_conn(s)
    for line in (b"ST\x00AT", b"STAT\x01", b"\x7fNOOP", b"RETR\t1", b"\xff\xfe", b"  "):
        c.send(line + b"\r\n")
        st = c.status()
        assert not st.ok, (line, st)
    c.send(b"STAT\n")                                # a bare LF ends a line too
    assert c.status().text.startswith("3 ")
    c.ok("QUIT")


def test_unknown_and_misplaced_commands(s):
    c = pop3_conn(s, user=None)
    for line in ("APOP alice 0123456789abcdef0123456789abcdef", "XYZZY", "RETRX 1", "LAST"):
        st = c.cmd(line)
        assert not st.ok and "Unknown" in st.text, (line, st)
    for line in ("STAT", "LIST", "RETR 1", "DELE 1", "RSET", "NOOP", "TOP 1 1", "UIDL"):
        st = c.cmd(line)
        assert not st.ok and "before login" in st.text, (line, st)
    c.login()
    for line in ("USER x", "PASS y", "AUTH PLAIN", "STLS", "UTF8"):
        st = c.cmd(line)
        assert not st.ok and "after login" in st.text, (line, st)
    assert c.ok("STAT").text.startswith("3 ")
    c.ok("QUIT")


def test_error_limit_closes(postern):
    srv = pop3_server(postern, config={"limits": {"errors": 5}})
    c = pop3_conn(srv, user=None)
    for _ in range(4):
        assert not c.cmd("BOGUS").ok
    st = c.cmd("BOGUS")
    assert not st.ok and "Too many errors" in st.text
    assert c.is_closed()
    assert srv.wait_log("pop3.too_many_errors")


@pytest.mark.parametrize("line", ["RETR +1", "RETR -1", "RETR 1x", "RETR 0x1", "RETR 1.0",
                                  "RETR", "RETR 1 2", "TOP 1", "TOP 1 -1", "TOP 1 +2",
                                  "TOP 1 2 3", "DELE", "LIST 1 2", "UIDL a", "STAT 1",
                                  "RSET now", "NOOP 1", "LIST -0"])
def test_bad_arguments(s, line):
    c = pop3_conn(s)
    st = c.cmd(line)
    assert not st.ok, (line, st)
    assert c.ok("STAT").text.startswith("3 ")
    c.ok("QUIT")


@pytest.mark.parametrize("line", ["RETR 0", "RETR 4", "LIST 0", "UIDL 4", "DELE 99",
                                  "RETR 4294967297", "TOP 18446744073709551615 1",
                                  "RETR 99999999999999999999999999999999999999", "LIST 00000000004"])
def test_numbers_out_of_range(s, line):
    c = pop3_conn(s)
    st = c.cmd(line)
    assert not st.ok and "No such message" in st.text, (line, st)
    assert c.ok("LIST 003").text.startswith("3 ")   # leading zeros are still a number
    c.ok("QUIT")


def test_dele_twice_and_after_rset(s):
    c = pop3_conn(s)
    c.ok("DELE 1")
    st = c.cmd("DELE 1")
    assert not st.ok and "already deleted" in st.text
    c.ok("RSET")
    c.ok("DELE 1")
    c.ok("RSET")
    assert c.cmd("QUIT").ok
    alive(s)
    assert len(s.maildir("alice", sub="cur")) == 3


def test_auth_garbage(s):
    c = pop3_conn(s, user=None)
    for line in ("AUTH PLAIN !!!notbase64", "AUTH PLAIN " + b64("no nuls at all"),
                 "AUTH PLAIN " + b64("\0\0"), "AUTH SCRAM-SHA-256 " + b64("garbage"),
                 "AUTH PLAIN =", "AUTH LOGIN " + b64("x" * 300), "AUTH " + "Z" * 40,
                 "AUTH PLAIN a b"):
        st = c.cmd(line)
        assert not st.ok, (line, st)
    # a continuation answered with garbage, then with NULs
    c.send(b"AUTH SCRAM-SHA-256\r\n")
    assert c.read_line() == b"+ \r\n"
    assert not c.cmd("%%%").ok
    c.send(b"AUTH PLAIN\r\n")
    assert c.read_line() == b"+ \r\n"
    assert not c.cmd(b64(b"\0" * 50)).ok
    c.login()
    c.ok("QUIT")


def test_auth_line_too_long_closes(s):
    c = pop3_conn(s, user=None)
    c.send(b"AUTH PLAIN\r\n")
    assert c.read_line() == b"+ \r\n"
    c.send(b"A" * 20000)
    st = c.status()
    assert not st.ok and "too long" in st.text
    assert c.is_closed()
    alive(s)


def test_stls_injection_is_discarded(s):
    c = POP3Conn(s.pop3_port)
    # USER and PASS pipelined behind STLS in clear text must not be run after the handshake
    c.send(f"STLS\r\nUSER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
    assert c.status().ok
    c.wrap_tls()
    st = c.cmd("STAT")
    assert not st.ok and "before login" in st.text, st
    assert s.wait_log("pop3.starttls_injection")
    c.login()
    c.ok("QUIT")


def test_10000_pipelined_commands(s):
    c = pop3_conn(s)
    n = 10000
    payload = b"".join(b"NOOP\r\n" if i % 3 else b"STAT\r\n" for i in range(n)) + b"LIST\r\n"
    rss0 = rss_kib(s.pid)
    # sent without reading a single reply: the server stops reading while its output is full
    c.sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + 20
    while sent < len(payload) and time.monotonic() < deadline:
        try:
            sent += c.sock.send(payload[sent:sent + 65536])
        except (BlockingIOError, OSError):
            time.sleep(0.05)
    time.sleep(0.5)
    grown = rss_kib(s.pid) - rss0
    c.sock.setblocking(True)
    c.sock.settimeout(30)
    if sent < len(payload):
        c.sock.sendall(payload[sent:])
    for i in range(n):
        st = c.status(timeout=30)
        assert st.ok, (i, st)
    st = c.status(timeout=30)                        # the LIST at the end
    raw, lines = c.body(timeout=30)
    assert st.ok and len(lines) == 3
    assert grown < 16 * 1024, f"RSS grew {grown} KiB for replies the client did not read"
    c.ok("QUIT")


def test_client_vanishes_during_a_big_retr(postern):
    srv = pop3_server(postern)
    big = simple_message("big", body=("y" * 999 + "\n") * 5000).replace(b"\r\n", b"\n")   # 5 MB
    write_maildir(srv.maildir_path("alice"), [big])
    c = pop3_conn(srv)
    c.send(b"RETR 1\r\n")
    c.read_line()
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()                                        # a reset in the middle of the message
    srv.wait_log("pop3.disconnect", lambda e: e.get("user") == ALICE)
    c = pop3_conn(srv)                               # the lock went with it
    assert c.ok("STAT").text.startswith("1 ")
    c.ok("QUIT")


def test_many_failed_logins_do_not_hold_anything(postern):
    srv = pop3_server(postern, auth=dict(NO_LIMITS))
    for _ in range(20):
        c = pop3_conn(srv, user=None)
        c.ok("USER " + ALICE)
        assert c.cmd("PASS nope").code == "AUTH"
        c.close()
    c = pop3_conn(srv)
    c.ok("QUIT")
