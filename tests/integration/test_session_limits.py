"""The session engine's rules, the same on every service (src/net/session.c,
src/net/connlimit.c, services.<name> in docs/config.md): the pre-login and
session deadlines, the write timeout, the error limit, per-service connection
caps, the global and per-address connection caps (limits.connections,
limits.connections_per_ip) with a burst of 500 sessions under raised caps, and
what happens when the server runs out of file descriptors.

Each rule is tried on SMTP (port 25), submission (587, after STARTTLS), IMAP
(143, after STARTTLS) and IMAPS (993), as an attacker holding a slot would; the
global and per-address caps on SMTP."""
import asyncio
import re
import resource
import socket
import ssl
import time

import pytest

from conftest import HOST, PASSWORD, SMTPClient, merge_config
from imap_fixtures import ALICE, IMAPConn, imap_conn
import imap_fixtures
import submission_util
from submission_util import auth_plain, sub_client

SERVICES = ["smtp", "submission", "imap", "imaps"]

NO_LIMITS = {"delay_base": "0", "max_attempts_per_ip": 100000,
             "max_attempts_per_username": 100000, "max_attempts_per_client_user": 100000,
             "fast_block_threshold": 100000}


def all_services(postern, config=None):
    """A postern listening on every service: srv.port, sub_port, subs_port,
    imap_port, imaps_port."""
    base = {"auth": {"smtp": NO_LIMITS, "imap": NO_LIMITS}}
    srv = postern(config=merge_config(base, config or {}), start=False)
    imap_fixtures._own_ports(srv, None)
    submission_util._own_ports(srv, {})
    srv.write_config(srv.port)
    srv.start()
    return srv


def protocol_of(service):
    return "imap" if service.startswith("imap") else "smtp"


def connect(srv, service):
    """A client past the greeting (and STARTTLS), not logged in."""
    if service == "smtp":
        c = SMTPClient(srv.port)
        c.ehlo()
        return c
    if service == "submission":
        return sub_client(srv)
    if service == "imap":
        return imap_conn(srv, tls="starttls", login=None)
    return imap_conn(srv, tls="imaps", login=None)


def log_in(c, service):
    """What counts as logging in: AUTH, LOGIN, or an MX client's first MAIL."""
    if service == "smtp":
        assert c.cmd("MAIL FROM:<someone@remote.test>").code == 250
    elif service == "submission":
        assert auth_plain(c, ALICE, PASSWORD).code == 235
    else:
        c.login(ALICE, PASSWORD)


def noop_line(service):
    return b"NOOP\r\n" if protocol_of(service) == "smtp" else b"n NOOP\r\n"


def drain(c, timeout=2.0):
    """Whatever the server sent before it closed."""
    got = b""
    c.sock.settimeout(timeout)
    try:
        while True:
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except (OSError, ssl.SSLError):
        pass
    return got


def hold(c, line, limit, every=0.4):
    """Sends `line` every `every` seconds until the server closes or `limit`
    seconds pass; returns (seconds, everything received)."""
    start = time.monotonic()
    got = c.buf
    c.buf = b""
    while time.monotonic() - start < limit:
        try:
            if line:
                c.sock.sendall(line)
        except (OSError, ssl.SSLError):
            return time.monotonic() - start, got + drain(c)
        try:
            c.sock.settimeout(every)
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            got += chunk
            time.sleep(every)
        except socket.timeout:
            pass
        except (OSError, ssl.SSLError):
            break
    return time.monotonic() - start, got


def refusal(service):
    return b"421 4.4.2 " if protocol_of(service) == "smtp" else b"* BYE "


# ---- deadlines --------------------------------------------------------------------------------


# Deadlines count from connect; the set-up (STARTTLS, a login) takes a while on a
# loaded machine, so the windows are measured from connect and are generous.


@pytest.mark.parametrize("service", SERVICES)
def test_client_that_never_logs_in_is_closed_at_the_login_deadline(postern, service):
    srv = all_services(postern, {"services": {service: {"timeouts": {"login": "4s"}}},
                                 "timeouts": {"command": "30s"}})
    start = time.monotonic()
    c = connect(srv, service)
    _, got = hold(c, noop_line(service), 20)
    took = time.monotonic() - start
    assert 3.5 <= took < 14, (took, got)
    assert refusal(service) in got, got
    if protocol_of(service) == "imap":
        assert b"* BYE Login timeout" in got, got
    srv.wait_log(f"{protocol_of(service)}.timeout", lambda e: e.get("limit") == "login")


