"""SRS (the Sender Rewriting Scheme): mail an alias forwards to another domain
leaves with an SRS0 envelope sender at postern's domain, so that the next
hop's SPF check passes; a bounce to that address comes back to postern and is
relayed to the original sender; forged, expired and non-bounce uses of an
SRS address are refused (no open bounce relay).

The world is queue_fixtures.py's (postern mail.local.test, local domain
local.test), with SPF records in the test DNS: mail.local.test authorises
127.0.0.1 (where postern's deliveries come from), origin.test authorises
only 192.0.2.1. The next hop, the sink at 127.0.0.2 (plain.test), checks the
envelope sender with Debian's python3-spf against that DNS. origin.test's
own server is the sink at 127.0.0.3.

Addresses are also made here, in Python, from data_dir/srs.key: an
independent reading of the format in src/mailauth/srs.h."""
import base64
import hashlib
import hmac
import smtplib
import time

import pytest

from dnsserver import DnsServer, dnspython_default
from queue_fixtures import (  # noqa: F401  (fixtures are used by name)
    DNS_RECORDS, HOST, IO_TIMEOUT, MX, make_message, parse_report, qserver, queue_ca,
    queue_template, send_mail, sinks,
)

spf = pytest.importorskip("spf")

SRS_DOMAIN = "mail.local.test"
ORIGIN_MX = "127.0.0.3"
SRS_RECORDS = [
    'mail.local.test. 5 TXT "v=spf1 ip4:127.0.0.1 -all"',
    'origin.test. 5 TXT "v=spf1 ip4:192.0.2.1 -all"',
    "origin.test. 5 MX 10 mx.origin.test.",
    "mx.origin.test. 5 A %s" % ORIGIN_MX,
]
SENDER = "sender@origin.test"
ALIAS = "fwd@local.test"
TARGET = "bob@plain.test"


@pytest.fixture(scope="module")
def queue_dns():
    """queue_fixtures' zone plus the SPF records; python3-spf asks it too."""
    with DnsServer(DNS_RECORDS + SRS_RECORDS, zones={"test.": "static"}) as server, dnspython_default(server):
        yield server


def spf_result(delivery):
    """What the next hop's SPF check says of a delivery's envelope sender."""
    result, _ = spf.check2(i=delivery["peer"], s=delivery["mail_from"], h=delivery["helo"])
    return result


def forwarding_server(qserver, overrides=None):
    srv = qserver(overrides)
    p = srv.cli("alias", "add", ALIAS, TARGET)
    assert p.returncode == 0, p.stderr
    return srv


def forward_one(srv, sink, sender=SENDER, subject="forwarded"):
    mid, msg = make_message(subject, ALIAS, sender=sender or None)
    send_mail(srv.port, sender, [ALIAS], msg)
    sink.wait_deliveries(1)
    (d,) = [d for d in sink.received() if d["message_id"] == mid]
    return d


# ---- SRS addresses made in Python --------------------------------------------------------------


def srs_keys(srv):
    raw = (srv.data_dir / "srs.key").read_bytes()
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def b32(value, chars):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "".join(alphabet[(value >> (5 * (chars - 1 - i))) & 31] for i in range(chars))


def srs0(key, local, domain, day):
    tt = b32(day % 1024, 2)
    data = b"".join(f.lower().encode() + b"\0" for f in (tt, domain, local))
    mac = hmac.new(key, data, hashlib.sha256).digest()
    h = b32(int.from_bytes(mac[:5], "big") >> 10, 6)
    return f"SRS0={h}={tt}={domain}={local}@{SRS_DOMAIN}"


def today():
    return int(time.time()) // 86400


def rcpt_reply(srv, mail_from, rcpt):
    with smtplib.SMTP(HOST, srv.port, local_hostname="client.remote.test", timeout=IO_TIMEOUT) as s:
        s.ehlo()
        code, _ = s.mail(mail_from)
        assert code == 250
        return s.rcpt(rcpt)


# ---- forwarding ----------------------------------------------------------------------------------


