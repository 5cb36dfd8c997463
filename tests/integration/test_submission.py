"""Message submission (RFC 6409): listen.submission (STARTTLS, RFC 3207) and
listen.submissions (implicit TLS, RFC 8314), SMTP AUTH (RFC 4954) with PLAIN,
LOGIN and SCRAM-SHA-256, relaying for authenticated users, the rules on whose
address a user may send as (MAIL FROM and the From: header), the Received:
field of submitted mail, and real clients (smtplib, msmtp, swaks).

The failure limiter and password schemes are in test_auth_limits.py; here the
failure delay is 0 (auth.smtp.delay_base) to keep things fast."""
import re
import shutil
import socket
import subprocess

import pytest

from conftest import (HOST, HOSTNAME, free_port, make_message, merge_config, smtp_reply_codes,
                      split_delivered, swaks_got_reply)
from submission_util import (ALICE, BOB, NO_LIMITS, PASSWORD, ScramSha256, auth_login, auth_plain,
                             auth_scram, b64, db, login, plain_response, sub_client, sub_smtplib,
                             subs_client, subs_smtplib, submission_server, unb64)

AUTH_LINE = "AUTH PLAIN LOGIN SCRAM-SHA-256"


@pytest.fixture
def srv(postern):
    # the error tests send many refused commands in one session
    return submission_server(postern, auth=NO_LIMITS, config={"limits": {"errors": 100}})


def queued_ok(r):
    assert r.code == 250 and re.match(r"2\.0\.0 Ok: queued as \w+$", r.text), r
    return r.text.rsplit(" ", 1)[1]


def send(c, mail_from, rcpts, body):
    """MAIL, RCPT..., DATA on an authenticated raw client: the final reply."""
    c.cmd(f"MAIL FROM:<{mail_from}>", expect=250)
    for r in rcpts:
        c.cmd(f"RCPT TO:<{r}>", expect=250)
    c.cmd("DATA", expect=354)
    c.send(body + b".\r\n")
    return c.reply()


# ---- 587: STARTTLS first, then AUTH ----------------------------------------------------------


def test_submission_port_requires_tls_before_auth(srv):
    c = sub_client(srv, tls=False, ehlo=False)
    assert c.banner.text.startswith(f"{HOSTNAME} ESMTP")
    r = c.ehlo()
    assert "STARTTLS" in r.lines
    assert not any(l.startswith("AUTH") for l in r.lines), r
    # RFC 4954 6: 538 when the mechanism needs an encrypted connection
    for cmd in ("AUTH PLAIN " + plain_response(ALICE, PASSWORD), "AUTH LOGIN",
                "AUTH SCRAM-SHA-256", "AUTH BOGUS"):
        r = c.cmd(cmd)
        assert (r.code, r.enh) == (538, "5.7.11"), (cmd, r)
    # no mail without authentication, not even to a local user
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    r = c.cmd(f"RCPT TO:<{BOB}>")
    assert r.code == 503, r
    c.starttls()
    r = c.ehlo()
    assert AUTH_LINE in r.lines, r
    assert "STARTTLS" not in r.lines
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    r = auth_plain(c, ALICE, PASSWORD)
    assert (r.code, r.enh) == (235, "2.7.0"), r
    # authenticated: AUTH is no longer offered, and a second AUTH is refused
    r = c.ehlo()
    assert not any(l.startswith("AUTH") for l in r.lines), r
    r = auth_plain(c, ALICE, PASSWORD)
    assert r.code == 503, r
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    c.close()
    assert srv.all_delivered() == []


def test_port_25_never_offers_auth(srv):
    with srv.connect() as c:
        c.ehlo()
        c.starttls()
        r = c.ehlo()
        assert not any(l.startswith("AUTH") for l in r.lines), r
        r = auth_plain(c, ALICE, PASSWORD)
        assert r.code == 502, r
    assert srv.logs("auth.success") == []


# ---- 465: implicit TLS -------------------------------------------------------------------------


