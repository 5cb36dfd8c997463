"""The slowloris rule (src/net/session.c, src/net/minrate.c): a client that
owes us octets (inside a command line, a literal, DATA, a TLS handshake) sends
at least services.<name>.limits.min_bytes_per_minute per min_rate_window, or
it is closed with the protocol's goodbye; a slow but honest client is not.

The window is 2 s here instead of a minute (min_rate_window), the minimum the
default 1024 octets: a dribbler sends 4 octets a second, the honest client
1 KiB a second, twice the minimum."""
import socket
import ssl
import time

import pytest

from conftest import HOST, SMTPClient, insecure_context, make_message, merge_config, start_data
import imap_fixtures
from imap_fixtures import ALICE, IMAPConn, imap_conn

WINDOW = 2.0
RATE = {"limits": {"min_bytes_per_minute": 1024, "min_rate_window": "2s"}}


def start_server(postern, services=None):
    cfg = {"services": services or {"smtp": RATE, "imap": RATE, "imaps": RATE}}
    srv = postern(config=cfg, start=False)
    imap_fixtures._own_ports(srv, None)
    srv.write_config(srv.port)
    srv.start()
    return srv


@pytest.fixture
def srv(postern):
    return start_server(postern)


def dribble(sock, data, per_second, until_closed=10.0):
    """Sends data an octet at a time; returns the seconds until the server
    closed (or None when it sent everything and did not)."""
    start = time.monotonic()
    sock.settimeout(1.0 / per_second)
    got = b""
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start, got
        try:
            chunk = sock.recv(4096)
            if not chunk:
                return time.monotonic() - start, got
            got += chunk
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        except ConnectionResetError:
            return time.monotonic() - start, got
        if time.monotonic() - start > until_closed:
            break
    return None, got


def send_at(sock, data, per_second, piece=128):
    """Sends data at about per_second octets a second."""
    for i in range(0, len(data), piece):
        sock.sendall(data[i:i + piece])
        time.sleep(piece / per_second)


def test_smtp_dribbler_closed_within_the_window(srv):
    c = SMTPClient(srv.port)
    c.ehlo()
    took, got = dribble(c.sock, b"MAIL FROM:<" + b"x" * 200, per_second=4)
    assert took is not None and took < WINDOW + 1.5, f"still open after {took}; got {got!r}"
    assert b"421 4.4.2" in got
    srv.wait_log("smtp.timeout", lambda e: e.get("limit") == "min_rate")
    e = srv.wait_log("net.too_slow", lambda e: e.get("protocol") == "smtp")[0]
    assert e["octets"] < 1024 and e["window_ms"] == 2000


def test_smtp_dribbler_inside_data(srv):
    c = SMTPClient(srv.port)
    start_data(c)
    took, got = dribble(c.sock, b"Subject: slow\r\n" * 20, per_second=4)
    assert took is not None and took < WINDOW + 1.5, f"still open after {took}; got {got!r}"
    assert b"421 4.4.2" in got


def test_smtp_slow_honest_client_is_not_closed(srv):
    """1 KiB/s for 6 s, DATA and a command line, across three windows."""
    c = SMTPClient(srv.port)
    start_data(c)
    body = make_message(subject="slow", body=("y" * 78 + "\n") * 75)
    send_at(c.sock, body + b".\r\n", per_second=1024)
    assert c.reply(timeout=10).code == 250
    # a silent client between commands owes nothing: the rule leaves it alone
    time.sleep(WINDOW + 1)
    assert c.cmd("NOOP").code == 250


def test_imap_dribbler_closed_with_bye(srv):
    c = IMAPConn(srv.imap_port)
    took, got = dribble(c.sock, b"a1 LOGIN " + b"x" * 200, per_second=4)
    assert took is not None and took < WINDOW + 1.5, f"still open after {took}; got {got!r}"
    assert b"* BYE Autologout; too slow" in got
    srv.wait_log("imap.timeout", lambda e: e.get("limit") == "min_rate")


def test_imap_dribbled_literal_closed(srv):
    c = imap_conn(srv, tls="imaps", login=ALICE)
    c.send(b"a2 APPEND INBOX {5000+}\r\n")
    took, got = dribble(c.sock, b"Subject: x\r\n" * 400, per_second=4)
    assert took is not None and took < WINDOW + 1.5, f"still open after {took}; got {got!r}"
    assert b"BYE" in got


def test_imap_slow_honest_literal(srv):
    c = imap_conn(srv, tls="imaps", login=ALICE)
    msg = make_message(subject="slow literal") + b"z" * 6000 + b"\r\n"
    c.send(b"a3 APPEND INBOX {%d+}\r\n" % len(msg))
    send_at(c.sock, msg + b"\r\n", per_second=1024)
    assert c.wait_tagged("a3", timeout=10).status == "OK"


def client_hello():
    """The first flight of a TLS client: a real ClientHello, some 500 octets."""
    ctx = insecure_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=None)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_tls_handshake_dribbler_closed(srv):
    hello = client_hello()
    assert len(hello) > 200
    s = socket.create_connection((HOST, srv.imaps_port))
    took, _ = dribble(s, hello, per_second=4)
    assert took is not None and took < WINDOW + 1.5, f"handshake still open after {took}"
    srv.wait_log("imap.timeout", lambda e: e.get("limit") == "min_rate")


def test_tls_handshake_honest(srv):
    """A whole handshake sent at 1 KiB/s completes."""
    hello = client_hello()
    s = socket.create_connection((HOST, srv.imaps_port))
    send_at(s, hello, per_second=1024, piece=64)
    s.settimeout(5)
    assert s.recv(5)[:1] == b"\x16"   # the server's handshake record


def test_off_and_other_services_untouched(postern):
    """-1 turns the rule off for a service; the dribbler outlasts the window."""
    srv = start_server(postern, {"smtp": {"limits": {"min_bytes_per_minute": -1,
                                                     "min_rate_window": "1s"}}})
    c = SMTPClient(srv.port)
    c.ehlo()
    took, _ = dribble(c.sock, b"MAIL FROM:<" + b"x" * 12, per_second=4, until_closed=3.5)
    assert took is None