def test_forwarded_mail_carries_srs_and_passes_spf(qserver, sinks):
    hop = sinks.start(MX["plain"])
    srv = forwarding_server(qserver)
    d = forward_one(srv, hop)
    assert d["rcpts"] == [TARGET]
    local, _, domain = d["mail_from"].rpartition("@")
    assert domain == SRS_DOMAIN and local.startswith("SRS0="), d["mail_from"]
    assert local.endswith("=origin.test=sender"), local
    assert len(local) <= 64
    assert spf_result(d) == "pass"
    # the same hop, the original sender: what SRS is for
    assert spf.check2(i=d["peer"], s=SENDER, h=d["helo"])[0] == "fail"
    # the address is the one the format describes, under the key in data_dir
    assert d["mail_from"] == srs0(srs_keys(srv)[0], "sender", "origin.test", today())
    # the message itself is untouched
    assert b"From: Alice <sender@origin.test>" in d["data"]
    srv.wait_queue_empty()


def test_without_srs_the_forward_fails_spf(qserver, sinks):
    hop = sinks.start(MX["plain"])
    srv = forwarding_server(qserver, {"srs": {"enabled": False}})
    d = forward_one(srv, hop)
    assert d["mail_from"] == SENDER
    assert spf_result(d) == "fail"
    assert not (srv.data_dir / "srs.key").exists()


def test_local_and_null_senders_keep_their_address(qserver, sinks):
    hop = sinks.start(MX["plain"])
    srv = forwarding_server(qserver)
    d = forward_one(srv, hop, sender="alice@local.test", subject="from a local user")
    assert d["mail_from"] == "alice@local.test"
    mid, msg = make_message("a bounce through the alias", ALIAS, sender=None)
    send_mail(srv.port, "", [ALIAS], msg)
    hop.wait_deliveries(2)
    (d,) = [d for d in hop.received() if d["message_id"] == mid]
    assert d["mail_from"] == "<>"   # aiosmtpd's null sender


def test_one_message_local_copy_relay_and_forward(qserver, sinks):
    """A transaction with a mailbox, a relayed recipient and a forward: the
    relayed copy keeps the sender, the forward gets SRS, alice gets hers."""
    hop = sinks.start(MX["plain"])
    srv = forwarding_server(qserver)
    mid, msg = make_message("three ways", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS, "carol@plain.test", "alice@local.test"], msg)
    got = hop.wait_deliveries(2)
    senders = {tuple(d["rcpts"]): d["mail_from"] for d in got if d["message_id"] == mid}
    assert senders[("carol@plain.test",)] == SENDER
    assert senders[(TARGET,)].startswith("SRS0=")
    assert len(srv.maildir()) == 1
    srv.wait_queue_empty()


# ---- bounces ----------------------------------------------------------------------------------------


def test_bounce_to_the_srs_address_reaches_the_original_sender(qserver, sinks):
    hop = sinks.start(MX["plain"])
    origin = sinks.start(ORIGIN_MX)
    srv = forwarding_server(qserver)
    srs_addr = forward_one(srv, hop)["mail_from"]
    # the next hop bounces to the envelope sender it saw, as any MTA would
    mid, dsn = make_message("Undelivered Mail Returned to Sender", srs_addr, sender=None)
    send_mail(srv.port, "", [srs_addr], dsn)
    (d,) = origin.wait_deliveries(1)
    assert d["message_id"] == mid
    assert d["rcpts"] == [SENDER] and d["mail_from"] == "<>"
    # a hop that folded the local part's case: still ours
    send_mail(srv.port, "", [srs_addr.lower()], dsn)
    origin.wait_deliveries(2)
    assert srv.logs("smtp.srs_bounce")
    srv.wait_queue_empty()


