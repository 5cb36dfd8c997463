"""Ordinary SMTP delivery as real clients do it: smtplib, swaks, pipelining,
BDAT, several recipients, aliases, subaddresses, postmaster, SMTPUTF8."""
import re
import shutil
import smtplib
import subprocess

import pytest

from conftest import HOSTNAME, make_message, split_delivered, swaks_got_reply

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as ([A-Za-z0-9]+)$")


def assert_lf_only(data):
    assert b"\r" not in data, f"CR left in a delivered file: {data[:300]!r}"


# ---- smtplib -------------------------------------------------------------------------


def test_smtplib_plain_delivery(server):
    msg = make_message(subject="plain delivery", body="line one\r\nline two\r\n")
    with server.smtp() as s:
        code, resp = s.ehlo()
        assert code == 250
        assert resp.decode().splitlines()[0] == f"{HOSTNAME} greets client.example.net"
        for ext in ("pipelining", "8bitmime", "enhancedstatuscodes", "smtputf8", "chunking",
                    "starttls"):
            assert s.has_extn(ext), ext
        assert s.esmtp_features["size"] == str(25 * 1024 * 1024)
        assert s.mail("sender@remote.test") == (250, b"2.1.0 Ok")
        assert s.rcpt("alice@example.org") == (250, b"2.1.5 Ok")
        code, resp = s.data(msg)
        assert code == 250
        m = QUEUED.match(resp.decode())
        assert m, resp
        qid = m.group(1)
        code, resp = s.quit()
        assert code == 221
    files = server.maildir("alice")
    assert len(files) == 1
    assert server.maildir("bob") == []
    data = files[0].read_bytes()
    assert data.startswith(b"Return-Path: <sender@remote.test>\nReceived: from client.example.net ([127.0.0.1])\n")
    trace, body = split_delivered(data)
    assert f"by {HOSTNAME} (postern) with ESMTP id {qid}".encode() in trace
    assert b"for <alice@example.org>;" in trace
    assert_lf_only(data)
    assert body == msg.replace(b"\r\n", b"\n")
    # Maildir name carries the size (S=) of the file as stored
    assert f",S={len(data)}," in files[0].name
    assert server.maildir("alice", sub="tmp") == []


def test_smtplib_sendmail_helo_and_null_sender(server):
    msg = make_message(subject="bounce")
    with server.smtp() as s:
        assert s.helo()[0] == 250
        s.mail("")
        assert s.rcpt("bob@example.org")[0] == 250
        code, _ = s.data(msg)
        assert code == 250
        s.quit()
    [data] = server.messages("bob")
    assert data.startswith(b"Return-Path: <>\n")
    assert b" with SMTP id " in data  # HELO, not EHLO


def test_smtplib_starttls_delivery(server):
    msg = make_message(subject="over tls")
    import ssl
    from conftest import insecure_context
    with server.smtp() as s:
        s.ehlo()
        code, _ = s.starttls(context=insecure_context())
        assert code == 220
        s.ehlo()
        assert not s.has_extn("starttls"), "STARTTLS offered again inside TLS"
        assert isinstance(s.sock, ssl.SSLSocket)
        assert s.sock.version() == "TLSv1.3"
        s.mail("sender@remote.test")
        assert s.rcpt("bob@example.org")[0] == 250
        code, resp = s.data(msg)
        assert code == 250 and QUEUED.match(resp.decode()), resp
        s.close()  # QUIT over TLS has its own test
    [data] = server.messages("bob")
    trace, body = split_delivered(data)
    assert b" with ESMTPS id " in trace
    assert b"(using TLSv1.3 with cipher " in trace
    assert body == msg.replace(b"\r\n", b"\n")


def test_quit_over_tls_gets_221(server):
    from conftest import insecure_context
    s = server.smtp()
    s.ehlo()
    s.starttls(context=insecure_context())
    s.ehlo()
    try:
        code, resp = s.quit()
    except smtplib.SMTPServerDisconnected as e:
        pytest.fail(f"the 221 reply to QUIT inside TLS never arrived: {e}")
    assert code == 221


