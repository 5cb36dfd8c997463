"""What an attacker sends: overlong lines, oversize messages, SMTP smuggling,
NUL and 8-bit bytes, error floods, connection floods, slow clients."""
import asyncio
import socket
import time

import pytest

from conftest import HOST, SMTPClient, make_message, split_delivered


def start_data(c, rcpts=("alice@example.org",)):
    c.ehlo()
    c.cmd("MAIL FROM:<s@remote.test>", expect=250)
    for r in rcpts:
        c.cmd(f"RCPT TO:<{r}>", expect=250)
    c.cmd("DATA", expect=354)


# ---- line lengths -------------------------------------------------------------------------


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


def test_text_line_limit_in_data(server):
    ok_line = b"x" * 998 + b"\r\n"          # 1000 octets with CRLF: allowed
    long_line = b"y" * 999 + b"\r\n"        # 1001 octets: refused
    with server.connect() as c:
        start_data(c)
        c.send(b"Subject: ok\r\n\r\n" + ok_line + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(b"Subject: too long\r\n\r\n" + long_line + b"after\r\n.\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (500, "5.5.2"), r
        # the message is gone, the session is not
        assert c.cmd("NOOP").code == 250
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
    msgs = server.messages("alice")
    assert len(msgs) == 1
    assert b"x" * 998 + b"\n" in msgs[0]
    assert server.maildir("alice", sub="tmp") == []


def test_very_long_data_line_is_not_buffered(server):
    # 2 MiB without a line end must not be a problem (no unbounded line buffer)
    with server.connect() as c:
        start_data(c)
        chunk = b"z" * 65536
        for _ in range(32):
            c.send(chunk)
        c.send(b"\r\n.\r\n")
        r = c.reply(timeout=30)
        assert (r.code, r.enh) == (500, "5.5.2"), r
    assert server.maildir("alice") == []


# ---- message size -------------------------------------------------------------------------


@pytest.fixture
def small(postern):
    return postern(config={"limits": {"message_size": "64K"}})


def test_size_param_over_limit(small):
    with small.connect() as c:
        r = c.ehlo()
        assert "SIZE 65536" in r.lines
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=65537")
        assert (r.code, r.enh) == (552, "5.3.4"), r
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=99999999999999999999999")
        assert r.code in (501, 552), r
        c.cmd("MAIL FROM:<s@remote.test> SIZE=65536", expect=250)


def test_oversize_data(small):
    big = b"Subject: big\r\n\r\n" + (b"0123456789" * 7 + b"\r\n") * 1200   # ~86 KB
    with small.connect() as c:
        start_data(c, ("alice@example.org", "bob@example.org"))
        c.send(big + b".\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (552, "5.3.4"), r
        # the session is usable and a message under the limit still goes through
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(make_message(subject="small") + b".\r\n")
        assert c.reply().code == 250
    [data] = small.messages("alice")
    assert b"Subject: small" in data
    assert small.maildir("bob") == []
    assert small.maildir("alice", sub="tmp") == []
    t = [e for e in small.transactions() if e["result"] != "accepted"]
    assert len(t) == 1 and "too big" in t[0]["result"], t


def test_oversize_bdat(small):
    chunk = b"a" * 40000
    with small.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert r.code == 250, r
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (552, "5.3.4"), r
        assert c.cmd("NOOP").code == 250
    assert small.all_delivered() == []


def test_huge_bdat_size_is_refused_not_allocated(small):
    with small.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        # announcing 1 EB must not allocate anything; we send a little and leave
        c.send(b"BDAT 999999999999999999\r\n" + b"x" * 1000)
        time.sleep(0.2)
    assert small.running()
    with small.connect() as c:
        assert c.cmd("NOOP").code == 250


# ---- SMTP smuggling -------------------------------------------------------------------------


SMUGGLE_ENDS = {
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr": b"\r\n.\r",
}


@pytest.mark.parametrize("end", SMUGGLE_ENDS.values(), ids=SMUGGLE_ENDS.keys())
def test_smuggling_bare_line_ends(server, end):
    smuggled = (b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nsmuggled body\r\n")
    with server.connect() as c:
        start_data(c)
        c.send(b"Subject: carrier\r\n\r\nhello" + end + smuggled + b".\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (550, "5.5.2"), f"expected one 550 for the whole thing, got {r}"
        # no reply to a smuggled command may follow: the next reply is our NOOP's
        r = c.cmd("NOOP")
        assert (r.code, r.enh) == (250, "2.0.0"), r
        assert c.buf == b""
    assert server.all_delivered() == [], "a message with bare CR/LF was delivered"
    assert [t["result"] for t in server.transactions()] == ["rejected: bare CR/LF"]


@pytest.mark.parametrize("body", [b"Subject: x\r\n\r\nbare\nlf\r\n", b"Subject: x\r\n\r\nbare\rcr\r\n",
                                  b"Subject: x\r\n\r\nends with cr\r\r\n"])
def test_bare_cr_or_lf_refused(server, body):
    with server.connect() as c:
        start_data(c)
        c.send(body + b".\r\n")
        r = c.reply()
        assert (r.code, r.enh) == (550, "5.5.2"), r
    assert server.all_delivered() == []


def test_dot_split_across_packets_still_ends_data(server):
    with server.connect() as c:
        start_data(c)
        for piece in (b"Subject: split\r\n\r\nbody\r", b"\n", b".", b"\r", b"\n"):
            c.send(piece)
            time.sleep(0.05)
        r = c.reply()
        assert r.code == 250, r
    [data] = server.messages("alice")
    assert split_delivered(data)[1] == b"Subject: split\n\nbody\n"


# ---- STARTTLS command injection ------------------------------------------------------------


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


# ---- NUL, control and 8-bit octets in commands -----------------------------------------------


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


def test_invalid_utf8_in_smtputf8_address(server):
    with server.connect() as c:
        c.ehlo()
        for addr in (b"\xff@remote.test", b"a\xc0\xafb@remote.test", b"\xed\xa0\x80@remote.test",
                     b"x@\xf4\x90\x80\x80.test"):
            r = c.cmd(b"MAIL FROM:<" + addr + b"> SMTPUTF8")
            assert 500 <= r.code <= 553 and r.code != 503, (addr, r)
        c.cmd("MAIL FROM:<s@remote.test> SMTPUTF8", expect=250)
    # the log stays valid JSON (json.loads inside logs() would drop bad lines)
    raw = [ln for ln in server.stderr_path.read_bytes().splitlines() if ln.startswith(b"{")]
    assert len(raw) == len(server.logs())


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


# ---- error limit ------------------------------------------------------------------------------


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


def test_too_many_recipients(postern):
    srv = postern(config={"limits": {"recipients": 3}})
    with srv.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        for rcpt in ("alice@example.org", "bob@example.org", "both@example.org"):
            c.cmd(f"RCPT TO:<{rcpt}>", expect=250)
        r = c.cmd("RCPT TO:<alice+more@example.org>")
        assert (r.code, r.enh) == (452, "4.5.3"), r
        r = c.cmd("RCPT TO:<bob+more@example.org>")
        assert (r.code, r.enh) == (452, "4.5.3"), r
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    assert len(srv.maildir("alice")) == 1
    assert len(srv.maildir("bob")) == 1
    [t] = srv.transactions()
    assert t["rcpts"] == ["alice@example.org", "bob@example.org", "both@example.org"]


# ---- connection limits ------------------------------------------------------------------------


def test_connections_per_ip(postern):
    srv = postern(config={"limits": {"connections_per_ip": 3}})
    clients = [srv.connect() for _ in range(3)]
    try:
        for c in clients:
            assert c.banner.code == 220
        extra = SMTPClient(srv.port, banner=False)
        data = extra.read_until_closed(timeout=5)
        assert data.startswith(b"421 4.7.0 Too many connections"), data
        extra.close()
        # the open sessions are unaffected
        assert clients[0].cmd("NOOP").code == 250
        # one leaves: there is room for one more
        clients[0].cmd("QUIT", expect=221)
        assert clients[0].is_closed()
        deadline = time.monotonic() + 5
        while True:
            c = SMTPClient(srv.port, banner=False)
            r = c.reply()
            if r.code == 220 or time.monotonic() > deadline:
                break
            c.close()
            time.sleep(0.1)
        assert r.code == 220, r
        clients.append(c)
    finally:
        for c in clients:
            c.close()
    srv.wait_log("net.refused", lambda e: e.get("reason") == "connection limit")


def test_total_connection_limit(postern):
    srv = postern(config={"limits": {"connections": 2}})
    a, b = srv.connect(), srv.connect()
    try:
        extra = SMTPClient(srv.port, banner=False)
        data = extra.read_until_closed(timeout=5)
        assert data.startswith(b"421 4.7.0 Too many connections"), data
        extra.close()
        assert a.cmd("NOOP").code == 250 and b.cmd("NOOP").code == 250
    finally:
        a.close()
        b.close()


def test_500_sessions_burst(postern):
    n = 500
    srv = postern(config={"limits": {"connections_per_ip": 1000, "connections": 2000}})

    async def one(i):
        r, w = await asyncio.open_connection(HOST, srv.port)

        async def reply():
            lines = []
            while True:
                ln = await r.readline()
                if not ln:
                    raise ConnectionError(f"session {i}: closed after {lines}")
                lines.append(ln)
                if ln[3:4] == b" ":
                    return int(ln[:3]), lines

        try:
            assert (await reply())[0] == 220
            w.write(b"EHLO burst%d.example.net\r\n" % i)
            assert (await reply())[0] == 250
            rcpt = b"alice@example.org" if i % 2 == 0 else b"bob@example.org"
            w.write(b"MAIL FROM:<b%d@remote.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (i, rcpt))
            codes = [(await reply())[0] for _ in range(3)]
            assert codes == [250, 250, 354], (i, codes)
            w.write(b"Subject: burst\r\nX-Seq: %d\r\n\r\nmessage %d\r\n.\r\nQUIT\r\n" % (i, i))
            code, lines = await reply()
            assert code == 250, (i, lines)
            assert (await reply())[0] == 221
            return i
        finally:
            w.close()

    async def main():
        tasks = [asyncio.wait_for(one(i), 120) for i in range(n)]
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} sessions failed, first: {errors[0]!r}"
    files = srv.maildir("alice") + srv.maildir("bob")
    assert len(files) == n
    seqs = sorted(int(f.read_bytes().split(b"X-Seq: ")[1].split(b"\n")[0]) for f in files)
    assert seqs == list(range(n))
    assert len(srv.maildir("alice")) == n // 2
    assert srv.maildir("alice", sub="tmp") == [] and srv.maildir("bob", sub="tmp") == []
    assert sum(1 for t in srv.transactions() if t["result"] == "accepted") == n


# ---- timeouts ----------------------------------------------------------------------------------


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


def test_data_timeout_delivers_nothing(postern):
    srv = postern(config={"timeouts": {"data": "2s", "command": "30s"}})
    with srv.connect() as c:
        start_data(c)
        c.send(b"Subject: slow\r\n\r\nhalf a message")
        r = c.reply(timeout=8)
        assert (r.code, r.enh) == (421, "4.4.2"), r
        assert c.is_closed(timeout=3)
    assert srv.all_delivered() == []
    [t] = srv.transactions()
    assert t["result"] == "timeout"


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


def test_path_traversal_recipients(server):
    before = sorted(p.relative_to(server.data_dir) for p in server.data_dir.rglob("*"))
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        for rcpt in ("../alice@example.org", "..@example.org", "alice/../bob@example.org",
                     '"../../etc"@example.org', '"a/b"@example.org', "alice+a/b@example.org",
                     "alice@../example.org", "alice@example.org/..", '"alice\\\\x"@example.org'):
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            if rcpt.startswith("alice+"):
                assert r.code == 250, (rcpt, r)   # a subaddress of alice
            else:
                assert 500 <= r.code <= 554 and r.code != 503, (rcpt, r)
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    after = sorted(p.relative_to(server.data_dir) for p in server.data_dir.rglob("*")
                   if "Maildir/new/" not in str(p) and "Maildir/tmp/" not in str(p))
    new_paths = [p for p in after if p not in before and not str(p).startswith(("spool", "queue", "tls"))]
    assert new_paths == [], new_paths
    assert len(server.maildir("alice")) == 1


def test_quoted_local_part_is_the_same_mailbox(server):
    with server.connect() as c:
        r = c.send_message("s@remote.test", ['"alice"@example.org', '"bob"@example.org'], make_message())
        assert r.code == 250, r
    assert len(server.maildir("alice")) == 1 and len(server.maildir("bob")) == 1


def test_message_size_boundary(small):
    limit = 65536
    head = b"Subject: boundary\r\n\r\n"

    def body_of(total):
        lines, size = [head], len(head)
        while size + 80 <= total:
            lines.append(b"b" * 78 + b"\r\n")
            size += 80
        pad = total - size
        assert pad >= 2 or pad == 0
        if pad:
            lines.append(b"c" * (pad - 2) + b"\r\n")
        data = b"".join(lines)
        assert len(data) == total
        return data

    with small.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], body_of(limit))
        assert r.code == 250, r
        r = c.send_message("s@remote.test", ["bob@example.org"], body_of(limit + 2), ehlo=False)
        assert (r.code, r.enh) == (552, "5.3.4"), r
    assert len(small.maildir("alice")) == 1
    assert small.maildir("bob") == []


# ---- NUL octets in message data ------------------------------------------------------------
# RFC 2045 2.7, 2.8: only BINARYMIME data (not offered) may hold NUL. A next hop that
# ends a line or the data at a NUL would see "\r\n\0.\r\n" as the end of the message and
# run what follows as commands (smuggling), so the whole message is refused.

SMUGGLED = (b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled body\r\n")

NUL_BODIES = {
    "after-line-break": b"Subject: carrier\r\n\r\nhello\r\n\x00.\r\n" + SMUGGLED,
    "mid-line": b"Subject: nul\r\n\r\nbefore\x00after NUL\r\nnext line\r\n",
    "in-header": b"Subject: n\x00l\r\n\r\nbody\r\n",
    "last-octet": b"Subject: nul\r\n\r\nbody\x00\r\n",
}


def assert_nul_refused(server, r):
    assert (r.code, r.enh) == (550, "5.6.0"), r
    assert "NUL" in r.text, r
    assert [t["result"] for t in server.wait_log("smtp.transaction")] == ["rejected: NUL octet"]


@pytest.mark.parametrize("body", NUL_BODIES.values(), ids=NUL_BODIES.keys())
def test_nul_in_data_refused(server, body):
    with server.connect() as c:
        start_data(c)
        c.send(body + b".\r\n")
        r = c.reply()
        # one reply for the whole thing: no smuggled command ran
        assert_nul_refused(server, r)
        r = c.cmd("NOOP")
        assert (r.code, r.enh) == (250, "2.0.0"), r
        assert c.buf == b""
        assert server.all_delivered() == [], "a message with a NUL was stored"
        # the session goes on: a clean message is accepted
        r = c.send_message("s@remote.test", ["alice@example.org"], make_message(subject="clean"),
                           ehlo=False)
        assert r.code == 250, r
    [data] = server.messages("alice")
    assert b"Subject: clean" in data and b"\x00" not in data
    assert server.maildir("bob") == []
    assert server.maildir("alice", sub="tmp") == []
    assert [t["result"] for t in server.transactions()] == ["rejected: NUL octet", "accepted"]


@pytest.mark.parametrize("chunks", [
    [b"Subject: nul\r\n\r\nbefore\x00after\r\n"],                          # one LAST chunk
    [b"Subject: nul\r\n\r\nhello\r\n\x00.\r\n", SMUGGLED],                   # NUL in the first
    [b"Subject: nul\r\n\r\nhello\r\n", b"\x00", b"tail\r\n"],               # NUL alone
], ids=["last-chunk", "first-chunk", "middle-chunk"])
def test_nul_in_bdat_refused(server, chunks):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        for chunk in chunks[:-1]:
            c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
            assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % len(chunks[-1]) + chunks[-1])
        r = c.reply()
        assert_nul_refused(server, r)
        # the transaction is over, nothing of it was stored
        r = c.cmd("RCPT TO:<alice@example.org>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        assert server.all_delivered() == []
        # and the session still works, with BDAT too
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        msg = make_message(subject="clean bdat")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250, r
    [data] = server.messages("alice")
    assert b"Subject: clean bdat" in data and b"\x00" not in data
    assert server.maildir("alice", sub="tmp") == []
    assert [t["result"] for t in server.transactions()] == ["rejected: NUL octet", "accepted"]


def test_nul_in_refused_bdat_chunk_does_not_taint_next_message(server):
    # a chunk read only to be discarded (no MAIL yet) is not part of any message
    chunk = b"Subject: nul\r\n\r\n\x00\r\n"
    with server.connect() as c:
        c.ehlo()
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        msg = make_message(subject="clean after refused chunk")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250, r
    assert len(server.maildir("alice")) == 1


def test_empty_message(server):
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], b"")
        assert r.code == 250, r
    [data] = server.messages("alice")
    trace, body = split_delivered(data)
    assert body == b""


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
