"""Checks the DnsServer test fixture itself (tests/integration/dnsserver.py):
it answers the records it was given over UDP and TCP, says NXDOMAIN and
REFUSED where it should, never recurses, reloads and restarts on the same
port, and leaves nothing behind. Queries are built by hand (dnsserver's
stdlib client), so no DNS tool is needed."""
import os
import socket
import struct
import time

import pytest

from dnsserver import DnsServer, DnsError, build_query, dns_query, parse_reply

RECORDS = [
    "example.test. MX 10 mx1.example.test.",
    "example.test. MX 20 mx2.example.test.",
    "mx1.example.test. A 127.0.0.2",
    "mx2.example.test. A 127.0.0.3",
    "mx2.example.test. AAAA ::1",
    "nullmx.test. MX 0 .",
    "nomx.test. A 127.0.0.4",
    "alias.test. CNAME example.test.",
    "short.test. 5 TXT \"v=spf1 -all\"",
]


@pytest.fixture(scope="module")
def dns():
    server = DnsServer(RECORDS, zones={"test.": "static", "refused.test.": "refuse"})
    yield server
    server.stop()


def test_addr_is_libunbound_forwarder_syntax(dns):
    host, port = dns.addr.split("@")
    assert host == "127.0.0.1"
    assert int(port) == dns.port and 1024 < dns.port < 65536 and dns.port != 53


@pytest.mark.parametrize("tcp", [False, True])
def test_mx_answer(dns, tcp):
    reply = dns.query("example.test", "MX", tcp=tcp)
    assert reply.rcode == "NOERROR"
    assert sorted(reply.answers("MX")) == [(10, "mx1.example.test"), (20, "mx2.example.test")]
    assert reply.flags & 0x0400, "local data is authoritative (AA)"


def test_a_and_aaaa_answers(dns):
    assert dns.query("mx1.example.test", "A").answers("A") == ["127.0.0.2"]
    assert dns.query("mx2.example.test", "AAAA").answers("AAAA") == ["::1"]
    # the name exists, the type does not: NODATA
    reply = dns.query("mx1.example.test", "AAAA")
    assert reply.rcode == "NOERROR" and reply.records == []


def test_null_mx(dns):
    assert dns.query("nullmx.test", "MX").answers("MX") == [(0, ".")]


def test_no_mx_but_address(dns):
    reply = dns.query("nomx.test", "MX")
    assert reply.rcode == "NOERROR" and reply.answers("MX") == []
    assert dns.query("nomx.test", "A").answers("A") == ["127.0.0.4"]


def test_cname_and_ttl(dns):
    reply = dns.query("alias.test", "MX")
    assert reply.answers("CNAME") == ["example.test"]
    txt = dns.query("short.test", "TXT")
    assert txt.answers("TXT") == [["v=spf1 -all"]]
    assert txt.records[0][2] == 5


def test_nxdomain(dns):
    assert dns.query("nowhere.test", "MX").rcode == "NXDOMAIN"
    assert dns.query("a.b.nowhere.test", "A").rcode == "NXDOMAIN"


def test_refuse_zone(dns):
    assert dns.query("host.refused.test", "A").rcode == "REFUSED"


@pytest.mark.parametrize("name", ["example.com", "mail.example.org", "."])
def test_never_recurses(dns, name):
    # anything outside its zones (and unbound's built-in localhost zones) is
    # refused outright, never looked up
    assert dns.query(name, "A").rcode == "REFUSED"


def test_config_is_private(dns):
    conf = open(dns.conf_path).read()
    assert dns.conf_path.startswith(dns.dir)
    assert "forward-zone" not in conf and "stub-zone" not in conf
    assert "port: %d" % dns.port in conf
    assert os.path.exists(dns.pid_path)
    assert int(open(dns.pid_path).read().split()[0]) == dns.proc.pid


def test_client_rejects_garbage():
    with pytest.raises(DnsError):
        parse_reply(b"\x00\x01")
    # a compression pointer to itself must not loop forever
    q = build_query("x.test", "A", qid=7)
    reply = bytearray(q)
    reply[2] |= 0x80                               # QR
    reply[6:8] = struct.pack("!H", 1)              # one answer
    reply += b"\xc0" + bytes([len(q)]) + struct.pack("!HHIH", 1, 1, 0, 4) + b"\1\2\3\4"
    reply[len(q):len(q) + 2] = struct.pack("!H", 0xC000 | len(q))
    with pytest.raises(DnsError):
        parse_reply(bytes(reply), 7)