@pytest.mark.parametrize("service", SERVICES)
def test_logged_in_client_is_closed_at_the_session_deadline(postern, service):
    srv = all_services(postern, {"services": {service: {"timeouts": {"session": "6s"}}},
                                 "timeouts": {"command": "30s"}})
    start = time.monotonic()
    c = connect(srv, service)
    log_in(c, service)
    _, got = hold(c, noop_line(service), 20)
    took = time.monotonic() - start
    assert 5.5 <= took < 16, (took, got)
    assert refusal(service) in got, got
    srv.wait_log(f"{protocol_of(service)}.timeout", lambda e: e.get("limit") == "session")


def test_global_session_timeout_closes_an_imap_client_that_never_logs_in(postern):
    # the case from the issue: docs/config.md promises timeouts.session is
    # the longest session "whatever it does"; IMAP used to ignore it
    srv = all_services(postern, {"timeouts": {"command": "3s", "session": "6s"}})
    start = time.monotonic()
    c = connect(srv, "imap")
    _, got = hold(c, b"a NOOP\r\n", 20, every=1.0)
    took = time.monotonic() - start
    assert 5.5 <= took < 16, (took, got)
    assert b"* BYE Session time limit" in got, got


def test_logging_in_lifts_the_login_deadline_but_not_the_idle_timeout(postern):
    srv = all_services(postern, {"services": {"imap": {"timeouts": {"login": "5s", "idle": "7s"}}}})
    start = time.monotonic()
    c = connect(srv, "imap")
    c.login(ALICE, PASSWORD)                     # an Argon2 check: slow under ASan
    time.sleep(max(0.0, start + 5.5 - time.monotonic()))
    assert c.cmd("NOOP").status == "OK"          # past the login deadline, still served
    took, got = hold(c, b"", 15)                 # silent: the idle timeout ends it
    assert b"* BYE Autologout" in got, got
    srv.wait_log("imap.timeout", lambda e: e.get("limit") == "idle")


# ---- a client that does not read ---------------------------------------------------------------


def big_reply_command(service):
    return b"EHLO x.example\r\n" if protocol_of(service) == "smtp" else b"c CAPABILITY\r\n"