def test_forged_expired_and_misused_srs_addresses_are_refused(qserver, sinks):
    hop = sinks.start(MX["plain"])
    origin = sinks.start(ORIGIN_MX)
    srv = forwarding_server(qserver)
    good = forward_one(srv, hop)["mail_from"]
    key = srs_keys(srv)[0]
    # forged: the hash altered, another key, another destination
    h = good[5:11]
    bad_hash = good.replace(h, "A" * 6 if h != "A" * 6 else "B" * 6, 1)
    for addr in (bad_hash, srs0(b"\x01" * 32, "victim", "origin.test", today()),
                 good.replace("=sender@", "=victim@")):
        code, text = rcpt_reply(srv, "", addr)
        assert (code, text[:5]) == (550, b"5.1.1"), (addr, code, text)
        assert b"invalid SRS address" in text
    # expired: signed with the right key 30 days ago (srs.max_age is 21 days)
    code, text = rcpt_reply(srv, "", srs0(key, "sender", "origin.test", today() - 30))
    assert (code, text[:5]) == (550, b"5.1.1") and b"expired" in text, text
    # dated in the future
    code, text = rcpt_reply(srv, "", srs0(key, "sender", "origin.test", today() + 2))
    assert code == 550, text
    # but 20 days ago is fine, and Python's address is postern's
    code, _ = rcpt_reply(srv, "", srs0(key, "sender", "origin.test", today() - 20))
    assert code == 250
    # a valid address, but not a bounce: no relaying to the sender for anyone
    code, text = rcpt_reply(srv, "spammer@remote.test", good)
    assert (code, text[:5]) == (550, b"5.7.1"), text
    malformed = [f"SRS0=x@{SRS_DOMAIN}", f"SRS0=AAAAAA=AA=origin.test=@{SRS_DOMAIN}",
                 f"SRS1=AAAAAA=origin.test@{SRS_DOMAIN}"]
    for addr in malformed:
        code, _ = rcpt_reply(srv, "", addr)
        assert code == 550, addr
    assert len(srv.logs("smtp.srs_refused")) >= 6
    time.sleep(0.5)
    assert origin.received() == []


# ---- postern's own reports ------------------------------------------------------------------------


def test_a_forward_that_bounces_reports_to_the_original_sender(qserver, sinks):
    """The report postern writes to a forward's SRS sender goes to the sender
    it encodes, not into postern's own queue for its own domain."""
    hop = sinks.start(MX["plain"])
    hop.rcpt(TARGET, "550 5.1.1 <bob@plain.test>: Recipient address rejected")
    origin = sinks.start(ORIGIN_MX)
    srv = forwarding_server(qserver)
    mid, msg = make_message("forwarded, then bounced", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS], msg)
    (d,) = origin.wait_deliveries(1)
    assert d["rcpts"] == [SENDER] and d["mail_from"] == "<>"
    report = parse_report(d["data"].replace(b"\r\n", b"\n"))
    assert report["report_type"] == "delivery-status", report
    (rcpt,) = report["recipients"]
    assert rcpt["action"] == "failed" and rcpt["status"] == "5.1.1", rcpt
    assert TARGET in rcpt["final-recipient"], rcpt
    assert mid in report["headers_part"]
    (log,) = srv.logs("queue.srs_report")
    assert log["decoded"] == SENDER and log["to"].startswith("SRS0="), log
    srv.wait_queue_empty()


def test_reports_to_forged_or_expired_srs_senders_are_dropped(qserver, sinks):
    """Mail whose sender claims an SRS address of ours that we did not make
    (forged) or made too long ago (expired) bounces into nothing: the queue
    drops the report with a log line instead of sending it anywhere."""
    hop = sinks.start(MX["plain"])
    hop.rcpt(TARGET, "550 5.1.1 <bob@plain.test>: Recipient address rejected")
    origin = sinks.start(ORIGIN_MX)
    srv = forwarding_server(qserver)
    key = srs_keys(srv)[0]
    forged = srs0(b"\x01" * 32, "victim", "origin.test", today())
    expired = srs0(key, "sender", "origin.test", today() - 30)
    for sender, reason in ((forged, "bad_hash"), (expired, "expired")):
        mid, msg = make_message("claims to be our forward", ALIAS, sender=sender)
        send_mail(srv.port, sender, [ALIAS], msg)
        srv.wait_log("queue.srs_report_dropped", to=sender, reason=reason)
        srv.wait_queue_empty()
    time.sleep(0.5)
    assert origin.received() == []
    assert srv.maildir() == []          # nor to the postmaster


def test_rotation_keeps_old_addresses_valid(qserver, sinks):
    hop = sinks.start(MX["plain"])
    srv = forwarding_server(qserver)
    old = forward_one(srv, hop)["mail_from"]
    assert srv.stop() == 0
    p = srv.cli("srs", "rotate")
    assert p.returncode == 0, p.stderr
    keys = srs_keys(srv)
    assert len(keys) == 2
    srv.start()
    code, _ = rcpt_reply(srv, "", old)
    assert code == 250
    mid, msg = make_message("after the rotation", ALIAS, sender=SENDER)
    send_mail(srv.port, SENDER, [ALIAS], msg)
    hop.wait_deliveries(2)
    (d,) = [d for d in hop.received() if d["message_id"] == mid]
    assert d["mail_from"] == srs0(keys[0], "sender", "origin.test", today())
    assert d["mail_from"] != old
