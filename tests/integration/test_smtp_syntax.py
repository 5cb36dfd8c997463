"""Message syntax at the end of the data (src/filter/syntax.c): on port 25 and
on submission a message needs exactly one From: field with an address (several
addresses only with a Sender:, RFC 5322 3.6 and 3.6.2), and a header every
reader after postern reads the same way: no "From :" (RFC 5322 4.5 obsolete
syntax), no folded line of white space only (4.2), no line that is not a
"name: value" field (2.2). Anything else is refused with 550 5.6.0 and its
reason; the transaction ends, the session goes on, nothing is stored. LMTP
does not check (the MTA in front has accepted the mail already).
"""
import pytest

from conftest import HOST, QUEUED, SMTPClient, free_port
from submission_util import ALICE, BOB, login, submission_server

MSG_ID = "Message-ID: <syntax@remote.test>\r\n"

# name -> (header block, the refusal's text)
REFUSED = {
    "no-from": ("To: <alice@example.org>\r\nSubject: no sender\r\n",
                "Message has no From: header field (RFC 5322 3.6)"),
    "two-from-fields": ("From: <a@remote.test>\r\nFrom: <b@remote.test>\r\n"
                        "Subject: two\r\n",
                        "Message has more than one From: header field (RFC 5322 3.6)"),
    "two-from-addresses-no-sender": (
        "From: <a@remote.test>, <b@remote.test>\r\nSubject: list\r\n",
        "From: with several addresses needs a Sender: field (RFC 5322 3.6.2)"),
    "obs-space-before-colon": (
        "From : <a@remote.test>\r\nSubject: obs\r\n",
        "Malformed header: white space between a field name and its colon "
        "(RFC 5322 4.5 obsolete syntax, read differently by different programs)"),
    "blank-folded-line": (
        "Subject: x\r\n \r\nFrom: <a@remote.test>\r\n",
        "Malformed header: a folded line holding only white space (RFC 5322 4.2 "
        "obsolete syntax, read as the end of the header by some programs)"),
    "not-a-field": ("From: <a@remote.test>\r\nthis line is not a field\r\nSubject: x\r\n",
                    "Malformed header: a line is not a \"name: value\" field (RFC 5322 2.2)"),
}


def message(header):
    return (header + MSG_ID + "\r\nbody\r\n").encode()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_port25_refuses_malformed_header(server, name):
    header, text = REFUSED[name]
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], message(header))
        assert (r.code, r.enh) == (550, "5.6.0"), r
        assert r.text == f"5.6.0 {text}", r
        # the transaction is over, the session is not
        assert c.cmd("NOOP").code == 250
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
    assert server.all_delivered() == []
    [t] = server.transactions()
    assert t["result"].startswith("rejected: "), t


def test_port25_accepts_two_from_addresses_with_sender(server):
    header = ("From: <a@remote.test>, <b@remote.test>\r\nSender: <a@remote.test>\r\n"
              "To: <alice@example.org>\r\nSubject: from two\r\n")
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], message(header))
        assert r.code == 250 and QUEUED.match(r.text), r
    [data] = server.messages("alice")
    assert b"From: <a@remote.test>, <b@remote.test>\n" in data


def test_port25_refusal_then_good_message_in_one_session(server):
    good = message("From: <a@remote.test>\r\nSubject: fine\r\n")
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org"], message("Subject: bad\r\n"))
        assert (r.code, r.enh) == (550, "5.6.0"), r
        r = c.send_message("s@remote.test", ["alice@example.org"], good, ehlo=False)
        assert r.code == 250, r
    assert len(server.messages("alice")) == 1


def test_submission_refuses_message_without_from(postern):
    # a script that writes no From: is told at once (postern adds none, and the DKIM
    # signer cannot sign without one)
    srv = submission_server(postern)
    c = login(srv)
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    c.cmd(f"RCPT TO:<{BOB}>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(message(f"To: <{BOB}>\r\nSubject: no from\r\n") + b".\r\n")
    r = c.reply()
    assert (r.code, r.enh) == (550, "5.6.0"), r
    assert "no From:" in r.text, r
    c.close()
    assert srv.all_delivered() == []


def test_lmtp_does_not_check_syntax(postern):
    port = free_port()
    srv = postern(config={"listen": {"lmtp": [f"{HOST}:{port}"]}})
    with SMTPClient(port) as c:
        c.cmd("LHLO mta.example.net", expect=250)
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(message("Subject: no from\r\n") + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    assert len(srv.messages("alice")) == 1
