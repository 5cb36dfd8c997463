"""The PROXY protocol (src/net/proxy_accept.c, src/net/proxy_proto.c;
services.<name>.proxy_protocol in docs/config.md): a header from a trusted
proxy names the client, and that address is what the connection caps, the
logs and the Received: field see; a header from anyone else, a malformed, a
late or a missing one closes the connection before a greeting.

Debian's haproxy sends the headers (send-proxy, send-proxy-v2, in front of
SMTP and of IMAPS, whose TLS starts after the header); it runs from a temp
config on loopback high ports, started and stopped here. Hand-made headers
try what haproxy never sends. Clients bind 127.0.0.x source addresses to be
distinct clients."""
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import (HOST, IO_TIMEOUT, ConnectionClosed, SMTPClient, free_port,
                      insecure_context, make_message)
import imap_fixtures
from imap_fixtures import ALICE, IMAPConn

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PROXY_CFG = {"proxy_protocol": True, "trusted_proxies": ["127.0.0.1/32"],
             "proxy_protocol_timeout": "1s"}


def start_server(postern, smtp=None, imaps=None):
    services = {"smtp": dict(PROXY_CFG, **(smtp or {})), "imaps": dict(PROXY_CFG, **(imaps or {}))}
    srv = postern(config={"services": services, "log": {"level": "debug"}}, start=False)
    imap_fixtures._own_ports(srv, None)
    srv.write_config(srv.port)
    srv.start()
    return srv


@pytest.fixture
def srv(postern):
    return start_server(postern)


