"""The SMTP session on the MX service (RFC 5321 4.1, 4.3, 4.5.3): commands out of
order (4.3.2: 503), EHLO resetting a transaction (4.1.4), RSET, HELP, NOOP,
QUIT, VRFY / EXPN revealing nothing (4.1.1.6-7, 7.3); PIPELINING (RFC 2920)
with replies in order, and a client that pipelines without reading the
replies; the command line limit (4.5.3.1.4: 512 octets) and longer lines;
NUL, control and 8-bit octets and binary garbage in commands; the error limit
(limits.errors); STARTTLS (RFC 3207 4.2: commands injected before the
handshake discarded, earlier state forgotten); the command and session
timeouts (4.5.3.2). The session engine's rules shared with the other services
are in test_session_limits.py."""
import re
import socket
import time

import pytest

from conftest import HOST, QUEUED, make_message, start_data


# ---- commands ------------------------------------------------------------------------------------


def test_command_sequence_errors(server):
    with server.connect() as c:
        r = c.cmd("MAIL FROM:<s@remote.test>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.ehlo()
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
        assert c.cmd("DATA").code == 503
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 503
        c.cmd("RSET", expect=250)
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
        assert c.cmd("HELP").code == 214
        assert c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==").code == 502
        c.cmd("QUIT", expect=221)
        assert c.is_closed()


def test_ehlo_resets_transaction(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.ehlo()
        r = c.cmd("DATA")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
    assert server.all_delivered() == []


def test_vrfy_expn_reveal_nothing(server):
    with server.connect() as c:
        c.ehlo()
        for cmd in ("VRFY alice", "VRFY nobody@example.org", "EXPN both@example.org", "EXPN x"):
            r = c.cmd(cmd)
            assert r.code == 252, (cmd, r)
        # both give the same answer for existing and unknown addresses
        assert c.cmd("VRFY alice@example.org").text == c.cmd("VRFY nobody@example.org").text


# ---- pipelining ----------------------------------------------------------------------------------


def test_pipelining_replies_in_order(server):
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<p@remote.test>\r\n"
               b"RCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\n"
               b"RCPT TO:<bob@example.org>\r\n"
               b"DATA\r\n")
        r = c.replies(5)
        assert [(x.code, x.enh) for x in r] == [(250, "2.1.0"), (250, "2.1.5"), (550, "5.1.1"),
                                               (250, "2.1.5"), (354, None)], r
        c.send(make_message(subject="pipelined") + b".\r\nNOOP\r\nQUIT\r\n")
        r = c.replies(3)
        assert r[0].code == 250 and QUEUED.match(r[0].text), r
        assert (r[1].code, r[1].enh) == (250, "2.0.0")
        assert (r[2].code, r[2].enh) == (221, "2.0.0")
        assert c.is_closed()
    assert len(server.maildir("alice")) == 1
    assert len(server.maildir("bob")) == 1


def test_pipelined_two_transactions_in_one_write(server):
    m1 = make_message(subject="first")
    m2 = make_message(subject="second")
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n" + m1 +
               b".\r\nMAIL FROM:<b@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n" + m2 +
               b".\r\n")
        r = c.replies(8)
        assert [x.code for x in r] == [250, 250, 354, 250, 250, 250, 354, 250], r
    msgs = server.messages("alice")
    assert len(msgs) == 2
    subjects = sorted(re.search(rb"Subject: (\w+)", m).group(1) for m in msgs)
    assert subjects == [b"first", b"second"]


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_client_that_does_not_read_is_throttled(postern):
    """A client that pipelines commands but never reads the replies must not make
    the server buffer replies without bound: it stops reading input (so our send
    blocks) and drops the peer after timeouts.data."""
    srv = postern(config={"timeouts": {"data": "2s"}})
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    s.settimeout(5)
    s.connect((HOST, srv.port))
    rss0 = vm_rss_kb(srv.pid)
    chunk = b"NOOP\r\n" * 10000
    sent, blocked = 0, False
    t0 = time.monotonic()
    try:
        s.settimeout(1.5)
        while time.monotonic() - t0 < 8:
            try:
                sent += s.send(chunk)
            except (socket.timeout, TimeoutError):
                blocked = True
                break
            except OSError:
                blocked = True     # dropped by the server: fine too
                break
        grown_mb = (vm_rss_kb(srv.pid) - rss0) / 1024
        assert blocked, (f"server kept reading commands from a peer that reads no replies: "
                         f"{sent / 1e6:.1f} MB of NOOPs taken in 8s, RSS grew {grown_mb:.0f} MB")
        assert sent < 64 * 1024 * 1024
    finally:
        s.close()
    assert srv.running()


