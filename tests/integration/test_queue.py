"""The outbound queue: MX delivery, TLS policy, retries, bounces (RFC 3464),
delay notices, crash safety, the circuit breaker and the queue CLI. Failures no
sender can be told of go to the postmaster: test_queue_postmaster.py. The section
numbers follow the issue's list of cases; 15 (DKIM) is in test_queue_dkim.py.

postern relays for 127.0.0.0/8; its queue looks MX hosts up in a private DNS
server (queue_dns) and delivers to aiosmtpd sinks on 127.0.0.2.. (see
queue_fixtures.py for the layout). Bounces go to alice@local.test.
"""
import datetime
import os
import re
import shutil
import signal
import time

import pytest

from queue_fixtures import (  # noqa: F401  (fixtures are used by name)
    ALICE, MX, make_message, parse_report, qserver, queue_ca, queue_dns, queue_template,
    sanitizer_report, send_mail, sinks, wait_for,
)


def ts(event):
    """A log line's time as seconds since the epoch."""
    return datetime.datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def only_trace_fields(prefix):
    """True when prefix (bytes) is nothing but postern's Received: field."""
    lines = prefix.split(b"\r\n")
    assert lines[-1] == b"", prefix
    lines = lines[:-1]
    return bool(lines) and lines[0].startswith(b"Received: ") and \
        all(ln[:1] in (b" ", b"\t") for ln in lines[1:])


def single_report(srv, timeout=15.0):
    reports = srv.wait_reports(1, timeout)
    assert len(reports) == 1, [r["subject"] for r in reports]
    return reports[0]