def test_submissions_greeting_only_after_handshake(srv):
    # RFC 8314 3.3: nothing in clear text; the greeting comes inside TLS
    with socket.create_connection((HOST, srv.subs_port), timeout=5) as raw:
        raw.settimeout(0.7)
        with pytest.raises(socket.timeout):
            data = raw.recv(100)
            pytest.fail(f"clear text before the TLS handshake: {data!r}")
    c = subs_client(srv, ehlo=False)
    assert c.banner.text.startswith(f"{HOSTNAME} ESMTP"), c.banner
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    r = c.ehlo()
    assert AUTH_LINE in r.lines
    assert "STARTTLS" not in r.lines
    assert c.cmd("STARTTLS").code == 503
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    r = auth_login(c, ALICE, PASSWORD)
    assert (r.code, r.enh) == (235, "2.7.0"), r
    qid = queued_ok(send(c, ALICE, [BOB], make_message(sender=ALICE, to=BOB, subject="via 465")))
    c.close()
    [data] = srv.messages("bob")
    assert f"with ESMTPSA id {qid}".encode() in data


def test_submissions_clear_text_client_gets_no_smtp(srv):
    with socket.create_connection((HOST, srv.subs_port), timeout=5) as raw:
        raw.sendall(b"EHLO client.example.net\r\nAUTH PLAIN " +
                    plain_response(ALICE, PASSWORD).encode() + b"\r\n")
        raw.settimeout(5)
        got = b""
        try:
            while True:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    codes = smtp_reply_codes(got)
    assert 250 not in codes and b"ESMTP" not in got and 235 not in codes, got
    assert srv.logs("auth.success") == []


# ---- the mechanisms ------------------------------------------------------------------------------


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN", "SCRAM"])
@pytest.mark.parametrize("implicit", [False, True], ids=["587", "465"])
def test_each_mechanism_logs_in_and_sends(srv, mech, implicit):
    c = login(srv, mech=mech, implicit=implicit)
    queued_ok(send(c, ALICE, [BOB], make_message(sender=ALICE, to=BOB, subject=f"{mech}")))
    assert c.cmd("QUIT").code == 221
    c.close()
    [data] = srv.messages("bob")
    assert f"Subject: {mech}".encode() in data
    ok = srv.wait_log("auth.success")
    assert ok[-1]["user"] == ALICE and ok[-1]["protocol"] == "smtp"


def test_smtplib_login_and_scram(srv):
    with sub_smtplib(srv) as s:
        assert set(s.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN", "SCRAM-SHA-256"}
        code, resp = s.login(ALICE, PASSWORD)          # smtplib picks PLAIN
        assert (code, resp) == (235, b"2.7.0 Authentication successful")
        s.sendmail(ALICE, [BOB], make_message(sender=ALICE, to=BOB, subject="smtplib plain"))
    with sub_smtplib(srv) as s:
        # LOGIN without an initial response: two 334 prompts
        s.user, s.password = ALICE, PASSWORD
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235
    with subs_smtplib(srv) as s:
        # PLAIN without an initial response: an empty 334, then the credentials
        s.user, s.password = ALICE, PASSWORD
        code, _ = s.auth("PLAIN", s.auth_plain, initial_response_ok=False)
        assert code == 235
    with sub_smtplib(srv) as s:
        scram = ScramSha256(ALICE, PASSWORD)
        code, resp = s.auth("SCRAM-SHA-256", scram)
        assert (code, resp[:5]) == (235, b"2.7.0"), resp
        assert scram.server_verified
        s.sendmail(ALICE, [BOB], make_message(sender=ALICE, to=BOB, subject="smtplib scram"))
    assert len(srv.messages("bob")) == 2


def test_scram_exchange_details(srv):
    c = sub_client(srv)
    sc = ScramSha256(ALICE, PASSWORD)
    r = c.cmd("AUTH SCRAM-SHA-256")              # no initial response: an empty challenge
    assert r.code == 334 and r.text == "", r
    r = c.cmd(b64(sc.client_first()))
    assert r.code == 334, r
    first = unb64(r.text).decode()
    f = ScramSha256.parse(first)
    assert f["r"].startswith(sc.cnonce) and len(f["r"]) > len(sc.cnonce) + 16
    assert int(f["i"]) >= 4096                    # RFC 7677 4
    assert len(unb64(f["s"])) >= 8
    r = c.cmd(b64(sc.client_final(first)))
    # RFC 4954 4: the server-final message comes in a 334, not in the 235
    assert r.code == 334, r
    assert sc.verify_server_final(unb64(r.text).decode()), r
    r = c.cmd("")
    assert (r.code, r.enh) == (235, "2.7.0"), r
    c.cmd(f"MAIL FROM:<{ALICE}>", expect=250)
    c.close()


def test_scram_refusals(srv):
    c = sub_client(srv)
    r, sc = auth_scram(c, ALICE, "not-the-password")
    assert (r.code, r.enh) == (535, "5.7.8"), r
    assert not sc.server_verified
    # a proof that was tampered with
    r, _ = auth_scram(c, ALICE, PASSWORD, tamper_proof=True)
    assert (r.code, r.enh) == (535, "5.7.8"), r
    # a nonce that is not the server's, a channel binding that does not match
    r, _ = auth_scram(c, ALICE, PASSWORD, nonce="forged-nonce")
    assert (r.code, r.enh) == (501, "5.5.2"), r
    r, _ = auth_scram(c, ALICE, PASSWORD, cbind=b64("y,,"))
    assert (r.code, r.enh) == (501, "5.5.2"), r
    # channel binding was not offered (no -PLUS): "p=" is refused
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64(f"p=tls-unique,,n={ALICE},r=abcdefgh"))
    assert (r.code, r.enh) == (501, "5.5.2"), r
    # a mandatory extension, and a message that is no SCRAM at all
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64(f"n,,m=x,n={ALICE},r=abcdefgh"))
    assert (r.code, r.enh) == (501, "5.5.2"), r
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64("hello"))
    assert (r.code, r.enh) == (501, "5.5.2"), r
    # anything but the empty line after the server-final message
    sc = ScramSha256(ALICE, PASSWORD)
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64(sc.client_first()))
    r = c.cmd(b64(sc.client_final(unb64(r.text).decode())))
    assert r.code == 334, r
    r = c.cmd(b64("v=whatever"))
    assert (r.code, r.enh) == (501, "5.5.2"), r
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    # "*" after the server-final message cancels too: nobody is logged in
    sc = ScramSha256(ALICE, PASSWORD)
    r = c.cmd("AUTH SCRAM-SHA-256 " + b64(sc.client_first()))
    r = c.cmd(b64(sc.client_final(unb64(r.text).decode())))
    assert r.code == 334, r
    r = c.cmd("*")
    assert (r.code, r.enh) == (501, "5.0.0"), r
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    # after all that, the session still logs in
    r, sc = auth_scram(c, ALICE, PASSWORD)
    assert r.code == 235 and sc.server_verified, r
    c.close()
    assert srv.logs("auth.success")[-1]["user"] == ALICE