# ---- swaks -----------------------------------------------------------------------------


def run_swaks(server, *extra):
    swaks = shutil.which("swaks")
    if swaks is None:
        pytest.skip("swaks not installed")
    return subprocess.run([swaks, "--server", f"127.0.0.1:{server.port}", "--helo", "swaks.example.net",
                           "--from", "swaks@remote.test", "--to", "alice@example.org",
                           "--header", "Subject: swaks test", "--body", "hello from swaks",
                           "--timeout", "10", *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, text=True)


def test_swaks_plain(server):
    p = run_swaks(server)
    assert p.returncode == 0, p.stdout
    assert swaks_got_reply(p.stdout, 250, "2.0.0 Ok: queued as"), p.stdout
    [data] = server.messages("alice")
    assert data.startswith(b"Return-Path: <swaks@remote.test>\n")
    assert b"Subject: swaks test\n" in data
    assert b"hello from swaks" in data


def test_swaks_tls(server):
    p = run_swaks(server, "--tls")
    assert swaks_got_reply(p.stdout, 250, "2.0.0 Ok: queued as"), p.stdout
    [data] = server.messages("alice")
    assert b" with ESMTPS id " in data
    assert p.returncode == 0, f"swaks --tls failed (rc {p.returncode}):\n{p.stdout}"


# ---- pipelining -------------------------------------------------------------------------


def test_pipelining_replies_in_order(server):
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<p@remote.test>\r\n"
               b"RCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\n"
               b"RCPT TO:<bob@example.org>\r\n"
               b"DATA\r\n")
        r = c.replies(5)
        assert [(x.code, x.enh) for x in r] == [(250, "2.1.0"), (250, "2.1.5"), (550, "5.1.1"),
                                               (250, "2.1.5"), (354, None)], r
        c.send(make_message(subject="pipelined") + b".\r\nNOOP\r\nQUIT\r\n")
        r = c.replies(3)
        assert r[0].code == 250 and QUEUED.match(r[0].text), r
        assert (r[1].code, r[1].enh) == (250, "2.0.0")
        assert (r[2].code, r[2].enh) == (221, "2.0.0")
        assert c.is_closed()
    assert len(server.maildir("alice")) == 1
    assert len(server.maildir("bob")) == 1


def test_pipelined_two_transactions_in_one_write(server):
    m1 = make_message(subject="first")
    m2 = make_message(subject="second")
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n" + m1 +
               b".\r\nMAIL FROM:<b@remote.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n" + m2 +
               b".\r\n")
        r = c.replies(8)
        assert [x.code for x in r] == [250, 250, 354, 250, 250, 250, 354, 250], r
    msgs = server.messages("alice")
    assert len(msgs) == 2
    subjects = sorted(re.search(rb"Subject: (\w+)", m).group(1) for m in msgs)
    assert subjects == [b"first", b"second"]


# ---- BDAT ----------------------------------------------------------------------------------


def test_bdat_multi_chunk(server):
    part1 = b"Subject: chunked\r\nFrom: <c@remote.test>\r\n\r\n"
    part2 = b"first part, "
    part3 = b"last part\r\n.leading dot stays\r\n"
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<c@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        r = c.expect(250, "2.0.0")
        c.send(b"BDAT %d\r\n" % len(part2) + part2)
        c.expect(250, "2.0.0")
        c.send(b"BDAT %d LAST\r\n" % len(part3) + part3)
        r = c.reply()
        assert r.code == 250 and QUEUED.match(r.text), r
        # DATA after a finished BDAT transaction is a new transaction: fine
        c.cmd("NOOP", expect=250)
    [data] = server.messages("alice")
    _, body = split_delivered(data)
    # BDAT content is not dot-unstuffed; line ends become LF in the Maildir
    assert body == (part1 + part2 + part3).replace(b"\r\n", b"\n")


