"""ARC sealing (RFC 8617) of the mail postern forwards: a message taken on
port 25 for an alias whose target is at another domain leaves with an SRS
sender at srs.domain (mail.local.test), a DKIM-Signature and an ARC set of
that domain, checked at the next hop by Debian's python3-dkim (dkimpy) and
python3-spf against the test DNS; a chain the message arrives with (sealed
here by dkimpy as origin.test) gets our set as instance 2 and verifies whole.
Local copies and ordinary relayed copies are never sealed; without an RSA key
for srs.domain the forward leaves unsealed, and the log says why.

Until the lead's port-25 checks land, smtp_arc_interim.c gives the A-R
payload "mail.local.test; none" and counts an arriving chain as pass."""
import re

import pytest

from dkim_keys import rsa_key, txt_record
from dnsserver import DnsServer, dnspython_default
from queue_fixtures import (  # noqa: F401  (fixtures are used by name)
    DNS_RECORDS, MX, make_message, qserver, queue_ca, queue_template, send_mail, sinks,
)

dkim = pytest.importorskip("dkim")
spf = pytest.importorskip("spf")

SRS_DOMAIN = "mail.local.test"
SENDER = "sender@origin.test"
ALIAS = "fwd@local.test"
TARGET = "bob@plain.test"
BASE_RECORDS = DNS_RECORDS + [
    'mail.local.test. 5 TXT "v=spf1 ip4:127.0.0.1 -all"',
    'origin.test. 5 TXT "v=spf1 ip4:192.0.2.1 -all"',
]
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


@pytest.fixture(scope="module")
def queue_dns():
    """queue_fixtures' zone plus SPF records; keys are added per test."""
    with DnsServer(BASE_RECORDS, zones={"test.": "static"}) as server, dnspython_default(server):
        yield server


def keygen(srv):
    """`postern dkim keygen` for srs.domain; {selector: record}."""
    p = srv.cli("dkim", "keygen", SRS_DOMAIN)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "sealed with it (ARC)" in p.stdout, p.stdout
    p = srv.cli("dkim", "show", SRS_DOMAIN)
    assert p.returncode == 0, p.stderr
    out = {}
    for m in re.finditer(r"^(\S+)\._domainkey\.(\S+)\. IN TXT (\(.*\)|\".*\")$", p.stdout, re.M):
        assert m.group(2) == SRS_DOMAIN
        out[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(3)))
    assert out, p.stdout
    return out


@pytest.fixture(scope="module")
def origin_key(tmp_path_factory):
    """(PEM bytes, TXT record) of origin.test's ARC key."""
    return rsa_key(tmp_path_factory.mktemp("arcfwd"), "origin")[1:]


def publish(queue_dns, srv_keys, origin=None):
    recs = [txt_record(f"{sel}._domainkey.{SRS_DOMAIN}", rec, ttl=5) for sel, rec in srv_keys.items()]
    if origin is not None:
        recs.append(txt_record("arc._domainkey.origin.test", origin[1], ttl=5))
    queue_dns.update(BASE_RECORDS + recs)


# port 25's checks (whose results the seal carries) skip relay.hosts, which
# the queue fixtures set to 127.0.0.0/8, where the test clients connect from
NOT_RELAY = {"relay": {"hosts": ["192.0.2.1/32"]}}


def forwarding_server(qserver, queue_dns, with_key=True, origin=None):
    srv = qserver(NOT_RELAY, start=False)
    keys = keygen(srv) if with_key else {}
    publish(queue_dns, keys, origin)
    assert srv.cli("alias", "add", ALIAS, TARGET).returncode == 0
    srv.start()
    return srv, keys


def delivered(sink, mid, n=1):
    sink.wait_deliveries(n)
    (d,) = [d for d in sink.received() if d["message_id"] == mid]
    return d


def fields(data):
    """The header fields of a CRLF message, each unfolded to one line."""
    head = data.split(b"\r\n\r\n", 1)[0]
    return [re.sub(rb"\r\n[ \t]", b" ", f) for f in re.split(rb"\r\n(?![ \t])", head)]


def tags(field):
    value = re.sub(rb"\s+", b"", field.split(b":", 1)[1]).decode()
    return dict(t.split("=", 1) for t in value.split(";") if "=" in t)


def named(data, name):
    return [f for f in fields(data) if f.lower().startswith(name.lower() + b":")]


# ---- a forward gets a chain of one ----------------------------------------------------------