def test_scram_unknown_user_looks_like_a_known_one(srv):
    c = sub_client(srv)
    firsts = []
    for user in ("nobody@example.org", "nobody@example.org", ALICE):
        sc = ScramSha256(user, "guess")
        r = c.cmd("AUTH SCRAM-SHA-256 " + b64(sc.client_first()))
        assert r.code == 334, r
        firsts.append(ScramSha256.parse(unb64(r.text).decode()))
        r = c.cmd(b64(sc.client_final(unb64(r.text).decode())))
        assert (r.code, r.enh) == (535, "5.7.8"), r
    ghost1, ghost2, alice = firsts
    # the same salt each time (no "new salt = no such user" tell), same count, same length
    assert ghost1["s"] == ghost2["s"]
    assert ghost1["i"] == alice["i"]
    assert len(unb64(ghost1["s"])) == len(unb64(alice["s"]))
    assert ghost1["r"] != ghost2["r"]
    c.close()


def test_scram_keys_follow_user_passwd(srv):
    p = srv.cli("user", "passwd", ALICE, "--password-stdin", input="n3w-Passw0rd\n")
    assert p.returncode == 0, p.stderr
    c = sub_client(srv)
    r, _ = auth_scram(c, ALICE, PASSWORD)
    assert (r.code, r.enh) == (535, "5.7.8"), r
    r, sc = auth_scram(c, ALICE, "n3w-Passw0rd")
    assert r.code == 235 and sc.server_verified, r
    c.close()
    # and a user added now has SCRAM keys at once
    srv.add_user("carol@example.org", "c4rol-pw")
    c = sub_client(srv)
    r, _ = auth_scram(c, "carol@example.org", "c4rol-pw")
    assert r.code == 235, r
    c.close()


# ---- AUTH errors ----------------------------------------------------------------------------------


