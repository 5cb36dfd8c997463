"""Mail authentication on port 25 (src/mailauth/inbound.c through
src/smtp/smtp_mailauth.c): SPF from MAIL FROM, DKIM signatures made by an
independent signer (Debian's python3-dkim), DMARC policies and their
enforcement levels, ARC chains sealed by dkimpy and a trusted sealer's
override, the one Authentication-Results field postern writes (after
Return-Path, forged ones claiming its authserv-id removed), and the results
in the transaction and audit logs. DNS is a private unbound (dnsserver.py)."""
import re

import dkim
import pytest

from conftest import HOSTNAME
from dkim_keys import rsa_key, txt_record
from dnsserver import DnsServer

CLIENT = "127.0.0.1"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mailauthkeys")
    # (PEM bytes, TXT record) each
    return {name: rsa_key(tmp, name)[1:] for name in ("signer", "list")}


@pytest.fixture(scope="module")
def dns(keys):
    zone = [
        txt_record("signed.test", "v=spf1 ip4:127.0.0.1 -all"),
        txt_record("_dmarc.signed.test", "v=DMARC1; p=reject"),
        txt_record("sel._domainkey.signed.test", keys["signer"][1]),
        txt_record("forged.test", "v=spf1 -all"),
        txt_record("_dmarc.forged.test", "v=DMARC1; p=reject"),
        txt_record("quar.test", "v=spf1 -all"),
        txt_record("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
        txt_record("lax.test", "v=spf1 ip4:127.0.0.1 -all"),
        txt_record("sel._domainkey.list.test", keys["list"][1]),
        txt_record("list.test", "v=spf1 ip4:127.0.0.1 -all"),
    ]
    with DnsServer(zone, zones={"test.": "static", "broken.example.": "refuse"}) as d:
        yield d


@pytest.fixture
def mx(postern, dns):
    def make(**cfg):
        cfg.setdefault("dns", {"servers": [dns.addr], "allow_zones": ["test."]})
        return postern(config=cfg)
    return make


def message(from_addr, subject="auth", extra=b"", body=b"Hello.\r\n"):
    return (b"From: <" + from_addr.encode() + b">\r\n"
            b"To: <alice@example.org>\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + subject.encode() + b"@test>\r\n" + extra +
            b"\r\n" + body)


def sign(msg, keys, domain=b"signed.test"):
    sig = dkim.sign(msg, b"sel", domain, keys["signer"][0],
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


def send(srv, mail_from, msg, rcpt="alice@example.org"):
    with srv.connect() as c:
        return c.send_message(mail_from, [rcpt], msg)


def authres(stored):
    """The unfolded Authentication-Results fields of a stored message."""
    head = stored.split(b"\n\n", 1)[0].decode()
    fields = re.findall(r"^Authentication-Results:(.*(?:\n[ \t].*)*)", head, re.M)
    return [" ".join(f.split()) for f in fields]


def test_signed_mail_passes_and_result_is_recorded(mx, keys):
    srv = mx()
    r = send(srv, "news@signed.test", sign(message("news@signed.test"), keys))
    assert r.code == 250, r
    stored = srv.messages("alice")[0]
    lines = stored.split(b"\n")
    assert lines[0].startswith(b"Return-Path:")
    assert lines[1].startswith(b"Authentication-Results: " + HOSTNAME.encode() + b";")
    ar = authres(stored)
    assert len(ar) == 1
    assert "spf=pass smtp.mailfrom=news@signed.test" in ar[0]
    assert "dkim=pass header.d=signed.test header.s=sel" in ar[0]
    assert "dmarc=pass" in ar[0] and "header.from=signed.test" in ar[0]
    assert "arc=none" in ar[0]
    tx = srv.transactions()[-1]
    assert (tx["spf"], tx["dkim"], tx["dmarc"], tx["arc"]) == ("pass", "pass", "pass", "none")


def test_dmarc_reject_is_refused(mx):
    srv = mx()
    r = send(srv, "ceo@forged.test", message("ceo@forged.test"))
    assert (r.code, r.enh) == (550, "5.7.1"), r
    assert "DMARC" in r.text and "forged.test" in r.text
    assert srv.all_delivered() == []
    tx = srv.transactions()[-1]
    assert tx["result"] == "rejected: DMARC policy" and tx["dmarc"] == "fail"
    assert srv.wait_log("smtp.mailauth_failed", lambda e: e.get("action") == "refused")


def test_dmarc_quarantine_goes_to_junk(mx):
    srv = mx()
    r = send(srv, "x@quar.test", message("x@quar.test"))
    assert r.code == 250, r
    assert srv.messages("alice") == []
    junk = srv.messages("alice", sub=".Junk/new")
    assert len(junk) == 1
    ar = authres(junk[0])
    assert "dmarc=fail" in ar[0] and "dis=quarantine" in ar[0], ar


def test_strict_dmarc_refuses_quarantine_and_none_delivers_reject(mx):
    strict = mx(dmarc={"enforcement": "strict"})
    r = send(strict, "x@quar.test", message("x@quar.test"))
    assert (r.code, r.enh) == (550, "5.7.1"), r
    monitor = mx(dmarc={"enforcement": "none"})
    r = send(monitor, "ceo@forged.test", message("ceo@forged.test"))
    assert r.code == 250, r
    ar = authres(monitor.messages("alice")[0])
    assert "dmarc=fail" in ar[0] and "spf=fail" in ar[0]


def test_spf_enforcement_levels(mx):
    # MAIL FROM's domain says -all; the From: domain has no DMARC record
    soft = mx()
    r = send(soft, "x@forged.test", message("someone@lax.test"))
    assert r.code == 250, r
    assert "spf=fail smtp.mailfrom=x@forged.test" in authres(soft.messages("alice")[0])[0]
    strict = mx(spf={"enforcement": "strict"})
    r = send(strict, "x@forged.test", message("someone@lax.test"))
    assert (r.code, r.enh) == (550, "5.7.23"), r
    r = send(strict, "x@host.broken.example", message("someone@lax.test"))
    assert (r.code, r.enh) == (451, "4.7.24"), r
    assert strict.all_delivered() == []


def test_forged_authentication_results_of_ours_are_removed(mx):
    srv = mx()
    extra = (b"Authentication-Results: " + HOSTNAME.encode() + b"; dkim=pass header.d=bank.test\r\n"
             b"Authentication-Results: other.example; spf=pass\r\n")
    r = send(srv, "news@lax.test", message("news@lax.test", extra=extra))
    assert r.code == 250, r
    stored = srv.messages("alice")[0]
    ar = authres(stored)
    assert len(ar) == 2, ar
    assert ar[0].startswith(HOSTNAME + ";") and "bank.test" not in ar[0]
    assert ar[1].startswith("other.example;")
    assert b"bank.test" not in stored


def test_tampered_signature_fails_and_dmarc_falls_back_to_spf(mx, keys):
    srv = mx()
    signed = sign(message("news@signed.test"), keys).replace(b"Hello.", b"Hellp.")
    r = send(srv, "news@signed.test", signed)
    assert r.code == 250, r      # SPF passes aligned: DMARC passes
    ar = authres(srv.messages("alice")[0])[0]
    assert "dkim=fail" in ar and "spf=pass" in ar and "dmarc=pass" in ar
    r = send(srv, "news@lax.test", signed)   # SPF aligned with nothing: reject
    assert (r.code, r.enh) == (550, "5.7.1"), r


def test_header_too_large_is_refused(mx):
    srv = mx()
    big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 900) for i in range(300))
    r = send(srv, "news@lax.test", message("news@lax.test", extra=big))
    assert (r.code, r.enh) == (552, "5.3.4"), r