def small_window_connection(address, timeout=None, source_address=None, **kw):
    """socket.create_connection with a 4 KiB receive buffer set before the
    handshake, so that the window we advertise stays small."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(timeout)
    s.connect(address)
    return s


@pytest.mark.parametrize("service", SERVICES)
def test_client_that_never_reads_is_closed_at_the_write_timeout(postern, service, monkeypatch):
    srv = all_services(postern, {"services": {service: {"timeouts": {"write": "2s"},
                                                        "limits": {"output": "4K"}}}})
    monkeypatch.setattr(socket, "create_connection", small_window_connection)
    c = connect(srv, service)
    c.sock.settimeout(0.5)
    sent, start = 0, time.monotonic()
    # pipeline commands with long replies and read none of them, until the
    # server stops reading (its output cap) and our own send buffer is full
    while time.monotonic() - start < 10:
        try:
            sent += c.sock.send(big_reply_command(service) * 200)
        except (OSError, ssl.SSLError):
            break
    srv.wait_log(f"{protocol_of(service)}.write_timeout", timeout=15)
    assert sent > 0


# ---- errors ------------------------------------------------------------------------------------


def bad_command(service):
    return b"XYZZY\r\n" if protocol_of(service) == "smtp" else b"x XYZZY\r\n"


@pytest.mark.parametrize("service", SERVICES)
def test_errors_past_the_service_limit_close_the_session(postern, service):
    srv = all_services(postern, {"services": {service: {"limits": {"errors": 3}}},
                                 "limits": {"errors": 100}})
    c = connect(srv, service)
    got = b""
    for _ in range(3):
        c.send(bad_command(service))
    got = c.read_until_closed(timeout=5)
    if protocol_of(service) == "smtp":
        assert b"421 4.7.0 Too many errors" in got, got
    else:
        assert b"* BYE Too many protocol errors" in got, got
    assert got.count(b"\n") <= 4, got
    srv.wait_log(f"{protocol_of(service)}.too_many_errors")


@pytest.mark.parametrize("service", ["smtp", "imap", "imaps"])
def test_only_errors_in_a_row_count(postern, service):
    """The limit counts errors in a row: a good command ends the run (IMAP: any
    command answered OK; SMTP: a message taken), so a client that errs now and
    then over a long session is not closed, one that errs on and on still is."""
    srv = all_services(postern, {"services": {service: {"limits": {"errors": 3}}},
                                 "limits": {"errors": 100}})
    c = connect(srv, service)
    for _ in range(3):
        for _ in range(2):
            c.send(bad_command(service))
        if protocol_of(service) == "smtp":
            assert [r.code for r in c.replies(2)] == [500, 500]
            r = c.send_message("sender@remote.test", [ALICE],
                               b"From: <sender@remote.test>\r\nSubject: x\r\n\r\nx\r\n",
                               ehlo=False)
            assert r.code == 250, r
        else:
            for _ in range(2):
                assert re.match(rb"x BAD", c.read_response())
            c.ok("NOOP")
    for _ in range(3):
        c.send(bad_command(service))
    got = c.read_until_closed(timeout=5)
    assert b"Too many" in got, got
    srv.wait_log(f"{protocol_of(service)}.too_many_errors", lambda e: e.get("errors") == 3)


def test_smtp_replies_other_than_a_taken_message_do_not_end_the_run(postern):
    """A valid RCPT between unknown ones must not let a client probe addresses
    past the limit."""
    srv = all_services(postern, {"limits": {"errors": 3}})
    c = connect(srv, "smtp")
    assert c.cmd("MAIL FROM:<someone@remote.test>").code == 250
    for i in range(2):
        assert c.cmd(f"RCPT TO:<nobody{i}@example.org>").code == 550
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
    c.send(b"RCPT TO:<nobody9@example.org>\r\n")
    got = c.read_until_closed(timeout=5)
    assert b"421 4.7.0" in got, got


def test_other_services_keep_the_global_error_limit(postern):
    srv = all_services(postern, {"services": {"imap": {"limits": {"errors": 2}}},
                                 "limits": {"errors": 5}})
    c = connect(srv, "smtp")
    for _ in range(4):
        assert c.cmd("XYZZY").code == 500
    assert c.cmd("NOOP").code == 250


# ---- connection caps --------------------------------------------------------------------------


def test_service_cap_refuses_with_the_protocol_reply_while_others_accept(postern):
    srv = all_services(postern, {"services": {"imap": {"limits": {"connections": 2}},
                                              "smtp": {"limits": {"connections": 1}}}})
    held = [IMAPConn(srv.imap_port), IMAPConn(srv.imap_port), SMTPClient(srv.port)]
    try:
        extra = SMTPClient(srv.imap_port, banner=False)
        got = extra.read_until_closed(timeout=5)
        assert got.startswith(b"* BYE Too many connections"), got
        extra = SMTPClient(srv.port, banner=False)
        got = extra.read_until_closed(timeout=5)
        assert got.startswith(b"421 4.7.0 Too many connections"), got
        # the other services still accept
        c = IMAPConn(srv.imaps_port, tls=True)
        assert c.cmd("NOOP").status == "OK"
        assert sub_client(srv).cmd("NOOP").code == 250
    finally:
        for h in held:
            h.close()
    srv.wait_log("net.refused", lambda e: e.get("reason") == "service connection limit"
                 and e.get("service") == "imap")


def test_implicit_tls_service_refuses_without_clear_text(postern):
    srv = all_services(postern, {"services": {"imaps": {"limits": {"connections": 1}}}})
    held = IMAPConn(srv.imaps_port, tls=True)
    try:
        raw = socket.create_connection((HOST, srv.imaps_port), timeout=5)
        assert raw.recv(100) == b""
        raw.close()
    finally:
        held.close()


def test_one_site_cannot_take_every_slot(postern):
    # three addresses holding idle IMAP connections used to fill
    # limits.connections and lock every other client out of every service
    srv = all_services(postern, {"limits": {"connections": 30}})
    held, refused = [], 0
    try:
        for addr in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            for _ in range(10):
                s = socket.create_connection((HOST, srv.imap_port), timeout=5,
                                             source_address=(addr, 0))
                line = s.recv(200)
                if line.startswith(b"* OK"):
                    held.append(s)
                else:
                    assert line.startswith(b"* BYE Too many connections") or line == b"", line
                    refused += 1
                    s.close()
        assert len(held) == 15 and refused == 15, (len(held), refused)
        c = SMTPClient(srv.port)
        assert c.banner.code == 220
        assert c.cmd("NOOP").code == 250
        assert sub_client(srv).cmd("NOOP").code == 250
    finally:
        for s in held:
            s.close()


def test_per_address_default_for_mx_and_repeated_refusals_logged_once(postern):
    srv = all_services(postern)
    held = []
    try:
        for _ in range(20):        # the default per address on port 25
            held.append(SMTPClient(srv.port))
        for _ in range(15):
            extra = SMTPClient(srv.port, banner=False)
            assert extra.read_until_closed(timeout=5).startswith(b"421 4.7.0 Too many connections")
        # a client from elsewhere still gets in
        s = socket.create_connection((HOST, srv.port), timeout=5, source_address=("127.0.0.9", 0))
        assert s.recv(100).startswith(b"220 ")
        s.close()
        time.sleep(0.5)
        reason = "service connection limit per address"
        # each worker logs its first refusal at once and counts the rest
        assert 1 <= len(srv.logs("net.refused")) <= 2, srv.logs("net.refused")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            lines = [e for e in srv.logs("net.refused") if e.get("reason") == reason]
            if sum(e["count"] for e in lines) == 15:
                break
            time.sleep(0.2)
        assert sum(e["count"] for e in lines) == 15, lines
        assert len(lines) <= 4 and any(e["count"] > 1 for e in lines), lines
    finally:
        for c in held:
            c.close()


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
    srv = postern(config={"limits": {"connections_per_ip": 1000, "connections": 2000},
                          "log": {"level": "debug"}})
    stage = {}  # where each session is, so a hang names its step
    redials = []

    def server_saw(port):
        return any(e.get("port") == port for e in srv.logs("smtp.connect"))

    async def dial(i):
        """Connects and reads the greeting. A burst can overflow the kernel's
        accept queue: with SYN cookies the client then believes it is connected
        while the server never heard of it, and waits for a greeting forever
        (a real client times out and retries). Only a connection the server
        never accepted may be dialled again; one it accepted must be greeted."""
        for _ in range(3):
            r, w = await asyncio.open_connection(HOST, srv.port)
            port = w.get_extra_info("sockname")[1]
            try:
                return r, w, await asyncio.wait_for(r.readline(), 20)
            except asyncio.TimeoutError:
                w.close()
                if server_saw(port):
                    raise AssertionError(f"session {i}: accepted from port {port}, never greeted")
                redials.append(i)
        raise AssertionError(f"session {i}: never accepted in 3 dials")

    async def one(i):
        stage[i] = "connect"
        r, w, line = await dial(i)
        stage[i] = "banner"

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
            assert line.startswith(b"220 "), line
            stage[i] = "EHLO"
            w.write(b"EHLO burst%d.example.net\r\n" % i)
            assert (await reply())[0] == 250
            stage[i] = "MAIL/RCPT/DATA"
            rcpt = b"alice@example.org" if i % 2 == 0 else b"bob@example.org"
            w.write(b"MAIL FROM:<b%d@remote.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (i, rcpt))
            codes = [(await reply())[0] for _ in range(3)]
            assert codes == [250, 250, 354], (i, codes)
            stage[i] = "end of data"
            w.write(b"From: <b%d@remote.test>\r\nSubject: burst\r\nX-Seq: %d\r\n\r\n"
                    b"message %d\r\n.\r\nQUIT\r\n" % (i, i, i))
            code, lines = await reply()
            assert code == 250, (i, lines)
            stage[i] = "QUIT"
            assert (await reply())[0] == 221
            stage[i] = "done"
            return i
        finally:
            w.close()

    async def main():
        tasks = [asyncio.wait_for(one(i), 180) for i in range(n)]
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    failed = {i: (stage[i], r) for i, r in enumerate(results) if isinstance(r, BaseException)}
    assert not failed, f"{len(failed)} sessions failed: {failed}"
    files = srv.maildir("alice") + srv.maildir("bob")
    assert len(files) == n
    seqs = sorted(int(f.read_bytes().split(b"X-Seq: ")[1].split(b"\n")[0]) for f in files)
    assert seqs == list(range(n))
    assert len(srv.maildir("alice")) == n // 2
    assert srv.maildir("alice", sub="tmp") == [] and srv.maildir("bob", sub="tmp") == []
    assert sum(1 for t in srv.transactions() if t["result"] == "accepted") == n


# ---- out of file descriptors -------------------------------------------------------------------


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def test_out_of_descriptors_refuses_and_does_not_spin(postern):
    srv = postern(config={"limits": {"connections_per_ip": 1000}}, start=False)
    srv.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
    srv.start()
    srv.wait_log("server.fd_limit")             # limits.connections cannot fit: said at start
    held, refused = [], 0
    try:
        for _ in range(200):
            s = socket.create_connection((HOST, srv.port), timeout=5)
            s.settimeout(1.0)
            try:
                line = s.recv(200)
            except socket.timeout:
                line = None                      # waiting in the backlog
            if line and line.startswith(b"220 "):
                held.append(s)
            else:
                if line:
                    assert line.startswith(b"421 4.7.0 Too many connections"), line
                    refused += 1
                s.close()
            if refused >= 5:
                break
        assert refused >= 1, (len(held), refused)
        # the listener is paused and retried, not spinning on accept()
        before = cpu_seconds(srv.pid)
        waiting = [socket.create_connection((HOST, srv.port), timeout=5) for _ in range(5)]
        time.sleep(3)
        used = cpu_seconds(srv.pid) - before
        assert used < 1.0, f"{used:.2f} s of CPU in 3 s while out of descriptors"
        for w in waiting:
            w.close()
        srv.wait_log("net.refused", lambda e: e.get("reason") == "out of file descriptors")
        assert len(srv.logs("net.refused")) < 30
    finally:
        for s in held:
            s.close()
    # descriptors free again: a new client is served
    deadline = time.monotonic() + 10
    while True:
        c = SMTPClient(srv.port, banner=False)
        r = c.reply(timeout=5)
        c.close()
        if r.code == 220 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.code == 220, r