def test_auth_protocol_errors(srv):
    c = sub_client(srv)
    r = c.cmd("AUTH CRAM-MD5")
    assert r.code == 504, r
    r = c.cmd("AUTH")
    assert r.code == 501, r
    # malformed base64, as initial response and as a continuation
    r = c.cmd("AUTH PLAIN !!!notbase64")
    assert (r.code, r.enh) == (501, "5.5.2"), r
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334 and r.text == "", r
    r = c.cmd("%%%%")
    assert (r.code, r.enh) == (501, "5.5.2"), r
    r = c.cmd("AUTH LOGIN")
    assert r.code == 334, r
    r = c.cmd("dXNlcg=")                       # bad padding
    assert (r.code, r.enh) == (501, "5.5.2"), r
    # "*" cancels (RFC 4954 4), at each step of each mechanism
    for start in ("AUTH PLAIN", "AUTH LOGIN", "AUTH SCRAM-SHA-256"):
        r = c.cmd(start)
        assert r.code == 334, r
        r = c.cmd("*")
        assert (r.code, r.enh) == (501, "5.0.0"), (start, r)
    r = c.cmd("AUTH LOGIN " + b64(ALICE))      # the username as initial response
    assert r.code == 334 and unb64(r.text) == b"Password:", r
    r = c.cmd("*")
    assert (r.code, r.enh) == (501, "5.0.0"), r
    # PLAIN without the NULs, an empty one, one with NULs too many
    for bad in (b64("alice@example.org secret"), "=", b64(f"\0{ALICE}\0{PASSWORD}\0x")):
        r = c.cmd("AUTH PLAIN " + bad)
        assert (r.code, r.enh) == (501, "5.5.2"), (bad, r)
    # a LOGIN username with a NUL in it
    r = c.cmd("AUTH LOGIN " + b64(f"{ALICE}\0x"))
    assert (r.code, r.enh) == (501, "5.5.2"), r
    # a continuation line beyond RFC 4954's 12288 octets
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334
    r = c.cmd("A" * 13000)
    assert r.code == 500 and r.enh == "5.5.6", r
    # none of that logged anyone in; the session still works
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    r = auth_plain(c, ALICE, PASSWORD)
    assert (r.code, r.enh) == (235, "2.7.0"), r
    r = c.cmd("AUTH LOGIN")
    assert (r.code, r.enh) == (503, "5.5.1"), r
    c.close()


def test_wrong_credentials_535(srv):
    c = sub_client(srv)
    for r in (auth_plain(c, ALICE, "wrong"), auth_login(c, ALICE, "wrong"),
              auth_plain(c, "nobody@example.org", PASSWORD),
              auth_plain(c, ALICE, PASSWORD.upper()),
              auth_plain(c, ALICE, PASSWORD + "x"),
              auth_plain(c, "alice", PASSWORD),                   # not the full address
              auth_plain(c, ALICE, PASSWORD, authzid=BOB)):      # acting for bob
        assert (r.code, r.enh) == (535, "5.7.8"), r
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    # the username is case-insensitive, and an authzid equal to the user is fine
    r = auth_plain(c, "Alice@Example.ORG", PASSWORD, authzid=ALICE)
    assert (r.code, r.enh) == (235, "2.7.0"), r
    c.close()
    assert len(srv.logs("auth.failure")) == 7


# ---- relaying and local delivery ------------------------------------------------------------------


def test_authenticated_user_relays_and_delivers_locally(postern):
    # a DNS server that never answers: the remote recipient waits in the queue
    srv = submission_server(postern, auth=NO_LIMITS,
                            config={"dns": {"servers": [f"127.0.0.1@{free_port()}"]},
                                    "timeouts": {"shutdown": "1s"}})
    # unauthenticated on port 25, the same remote recipient is refused
    with srv.connect() as c:
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.example>", expect=250)
        r = c.cmd("RCPT TO:<someone@elsewhere.net>")
        assert (r.code, r.enh) == (554, "5.7.1"), r
    c = login(srv)
    msg = make_message(sender=ALICE, to="someone@elsewhere.net", subject="relayed")
    qid = queued_ok(send(c, ALICE, ["someone@elsewhere.net", "friend@other.example", BOB], msg))
    c.close()
    [t] = [e for e in srv.transactions() if e["id"] == qid]
    assert t["result"] == "accepted" and t["from"] == ALICE
    p = srv.cli("queue", "list")
    assert p.returncode == 0, p.stderr
    assert "someone@elsewhere.net" in p.stdout and "friend@other.example" in p.stdout, p.stdout
    assert f"<{ALICE}>" in p.stdout
    con = db(srv)
    rcpts = {r[0] for r in con.execute("SELECT rcpt FROM queue_rcpts")}
    con.close()
    assert rcpts == {"someone@elsewhere.net", "friend@other.example"}
    [data] = srv.messages("bob")
    assert b"Subject: relayed" in data