# ---- line lengths --------------------------------------------------------------------------------


def test_command_line_limit_is_512_octets(server):
    with server.connect() as c:
        c.ehlo()
        # 512 octets including CRLF is allowed (RFC 5321 4.5.3.1.4)
        line = b"NOOP " + b"a" * (512 - 7)
        assert len(line + b"\r\n") == 512
        assert c.cmd(line).code == 250
        r = c.cmd(line + b"a")
        assert (r.code, r.enh) == (500, "5.5.2"), r
        # the session goes on
        assert c.cmd("NOOP").code == 250


def test_overlong_command_line_in_pieces(server):
    with server.connect() as c:
        c.ehlo()
        # 10 KiB without a line end, sent in pieces, then more: one 500, no
        # command executed from the middle of the line
        for _ in range(10):
            c.send(b"X" * 1000)
            time.sleep(0.01)
        c.send(b"RSET\r\nQUIT\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (500, "5.5.2"), r
        # the tail after the long line's LF is a new command: QUIT
        r = c.reply()
        assert r.code == 221, r


def test_overlong_mail_from_is_one_error(server):
    with server.connect() as c:
        c.ehlo()
        r = c.cmd(b"MAIL FROM:<" + b"a" * 5000 + b"@remote.test>")
        assert (r.code, r.enh) == (500, "5.5.2"), r
        r = c.cmd("MAIL FROM:<" + "a" * 65 + "@remote.test>")
        assert r.code == 501, r  # local part over 64 octets
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)


# ---- NUL, control and 8-bit octets in commands ---------------------------------------------------


@pytest.mark.parametrize("line,code", [
    (b"NOOP\x00", 500),
    (b"\x00", 500),
    (b"MAIL FROM:<a\x00b@remote.test>", 500),
    (b"RCPT TO:<alice@example.org>\x00RCPT TO:<bob@example.org>", 500),
    (b"NO\x01OP", 500),
    (b"NOOP \x1b[31m", 500),
    (b"\x7f", 500),
    (b"N\xc3\xb6OP", 500),
    (b"\xff\xfe\xfd", 500),
    (b"EHLO h\xc3\xa9llo.example", 501),
    (b"EHLO \xff", 501),
])
def test_bad_octets_in_commands(server, line, code):
    with server.connect() as c:
        c.cmd("EHLO client.example.net", expect=250)
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd(line)
        assert r.code == code, (line, r)
        # the session survives, and no hidden command after the NUL ran
        r = c.cmd("RCPT TO:<alice@example.org>")
        assert r.code == 250, (line, r)
        assert c.cmd("NOOP").code == 250
    assert server.running()


def test_binary_garbage_then_normal_mail(server):
    import random
    rnd = random.Random(1234)
    with server.connect() as c:
        garbage = bytes(rnd.randrange(256) for _ in range(300)).replace(b"\n", b"")
        c.send(garbage + b"\r\n")
        r = c.reply()
        assert r.code in (500, 501), r
        assert c.send_message("s@remote.test", ["alice@example.org"], make_message()).code == 250
    assert len(server.maildir("alice")) == 1


# ---- error limit ---------------------------------------------------------------------------------


def test_too_many_errors(server):
    with server.connect() as c:
        c.ehlo()
        c.send(b"BOGUS\r\n" * 12)
        r = c.replies(10)
        assert all((x.code, x.enh) == (500, "5.5.2") for x in r), r
        r = c.reply()
        assert (r.code, r.enh) == (421, "4.7.0"), r
        assert c.is_closed(), "connection still open after 421"
    server.wait_log("smtp.too_many_errors")