def test_forward_is_sealed_and_verifies_at_the_next_hop(qserver, queue_dns, sinks):
    hop = sinks.start(MX["plain"])
    srv, keys = forwarding_server(qserver, queue_dns)
    mid, msg = make_message("sealed forward", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS], msg)
    d = delivered(hop, mid)
    data = d["data"]
    # SRS: the next hop's SPF check passes for srs.domain
    assert d["mail_from"].startswith("SRS0=") and d["mail_from"].endswith("@" + SRS_DOMAIN)
    assert spf.check2(i=d["peer"], s=d["mail_from"], h=d["helo"])[0] == "pass"
    # the set is on top, above our trace field and our DKIM-Signature
    names = [f.split(b":", 1)[0].lower() for f in fields(data)]
    assert names[:3] == [b"arc-seal", b"arc-message-signature", b"arc-authentication-results"], \
        names
    assert names.index(b"received") < names.index(b"dkim-signature"), names
    (seal,) = named(data, b"ARC-Seal")
    st = tags(seal)
    (selector,) = keys
    assert (st["i"], st["cv"], st["d"], st["s"], st["a"]) == \
        ("1", "none", SRS_DOMAIN, selector, "rsa-sha256"), st
    (aar,) = named(data, b"ARC-Authentication-Results")
    assert b"i=1; mail.local.test; spf=" in aar and b"; arc=none" in aar, aar
    (ams,) = named(data, b"ARC-Message-Signature")
    assert "dkim-signature" in tags(ams)["h"].lower().split(":"), ams
    # dkimpy, with the keys from the test DNS
    cv, results, reason = dkim.arc_verify(data)
    assert cv == b"pass", (reason, results)
    assert [r["instance"] for r in results] == [1], results
    assert results[0]["as-domain"] == SRS_DOMAIN.encode()
    # the DKIM-Signature is srs.domain's, and valid
    (sig,) = named(data, b"DKIM-Signature")
    assert tags(sig)["d"] == SRS_DOMAIN
    assert dkim.verify(data)
    # the next hop can tell a changed body
    cv, _, _ = dkim.arc_verify(data.replace(b"leading dot", b"leading DOT"))
    assert cv == b"fail"
    assert srv.logs("arc.sealed", domain=SRS_DOMAIN, selector=selector, cv="none")
    srv.wait_queue_empty()


def test_only_the_forward_is_sealed(qserver, queue_dns, sinks):
    """One transaction: alice's mailbox and a forward. (Mail relayed for
    relay.hosts is not judged on port 25, so it has no results to seal.)"""
    hop = sinks.start(MX["plain"])
    srv, _ = forwarding_server(qserver, queue_dns)
    mid, msg = make_message("two ways", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS, "alice@local.test"], msg)
    d = delivered(hop, mid)
    assert d["rcpts"] == [TARGET] and named(d["data"], b"ARC-Seal")
    (local,) = srv.maildir()
    assert b"ARC-Seal:" not in local and b"ARC-Message-Signature:" not in local
    srv.wait_queue_empty()


def test_no_rsa_key_leaves_the_forward_unsealed(qserver, queue_dns, sinks):
    hop = sinks.start(MX["plain"])
    srv, _ = forwarding_server(qserver, queue_dns, with_key=False)
    mid, msg = make_message("no key", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS], msg)
    d = delivered(hop, mid)
    assert d["mail_from"].startswith("SRS0=")
    assert not named(d["data"], b"ARC-Seal")
    assert srv.logs("arc.not_sealed", domain=SRS_DOMAIN)
    srv.wait_queue_empty()


def test_an_ed25519_key_alone_does_not_seal(qserver, queue_dns, sinks):
    """dkimpy and OpenARC verify rsa-sha256 seals only: an Ed25519 key signs, never seals."""
    hop = sinks.start(MX["plain"])
    srv = qserver(NOT_RELAY, start=False)
    p = srv.cli("dkim", "keygen", SRS_DOMAIN, "--algorithm", "ed25519")
    assert p.returncode == 0, p.stderr
    assert srv.cli("alias", "add", ALIAS, TARGET).returncode == 0
    srv.start()
    mid, msg = make_message("ed25519 only", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS], msg)
    d = delivered(hop, mid)
    assert not named(d["data"], b"ARC-Seal")
    (sig,) = named(d["data"], b"DKIM-Signature")
    assert tags(sig)["a"] == "ed25519-sha256"
    assert srv.logs("arc.not_sealed", domain=SRS_DOMAIN)


# ---- a chain that arrives gets instance 2 ---------------------------------------------------


def test_arriving_chain_is_sealed_as_instance_2(qserver, queue_dns, sinks, origin_key):
    hop = sinks.start(MX["plain"])
    srv, keys = forwarding_server(qserver, queue_dns, origin=origin_key)
    mid, msg = make_message("a list's post", ALIAS, sender=SENDER)
    msg = b"Authentication-Results: origin.test; spf=pass smtp.mailfrom=origin.test\r\n" + msg
    arc_set = dkim.arc_sign(msg, b"arc", b"origin.test", origin_key[0], b"origin.test",
                            include_headers=SIGNED)
    assert arc_set, "dkimpy did not seal"
    msg = b"".join(arc_set) + msg
    assert dkim.arc_verify(msg)[0] == b"pass"   # the chain is good as it arrives
    send_mail(srv.port, SENDER, [ALIAS], msg)
    data = delivered(hop, mid)["data"]
    seals = {tags(f)["i"]: tags(f) for f in named(data, b"ARC-Seal")}
    assert sorted(seals) == ["1", "2"], seals
    assert (seals["2"]["cv"], seals["2"]["d"]) == ("pass", SRS_DOMAIN), seals["2"]
    assert (seals["1"]["cv"], seals["1"]["d"]) == ("none", "origin.test"), seals["1"]
    # ours is the newest and on top
    assert fields(data)[0].lower().startswith(b"arc-seal: i=2;"), fields(data)[0]
    cv, results, reason = dkim.arc_verify(data)
    assert cv == b"pass", (reason, results)
    assert [r["instance"] for r in results] == [2, 1], results
    assert results[0]["as-domain"] == SRS_DOMAIN.encode()
    assert results[1]["as-domain"] == b"origin.test"
    # the older set still counts: both seals cover origin.test's results
    aar1 = b"i=1; origin.test; spf=pass"
    assert aar1 in data
    assert dkim.arc_verify(data.replace(aar1, b"i=1; origin.test; spf=fail"))[0] == b"fail"
    srv.wait_queue_empty()