# ---- the Received: field ---------------------------------------------------------------------------


def test_received_hides_client_ip(srv):
    c = login(srv)
    qid = queued_ok(send(c, ALICE, [BOB], make_message(sender=ALICE, to=BOB)))
    c.close()
    [data] = srv.messages("bob")
    trace, _ = split_delivered(data)
    assert trace.split(b"\n")[1] == b"Received: from client.example.net (authenticated)", trace
    assert f"by {HOSTNAME} (postern) with ESMTPSA id {qid}".encode() in trace
    assert b"127.0.0.1" not in data


def test_received_ip_when_configured(postern):
    srv = submission_server(postern, auth=NO_LIMITS, bools={"submission": {"received_ip": True}})
    c = login(srv, implicit=True)
    qid = queued_ok(send(c, ALICE, [BOB], make_message(sender=ALICE, to=BOB)))
    c.close()
    [data] = srv.messages("bob")
    trace, _ = split_delivered(data)
    assert trace.split(b"\n")[1] == b"Received: from client.example.net ([127.0.0.1])", trace
    assert f"with ESMTPSA id {qid}".encode() in trace


# ---- sender rules ----------------------------------------------------------------------------------

OWN = ["alice@example.org", "ALICE@Example.ORG", "alice+lists@example.org",
       "postmaster@example.org",          # alias -> alice
       "both@example.org"]                # alias -> alice, bob
NOT_OWN = ["bob@example.org", "bob+alice@example.org", "fwd@example.org",
           "nosuch@example.org", "alice@remote.test", "someone@remote.test",
           "alice.example.org@remote.test"]


def test_mail_from_must_be_owned(srv):
    c = login(srv)
    for addr in OWN:
        r = c.cmd(f"MAIL FROM:<{addr}>")
        assert r.code == 250, (addr, r)
        c.cmd("RSET", expect=250)
    for addr in NOT_OWN:
        r = c.cmd(f"MAIL FROM:<{addr}>")
        assert (r.code, r.enh) == (553, "5.7.1"), (addr, r)
    # the null sender is for the mail system (bounces), not for users
    r = c.cmd("MAIL FROM:<>")
    assert (r.code, r.enh) == (553, "5.7.1"), r
    # RFC 4954 5: an AUTH= parameter changes nothing about who the sender is
    r = c.cmd(f"MAIL FROM:<{BOB}> AUTH=<{BOB}>")
    assert (r.code, r.enh) == (553, "5.7.1"), r
    c.cmd(f"MAIL FROM:<{ALICE}> AUTH=<>", expect=250)
    c.cmd("RSET", expect=250)
    c.close()
    refused = srv.logs("smtp.sender_refused")
    assert {e["from"] for e in refused} >= set(NOT_OWN) | {BOB}
    assert all(e["user"] == ALICE and e["where"] == "MAIL FROM" for e in refused)
    assert srv.all_delivered() == []


def test_from_header_must_be_owned(srv):
    c = login(srv)
    r = send(c, ALICE, [BOB], make_message(sender=BOB, to=BOB, subject="forged"))
    assert (r.code, r.enh) == (553, "5.7.1"), r
    # the transaction is over, the session is not
    for i, sender in enumerate(["Alice <alice+news@example.org>", "<postmaster@example.org>",
                                "\"Alice A.\" <alice@example.org>"]):
        body = (f"From: {sender}\r\nTo: <{BOB}>\r\nSubject: ok {i}\r\n\r\nhi\r\n").encode()
        queued_ok(send(c, ALICE, [BOB], body))
    c.close()
    msgs = srv.messages("bob")
    assert len(msgs) == 3 and not any(b"forged" in m for m in msgs)
    refused = srv.logs("smtp.sender_refused")
    assert [e["where"] for e in refused] == ["From header"] and refused[0]["from"] == BOB


def test_from_header_bare_addr_spec_accepted(srv):
    # "From: alice@example.org" without angle brackets is the plainest RFC 5322 form
    c = login(srv)
    body = f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: bare\r\n\r\nhi\r\n".encode()
    r = send(c, ALICE, [BOB], body)
    assert r.code == 250, r
    c.close()


