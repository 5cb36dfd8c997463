"""Notices for the admin from the outbound queue: a failure no sender can be
told of goes to the postmaster instead of vanishing (RFC 5321 6.1: an accepted
message is the server's responsibility).

- a double bounce: a message with the null reverse-path (or from a
  MAILER-DAEMON) fails; the report goes to the postmaster, never back;
- a bounce whose local sender has no mailbox (any more) goes there too;
- the postmaster may be remote: the notice is queued to it with sender <>;
  a notice that fails in turn is logged, not reported again (no loop);
- with nobody to receive the notice yet, the message stays queued and the
  notice is delivered once a user exists;
- mail for postmaster@ with a remote postmaster is relayed to it.

World and fixtures: queue_fixtures.py (hostname mail.local.test, domain
local.test, user alice: by default the postmaster, as the first user)."""
import time

from queue_fixtures import (  # noqa: F401  (fixtures are used by name)
    ALICE, MX, make_message, parse_report, qserver, queue_ca, queue_dns, queue_template,
    send_mail, sinks, wait_for,
)

NOTICE_SUBJECT = "Postmaster notice: Undelivered Mail"


def send_null_sender(srv, rcpts, subject="a report of some kind"):
    mid, msg = make_message(subject, rcpts[0], sender=None)
    send_mail(srv.port, "", rcpts, msg)
    return mid


def assert_notice(rep, failed_rcpt, subject):
    assert rep["subject"] == NOTICE_SUBJECT, rep["subject"]
    msg = rep["msg"]
    assert msg["To"] == "Postmaster <postmaster@mail.local.test>", msg["To"]
    assert "MAILER-DAEMON@mail.local.test" in msg["From"]
    assert msg["Auto-Submitted"] == "auto-generated"
    assert rep["report_type"] == "delivery-status"
    (r,) = rep["recipients"]
    assert r["final-recipient"] == f"rfc822; {failed_rcpt}" and r["action"] == "failed", r
    assert f"Subject: {subject}" in rep["headers_part"], rep["headers_part"]
    assert "leading dot" not in msg.as_string()     # headers only, never the body


def test_double_bounce_reaches_the_default_postmaster(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    srv = qserver()
    mid = send_null_sender(srv, ["nouser@plain.test"])
    (raw,) = wait_for(lambda: srv.maildir(), what="the notice in alice's Maildir")
    assert raw.startswith(b"Return-Path: <>\n"), raw[:100]
    [rep] = srv.reports()
    assert_notice(rep, "nouser@plain.test", "a report of some kind")
    assert f"Message-ID: {mid}" in rep["headers_part"]
    assert "A message from <> could not be delivered" in rep["human"], rep["human"]
    srv.wait_queue_empty()
    [n] = srv.logs("queue.postmaster_notice")
    assert n["reason"] == "null sender" and n["sender"] == "" and n["level"] == "warn", n
    assert srv.logs("queue.bounce_sent") == []


def test_failure_from_mailer_daemon_reaches_the_postmaster(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    srv = qserver({"postmaster": ALICE})
    srv.send(["nouser@plain.test"], subject="from the mail system",
             mail_from="MAILER-DAEMON@remote.test")
    rep = srv.wait_reports(1)[0]
    assert_notice(rep, "nouser@plain.test", "from the mail system")
    srv.wait_queue_empty()
    assert srv.logs("queue.postmaster_notice")[0]["reason"] == "sender is the mail system"


def test_bounce_for_a_local_sender_without_mailbox_goes_to_the_postmaster(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    srv = qserver()
    srv.send(["nouser@plain.test"], subject="from a ghost", mail_from="ghost@local.test")
    rep = srv.wait_reports(1)[0]
    assert_notice(rep, "nouser@plain.test", "from a ghost")
    assert "could not be returned to <ghost@local.test>" in rep["human"], rep["human"]
    srv.wait_queue_empty()
    assert srv.logs("queue.postmaster_notice")[0]["reason"] == "sender has no mailbox here"
    assert srv.logs("queue.report_unroutable") == []


def test_double_bounce_to_a_remote_postmaster(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    srv = qserver({"postmaster": "noc@plain.test"})
    send_null_sender(srv, ["nouser@plain.test"], subject="bounce of a bounce")
    (d,) = sink.wait_deliveries(1)
    assert d["mail_from"] in ("", "<>") and d["rcpts"] == ["noc@plain.test"], d
    assert_notice(parse_report(d["data"]), "nouser@plain.test", "bounce of a bounce")
    srv.wait_queue_empty()
    assert srv.maildir() == []


def test_a_failing_notice_is_logged_not_reported_again(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    sink.rcpt("noc@plain.test", "550 5.1.1 the admin moved away")
    srv = qserver({"postmaster": "noc@plain.test"})
    send_null_sender(srv, ["nouser@plain.test"])
    [e] = srv.wait_log("queue.postmaster_notice_failed")
    assert e["rcpt"] == "noc@plain.test" and e["level"] == "error", e
    srv.wait_queue_empty()
    time.sleep(2.5)                     # several runs of the queue: nothing goes round
    assert len(srv.logs("queue.postmaster_notice")) == 1
    assert len(srv.logs("queue.postmaster_notice_failed")) == 1
    assert sink.received() == [] and srv.maildir() == []
    assert srv.queue_list() == {}


def test_notice_waits_for_a_postmaster_mailbox(qserver, sinks):
    sink = sinks.start(MX["plain"])
    sink.rcpt("nouser@plain.test", "550 5.1.1 no such user")
    srv = qserver(start=False)
    p = srv.cli("user", "del", ALICE)
    assert p.returncode == 0, p.stderr
    srv.start()
    [w] = srv.logs("config.postmaster_unset")
    assert w["user"] is None, w
    send_null_sender(srv, ["nouser@plain.test"], subject="kept for the admin")
    srv.wait_log("queue.postmaster_unreachable", count=2)   # retried, not dropped
    assert len(srv.queue_list()) == 1
    p = srv.cli("user", "add", "carol@local.test", "--password-stdin", input="pw\n")
    assert p.returncode == 0, p.stderr
    rep = srv.wait_reports(1, user="carol")[0]
    assert_notice(rep, "nouser@plain.test", "kept for the admin")
    srv.wait_queue_empty()


def test_mail_for_postmaster_is_relayed_to_a_remote_postmaster(qserver, sinks):
    sink = sinks.start(MX["plain"])
    srv = qserver({"postmaster": ["noc@plain.test", ALICE]})
    mid = srv.send(["POSTMASTER@local.test"], subject="hello admin", sender="someone@remote.test")
    (d,) = sink.wait_deliveries(1)
    # forwarded like an alias's mail: with an SRS sender at the hostname (test_srs.py)
    assert d["rcpts"] == ["noc@plain.test"], d
    assert d["mail_from"].startswith("SRS0="), d
    assert d["mail_from"].endswith("=remote.test=someone@mail.local.test"), d
    assert d["message_id"] == mid
    (raw,) = srv.maildir()
    assert b"Subject: hello admin" in raw
    srv.wait_queue_empty()