class ProxiedSMTP(SMTPClient):
    """A connection to a PROXY listener that sends a header first."""

    def __init__(self, port, header, source=HOST, banner=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect((HOST, port))
        self.timeout = IO_TIMEOUT
        self.buf = b""
        if header:
            self.sock.sendall(header)
        self.banner = self.reply() if banner else None


def v1(ip, port=40000, dst="127.0.0.1", dport=25):
    fam = "TCP6" if ":" in ip else "TCP4"
    return f"PROXY {fam} {ip} {dst} {port} {dport}\r\n".encode()


def v2(ip, port=40000, cmd=0x21, tlvs=b""):
    body = socket.inet_aton(ip) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", port, 25)
    body += tlvs
    return V2_SIG + bytes([cmd, 0x11]) + struct.pack("!H", len(body)) + body


def deliver(c, subject):
    c.ehlo()
    c.cmd("MAIL FROM:<s@remote.test>", expect=250)
    c.cmd("RCPT TO:<alice@example.org>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(make_message(subject=subject) + b".\r\n")
    assert c.reply().code == 250


def received_of(srv, subject):
    for m in srv.messages("alice"):
        if f"Subject: {subject}".encode() in m:
            return m.split(b"\n\n", 1)[0]
    raise AssertionError(f"no message {subject!r}")


def assert_closed_silently(c):
    """Closed without a greeting (nothing said: we do not know whom to)."""
    assert c.read_until_closed(timeout=3) == b""


# ---- hand-made headers ---------------------------------------------------------------------


def test_v1_header_names_the_client(srv):
    c = ProxiedSMTP(srv.port, v1("192.0.2.33", 51515))
    assert c.banner.code == 220
    deliver(c, "via v1")
    assert b"[192.0.2.33]" in received_of(srv, "via v1")
    srv.wait_log("net.proxy", lambda e: e["ip"] == "192.0.2.33" and e["proxy"] == "127.0.0.1"
                 and e["port"] == 51515 and e["version"] == 1)
    srv.wait_log("smtp.connect", lambda e: e["ip"] == "192.0.2.33")
    assert all(e.get("ip") != "127.0.0.1" for e in srv.logs("smtp.transaction"))


def test_v2_header_with_tlvs_and_the_greeting_in_one_segment(srv):
    # the header and the first command in one write: the command must survive
    hdr = v2("198.51.100.7", tlvs=b"\x01\x00\x02h2" + b"\x04\x00\x03abc")
    c = ProxiedSMTP(srv.port, hdr + b"EHLO pipelined.example\r\n", banner=False)
    assert c.reply().code == 220
    assert c.reply().code == 250
    c.cmd("MAIL FROM:<s@remote.test>", expect=250)
    c.cmd("RCPT TO:<alice@example.org>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(make_message(subject="via v2") + b".\r\n")
    assert c.reply().code == 250
    assert b"from pipelined.example ([198.51.100.7])" in received_of(srv, "via v2")


def test_v2_local_is_a_health_check(srv):
    c = ProxiedSMTP(srv.port, V2_SIG + b"\x20\x00\x00\x00")
    assert c.banner.code == 220
    srv.wait_log("net.proxy", lambda e: e["local"] and e["ip"] == "127.0.0.1")


@pytest.mark.parametrize("header,reason", [
    (b"PROXY TCP4 192.0.2.1 127.0.0.1 99999 25\r\n", "v1: bad port"),
    (b"PROXY TCP4 " + b"1" * 120, "v1: line too long"),
    (V2_SIG + b"\x21\x11\x00\x08" + b"\x00" * 8, "v2: length shorter than the addresses"),
    (v2("192.0.2.1", tlvs=b"\x02\x00\x40abc"), "v2: TLV overruns the header"),
    (b"EHLO no-header.example\r\n", "no PROXY protocol header"),
])
def test_malformed_or_missing_header_closes(srv, header, reason):
    c = ProxiedSMTP(srv.port, header, banner=False)
    assert_closed_silently(c)
    srv.wait_log("net.proxy_refused", lambda e: e["reason"] == reason)


def test_no_header_in_time_closes(srv):
    c = ProxiedSMTP(srv.port, b"PROXY TCP4 192.0.2.1", banner=False)
    start = time.monotonic()
    assert_closed_silently(c)
    assert 0.8 < time.monotonic() - start < 2.5
    srv.wait_log("net.proxy_refused", lambda e: e["reason"] == "no header in time")


def test_untrusted_source_is_refused(srv):
    # a valid header, but from 127.0.0.8, which is no trusted proxy
    c = ProxiedSMTP(srv.port, v1("192.0.2.1"), source="127.0.0.8", banner=False)
    assert_closed_silently(c)
    srv.wait_log("net.refused", lambda e: e["ip"] == "127.0.0.8"
                 and e["reason"] == "PROXY protocol from an untrusted address")


def test_caps_count_the_real_client_not_the_proxy(postern):
    """Per-address caps apply to the clients the headers name: the proxy's own
    address holds none of them, so many clients behind it all get in."""
    srv = start_server(postern, smtp={"limits": {"connections_per_ip": 2}})
    held = [ProxiedSMTP(srv.port, v1("192.0.2.50")) for _ in range(2)]
    assert all(c.banner.code == 220 for c in held)
    third = ProxiedSMTP(srv.port, v1("192.0.2.50"), banner=False)
    assert third.reply().code == 421
    others = [ProxiedSMTP(srv.port, v1(f"192.0.2.{60 + i}")) for i in range(4)]
    assert all(c.banner.code == 220 for c in others)
    srv.wait_log("net.refused", lambda e: e["ip"] == "192.0.2.50")
    # a slot is freed for the client, under its own address
    held[0].cmd("QUIT", expect=221)
    held[0].read_until_closed()
    held[0].sock.close()
    time.sleep(0.5)
    assert ProxiedSMTP(srv.port, v1("192.0.2.50")).banner.code == 220


# ---- haproxy ---------------------------------------------------------------------------------


HAPROXY_CFG = """
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend smtp_v1
    bind 127.0.0.1:{p1}
    default_backend postern_v1
frontend smtp_v2
    bind 127.0.0.1:{p2}
    default_backend postern_v2
frontend imaps_v2
    bind 127.0.0.1:{p3}
    default_backend postern_imaps
backend postern_v1
    server s 127.0.0.1:{smtp} send-proxy
backend postern_v2
    server s 127.0.0.1:{smtp} send-proxy-v2
backend postern_imaps
    server s 127.0.0.1:{imaps} send-proxy-v2
"""


@pytest.fixture
def haproxy(srv, tmp_path):
    exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not shutil.os.path.exists(exe):
        pytest.skip("haproxy is not installed (scripts/deps.sh)")
    ports = {"p1": free_port(), "p2": free_port(), "p3": free_port()}
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(smtp=srv.port, imaps=srv.imaps_port, **ports))
    p = subprocess.Popen([exe, "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((HOST, ports["p3"]), timeout=1).close()
            break
        except OSError:
            assert p.poll() is None, p.stdout.read().decode()
            assert time.monotonic() < deadline, "haproxy did not start"
            time.sleep(0.1)
    yield ports
    p.terminate()
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


@pytest.mark.parametrize("frontend,version", [("p1", 1), ("p2", 2)])
def test_haproxy_smtp(srv, haproxy, frontend, version):
    source = "127.0.0.%d" % (20 + version)
    c = ProxiedSMTP(haproxy[frontend], None, source=source)
    assert c.banner.code == 220
    subject = f"haproxy v{version}"
    deliver(c, subject)
    assert f"[{source}]".encode() in received_of(srv, subject)
    srv.wait_log("net.proxy", lambda e: e["ip"] == source and e["version"] == version)


def test_haproxy_imaps_tls_after_the_header(srv, haproxy):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.31", 0))
    s.settimeout(IO_TIMEOUT)
    s.connect((HOST, haproxy["p3"]))
    c = IMAPConn.__new__(IMAPConn)
    c.sock, c.timeout, c.buf, c.ntag = s, IO_TIMEOUT, b"", 0
    c.wrap_tls()
    c.greeting = c.read_response()
    assert b"OK" in c.greeting
    c.login(ALICE, imap_fixtures.PASSWORD)
    srv.wait_log("tls.established", lambda e: e["ip"] == "127.0.0.31")
    srv.wait_log("auth.success", lambda e: e["ip"] == "127.0.0.31")