PAD = "".join(f"X-Pad-{i}: {'p' * 900}\r\n" for i in range(80))     # ~72 KiB of header
SPOOFED_FROM = {
    # two From: fields; readers may show either
    "second-from-field": f"From: <{ALICE}>\r\nFrom: <{BOB}>\r\n",
    # RFC 5322 4.5.3 obs-from: white space before the colon is still From
    "obs-space-before-colon": f"From : <{BOB}>\r\n",
    # a mailbox-list mixing name-addr and addr-spec
    "mixed-list": f"From: Alice <{ALICE}>, {BOB}\r\n",
    # more addresses than the server looks at
    "ninth-address": "From: " + ", ".join([f"<{ALICE}>"] * 8 + [f"<{BOB}>"]) + "\r\n",
    # the From: field behind a large header block
    "after-64k-of-header": PAD + f"From: <{BOB}>\r\n",
    # folded onto a continuation line
    "folded": f"From: Bob\r\n <{BOB}>\r\n",
    "lower-case-name": f"from: <{BOB}>\r\n",
}


@pytest.mark.parametrize("name", sorted(SPOOFED_FROM))
def test_from_header_spoofing_variants_refused(srv, name):
    c = login(srv)
    body = (SPOOFED_FROM[name] + f"To: <{BOB}>\r\nSubject: {name}\r\n\r\nhi\r\n").encode()
    r = send(c, ALICE, [BOB], body)
    assert (r.code, r.enh) == (553, "5.7.1"), r
    assert c.cmd("NOOP").code == 250
    c.close()
    assert srv.messages("bob") == []


def test_sender_check_off_and_on(srv):
    p = srv.cli("user", "sender-check", ALICE, "off")
    assert p.returncode == 0, p.stderr
    c = login(srv)
    # both paths: MAIL FROM and the From: header
    queued_ok(send(c, BOB, [BOB], make_message(sender=BOB, to=BOB, subject="as bob")))
    queued_ok(send(c, "anyone@remote.test", [BOB],
                   make_message(sender="ceo@remote.test", to=BOB, subject="as anyone")))
    c.close()
    assert len(srv.messages("bob")) == 2
    with login(srv, mech="SCRAM") as c:                  # SCRAM sessions too
        c.cmd(f"MAIL FROM:<{BOB}>", expect=250)
    # bob's own check is untouched
    c = login(srv, user=BOB)
    r = c.cmd(f"MAIL FROM:<{ALICE}>")
    assert (r.code, r.enh) == (553, "5.7.1"), r
    c.close()

    p = srv.cli("user", "sender-check", ALICE, "on")
    assert p.returncode == 0, p.stderr
    c = login(srv, mech="SCRAM")
    r = c.cmd(f"MAIL FROM:<{BOB}>")
    assert (r.code, r.enh) == (553, "5.7.1"), r
    r = send(c, ALICE, [BOB], make_message(sender=BOB, to=BOB, subject="as bob again"))
    assert (r.code, r.enh) == (553, "5.7.1"), r
    c.close()
    assert len(srv.messages("bob")) == 2
    # bad uses of the command
    assert srv.cli("user", "sender-check", ALICE, "maybe").returncode != 0
    assert srv.cli("user", "sender-check", "nobody@example.org", "off").returncode != 0


# ---- real clients -----------------------------------------------------------------------------------


def message_file(tmp_path, subject, sender=ALICE, to=BOB):
    path = tmp_path / f"{subject.replace(' ', '_')}.eml"
    path.write_bytes(make_message(sender=sender, to=to, subject=subject).replace(b"\r\n", b"\n"))
    return path


def msmtp(srv, port, starttls, msg, password=PASSWORD, rcpt=BOB):
    exe = shutil.which("msmtp")
    if exe is None:
        pytest.skip("msmtp not installed (apt-get install msmtp)")
    cmd = [exe, "--file=/dev/null", f"--host={HOST}", f"--port={port}", "--tls=on",
           f"--tls-starttls={'on' if starttls else 'off'}", "--tls-certcheck=off",
           "--auth=plain", f"--user={ALICE}", f"--passwordeval=echo {password}",
           f"--from={ALICE}", "--domain=client.example.net", rcpt]
    with open(msg, "rb") as f:
        return subprocess.run(cmd, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30, text=True)