def test_bdat_pipelined_with_zero_last(server):
    payload = b"Subject: zero last\r\n\r\nbody\r\n"
    with server.connect() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<z@remote.test>\r\nRCPT TO:<bob@example.org>\r\n"
               b"BDAT %d\r\n" % len(payload) + payload + b"BDAT 0 LAST\r\n")
        r = c.replies(4)
        assert [x.code for x in r] == [250, 250, 250, 250], r
        assert QUEUED.match(r[3].text), r
    [data] = server.messages("bob")
    assert split_delivered(data)[1] == payload.replace(b"\r\n", b"\n")


def test_bdat_without_mail_consumes_chunk(server):
    chunk = b"QUIT\r\nRSET\r\n"     # must be swallowed as data, never executed
    with server.connect() as c:
        c.ehlo()
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk + b"NOOP\r\n")
        c.expect(503, "5.5.1")
        r = c.reply()
        assert (r.code, r.enh) == (250, "2.0.0"), f"chunk content was executed: {r}"
        assert c.cmd("NOOP").code == 250
        # and BDAT with MAIL but no recipients: 554, chunk consumed too
        c.cmd("MAIL FROM:<x@remote.test>", expect=250)
        c.send(b"BDAT 6 LAST\r\nQUIT\r\n" + b"NOOP\r\n")
        c.expect(554, "5.5.1")
        c.expect(250, "2.0.0")
    assert server.all_delivered() == []


