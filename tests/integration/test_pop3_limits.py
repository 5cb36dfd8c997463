"""The session engine's rules on the pop3 and pop3s services (src/net/session.c,
services.<name> in docs/config.md), as test_session_limits.py tries them on
SMTP and IMAP: the login and session deadlines, the write timeout of a client
that does not read, the error limit, the per-service connection cap with
POP3's own refusal, and the default policy `postern config check` shows."""
import socket
import ssl
import time

import pytest

from conftest import HOST, run_postern
from pop3_fixtures import ALICE, PASSWORD, POP3Conn, pop3_conn, pop3_server

SERVICES = ["pop3", "pop3s"]


def connect(srv, service):
    """A client past the greeting (and STLS), not logged in."""
    return pop3_conn(srv, tls="stls" if service == "pop3" else "pop3s", user=None)


def hold(c, line, limit, every=0.4):
    """Sends `line` every `every` seconds until the server closes or `limit`
    seconds pass; returns everything received."""
    start = time.monotonic()
    got, c.buf = c.buf, b""
    while time.monotonic() - start < limit:
        try:
            if line:
                c.sock.sendall(line)
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
    return got


@pytest.mark.parametrize("service", SERVICES)
def test_login_deadline(postern, service):
    srv = pop3_server(postern, config={"services": {service: {"timeouts": {"login": "4s"}}},
                                       "timeouts": {"command": "30s"}})
    start = time.monotonic()
    c = connect(srv, service)
    got = hold(c, b"NOOP\r\n", 20)
    took = time.monotonic() - start
    assert 3.5 <= took < 14, (took, got)
    assert b"-ERR Login timeout" in got, got
    srv.wait_log("pop3.timeout", lambda e: e.get("limit") == "login")


@pytest.mark.parametrize("service", SERVICES)
def test_session_deadline(postern, service):
    srv = pop3_server(postern, config={"services": {service: {"timeouts": {"session": "6s"}}},
                                       "timeouts": {"command": "30s"}})
    start = time.monotonic()
    c = connect(srv, service)
    c.login()
    got = hold(c, b"NOOP\r\n", 20)
    took = time.monotonic() - start
    assert 5.5 <= took < 16, (took, got)
    assert b"-ERR Session time limit" in got, got
    srv.wait_log("pop3.timeout", lambda e: e.get("limit") == "session")


def small_window_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((HOST, port))
    return s


def test_client_that_never_reads_is_closed_at_the_write_timeout(postern):
    srv = pop3_server(postern, config={"services": {"pop3": {"timeouts": {"write": "2s"},
                                                             "limits": {"output": "4K"}}},
                                       "pop3": {"login_without_tls": True}})
    s = small_window_socket(srv.pop3_port)
    s.settimeout(0.5)
    sent, start = 0, time.monotonic()
    while time.monotonic() - start < 10:
        try:
            sent += s.send(b"CAPA\r\n" * 200)
        except OSError:
            break
    srv.wait_log("pop3.write_timeout", timeout=15)
    assert sent > 0
    s.close()


def test_retr_to_a_client_that_stopped_reading_ends_at_the_write_timeout(postern):
    from imap_fixtures import write_maildir
    srv = pop3_server(postern, config={"services": {"pop3s": {"timeouts": {"write": "2s"}}}})
    write_maildir(srv.maildir_path("alice"), [b"Subject: huge\n\n" + (b"y" * 99 + b"\n") * 200000])
    c = pop3_conn(srv)
    c.send(b"RETR 1\r\n")                          # 20 MB, and not a byte of it read
    srv.wait_log("pop3.write_timeout", timeout=20)
    d = srv.wait_log("pop3.disconnect", lambda e: e.get("user") == ALICE)[0]
    assert d["retrieved"] == 0
    c.close()
    c = pop3_conn(srv)                              # the lock went with it
    c.ok("QUIT")


@pytest.mark.parametrize("service", SERVICES)
def test_errors_past_the_service_limit_close_the_session(postern, service):
    srv = pop3_server(postern, config={"services": {service: {"limits": {"errors": 3}}},
                                       "limits": {"errors": 100}})
    c = connect(srv, service)
    for _ in range(3):
        c.send(b"XYZZY\r\n")
    got = c.read_until_closed(timeout=5)
    assert b"-ERR Too many errors" in got, got
    assert got.count(b"\n") == 3, got
    srv.wait_log("pop3.too_many_errors")


@pytest.mark.parametrize("service", SERVICES)
def test_only_errors_in_a_row_count(postern, service):
    """The engine counts errors in a row: a command answered +OK ends the run."""
    srv = pop3_server(postern, config={"services": {service: {"limits": {"errors": 3}}},
                                       "limits": {"errors": 100}})
    c = connect(srv, service)
    for _ in range(3):
        for _ in range(2):
            assert not c.cmd("XYZZY").ok
        c.capa()
    for _ in range(3):
        c.send(b"XYZZY\r\n")
    got = c.read_until_closed(timeout=5)
    assert b"-ERR Too many errors" in got, got


def test_service_cap_refuses_with_the_pop3_reply(postern):
    srv = pop3_server(postern, config={"services": {"pop3": {"limits": {"connections": 2}},
                                                    "pop3s": {"limits": {"connections": 1}}}})
    held = [POP3Conn(srv.pop3_port), POP3Conn(srv.pop3_port), POP3Conn(srv.pop3s_port, tls=True)]
    try:
        extra = POP3Conn(srv.pop3_port, greeting=False)
        got = extra.read_until_closed(timeout=5)
        assert got == b"-ERR [SYS/TEMP] Too many connections, try again later\r\n", got
        # implicit TLS: no clear text, just closed
        raw = socket.create_connection((HOST, srv.pop3s_port), timeout=5)
        assert raw.recv(100) == b""
        raw.close()
    finally:
        for h in held:
            h.close()
    srv.wait_log("net.refused", lambda e: e.get("service") == "pop3")
    srv.wait_log("pop3.disconnect", count=3)        # the slots are free again
    c = pop3_conn(srv)
    c.ok("QUIT")


def test_config_check_lists_the_pop3_services(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(f'hostname = "mx.example.org";\ndata_dir = "{tmp_path}/data";\nuser = "";\n'
                    'listen = { pop3 = ["127.0.0.1:1110"]; pop3s = ["127.0.0.1:1995"]; };\n'
                    'services = { pop3s = { timeouts = { idle = "20m"; }; }; };\n')
    p = run_postern("config", "check", config=conf)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    pop3 = lines.index(next(ln for ln in lines if ln.strip().startswith("pop3 ")))
    assert "127.0.0.1:1110" in lines[pop3] and "port 110's role, STLS" in lines[pop3], p.stdout
    assert "idle 10m" in lines[pop3 + 2], p.stdout          # RFC 1939's autologout
    pop3s = lines.index(next(ln for ln in lines if ln.strip().startswith("pop3s ")))
    assert "port 995's role, implicit TLS" in lines[pop3s], p.stdout
    assert "idle 20m" in lines[pop3s + 2], p.stdout