def assert_is_bounce(rep, srv_data, rcpts, status, subject):
    """Checks the structure every bounce must have; srv_data: the raw file."""
    assert srv_data.startswith(b"Return-Path: <>\n"), srv_data[:200]
    assert rep["content_type"] == "multipart/report", rep["content_type"]
    assert rep["report_type"] == "delivery-status"
    assert rep["parts"][:1] == ["text/plain"], rep["parts"]
    assert "message/delivery-status" in rep["parts"], rep["parts"]
    assert "text/rfc822-headers" in rep["parts"], rep["parts"]
    msg = rep["msg"]
    assert "MAILER-DAEMON@mail.local.test" in msg["From"]
    assert ALICE in msg["To"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert rep["per_message"]["reporting-mta"] == "dns; mail.local.test"
    got = {r["final-recipient"]: r for r in rep["recipients"]}
    assert sorted(got) == sorted(f"rfc822; {r}" for r in rcpts), rep["recipients"]
    for r in got.values():
        assert r["action"] == "failed", r
        assert r["status"] == status, r
    assert f"Subject: {subject}" in rep["headers_part"], rep["headers_part"]
    # RFC 3462: the headers only, never the body
    assert "leading dot" not in str(msg.as_string())
    return got


# ---- 1: plain delivery ---------------------------------------------------------------------


def test_plain_delivery(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver()
    mid, msg = make_message("plain delivery", "bob@plain.test")
    send_mail(srv.port, ALICE, ["bob@plain.test", "carol@plain.test"], msg)
    (d,) = sink.wait_deliveries(1)
    assert d["mail_from"] == ALICE
    assert sorted(d["rcpts"]) == ["bob@plain.test", "carol@plain.test"]
    # the message as sent, dot-stuffing undone, behind postern's own Received: field
    assert d["data"].endswith(msg), d["data"]
    assert only_trace_fields(d["data"][:-len(msg)]), d["data"][:400]
    assert b"\nReturn-Path:" not in d["data"] and not d["data"].startswith(b"Return-Path")
    assert d["message_id"] == mid
    srv.wait_queue_empty()
    assert srv.queue_files() == []
    p = srv.cli("queue", "list")
    assert p.returncode == 0 and "0 messages" in p.stdout, p.stdout
    delivered = srv.logs("queue.delivered")
    assert sorted(e["rcpt"] for e in delivered) == ["bob@plain.test", "carol@plain.test"]
    assert all(e["attempts"] == 1 and e["mx"] == "mx.plain.test" for e in delivered), delivered
    (att,) = srv.logs("queue.attempt")
    assert att["outcome"] == "done" and att["ip"] == MX["plain"] and att["tls"] == "none", att
    time.sleep(1.5)     # nothing more arrives: no duplicate, no report
    assert len(sink.received()) == 1
    assert srv.maildir() == []


# ---- 2: verified TLS --------------------------------------------------------------------------


def test_delivery_with_verified_tls(qserver, sinks):
    sink = sinks.start(MX["tls"], tls="ca", cert_name="mx1.tls.test")
    srv = qserver()
    mid = srv.send(["bob@tls.test"], subject="over tls")
    (d,) = sink.wait_deliveries(1)
    assert d["tls"], "delivered without TLS"
    assert d["message_id"] == mid
    srv.wait_queue_empty()
    atts = srv.logs("queue.attempt", domain="tls.test")
    assert len(atts) == 1, atts
    assert atts[0]["outcome"] == "done"
    assert atts[0]["tls"] != "none" and "TLS" in atts[0]["tls"], atts[0]
    assert "(unverified)" not in atts[0]["tls"], atts[0]


# ---- 3: opportunistic fallback ----------------------------------------------------------------


def test_opportunistic_falls_back_to_plain_on_unverified_cert(qserver, sinks):
    sink = sinks.start(MX["selfsigned"], tls="self", cert_name="mx.selfsigned.test")
    srv = qserver()
    mid = srv.send(["bob@selfsigned.test"], subject="fallback")
    (d,) = sink.wait_deliveries(1)
    assert d["message_id"] == mid
    assert not d["tls"], "the message went over the unverified TLS session"
    srv.wait_queue_empty()
    atts = srv.logs("queue.attempt", domain="selfsigned.test")
    assert [a["outcome"] for a in atts] == ["tls failed", "done"], atts
    assert "(unverified)" in atts[0]["tls"] and "not verified" in atts[0]["error"], atts[0]
    assert atts[1]["tls"] == "none", atts[1]
    assert len(srv.logs("queue.delivered")) == 1


# ---- 4: required TLS ---------------------------------------------------------------------------


def test_required_tls_defers_until_verified_tls(qserver, sinks):
    sink = sinks.start(MX["secure"])                    # no STARTTLS at all
    srv = qserver()
    mid = srv.send(["bob@secure.test"], subject="secret")
    srv.wait_log("queue.attempt", domain="secure.test", outcome="tls unavailable")
    srv.wait_log("queue.deferred", rcpt="bob@secure.test")
    (qid,) = srv.queue_list()
    # retried (max_retry 2s), never sent in the clear
    wait_for(lambda: srv.queue_list()[qid]["rcpts"]["bob@secure.test"]["attempts"] >= 2, 10,
             what="a second attempt")
    entry = srv.queue_list()[qid]["rcpts"]["bob@secure.test"]
    assert entry["status"] == "pending"
    show = srv.cli("queue", "show", qid)
    assert show.returncode == 0, show.stderr
    assert "STARTTLS not offered" in show.stdout and "4.7.4" in show.stdout, show.stdout
    assert "status pending" in show.stdout
    assert sink.received() == [] and sink.rcpt_log == []

    # a certificate nobody vouches for, then a CA-signed one for another name:
    # neither is good enough, and there is no plain-text fallback
    for kind, name in (("self", "mx.secure.test"), ("ca", "mx.other.test")):
        sinks.stop(sink)
        sink = sinks.start(MX["secure"], tls=kind, cert_name=name)
        before = len(srv.logs("queue.attempt", domain="secure.test"))
        assert srv.cli("queue", "retry", qid).returncode == 0
        srv.wait_log("queue.attempt", count=before + 1, domain="secure.test")
        time.sleep(0.5)
        new = srv.logs("queue.attempt", domain="secure.test")[before:]
        assert new and all(a["outcome"] == "tls failed" for a in new), (kind, new)
        assert sink.received() == [] and sink.rcpt_log == [], (kind, sink.rcpt_log)
        assert srv.queue_list()[qid]["rcpts"]["bob@secure.test"]["status"] == "pending"

    sinks.stop(sink)
    sink = sinks.start(MX["secure"], tls="ca", cert_name="mx.secure.test")
    assert srv.cli("queue", "retry", qid).returncode == 0
    (d,) = sink.wait_deliveries(1)
    assert d["tls"] and d["message_id"] == mid
    srv.wait_queue_empty()
    last = srv.logs("queue.attempt", domain="secure.test")[-1]
    assert last["outcome"] == "done" and last["policy"] == "required", last
    assert last["tls"] != "none" and "(unverified)" not in last["tls"], last
    assert srv.maildir() == []


# ---- 5: choosing MX hosts: fallback, implicit MX, loopback, loops --------------------------


def test_second_mx_used_when_first_is_down(qserver, sinks):
    sink = sinks.start(MX["multi2"])                    # nothing on multi1 (MX 10)
    srv = qserver()
    mid = srv.send(["bob@multi.test"], subject="second mx")
    (d,) = sink.wait_deliveries(1)
    assert d["message_id"] == mid
    srv.wait_queue_empty()
    atts = srv.logs("queue.attempt", domain="multi.test")
    assert [(a["ip"], a["outcome"]) for a in atts] == \
        [(MX["multi1"], "connect failed"), (MX["multi2"], "done")], atts
    (dl,) = srv.logs("queue.delivered")
    assert dl["mx"] == "mx2.multi.test" and dl["attempts"] == 1, dl


def test_implicit_mx_is_the_domains_address(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver()
    mid = srv.send(["bob@implicit.test"], subject="no MX record")
    (d,) = sink.wait_deliveries(1)
    assert d["message_id"] == mid and d["rcpts"] == ["bob@implicit.test"]
    (att,) = srv.logs("queue.attempt")
    assert att["mx"] == "implicit.test" and att["ip"] == MX["plain"], att
    srv.wait_queue_empty()


def test_loopback_mx_is_not_used_unless_allowed(qserver, sinks):
    """An MX whose address is loopback (a way to make a server mail itself) is skipped
    by default: the message waits, nothing connects."""
    sink = sinks.start(MX["plain"])
    srv = qserver({"queue": {"allow_loopback": False}})
    srv.send(["bob@plain.test"], subject="to a loopback MX")
    (df,) = srv.wait_log("queue.deferred", rcpt="bob@plain.test")
    assert "no usable address" in df["error"], df
    time.sleep(1)
    assert sink.connections == 0 and sink.received() == []
    assert srv.logs("queue.attempt") == []
    (qid,) = srv.queue_list()
    assert srv.queue_list()[qid]["rcpts"]["bob@plain.test"]["status"] == "pending"


def test_mail_loop_is_detected(qserver, sinks):
    """loop.test's MX is postern itself (127.0.0.9 on the queue port), and postern
    relays for 127.0.0.0/8: each hop adds a Received: field. RFC 5321 6.3: a loop
    must be detected (by counting Received: fields, with a threshold of at least 100)
    and the message bounced, not relayed forever."""
    srv = qserver(extra_listen=[f"{MX['loop']}:{sinks.port}"])
    srv.send(["someone@loop.test"], subject="round and round")

    def hops():
        return sum(1 for t in srv.logs("smtp.transaction")
                   if t.get("rcpts") == ["someone@loop.test"] and t.get("result") == "accepted")

    deadline = time.monotonic() + 40
    while not srv.maildir() and hops() <= 150 and time.monotonic() < deadline:
        time.sleep(0.2)
    n = hops()
    assert n <= 150, f"message relayed {n} times and still going: no loop detection"
    rep = single_report(srv, timeout=5)
    (r,) = rep["recipients"]
    assert r["final-recipient"] == "rfc822; someone@loop.test", r
    assert r["status"].startswith("5."), r
    assert 20 <= n <= 150, n


# ---- 6: temporary failure, then success ------------------------------------------------------


def test_deferred_then_delivered_on_retry(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("grey@plain.test", "451 4.7.1 Greylisted, come back later", "250 2.1.5 Ok")
    srv = qserver()
    mid = srv.send(["grey@plain.test"], subject="greylisted")
    (df,) = srv.wait_log("queue.deferred", rcpt="grey@plain.test")
    assert df["status"] == "4.7.1" and "Greylisted" in df["error"], df
    (d,) = sink.wait_deliveries(1, timeout=10)
    assert d["message_id"] == mid
    (dl,) = srv.wait_log("queue.delivered", rcpt="grey@plain.test")
    assert dl["attempts"] == 2, dl
    # min_retry 1s: not retried at once
    assert ts(dl) - ts(df) >= 0.8, (df, dl)
    srv.wait_queue_empty()
    time.sleep(1)
    assert len(sink.received()) == 1
    assert srv.maildir() == [], "a report for a message that was delivered"


# ---- 7: permanent failure: a bounce ------------------------------------------------------------


def test_permanent_failure_bounces(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test",
              "550 5.1.1 <nouser@plain.test>: Recipient address rejected: no such user here")
    srv = qserver()
    mid = srv.send(["nouser@plain.test"], subject="to nobody")
    rep = single_report(srv)
    (raw,) = srv.maildir()
    got = assert_is_bounce(rep, raw, ["nouser@plain.test"], "5.1.1", "to nobody")
    r = got["rfc822; nouser@plain.test"]
    assert r["diagnostic-code"].startswith("smtp; 550"), r
    assert "no such user here" in r["diagnostic-code"], r
    assert r["remote-mta"] == "dns; mx.plain.test", r
    assert f"Message-ID: {mid}" in rep["headers_part"]
    assert "nouser@plain.test" in rep["human"]
    assert rep["subject"].startswith("Undelivered Mail")
    assert sink.received() == []
    srv.wait_queue_empty()
    (b,) = srv.logs("queue.bounced")
    assert b["status"] == "5.1.1" and b["attempts"] == 1, b
    assert len(srv.logs("queue.bounce_sent")) == 1


def test_bounce_survives_a_failed_local_delivery(qserver, sinks):
    """A DSN whose local delivery fails for a while (here alice's Maildir path is
    unusable; a full disk does the same) must not be lost: RFC 5321 4.5.5 / 6.1 make
    the report the server's responsibility once it has accepted the message."""
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 unknown user")
    srv = qserver()
    mdir = srv.data_dir / "mail" / "local.test" / "alice" / "Maildir"
    if mdir.is_dir():
        shutil.rmtree(mdir)
    mdir.parent.mkdir(parents=True, exist_ok=True)
    mdir.write_text("in the way\n")
    srv.send(["nouser@plain.test"], subject="report me later")
    srv.wait_log("queue.bounced", rcpt="nouser@plain.test")
    time.sleep(1.5)
    mdir.unlink()                 # the local problem goes away
    rep = single_report(srv, timeout=10)
    assert rep["recipients"][0]["final-recipient"] == "rfc822; nouser@plain.test"


# ---- 8: some recipients fail -------------------------------------------------------------------


def test_partial_failure_bounces_only_the_failed_recipient(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("bad@plain.test", "550 5.1.1 <bad@plain.test>: unknown user")
    srv = qserver()
    mid = srv.send(["good@plain.test", "bad@plain.test"], subject="half and half")
    (d,) = sink.wait_deliveries(1)
    assert d["rcpts"] == ["good@plain.test"] and d["message_id"] == mid
    rep = single_report(srv)
    (raw,) = srv.maildir()
    assert_is_bounce(rep, raw, ["bad@plain.test"], "5.1.1", "half and half")
    assert "good@plain.test" not in rep["human"]
    srv.wait_queue_empty()
    time.sleep(1.5)
    assert len(sink.received()) == 1, "the accepted recipient got the message twice"
    assert len(srv.maildir()) == 1


# ---- more remote answers: PIPELINING, MAIL refused, SMTPUTF8, SIZE, many RCPTs -----------


def test_pipelined_transaction_with_mixed_rcpt_replies(qserver, sinks):
    sink = sinks.start(MX["plain"], pipelining=True)
    sink.rcpt("grey@plain.test", "450 4.2.0 mailbox busy", "250 2.1.5 Ok")
    sink.rcpt("bad@plain.test", "550 5.1.1 <bad@plain.test>: unknown user")
    srv = qserver()
    mid = srv.send(["ok@plain.test", "grey@plain.test", "bad@plain.test"], subject="pipelined")
    first, second = sink.wait_deliveries(2, timeout=10)
    assert first["rcpts"] == ["ok@plain.test"] and second["rcpts"] == ["grey@plain.test"]
    assert first["message_id"] == second["message_id"] == mid
    # RCPT replies matched to the right recipients, in the order sent
    assert [a for a, _ in sink.rcpt_log[:3]] == ["ok@plain.test", "grey@plain.test",
                                                 "bad@plain.test"], sink.rcpt_log
    rep = single_report(srv)
    (raw,) = srv.maildir()
    assert_is_bounce(rep, raw, ["bad@plain.test"], "5.1.1", "pipelined")
    att = {e["rcpt"]: e["attempts"] for e in srv.logs("queue.delivered")}
    assert att == {"ok@plain.test": 1, "grey@plain.test": 2}, att
    srv.wait_queue_empty()
    time.sleep(1)
    assert len(sink.received()) == 2


@pytest.mark.parametrize("pipelining", [False, True])
def test_refused_sender_bounces_every_recipient(qserver, sinks, pipelining):
    sink = sinks.start(MX["plain"], pipelining=pipelining)
    sink.mail("550 5.7.1 sender blocked here")
    srv = qserver()
    srv.send(["a@plain.test", "b@plain.test"], subject="blocked sender")
    rep = single_report(srv)
    (raw,) = srv.maildir()
    got = assert_is_bounce(rep, raw, ["a@plain.test", "b@plain.test"], "5.7.1", "blocked sender")
    assert all("sender blocked here" in r["diagnostic-code"] for r in got.values()), got
    assert sink.received() == []
    if not pipelining:      # pipelined RCPTs leave in the same batch as MAIL
        assert sink.rcpt_log == [], "RCPT sent after MAIL was refused"
    srv.wait_queue_empty()


def test_smtputf8_message_needs_an_smtputf8_mx(qserver, sinks):
    sink = sinks.start(MX["plain"], smtputf8=False)
    srv = qserver()
    rcpt = "jörg@plain.test"
    mid, msg = make_message("grüße", rcpt)
    send_mail(srv.port, ALICE, [rcpt], msg, mail_options=["SMTPUTF8"])
    rep = single_report(srv)
    (raw,) = srv.maildir()
    assert rep["recipients"] and rep["recipients"][0]["status"] == "5.6.7", rep["recipients"]
    assert raw.startswith(b"Return-Path: <>\n")
    assert sink.received() == [] and sink.mail_log == []
    srv.wait_queue_empty()

    sinks.stop(sink)
    sink = sinks.start(MX["plain"], smtputf8=True)
    mid, msg = make_message("grüße again", rcpt)
    send_mail(srv.port, ALICE, [rcpt], msg, mail_options=["SMTPUTF8"])
    (d,) = sink.wait_deliveries(1)
    assert d["rcpts"] == [rcpt] and "SMTPUTF8" in d["mail_options"], d
    assert d["data"].endswith(msg)
    srv.wait_queue_empty()
    assert len(srv.maildir()) == 1


def test_bounce_to_a_remote_sender_is_relayed_with_null_sender(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 <nouser@plain.test>: unknown user")
    srv = qserver()
    srv.send(["nouser@plain.test"], subject="from afar", sender="bob@plain.test")
    (d,) = sink.wait_deliveries(1)          # the DSN, back to bob's MX
    assert d["mail_from"] in ("", "<>") and d["rcpts"] == ["bob@plain.test"], d
    rep = parse_report(d["data"])
    assert rep["content_type"] == "multipart/report" and rep["report_type"] == "delivery-status"
    (r,) = rep["recipients"]
    assert r["final-recipient"] == "rfc822; nouser@plain.test" and r["status"] == "5.1.1", r
    assert "Subject: from afar" in rep["headers_part"]
    srv.wait_queue_empty()

    # bob's MX refuses the DSN as well: never bounced back, the postmaster (by
    # default the first user, alice) hears of it instead
    sink.rcpt("bob@plain.test", "550 5.1.1 <bob@plain.test>: gone")
    srv.send(["nouser@plain.test"], subject="from afar again", sender="bob@plain.test")
    srv.wait_log("queue.bounced", rcpt="bob@plain.test")
    rep = single_report(srv)
    assert rep["subject"] == "Postmaster notice: Undelivered Mail", rep["subject"]
    (r,) = rep["recipients"]
    assert r["final-recipient"] == "rfc822; bob@plain.test" and r["status"] == "5.1.1", r
    srv.wait_queue_empty()
    time.sleep(1.5)
    assert len(sink.received()) == 1
    assert sorted(e["rcpt"] for e in srv.logs("queue.bounced")) == \
        ["bob@plain.test", "nouser@plain.test", "nouser@plain.test"]
    assert [e["to"] for e in srv.logs("queue.bounce_sent")] == ["bob@plain.test"] * 2
    assert len(srv.maildir()) == 1


def test_size_parameter_is_not_below_the_octets_sent(qserver, sinks):
    """RFC 1870: SIZE= counts the octets sent after the 354, CRLF line ends included
    (without the dot-stuffing and the final dot); declaring less lets a message
    through MAIL that the remote must then refuse after the whole transfer."""
    sink = sinks.start(MX["plain"])
    srv = qserver(start=False)
    assert srv.cli("dkim", "keygen", "local.test").returncode == 0
    srv.start()
    body = "".join(f"line {i:04d} of a body with many short lines\r\n" for i in range(400))
    mid, msg = make_message("size counts", "bob@plain.test", body=body)
    send_mail(srv.port, ALICE, ["bob@plain.test"], msg)
    (d,) = sink.wait_deliveries(1)
    sizes = [int(o.split("=", 1)[1]) for o in d["mail_options"] if o.upper().startswith("SIZE=")]
    assert sizes, d["mail_options"]
    assert sizes[0] >= len(d["data"]), \
        f"SIZE={sizes[0]} declared, {len(d['data'])} octets sent"


def test_more_recipients_than_one_transaction_carries(qserver, sinks):
    """150 recipients at one domain: every one delivered once (in as many transactions as
    needed), and when all are refused, one report naming all 150."""
    sink = sinks.start(MX["plain"])
    srv = qserver({"limits": {"recipients": 500}})
    rcpts = [f"r{i:03d}@plain.test" for i in range(150)]
    mid = srv.send(rcpts, subject="many")
    wait_for(lambda: sum(len(d["rcpts"]) for d in sink.received()) >= 150, 15,
             what="150 recipients at the sink")
    srv.wait_queue_empty()
    got = sorted(r for d in sink.received() for r in d["rcpts"])
    assert got == rcpts, "some recipients missing or delivered twice"
    assert all(d["message_id"] == mid for d in sink.received())

    sink.default_rcpt("550 5.1.1 nobody here")
    srv.send(rcpts, subject="many refused")
    rep = single_report(srv)
    srv.wait_queue_empty()
    listed = sorted(r["final-recipient"] for r in rep["recipients"])
    assert len(listed) == 150, f"the report names {len(listed)} of 150 failed recipients"


# ---- 9: domains that take no mail, and DNS trouble ---------------------------------------


def test_null_mx_and_nonexistent_domain_bounce_at_once(qserver, sinks):
    srv = qserver()
    t0 = time.time()
    srv.send(["x@nullmx.test"], subject="to a null MX")
    srv.send(["y@nosuch.test"], subject="to nowhere")
    reports = srv.wait_reports(2, timeout=8)
    assert time.time() - t0 < 8
    by_rcpt = {}
    for raw, rep in zip(srv.maildir(), reports):
        subject = "to a null MX" if "nullmx" in rep["headers_part"] else "to nowhere"
        rcpt = "x@nullmx.test" if subject == "to a null MX" else "y@nosuch.test"
        status = "5.1.10" if subject == "to a null MX" else "5.1.2"
        got = assert_is_bounce(rep, raw, [rcpt], status, subject)
        by_rcpt[rcpt] = got[f"rfc822; {rcpt}"]
    assert sorted(by_rcpt) == ["x@nullmx.test", "y@nosuch.test"]
    assert "null MX" in by_rcpt["x@nullmx.test"]["diagnostic-code"]
    assert "does not exist" in by_rcpt["y@nosuch.test"]["diagnostic-code"]
    # decided by DNS alone: no connection was attempted, no retry
    assert srv.logs("queue.attempt") == []
    assert all(b["attempts"] == 1 for b in srv.logs("queue.bounced"))
    srv.wait_queue_empty()


def test_dns_failure_defers_and_never_bounces(qserver, sinks):
    srv = qserver()
    srv.send(["x@servfail.test"], subject="dns trouble")
    (df,) = srv.wait_log("queue.deferred", rcpt="x@servfail.test")
    assert df["status"] == "4.4.3", df
    wait_for(lambda: len(srv.logs("queue.deferred")) >= 2, 8, what="a second try")
    assert srv.logs("queue.bounced") == [] and srv.maildir() == []
    (qid,) = srv.queue_list()
    assert srv.queue_list()[qid]["rcpts"]["x@servfail.test"]["status"] == "pending"


# ---- 10: crashes ------------------------------------------------------------------------------------


def test_kill9_while_waiting_for_data_reply(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.hold(1)
    srv = qserver()
    mid = srv.send(["bob@plain.test"], subject="killed in flight")
    wait_for(lambda: sink.held_now == 1, 10, what="postern waiting for the DATA reply")
    srv.kill9()
    sink.release()          # the held transaction is never acknowledged
    time.sleep(0.3)
    assert sink.received() == []
    assert len(srv.queue_files()) == 1
    srv.start()
    (d,) = sink.wait_deliveries(1)
    assert d["message_id"] == mid
    srv.wait_queue_empty()
    time.sleep(2.5)         # > max_retry: a second copy would be here by now
    assert sink.count(mid) == 1
    assert srv.maildir() == []


def test_kill9_right_after_the_remote_acknowledged(qserver, sinks):
    """A recipient that postern has logged as delivered is never sent again,
    however close to the 250 the crash comes."""
    sink = sinks.start(MX["plain"])
    srv = qserver()
    logged_once = False
    for delay in (0.0, 0.002, 0.01, 0.05, 0.3):
        pid = srv.proc.pid

        def kill_now(pid=pid, delay=delay):
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)

        sink.after_ack = kill_now
        n_before = len(srv.logs("queue.delivered"))
        mid = srv.send(["bob@plain.test"], subject=f"killed after ack {delay}")
        wait_for(lambda: srv.proc.poll() is not None, 10, what="the kill")
        srv.proc.wait()
        srv.proc = None
        sink.after_ack = None
        logged = len(srv.logs("queue.delivered")) > n_before
        srv.start()
        wait_for(lambda: srv.queue_list() == {}, 15, what="no queued message")
        time.sleep(1.0)     # a second copy would go out at once: the row was due
        n = sink.count(mid)
        logged_once = logged_once or logged
        if logged:
            assert n == 1, f"delay {delay}: delivered {n} times after queue.delivered was logged"
        else:
            # not recorded before the crash: sending again is what RFC 5321 6.1 allows
            assert n in (1, 2), n
    # the exactly-once check above must have run at least once
    assert logged_once, "no kill came after queue.delivered was logged"
    # (a crash between forgetting a finished message and unlinking its file may
    # leave the file behind: test_orphan_queue_file_removed_at_restart)
    assert srv.maildir() == []


def test_orphan_queue_file_removed_at_restart(qserver, sinks):
    """A queue file without a queue entry, as a crash between removing a finished
    message's rows and unlinking its file leaves it, is removed at the next start:
    before the listeners open, no commit can be in progress."""
    sink = sinks.start(MX["plain"])
    srv = qserver()
    mid = srv.send(["bob@plain.test"], subject="soon an orphan")
    sink.wait_deliveries(1)
    srv.wait_queue_empty()
    assert srv.stop() == 0
    orphan = srv.data_dir / "queue" / "OrphanAfterCrash"
    orphan.write_bytes(b"Received: by mail.local.test\nSubject: orphan\n\nbody\n")
    srv.start()
    srv.send(["carol@plain.test"], subject="after the restart")
    sink.wait_deliveries(2)
    wait_for(lambda: srv.queue_list() == {}, 10, what="no queued message")
    time.sleep(1.5)
    assert srv.queue_files() == [], "orphaned queue file kept after restart"
    assert sink.count(mid) == 1


def test_kill9_after_accepting_before_any_delivery(qserver, sinks):
    srv = qserver()                       # no sink yet: nothing can be delivered
    mids = [srv.send([f"r{i}@plain.test"], subject=f"accepted {i}") for i in range(3)]
    srv.kill9()
    assert len(srv.queue_files()) == 3, srv.queue_files()
    sink = sinks.start(MX["plain"])
    srv.start()
    sink.wait_deliveries(3, timeout=15)
    srv.wait_queue_empty()
    time.sleep(1)
    assert sorted(sink.count(m) for m in mids) == [1, 1, 1]
    assert srv.maildir() == []


def test_clean_shutdown_while_a_remote_is_slow_to_answer_quit(qserver, sinks):
    """The message is delivered and postern politely waits for the reply to QUIT when
    it is told to stop: it must still stop promptly, cleanly and without leaks."""
    sink = sinks.start(MX["plain"])
    sink.quit_delay = 10
    srv = qserver()
    srv.send(["bob@plain.test"], subject="slow goodbye")
    sink.wait_deliveries(1)
    srv.wait_log("queue.delivered")
    time.sleep(0.3)
    t0 = time.monotonic()
    rc = srv.stop()
    assert time.monotonic() - t0 < 8, "shutdown waited for the remote's QUIT reply"
    report = sanitizer_report(srv.log_text())
    assert rc == 0 and not report, (rc, srv.log_text()[-4000:])


# ---- 11: never bounce a bounce (the postmaster hears of it: test_queue_postmaster.py) ----------------


def test_no_bounce_for_null_sender(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    srv = qserver()
    mid, msg = make_message("a report of some kind", "nouser@plain.test", sender=None)
    send_mail(srv.port, "", ["nouser@plain.test", "ok@plain.test"], msg)
    (d,) = sink.wait_deliveries(1)
    # the null reverse-path is kept when relaying (aiosmtpd shows it as "<>")
    assert d["mail_from"] in ("", "<>") and d["rcpts"] == ["ok@plain.test"], d
    srv.wait_log("queue.bounced", rcpt="nouser@plain.test")
    srv.wait_queue_empty()
    time.sleep(1.5)
    # nothing went back towards the null sender; the one report is the postmaster's
    assert len(sink.received()) == 1
    assert srv.logs("queue.bounce_sent") == [] and srv.logs("queue.report_unroutable") == []
    [rep] = srv.reports()
    assert rep["subject"] == "Postmaster notice: Undelivered Mail", rep["subject"]
    assert srv.queue_list() == {}


# ---- 12: the queue CLI ----------------------------------------------------------------------------


def test_queue_cli(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.default_rcpt("451 4.3.0 busy right now")
    srv = qserver({"queue": {"min_retry": "1h", "max_retry": "2h"}})
    for name in ("a", "b", "c"):
        srv.send([f"{name}@plain.test"], subject=f"cli {name}")
    srv.wait_log("queue.deferred", count=3)
    q = srv.queue_list()
    ids = {next(iter(m["rcpts"])): i for i, m in q.items()}
    assert sorted(ids) == ["a@plain.test", "b@plain.test", "c@plain.test"], q
    a, b, c = ids["a@plain.test"], ids["b@plain.test"], ids["c@plain.test"]
    assert all(m["rcpts"][r]["attempts"] == 1 and m["sender"] == ALICE
               for m in q.values() for r in m["rcpts"]), q

    show = srv.cli("queue", "show", a)
    assert show.returncode == 0, show.stderr
    for text in (f"id:        {a}", "<alice@local.test>", "a@plain.test", "status pending",
                 "attempts 1", "busy right now"):
        assert text in show.stdout, (text, show.stdout)
    # the reply code in the last error, not "451" anywhere (an id or a path may hold it)
    assert re.search(r"(?m)^ +last error: .*\bsmtp; 451[ -]", show.stdout), show.stdout

    def attempts(i):
        return len(srv.logs("queue.attempt", id=i))

    # held: not tried, even when made due
    assert srv.cli("queue", "hold", a).returncode == 0
    assert srv.queue_list()[a]["held"]
    assert srv.cli("queue", "retry", a).returncode == 0
    time.sleep(2.5)
    assert attempts(a) == 1
    # b was not made due: min_retry (1h) keeps it waiting too
    assert attempts(b) == 1

    # released, a is due at once (the retry above still stands)
    sink.default_rcpt("250 2.1.5 Ok")
    assert srv.cli("queue", "release", a).returncode == 0
    (d,) = sink.wait_deliveries(1, timeout=5)
    assert d["rcpts"] == ["a@plain.test"]
    wait_for(lambda: a not in srv.queue_list(), 5, what="a to leave the queue")
    assert attempts(b) == 1 and attempts(c) == 1

    p = srv.cli("queue", "delete", c)
    assert p.returncode == 0, p.stderr
    assert c not in srv.queue_list()
    assert c not in srv.queue_files()

    for verb in ("delete", "hold", "show"):                 # --all means retry only
        p = srv.cli("queue", verb, "--all")
        assert p.returncode == 2 and "--all" in p.stderr, (verb, p)
    assert b in srv.queue_list()
    assert srv.cli("queue", "retry", "--all").returncode == 0
    sink.wait_deliveries(2, timeout=5)
    srv.wait_queue_empty()
    time.sleep(1)
    assert sorted(r for d in sink.received() for r in d["rcpts"]) == ["a@plain.test",
                                                                       "b@plain.test"]
    assert srv.maildir() == [], "delete must not bounce"

    for verb in ("show", "retry", "delete", "hold", "release"):
        p = srv.cli("queue", verb, "NoSuchMessage000")
        assert p.returncode == 1, (verb, p.returncode, p.stdout, p.stderr)
        assert "no queued message" in p.stderr, (verb, p.stderr)
    p = srv.cli("queue", "list")
    assert p.returncode == 0 and "0 messages, 0 recipients" in p.stdout, p.stdout


# ---- 13: circuit breaker -------------------------------------------------------------------------


def test_circuit_breaker_pauses_an_unreachable_domain(qserver, sinks):
    srv = qserver()                       # circuit_failures 3, circuit_cooldown 5s
    for i in range(4):
        srv.send([f"r{i}@down.test"], subject=f"unreachable {i}")
    (opened,) = srv.wait_log("queue.circuit_open", domain="down.test", timeout=10)
    t_open = ts(opened)
    before = [a for a in srv.logs("queue.attempt", domain="down.test") if ts(a) <= t_open]
    assert len(before) >= 3 and all(a["outcome"] == "connect failed" for a in before), before
    # attempts already under way may still end just after; none may start in the pause
    # (which the server counts in whole seconds: at least 4 of the 5)
    time.sleep(max(0.0, t_open + 3.9 - time.time()))
    paused = [a for a in srv.logs("queue.attempt", domain="down.test")
              if t_open + 0.5 < ts(a) < t_open + 3.9]
    assert paused == [], paused
    # after the cool-down the domain is tried again
    srv.wait_log("queue.attempt", domain="down.test", pred=lambda a: ts(a) >= t_open + 3.9,
                 timeout=6)
    assert all(m["rcpts"][r]["status"] == "pending"
               for m in srv.queue_list().values() for r in m["rcpts"])
    assert srv.maildir() == []


def test_paused_domain_backlog_does_not_starve_other_domains(qserver, sinks):
    """1,200 recipients of an unreachable domain, more than two scheduling
    batches: once its circuit opens they wait for the cool-down, and mail for
    a reachable domain still goes out at once."""
    sink = sinks.start(MX["plain"])
    srv = qserver({"queue": {"circuit_cooldown": "60s", "per_domain": 2}})
    for i in range(12):
        srv.send([f"r{i}.{k}@down.test" for k in range(100)], subject=f"backlog {i}")
    srv.wait_log("queue.circuit_open", domain="down.test", timeout=15)
    t0 = time.time()
    srv.send(["bob@plain.test"], subject="must not wait")
    (d,) = sink.wait_deliveries(1, timeout=10)
    assert time.time() - t0 < 8, "held up behind the paused domain's backlog"
    assert d["rcpts"] == ["bob@plain.test"]


# ---- 14: expiry --------------------------------------------------------------------------------


def test_expired_message_bounces_with_447(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.default_rcpt("451 4.2.0 mailbox busy, try later")
    srv = qserver({"queue": {"max_age": "5s"}})
    t0 = time.time()
    srv.send(["slow@plain.test"], subject="too late")
    rep = single_report(srv, timeout=15)
    assert time.time() - t0 >= 3.9, "bounced before max_age (counted in whole seconds)"
    (raw,) = srv.maildir()
    got = assert_is_bounce(rep, raw, ["slow@plain.test"], "4.4.7", "too late")
    diag = got["rfc822; slow@plain.test"]["diagnostic-code"]
    assert re.match(r"smtp; 451[ -]", diag) and "mailbox busy" in diag, diag
    assert len(srv.logs("queue.attempt")) >= 2
    srv.wait_queue_empty()
    assert sink.received() == []


# ---- 16: delay notice ----------------------------------------------------------------------------


def test_delay_notice_sent_once(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.default_rcpt("451 4.2.0 over quota for now")
    srv = qserver({"queue": {"warn_after": "2s"}})
    mid = srv.send(["later@plain.test"], subject="be patient")
    rep = single_report(srv, timeout=10)
    assert rep["content_type"] == "multipart/report" and rep["report_type"] == "delivery-status"
    assert "Delayed Mail" in rep["subject"], rep["subject"]
    (r,) = rep["recipients"]
    assert r["final-recipient"] == "rfc822; later@plain.test", r
    assert r["action"] == "delayed", r
    assert r["status"].startswith("4."), r
    assert "over quota" in r["diagnostic-code"], r
    assert "Subject: be patient" in rep["headers_part"]
    time.sleep(4)                       # several more failed attempts: still one notice
    assert len(srv.logs("queue.attempt")) >= 3
    assert len(srv.maildir()) == 1
    assert len(srv.logs("queue.delay_notice")) == 1
    sink.default_rcpt("250 2.1.5 Ok")
    (d,) = sink.wait_deliveries(1, timeout=10)
    assert d["message_id"] == mid
    srv.wait_queue_empty()
    time.sleep(1)
    assert len(srv.maildir()) == 1, "a report after the message was delivered"