def test_rejects_records_outside_zones():
    with pytest.raises(ValueError):
        DnsServer(["example.com. A 127.0.0.1"])
    with pytest.raises(ValueError):
        DnsServer(["relative.test A 127.0.0.1"])


def test_update_reloads_on_same_port():
    with DnsServer(["a.test. MX 10 one.test."]) as dns:
        port, pid = dns.port, dns.proc.pid
        dns.update(["a.test. MX 5 two.test.", "b.test. A 127.0.0.9"])
        assert dns.port == port and dns.proc.pid == pid
        assert dns.query("a.test", "MX").answers("MX") == [(5, "two.test")]
        assert dns.query("b.test", "A").answers("A") == ["127.0.0.9"]


def test_restart_and_stop():
    dns = DnsServer(["a.test. A 127.0.0.1"])
    port, workdir = dns.port, dns.dir
    dns.restart(["a.test. A 127.0.0.5"])
    assert dns.port == port
    assert dns.query("a.test", "A").answers("A") == ["127.0.0.5"]
    proc = dns.proc
    dns.stop()
    assert proc.poll() is not None
    assert not os.path.exists(workdir)
    dns.stop()  # idempotent
    # the port is free again and nothing answers there
    with pytest.raises((socket.timeout, ConnectionRefusedError, OSError)):
        dns_query("127.0.0.1", port, "a.test", "A", timeout=0.3)


def test_two_servers_side_by_side():
    with DnsServer(["a.test. A 127.0.0.1"]) as one, DnsServer(["a.test. A 127.0.0.2"]) as two:
        assert one.port != two.port
        assert one.query("a.test", "A").answers("A") == ["127.0.0.1"]
        assert two.query("a.test", "A").answers("A") == ["127.0.0.2"]


# ---- the session's shared server (conftest.py: SHARED_DNS) -------------------------------------
# Every server the tests start asks it, never the system resolver: a name in its zones is
# NXDOMAIN at once, any other name SERVFAIL at once; records a test adds go when it ends.


def spf_result(srv, ip, sender):
    started = time.monotonic()
    p = srv.cli("spf", "check", "--ip", ip, "--sender", sender, "--helo", "client.test")
    assert p.returncode == 0, p.stderr
    return dict(ln.split(": ", 1) for ln in p.stdout.splitlines())["result"], \
        time.monotonic() - started


def test_servers_get_the_shared_dns(postern, shared_dns):
    srv = postern(start=False)
    assert srv.dns is shared_dns
    assert srv.config["dns"] == {"servers": [shared_dns.addr], "allow_zones": ["test."]}
    # a test's own dns group replaces it whole
    own = postern(config={"dns": {"servers": ["127.0.0.1@9"]}}, start=False)
    assert own.config["dns"] == {"servers": ["127.0.0.1@9"]}
    assert "dns" not in postern(config={"dns": None}, start=False).config


def test_shared_dns_answers_at_once(postern):
    srv = postern(start=False)
    srv.dns.add(['t-shared-spf.test. TXT "v=spf1 ip4:192.0.2.1 -all"'])
    assert srv.dns.query("t-shared-spf.test", "TXT").rcode == "NOERROR"
    assert spf_result(srv, "192.0.2.1", "x@t-shared-spf.test")[0] == "pass"
    assert spf_result(srv, "192.0.2.2", "x@t-shared-spf.test")[0] == "fail"
    # NXDOMAIN in its zones, SERVFAIL elsewhere: both without waiting on a timeout
    for sender, want in (("x@nothing.example.net", "none"), ("x@example.org", "none"),
                         ("x@postern-test.invalid-tld-xyz", "temperror")):
        result, took = spf_result(srv, "192.0.2.1", sender)
        assert result == want, sender
        assert took < 3, (sender, took)


def test_records_of_a_test_do_not_outlive_it(shared_dns):
    # the test before added t-shared-spf.test.; its end took it out again
    assert shared_dns.server.records == []
    assert shared_dns.query("t-shared-spf.test", "TXT").rcode == "NXDOMAIN"
