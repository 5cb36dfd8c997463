"""Send rate limits (rate_limit.*, `postern user limits`): an authenticated
user over its messages or recipients per window gets 451 4.7.1 with the
seconds to wait, at MAIL or at the RCPT that would go over; a refused or
abandoned message costs nothing; a user's own limits override the
configuration's; on port 25 the client address is counted (127.0.0.x as
distinct clients), never over LMTP; the session goes on after a refusal."""
import re

from conftest import HOST, SMTPClient, free_port, make_message
from submission_util import ALICE, BOB, audit_events, login, submission_server

WAIT = re.compile(r"Rate limit exceeded, try again in (\d+) seconds")


def limits(user=None, client=None):
    group = {}
    if user:
        group["user"] = user
    if client:
        group["client"] = client
    return {"rate_limit": group}


def send(c, sender, rcpts, subject="limits"):
    """One whole transaction on an authenticated (or port-25) client: the final reply."""
    c.cmd(f"MAIL FROM:<{sender}>", expect=250)
    for r in rcpts:
        c.cmd(f"RCPT TO:<{r}>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(make_message(subject=subject, sender=sender, to=rcpts[0]) + b".\r\n")
    return c.reply()


def wait_of(reply):
    assert (reply.code, reply.enh) == (451, "4.7.1"), reply
    m = WAIT.search(reply.text)
    assert m, reply
    return int(m.group(1))


def test_user_messages_per_minute_replies_with_the_wait(postern):
    srv = submission_server(postern, config=limits(user={"messages_per_minute": 2}))
    c = login(srv)
    for i in range(2):
        assert send(c, ALICE, [BOB], f"m{i}").code == 250
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    # two a minute: the next one in 30 s (a little less by now)
    assert 25 <= wait_of(r) <= 30
    # the refusal is no error: the session goes on, and asking again is refused again
    c.cmd("NOOP", expect=250)
    assert 25 <= wait_of(c.cmd(f"MAIL FROM:<{ALICE}>")) <= 30
    # another user is counted apart
    b = login(srv, user=BOB)
    assert send(b, BOB, [ALICE]).code == 250
    ev = audit_events(srv, "net.rate_limited")
    assert ev and ev[-1]["user"] == ALICE and ev[-1]["limit"] == "messages", ev
    assert len(srv.maildir("bob")) == 2
    c.cmd("QUIT", expect=221)
    b.cmd("QUIT", expect=221)


def test_recipients_refused_at_the_rcpt_that_goes_over(postern):
    srv = submission_server(postern, config=limits(user={"recipients_per_hour": 3}))
    c = login(srv)
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    for rcpt in (BOB, "b1@remote.test", "b2@remote.test"):
        c.cmd(f"RCPT TO:<{rcpt}>", expect=250)
    # the fourth would make four: 20 minutes until the bucket holds it (3600 / 3)
    assert 1190 <= wait_of(c.cmd("RCPT TO:<b3@remote.test>")) <= 1200
    # the three taken go
    c.cmd("DATA", expect=354)
    c.send(make_message(sender=ALICE, to=BOB) + b".\r\n")
    assert c.reply().code == 250
    # now they are spent: the next recipient waits the whole 20 minutes
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    assert 1190 <= wait_of(c.cmd(f"RCPT TO:<{BOB}>")) <= 1200
    ev = audit_events(srv, "net.rate_limited")
    assert ev[-1]["limit"] == "recipients", ev


def test_refused_or_abandoned_messages_cost_nothing(postern):
    srv = submission_server(postern, config=limits(user={"messages_per_minute": 1}))
    c = login(srv)
    # abandoned: RSET after RCPT
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    c.cmd(f"RCPT TO:<{BOB}>", expect=250)
    c.cmd("RSET", expect=250)
    # refused: a sender alice does not own
    assert c.cmd(f"MAIL FROM:<{BOB}>").code == 553
    # refused at the end: no From: at all
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    c.cmd(f"RCPT TO:<{BOB}>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(b"Subject: no from\r\n\r\nbody\r\n.\r\n")
    assert c.reply().code >= 500
    # the one message a minute is still there
    assert send(c, ALICE, [BOB]).code == 250
    assert wait_of(c.cmd(f"MAIL FROM:<{ALICE}>")) > 0


def test_own_limits_from_the_cli(postern):
    srv = submission_server(postern, config=limits(user={"messages_per_hour": 1000}))
    out = srv.cli("user", "limits", ALICE, "--messages-per-minute", "1")
    assert out.returncode == 0, out.stderr
    assert "messages per minute:    1 (its own)" in out.stdout
    assert "messages per hour:      1000 (the default)" in out.stdout
    c = login(srv)
    assert send(c, ALICE, [BOB]).code == 250
    assert 55 <= wait_of(c.cmd(f"MAIL FROM:<{ALICE}>")) <= 60
    # bob has the configuration's: none a minute
    b = login(srv, user=BOB)
    for _ in range(3):
        assert send(b, BOB, [ALICE]).code == 250
    # none of its own: at once
    out = srv.cli("user", "limits", ALICE, "--messages-per-minute", "none")
    assert out.returncode == 0 and "messages per minute:    none (its own)" in out.stdout, out
    assert send(c, ALICE, [BOB]).code == 250
    out = srv.cli("user", "limits", ALICE, "--messages-per-minute", "default")
    assert "messages per minute:    none (the default)" in out.stdout, out


def test_cli_refuses_bad_values_and_unknown_users(postern):
    srv = postern(start=False)
    bad = srv.cli("user", "limits", ALICE, "--messages-per-hour", "-3")
    assert bad.returncode == 2 and "--messages-per-hour '-3'" in bad.stderr, bad
    bad = srv.cli("user", "limits", ALICE, "--recipients-per-day", "1e9", "--messages-per-day", "5")
    assert bad.returncode == 2, bad
    shown = srv.cli("user", "limits", ALICE)
    assert "messages per day:       1000 (the default)" in shown.stdout, shown   # nothing stored
    gone = srv.cli("user", "limits", "nobody@example.org", "--messages-per-day", "5")
    assert gone.returncode == 1 and "no such user" in gone.stderr, gone
    misplaced = srv.cli("user", "list", "--messages-per-day", "5")
    assert misplaced.returncode == 2, misplaced


def test_port_25_counts_each_client_address(postern):
    srv = postern(config=limits(client={"messages_per_minute": 1}))
    first = SMTPClient(srv.port, source="127.0.0.2")
    first.ehlo()
    assert send(first, "a@remote.test", ["alice@example.org"]).code == 250
    assert 55 <= wait_of(first.cmd("MAIL FROM:<a@remote.test>")) <= 60
    # another connection from the same address is the same client
    again = SMTPClient(srv.port, source="127.0.0.2")
    again.ehlo()
    assert wait_of(again.cmd("MAIL FROM:<b@remote.test>")) > 0
    # another address is another client
    other = SMTPClient(srv.port, source="127.0.0.3")
    other.ehlo()
    assert send(other, "c@remote.test", ["alice@example.org"]).code == 250
    assert len(srv.maildir("alice")) == 2
    ev = srv.logs("net.rate_limited")
    assert ev and ev[-1]["ip"] == "127.0.0.2" and ev[-1].get("user") is None, ev
    for c in (first, again, other):
        c.cmd("QUIT", expect=221)


def test_port_25_without_client_limits_by_default(postern):
    srv = postern()
    c = SMTPClient(srv.port, source="127.0.0.4")
    c.ehlo()
    for i in range(5):
        assert send(c, "a@remote.test", ["alice@example.org", "bob@example.org"], f"m{i}").code == 250
    assert not srv.logs("net.rate_limited")


def test_lmtp_is_not_limited(postern):
    """The MTA in front has taken the mail already: LMTP never defers it."""
    port = free_port()
    srv = postern(config={**limits(client={"messages_per_minute": 1, "recipients_per_minute": 1}),
                          "listen": {"lmtp": [f"{HOST}:{port}"]}})
    c = SMTPClient(port)
    c.cmd("LHLO mta.example.net", expect=250)
    for i in range(3):
        c.cmd("MAIL FROM:<a@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.cmd("RCPT TO:<bob@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(make_message(subject=f"m{i}") + b".\r\n")
        assert [r.code for r in c.replies(2)] == [250, 250]
    assert len(srv.maildir("alice")) == 3
    assert not srv.logs("net.rate_limited")