def test_error_limit_from_config(postern):
    srv = postern(config={"limits": {"errors": 3}})
    with srv.connect() as c:
        c.ehlo()
        assert c.cmd("RCPT TO:<a@example.org>").code == 503
        assert c.cmd("FOO").code == 500
        c.send(b"BAR\r\nNOOP\r\n")
        assert c.reply().code == 500
        r = c.reply()
        assert (r.code, r.enh) == (421, "4.7.0"), r
        assert c.is_closed()


# ---- STARTTLS command injection ------------------------------------------------------------------


def test_starttls_injection_discarded(server):
    with server.connect() as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<inject@remote.test>\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (220, "2.0.0"), r
        assert c.buf == b"", f"plaintext replies after 220: {c.buf!r}"
        c.wrap_tls()
        c.send(b"EHLO client.example.net\r\n")
        r = c.reply()
        assert r.code == 250 and r.lines[0].endswith("greets client.example.net"), \
            f"first reply inside TLS is not our EHLO's: {r} (an injected command ran)"
        # the injected MAIL did not open a transaction
        r = c.cmd("RCPT TO:<alice@example.org>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        assert c.cmd("NOOP").code == 250
    [ev] = server.wait_log("smtp.starttls_injection")
    assert ev["discarded"] == len(b"RSET\r\nMAIL FROM:<inject@remote.test>\r\n")


def test_starttls_forgets_previous_state(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<before@remote.test>", expect=250)
        c.starttls()
        # RFC 3207 4.2: EHLO again first; nothing from before is kept
        r = c.cmd("MAIL FROM:<after@remote.test>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.ehlo()
        r = c.cmd("RCPT TO:<alice@example.org>")
        assert r.code == 503, r


# ---- timeouts ------------------------------------------------------------------------------------


def test_command_timeout(postern):
    srv = postern(config={"timeouts": {"command": "2s"}})
    with srv.connect() as c:
        c.ehlo()
        t0 = time.monotonic()
        r = c.reply(timeout=8)
        elapsed = time.monotonic() - t0
        assert (r.code, r.enh) == (421, "4.4.2"), r
        assert 1.5 <= elapsed <= 6, elapsed
        assert c.is_closed(timeout=3)


def test_command_timeout_resets_on_activity(postern):
    srv = postern(config={"timeouts": {"command": "2s"}})
    with srv.connect() as c:
        for _ in range(3):
            time.sleep(1.2)
            assert c.cmd("NOOP").code == 250
        r = c.reply(timeout=8)
        assert (r.code, r.enh) == (421, "4.4.2"), r


def test_command_timeout_not_reset_by_trickle(postern):
    # timeouts.command bounds one whole command line: a byte now and then must not extend it
    srv = postern(config={"timeouts": {"command": "2s"}})
    with srv.connect() as c:
        c.ehlo()
        t0 = time.monotonic()
        got = None
        for b in b"NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP":
            try:
                c.send(bytes([b]))
            except OSError:
                break
            try:
                got = c.reply(timeout=0.4)
                break
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - closed without a reply
                break
        elapsed = time.monotonic() - t0
        assert got is not None and (got.code, got.enh) == (421, "4.4.2"), got
        assert elapsed < 5, elapsed


def test_session_timeout_caps_a_trickle(postern):
    srv = postern(config={"timeouts": {"session": "3s", "command": "30s", "data": "30s"}})
    with srv.connect() as c:
        start_data(c)
        t0 = time.monotonic()
        got = None
        while time.monotonic() - t0 < 10:
            try:
                c.send(b"x")
            except OSError:
                break
            try:
                got = c.reply(timeout=0.5)
                break
            except (TimeoutError, socket.timeout):
                continue
            except Exception:
                break
        assert got is not None and (got.code, got.enh) == (421, "4.4.2"), got
        assert time.monotonic() - t0 < 8
    assert srv.all_delivered() == []