def arc_sealed(keys, msg, aar):
    """msg with an Authentication-Results of list.test and its ARC set."""
    msg = b"Authentication-Results: list.test; " + aar + b"\r\n" + msg
    sig = dkim.arc_sign(msg, b"sel", b"list.test", keys["list"][0], b"list.test",
                        include_headers=[b"from", b"to", b"subject", b"date"])
    return b"".join(sig) + msg


def test_trusted_arc_sealer_vouches_for_a_forwarded_message(mx, keys):
    # the list forwarded mail that passed DMARC at the list; here it fails
    # (the list's IP is not in forged.test's SPF), so only trust in the
    # sealer lets it in
    msg = arc_sealed(keys, message("ceo@forged.test", subject="fwd"),
                     b"spf=pass smtp.mailfrom=ceo@forged.test; dmarc=pass header.from=forged.test")
    untrusting = mx()
    r = send(untrusting, "list-bounces@list.test", msg)
    assert (r.code, r.enh) == (550, "5.7.1"), r
    trusting = mx(arc={"trusted_sealers": ["list.test"]})
    r = send(trusting, "list-bounces@list.test", msg)
    assert r.code == 250, r
    ar = authres(trusting.messages("alice")[0])[0]
    assert "arc=pass" in ar and "dmarc=fail" in ar and "arc override by list.test" in ar, ar
    # a trusted sealer that saw a DMARC failure vouches for nothing
    bad = arc_sealed(keys, message("ceo@forged.test", subject="fwd2"),
                     b"dmarc=fail header.from=forged.test")
    r = send(trusting, "list-bounces@list.test", bad)
    assert (r.code, r.enh) == (550, "5.7.1"), r


def test_relay_hosts_are_not_judged(mx):
    # relay.hosts are our own networks: their mail is not another server's
    srv = mx(relay={"hosts": ["127.0.0.1/32"]})
    r = send(srv, "ceo@forged.test", message("ceo@forged.test"))
    assert r.code == 250, r
    assert authres(srv.messages("alice")[0]) == []
    assert srv.transactions()[-1].get("spf") is None


def test_dmarc_aggregate_data_is_recorded(mx, keys):
    """Each message whose From: domain has a DMARC record counts in the
    day's aggregate data, refused ones too (src/store/store_dmarc.c)."""
    srv = mx()
    assert send(srv, "news@signed.test", sign(message("news@signed.test"), keys)).code == 250
    assert send(srv, "ceo@forged.test", message("ceo@forged.test")).code == 550
    assert send(srv, "news@lax.test", message("news@lax.test")).code == 250   # no record
    p = srv.cli("dmarc", "reports")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any("signed.test" in ln and "1 msgs" in ln and "passed" in ln for ln in lines), p.stdout
    assert any("forged.test" in ln and "1 msgs" in ln and "never-pass" in ln for ln in lines), \
        p.stdout
    assert "lax.test" not in p.stdout