def test_msmtp_over_587_and_465(srv, tmp_path):
    p = msmtp(srv, srv.sub_port, True, message_file(tmp_path, "msmtp starttls"))
    assert p.returncode == 0, p.stderr
    p = msmtp(srv, srv.subs_port, False, message_file(tmp_path, "msmtp implicit"))
    assert p.returncode == 0, p.stderr
    p = msmtp(srv, srv.subs_port, False, message_file(tmp_path, "msmtp wrong"), password="nope")
    assert p.returncode != 0 and re.search(r"(?m)^msmtp: server message: 535[ -]", p.stderr), p.stderr
    msgs = srv.messages("bob")
    assert len(msgs) == 2
    assert {re.search(rb"Subject: (.*)", m).group(1) for m in msgs} == {b"msmtp starttls",
                                                                           b"msmtp implicit"}
    for m in msgs:
        assert b"with ESMTPSA" in m and b"127.0.0.1" not in m


def swaks(srv, port, mech, tls_flag, password=PASSWORD, subject="swaks"):
    exe = shutil.which("swaks")
    if exe is None:
        pytest.skip("swaks not installed")
    cmd = [exe, "--server", f"{HOST}:{port}", tls_flag, "--auth", mech, "--auth-user", ALICE,
           "--auth-password", password, "--from", ALICE, "--to", BOB, "--helo", "client.example.net",
           "--header", f"Subject: {subject}", "--h-From", f"<{ALICE}>", "--timeout", "15"]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, text=True)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_each_mechanism(srv, mech):
    p = swaks(srv, srv.sub_port, mech, "--tls", subject=f"swaks {mech} 587")
    assert p.returncode == 0, p.stdout + p.stderr
    assert swaks_got_reply(p.stdout, 235, "2.7.0"), p.stdout
    p = swaks(srv, srv.subs_port, mech, "--tlsc", subject=f"swaks {mech} 465")
    assert p.returncode == 0, p.stdout + p.stderr
    p = swaks(srv, srv.sub_port, mech, "--tls", password="wrong")
    assert p.returncode != 0 and swaks_got_reply(p.stdout, 535, "5.7.8"), p.stdout
    subjects = sorted(re.search(rb"Subject: (.*)", m).group(1) for m in srv.messages("bob"))
    assert subjects == [f"swaks {mech} 465".encode(), f"swaks {mech} 587".encode()]


def swaks_without_tls(srv):
    exe = shutil.which("swaks")
    if exe is None:
        pytest.skip("swaks not installed")
    p = subprocess.run([exe, "--server", f"{HOST}:{srv.sub_port}", "--auth", "PLAIN",
                        "--auth-user", ALICE, "--auth-password", PASSWORD, "--from", ALICE,
                        "--to", BOB, "--timeout", "15"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, text=True)
    assert p.returncode != 0
    # swaks notices AUTH is not advertised before TLS and gives up before sending a password
    # (a reply line, not the digits: the port may hold "235")
    assert swaks_got_reply(p.stdout, 220), p.stdout   # the output was understood
    assert not swaks_got_reply(p.stdout, 235), p.stdout
    assert srv.messages("bob") == []
    return p


def test_swaks_without_tls_cannot_authenticate(srv):
    swaks_without_tls(srv)


def port_with_235():
    """A free port whose number holds the digits 235, or None."""
    for port in [*range(52350, 52360), *range(23500, 23600), *range(12350, 12360)]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    return None


def test_swaks_without_tls_on_a_port_holding_235(postern):
    # "=== Trying 127.0.0.1:52355..." is no 235 reply
    port = port_with_235()
    if port is None:
        pytest.skip("no free port with 235 in it")
    srv = submission_server(postern, auth=NO_LIMITS, start=False)
    srv.sub_port = port
    srv.overrides = merge_config(srv.overrides, {"listen": {"submission": [f"{HOST}:{port}"]}})
    srv.write_config()
    srv.start()
    if srv.sub_port != port:
        pytest.skip(f"port {port} was taken meanwhile")
    p = swaks_without_tls(srv)
    assert "235" in p.stdout, p.stdout   # what a substring check would have taken for success


def test_authentication_before_starttls_is_forgotten(postern):
    """RFC 3207 4.2: with auth_without_tls, an AUTH in clear text (perhaps a
    man in the middle's) does not survive the TLS handshake."""
    srv = submission_server(postern, bools={"submission": {"auth_without_tls": True}})
    c = sub_client(srv, tls=False)
    assert auth_plain(c, ALICE, PASSWORD).code == 235
    c.starttls()
    c.ehlo()
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert (r.code, r.enh) == (530, "5.7.0"), r
    c.close()
