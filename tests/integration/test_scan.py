"""The checks after the authentication verdict on port 25 (src/smtp/smtp_scan.c),
end to end over SMTP: greylisting on the worker's store, the DNS blocklist
score looked up at connect (on the fixture DNS), rspamd's actions (a real
rspamd, rspamd_fixture.py) with its header fields and Junk, and the fields
only postern writes removed when a sender brings them. ClamAV's are in
test_clamav.py."""
import time

import pytest

from dkim_keys import txt_record
from dnsserver import DnsServer
from rspamd_fixture import rspamd  # noqa: F401  (the fixture)

ALICE = "alice@example.org"


@pytest.fixture(scope="module")
def dns():
    zone = [
        # 127.0.0.1 listed: reversed, under each blocklist zone
        "1.0.0.127.block.test. A 127.0.0.2",
        "1.0.0.127.weak.test. A 127.0.0.2",
        "1.0.0.127.refused.test. A 127.255.255.254",
        txt_record("spf-pass.test", "v=spf1 ip4:127.0.0.1 -all"),
    ]
    with DnsServer(zone, zones={"test.": "static"}) as d:
        yield d


@pytest.fixture
def mx(postern, dns):
    def make(**cfg):
        cfg.setdefault("dns", {"servers": [dns.addr], "allow_zones": ["test."]})
        return postern(config=cfg)
    return make


def message(sender="sender@remote.test", subject="scan", body=b"Hello.\r\n", extra=b""):
    return (b"From: <" + sender.encode() + b">\r\nTo: <" + ALICE.encode() + b">\r\n"
            b"Subject: " + subject.encode() + b"\r\n" + extra + b"\r\n" + body)


def send(srv, sender="sender@remote.test", msg=None):
    with srv.connect() as c:
        return c.send_message(sender, [ALICE], msg or message(sender))


# ---- greylisting ------------------------------------------------------------------------


def test_greylisting_defers_then_accepts(mx):
    srv = mx(greylist={"enabled": True, "delay": "2s"})
    r = send(srv)
    assert (r.code, r.enh) == (451, "4.7.1"), r
    assert srv.transactions()[-1]["result"] == "deferred: greylisted"
    r = send(srv)                       # too early
    assert r.code == 451, r
    assert srv.all_delivered() == []    # never delivered elsewhere meanwhile
    time.sleep(2.5)
    r = send(srv)
    assert r.code == 250, r
    assert len(srv.messages("alice")) == 1
    r = send(srv)                       # passed: remembered
    assert r.code == 250, r


def test_greylisting_skipped_when_spf_passes(mx):
    srv = mx(greylist={"enabled": True, "delay": "1h"})
    assert send(srv, "news@spf-pass.test").code == 250
    assert send(srv, "other@remote.test").code == 451


# ---- DNS blocklists ----------------------------------------------------------------------


def test_blocklisted_client_refused_at_mail(mx):
    srv = mx(dnsbl={"zones": ["block.test=10"], "threshold": 10})
    with srv.connect() as c:
        c.ehlo()
        time.sleep(0.5)                 # the lookups started at connect have answered
        r = c.cmd("MAIL FROM:<sender@remote.test>")
    assert (r.code, r.enh) == (554, "5.7.1"), r
    assert "block.test" in r.text
    assert srv.wait_log("smtp.dnsbl", lambda e: "block.test" in e.get("listed", ""))


def test_score_under_threshold_goes_to_junk_with_header(mx):
    srv = mx(dnsbl={"zones": ["weak.test=3"], "threshold": 10})
    assert send(srv).code == 250
    assert srv.messages("alice") == []
    (junk,) = srv.messages("alice", sub=".Junk/new")
    assert b"X-Postern-DNSBL: score=3" in junk


def test_refused_resolver_answer_is_no_listing(mx):
    srv = mx(dnsbl={"zones": ["refused.test=10"]})
    assert send(srv).code == 250
    assert len(srv.messages("alice")) == 1
    assert srv.wait_log("dnsbl.resolver_refused")


def test_forged_verdict_fields_removed(mx):
    srv = mx()
    extra = b"X-Postern-DNSBL: score=0; listed=none\r\nX-Other: kept\r\n"
    assert send(srv, msg=message(extra=extra)).code == 250
    (stored,) = srv.messages("alice")
    assert b"X-Postern-DNSBL" not in stored and b"X-Other: kept" in stored


# ---- rspamd ------------------------------------------------------------------------------


@pytest.fixture
def mx_rspamd(mx, rspamd):  # noqa: F811
    return mx(rspamd={"enabled": True, "address": rspamd.address,
                      "controller": rspamd.controller_address, "password": rspamd.password})


def test_rspamd_reject(mx_rspamd):
    r = send(mx_rspamd, msg=message(body=b"POSTERN-TEST-SPAM\r\n"))
    assert (r.code, r.enh) == (550, "5.7.1"), r
    assert mx_rspamd.all_delivered() == []
    assert mx_rspamd.transactions()[-1]["result"] == "rejected: spam"


def test_rspamd_add_header_goes_to_junk(mx_rspamd):
    forged = b"X-Rspamd-Score: -100\r\nX-Spam: No\r\n"
    r = send(mx_rspamd, msg=message(body=b"POSTERN-TEST-JUNK\r\n", extra=forged))
    assert r.code == 250, r
    assert mx_rspamd.messages("alice") == []
    (junk,) = mx_rspamd.messages("alice", sub=".Junk/new")
    assert b"X-Spamd-Result:" in junk and b"X-Spam: Yes" in junk
    assert b"-100" not in junk and b"X-Spam: No" not in junk


def test_rspamd_clean_mail_delivered_with_its_fields(mx_rspamd):
    r = send(mx_rspamd)
    assert r.code == 250, r
    (stored,) = mx_rspamd.messages("alice")
    assert b"X-Rspamd-Action: no action" in stored


def test_user_chooses_inbox_for_junk(mx):
    srv = mx(dnsbl={"zones": ["weak.test=3"], "threshold": 10})
    p = srv.cli("user", "junk", ALICE, "inbox")
    assert p.returncode == 0, p.stderr
    assert send(srv).code == 250
    (stored,) = srv.messages("alice")
    assert b"X-Postern-DNSBL: score=3" in stored
    assert srv.messages("alice", sub=".Junk/new") == []
    assert srv.cli("user", "junk", ALICE, "junk").returncode == 0
    assert send(srv).code == 250
    assert len(srv.messages("alice", sub=".Junk/new")) == 1
    assert srv.cli("user", "junk", ALICE, "elsewhere").returncode != 0
    assert srv.cli("user", "junk", "nobody@example.org", "inbox").returncode != 0