def test_data_after_bdat_refused(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT 5\r\nhello")
        c.expect(250)
        r = c.cmd("DATA")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.send(b"BDAT 2 LAST\r\n\r\n")
        r = c.reply()
        assert r.code == 250 and QUEUED.match(r.text), r
    [data] = server.messages("alice")
    assert split_delivered(data)[1] == b"hello\n"


def test_bdat_bad_syntax_closes(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.test>", expect=250)
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
        c.send(b"BDAT ten\r\n")
        c.expect(501, "5.5.4")
        assert c.is_closed()
    assert server.maildir("alice") == []


# ---- recipients and aliases ------------------------------------------------------------


def test_several_recipients_one_copy_each(server):
    msg = make_message(subject="to many")
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["alice@example.org", "bob@example.org"], msg)
        assert r.code == 250, r
    [a] = server.messages("alice")
    [b] = server.messages("bob")
    assert a == b
    _, body = split_delivered(a)
    assert body == msg.replace(b"\r\n", b"\n")
    assert b"\tfor <" not in a  # one Received for several recipients names none


def test_duplicate_recipients_get_one_copy(server):
    msg = make_message(subject="dups")
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<d@remote.test>", expect=250)
        for rcpt in ("alice@example.org", "ALICE@Example.ORG", "both@example.org",
                     "alice+tag@example.org", "postmaster@example.org"):
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            assert (r.code, r.enh) == (250, "2.1.5"), (rcpt, r)
        c.cmd("DATA", expect=354)
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    assert len(server.maildir("alice")) == 1
    assert len(server.maildir("bob")) == 1


def test_unknown_user(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd("RCPT TO:<nobody@example.org>")
        assert (r.code, r.enh) == (550, "5.1.1"), r
        r = c.cmd("DATA")
        assert (r.code, r.enh) == (554, "5.5.1"), r
    assert server.all_delivered() == []


@pytest.mark.parametrize("rcpt", ["victim@remote.test", "alice@example.org.evil.test",
                                  "alice@sub.example.org", "alice@[127.0.0.1]",
                                  "@relay.test:victim@remote.test"])
def test_relay_denied(server, rcpt):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<spammer@remote.test>", expect=250)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert (r.code, r.enh) == (554, "5.7.1"), (rcpt, r)
        c.cmd("QUIT", expect=221)


def queued_rcpts(srv):
    """Recipients recorded in the outbound queue (empty when there is no queue table)."""
    import sqlite3
    db = sqlite3.connect(f"file:{srv.data_dir / 'postern.db'}?mode=ro", uri=True, timeout=10)
    try:
        return [r[0] for r in db.execute("SELECT rcpt FROM queue_rcpts")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def test_remote_alias_never_lost(server):
    """An alias to a remote address: without an outbound queue RCPT gets 451 4.3.0;
    with one, the copy for the remote target must be recorded before the 250."""
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd("RCPT TO:<fwd@example.org>")
        assert (r.code, r.enh) in ((451, "4.3.0"), (250, "2.1.5")), r
        c.cmd("RCPT TO:<bob@example.org>", expect=250)
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        final = c.reply()
        assert final.code == 250, final
    assert len(server.maildir("bob")) == 1
    assert server.maildir("alice") == []
    assert not (server.data_dir / "mail" / "remote.test").exists()
    [t] = server.transactions()
    if r.code == 451:
        assert t["rcpts"] == ["bob@example.org"]
        assert "someone@remote.test" not in queued_rcpts(server)
    else:
        assert t["rcpts"] == ["fwd@example.org", "bob@example.org"]
        # durable before the 250: a queue row, or the queue runner already logged it
        mentioned = [e for e in server.logs() if e.get("event") != "smtp.transaction"
                     and "someone@remote.test" in str(e)]
        assert "someone@remote.test" in queued_rcpts(server) or mentioned, \
            "remote copy accepted with 250 but not recorded anywhere"


def test_subaddress(server):
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["alice+newsletters@example.org"], make_message())
        assert r.code == 250
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        # the tag does not make an unknown user known
        r = c.cmd("RCPT TO:<carol+x@example.org>")
        assert (r.code, r.enh) == (550, "5.1.1"), r
        # a leading '+' is not a subaddress
        r = c.cmd("RCPT TO:<+alice@example.org>")
        assert (r.code, r.enh) == (550, "5.1.1"), r
    [data] = server.messages("alice")
    assert b"for <alice+newsletters@example.org>" in data


def test_catch_all_alias(server):
    server.add_domain("catch.test")
    server.add_user("carol@catch.test")
    server.add_alias("@catch.test", "bob@example.org")
    with server.connect() as c:
        r = c.send_message("s@remote.test", ["anything@catch.test", "carol@catch.test"],
                           make_message())
        assert r.code == 250
        # the catch-all is per domain: example.org still refuses unknown users
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd("RCPT TO:<anything@example.org>")
        assert (r.code, r.enh) == (550, "5.1.1"), r
    assert len(server.maildir("bob")) == 1
    assert len(server.maildir("carol", "catch.test")) == 1


def test_postmaster(server):
    # RFC 5321 4.5.1: <postmaster> without a domain is postmaster@<hostname>
    server.add_domain(HOSTNAME)
    server.add_alias(f"postmaster@{HOSTNAME}", "bob@example.org")
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<>", expect=250)
        r = c.cmd("RCPT TO:<Postmaster>")
        assert (r.code, r.enh) == (250, "2.1.5"), r
        r = c.cmd("RCPT TO:<postmaster@example.org>")
        assert (r.code, r.enh) == (250, "2.1.5"), r
        c.cmd("DATA", expect=354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    assert len(server.maildir("bob")) == 1
    assert len(server.maildir("alice")) == 1


def test_users_added_while_running(server):
    server.add_user("carol@example.org")
    with server.connect() as c:
        assert c.send_message("s@remote.test", ["carol@example.org"], make_message()).code == 250
    assert len(server.maildir("carol")) == 1
    p = server.cli("user", "del", "carol@example.org")
    assert p.returncode == 0, p.stderr
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        assert c.cmd("RCPT TO:<carol@example.org>").code == 550


def test_vrfy_expn_reveal_nothing(server):
    with server.connect() as c:
        c.ehlo()
        for cmd in ("VRFY alice", "VRFY nobody@example.org", "EXPN both@example.org", "EXPN x"):
            r = c.cmd(cmd)
            assert r.code == 252, (cmd, r)
        # both give the same answer for existing and unknown addresses
        assert c.cmd("VRFY alice@example.org").text == c.cmd("VRFY nobody@example.org").text


def test_command_sequence_errors(server):
    with server.connect() as c:
        r = c.cmd("MAIL FROM:<s@remote.test>")
        assert (r.code, r.enh) == (503, "5.5.1"), r
        c.ehlo()
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
        assert c.cmd("DATA").code == 503
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 503
        c.cmd("RSET", expect=250)
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503
        assert c.cmd("HELP").code == 214
        assert c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==").code == 502
        c.cmd("QUIT", expect=221)
        assert c.is_closed()


def test_size_parameter_within_limit(server):
    with server.connect() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<s@remote.test> SIZE=1000 BODY=8BITMIME")
        assert (r.code, r.enh) == (250, "2.1.0"), r
        c.cmd("RSET", expect=250)
        r = c.cmd("MAIL FROM:<s@remote.test> BODY=BINARYMIME")
        assert r.code == 555, r
        r = c.cmd("MAIL FROM:<s@remote.test> FOO=BAR")
        assert r.code == 555, r


def test_dot_stuffing(server):
    body = b"Subject: dots\r\n\r\n..leading dot\r\n.\x2e\r\n...\r\nend\r\n"
    with server.connect() as c:
        assert c.send_message("s@remote.test", ["alice@example.org"], body).code == 250
    [data] = server.messages("alice")
    assert split_delivered(data)[1] == b"Subject: dots\n\n.leading dot\n.\n..\nend\n"


# ---- SMTPUTF8 -------------------------------------------------------------------------------


def test_smtputf8_delivery(server):
    server.add_domain("catch.test")
    server.add_alias("@catch.test", "bob@example.org")
    body = "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\nGrüße, Jörg\r\n".encode()
    with server.connect() as c:
        r = c.ehlo()
        assert "SMTPUTF8" in r.lines
        c.cmd("MAIL FROM:<jörg@bücher.example> SMTPUTF8".encode(), expect=250)
        r = c.cmd("RCPT TO:<alice+jörg@example.org>".encode())
        assert (r.code, r.enh) == (250, "2.1.5"), r
        r = c.cmd("RCPT TO:<пользователь@catch.test>".encode())
        assert (r.code, r.enh) == (250, "2.1.5"), r
        c.cmd("DATA", expect=354)
        c.send(body + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    [a] = server.messages("alice")
    [b] = server.messages("bob")
    assert a == b
    assert a.startswith("Return-Path: <jörg@bücher.example>\n".encode())
    assert b" with UTF8SMTP id " in a
    assert split_delivered(a)[1] == body.replace(b"\r\n", b"\n")
    [t] = server.transactions()
    assert t["from"] == "jörg@bücher.example"
    assert t["result"] == "accepted"


def test_utf8_sender_without_smtputf8_refused(server):
    with server.connect() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<jörg@bücher.example>".encode())
        assert (r.code, r.enh) == (553, "5.6.7"), r
        # and a UTF-8 parameter to a plain MAIL is no way around it
        r = c.cmd("MAIL FROM:<jörg@remote.test> BODY=8BITMIME".encode())
        assert (r.code, r.enh) == (553, "5.6.7"), r


def test_utf8_recipient_without_smtputf8_refused(server):
    with server.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<s@remote.test>", expect=250)
        r = c.cmd("RCPT TO:<alice+jörg@example.org>".encode())
        assert (r.code, r.enh) == (553, "5.6.7"), r
        c.cmd("RCPT TO:<alice@example.org>", expect=250)
    assert server.maildir("alice") == []


def test_smtputf8_needs_ehlo(server):
    with server.connect() as c:
        c.cmd("HELO client.example.net", expect=250)
        r = c.cmd("MAIL FROM:<jörg@remote.test> SMTPUTF8".encode())
        assert r.code in (553, 555), r
