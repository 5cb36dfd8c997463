"""POP3 (RFC 1939, RFC 2449, RFC 2595, RFC 5034, RFC 6856) against a real
postern: greeting and CAPA before and after TLS, STLS and implicit TLS (pop3s),
USER/PASS and AUTH (PLAIN with and without an initial response, LOGIN,
SCRAM-SHA-256), login refused before TLS, the TRANSACTION commands with exact
bytes (CRLF, dot-stuffing, sizes), UPDATE only after QUIT (and IMAP seeing
it), the maildrop lock ([IN-USE]), mail arriving during a session, the
login limiter, timeouts and shutdown without UPDATE.

Hostile input is in test_pop3_hostile.py; UIDL stability in test_pop3_uidl.py;
big messages and memory in test_pop3_retr.py; real clients in
test_pop3_clients.py."""
import base64
import signal
import time

import pytest

from conftest import PASSWORD, insecure_context
from imap_fixtures import crlf, imap_conn, simple_message, write_maildir
from pop3_fixtures import (ALICE, BOB, POP3Conn, pop3_conn, pop3_server, pop3_stls, pop3s,
                           retr_bytes)
from submission_util import ScramSha256, b64, unb64


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    """One server for the tests that only read or use a user of their own."""
    from conftest import Postern
    root = tmp_path_factory.mktemp("pop3srv")
    s = Postern(root, template_data, None)
    import pop3_fixtures
    import imap_fixtures
    s.overrides = {"auth": {"pop3": dict(imap_fixtures.NO_LIMITS),
                            "imap": dict(imap_fixtures.NO_LIMITS)}, "limits": {"errors": 100}}
    imap_fixtures._own_ports(s, None)
    pop3_fixtures._own_ports(s)
    s.write_config(s.port)
    s.start()
    yield s
    problems = s.check_exit() if s.proc is not None else []
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def fresh_user(srv, name):
    srv.add_user(f"{name}@example.org")
    return f"{name}@example.org"


def fill(srv, user, messages):
    """Stored as a delivery agent stores them (LF line ends), in new/."""
    local = user.split("@")[0]
    return write_maildir(srv.maildir_path(local), [m.replace(b"\r\n", b"\n") for m in messages])


# ---- greeting, CAPA, TLS ------------------------------------------------------------------------


def test_greeting_and_capa_before_and_after_stls(srv):
    c = POP3Conn(srv.pop3_port)
    assert c.greeting.ok
    assert "<" not in c.greeting.text, "no APOP timestamp: APOP is not offered"
    caps = c.capa()
    for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "UTF8", "STLS"):
        assert cap in caps, caps
    assert "IMPLEMENTATION postern" in caps
    # no way to log in before TLS
    assert "USER" not in caps and not any(c.startswith("SASL") for c in caps), caps
    c.stls()
    caps = c.capa()
    assert "STLS" not in caps
    assert "USER" in caps
    assert "SASL PLAIN LOGIN SCRAM-SHA-256" in caps
    c.login()
    caps = c.capa()                                  # RFC 2449 5: in TRANSACTION too
    assert "TOP" in caps and "UIDL" in caps
    assert "USER" not in caps and "STLS" not in caps and not any(x.startswith("SASL") for x in caps)
    c.ok("QUIT")
    assert c.is_closed()


def test_pop3s_offers_login_without_stls(srv):
    c = POP3Conn(srv.pop3s_port, tls=True)
    caps = c.capa()
    assert "STLS" not in caps and "USER" in caps, caps
    st = c.cmd("STLS")
    assert not st.ok
    c.login()
    c.ok("QUIT")


def test_login_refused_before_tls(srv):
    c = POP3Conn(srv.pop3_port)
    for line in ("USER " + ALICE, "PASS " + PASSWORD, "AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"),
                 "AUTH SCRAM-SHA-256", "AUTH"):
        st = c.cmd(line)
        assert not st.ok and "STLS" in st.text, (line, st)
    assert not c.cmd("STAT").ok                    # not logged in
    c.ok("QUIT")


def test_login_without_tls_when_configured(postern):
    s = pop3_server(postern, config={"pop3": {"login_without_tls": True}})
    c = POP3Conn(s.pop3_port)
    caps = c.capa()
    assert "USER" in caps and "STLS" in caps, caps
    c.login()
    assert c.ok("STAT").text == "0 0"
    c.ok("QUIT")


def test_stls_twice_and_stls_after_login(srv):
    c = pop3_conn(srv, tls="stls", user=None)
    assert not c.cmd("STLS").ok
    c.login()
    st = c.cmd("STLS")
    assert not st.ok and "not allowed" in st.text
    c.ok("QUIT")


def test_poplib_over_stls_and_pop3s(srv):
    user = fresh_user(srv, "poplib")
    msg = simple_message("for poplib", to=user)
    fill(srv, user, [msg])
    for connect in (pop3_stls, pop3s):
        p = connect(srv, user)
        assert p.stat() == (1, len(msg))
        assert retr_bytes(p, 1) == msg
        p.quit()


# ---- logging in ------------------------------------------------------------------------------------


def test_user_pass_failures_say_auth(srv):
    c = pop3_conn(srv, user=None)
    c.ok(f"USER {ALICE}")
    st = c.cmd("PASS wrong")
    assert not st.ok and st.code == "AUTH", st
    # the name is forgotten after a PASS: USER again
    st = c.cmd(f"PASS {PASSWORD}")
    assert not st.ok and st.code is None, st
    # an unknown user gets the same answer as a wrong password
    c.ok("USER nobody@example.org")
    st = c.cmd(f"PASS {PASSWORD}")
    assert not st.ok and st.code == "AUTH", st
    c.login()
    assert srv.wait_log("auth.failure", lambda e: e.get("protocol") == "pop3")
    c.ok("QUIT")


def test_password_with_spaces(postern):
    s = pop3_server(postern)
    s.add_user("spaced@example.org", password=" two  words ")
    c = pop3_conn(s, user=None)
    c.ok("USER spaced@example.org")
    c.ok("PASS  two  words ")                       # RFC 1939 7: the rest of the line
    c.ok("QUIT")


def test_auth_plain_with_and_without_initial_response(srv):
    c = pop3_conn(srv, user=None)
    st = c.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
    assert st.ok, st
    c.ok("QUIT")
    c = pop3_conn(srv, user=None)
    c.send(b"AUTH PLAIN\r\n")
    assert c.read_line() == b"+ \r\n"
    st = c.cmd(b64(f"{ALICE}\0{ALICE}\0{PASSWORD}"))   # authzid = authcid is fine
    assert st.ok, st
    c.ok("QUIT")
    c = pop3_conn(srv, user=None)
    st = c.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0wrong"))
    assert not st.ok and st.code == "AUTH", st
    # acting for someone else is refused like a wrong password
    st = c.cmd("AUTH PLAIN " + b64(f"{BOB}\0{ALICE}\0{PASSWORD}"))
    assert not st.ok and st.code == "AUTH", st
    c.ok("QUIT")


def test_auth_login_and_cancel_and_listing(srv):
    c = pop3_conn(srv, user=None)
    st, mechs = c.multi("AUTH")
    assert st.ok and mechs == [b"PLAIN", b"LOGIN", b"SCRAM-SHA-256"], (st, mechs)
    c.send(b"AUTH LOGIN\r\n")
    assert unb64(c.read_line()[2:-2]) == b"Username:"
    c.send(b64(ALICE).encode() + b"\r\n")
    assert unb64(c.read_line()[2:-2]) == b"Password:"
    assert c.cmd(b64(PASSWORD)).ok
    c.ok("QUIT")
    c = pop3_conn(srv, user=None)
    c.send(b"AUTH PLAIN\r\n")
    assert c.read_line() == b"+ \r\n"
    st = c.cmd("*")
    assert not st.ok and "cancel" in st.text.lower()
    st = c.cmd("AUTH CRAM-MD5")
    assert not st.ok and "mechanism" in st.text
    c.login()
    c.ok("QUIT")


def test_auth_scram_sha_256(srv):
    c = pop3_conn(srv, user=None)
    # the first login with a password derives the SCRAM keys; make sure they exist
    c.login()
    c.ok("QUIT")
    c = pop3_conn(srv, user=None)
    scram = ScramSha256(ALICE, PASSWORD)
    c.send(f"AUTH SCRAM-SHA-256 {b64(scram.client_first())}\r\n".encode())
    line = c.read_line()
    assert line.startswith(b"+ "), line
    final = scram.client_final(unb64(line[2:-2]).decode())
    c.send(b64(final).encode() + b"\r\n")
    line = c.read_line()
    assert line.startswith(b"+ "), line
    assert scram.verify_server_final(unb64(line[2:-2]).decode())
    st = c.cmd("")                                   # the empty answer to server-final
    assert st.ok, st
    c.ok("STAT")
    c.ok("QUIT")
    # a wrong password fails at the proof, with [AUTH]
    c = pop3_conn(srv, user=None)
    scram = ScramSha256(ALICE, "wrong")
    c.send(f"AUTH SCRAM-SHA-256 {b64(scram.client_first())}\r\n".encode())
    line = c.read_line()
    st = c.cmd(b64(scram.client_final(unb64(line[2:-2]).decode())))
    assert not st.ok and st.code == "AUTH", st
    c.ok("QUIT")


def test_utf8_command(srv):
    c = pop3_conn(srv, user=None)
    assert c.ok("UTF8").ok
    assert not c.cmd("UTF8 now").ok
    c.login()
    st = c.cmd("UTF8")                               # RFC 6856 2: AUTHORIZATION only
    assert not st.ok
    c.ok("QUIT")


def test_login_limiter_blocks_pop3(postern):
    s = pop3_server(postern, auth={"delay_base": "0", "max_attempts_per_username": 2,
                                   "max_attempts_per_client_user": 2,
                                   "max_attempts_per_ip": 100, "fast_block_threshold": 100})
    c = pop3_conn(s, user=None)
    for _ in range(2):
        c.ok(f"USER {ALICE}")
        assert c.cmd("PASS wrong").code == "AUTH"
    # blocked from here now: even the right password is refused, as a temporary failure
    c.ok(f"USER {ALICE}")
    st = c.cmd(f"PASS {PASSWORD}")
    assert not st.ok and st.code == "SYS/TEMP", st
    assert s.wait_log("auth.blocked")
    assert any(e.get("protocol") == "pop3" for e in s.logs("auth.failure"))
    c.ok("QUIT")


def test_failed_login_is_delayed(postern):
    s = pop3_server(postern, auth={"delay_base": "1s", "max_attempts_per_ip": 100,
                                   "max_attempts_per_username": 100, "fast_block_threshold": 100})
    c = pop3_conn(s, user=None)
    c.ok(f"USER {ALICE}")
    t0 = time.monotonic()
    c.send(b"PASS wrong\r\nSTAT\r\n")                # the pipelined guess waits too
    assert c.status().code == "AUTH"
    assert time.monotonic() - t0 >= 0.9
    assert not c.status().ok
    c.ok("QUIT")


# ---- TRANSACTION --------------------------------------------------------------------------------


MESSAGES = [
    simple_message("first", body="Hello.\n.a line with a leading dot\n..two dots\n.\nend\n"),
    simple_message("second", body="x" * 3000 + "\n" + "short\n" * 50),
    simple_message("third", body="no final newline"),
]


def wire_size(msg):
    """The size POP3 reports: CRLF line ends (one is added to a last line without)."""
    m = crlf(msg)
    return len(m)


def test_transaction_commands(postern):
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES)
    c = pop3_conn(s)
    sizes = [wire_size(m) for m in MESSAGES]
    assert c.ok("STAT").text == f"3 {sum(sizes)}"
    st, lines = c.multi("LIST")
    assert st.ok and lines == [f"{i + 1} {n}".encode() for i, n in enumerate(sizes)]
    assert c.ok("LIST 2").text == f"2 {sizes[1]}"
    st, uidls = c.multi("UIDL")
    assert len(uidls) == 3 and len({u.split()[1] for u in uidls}) == 3
    for u in uidls:
        n, uidl = u.split()
        assert 1 <= len(uidl) <= 70 and all(0x21 <= ch <= 0x7e for ch in uidl)
        assert c.ok(f"UIDL {n.decode()}").text == u.decode()
    # RETR: exactly the message, CRLF line ends, dot-stuffed on the wire
    for i, m in enumerate(MESSAGES):
        st = c.ok(f"RETR {i + 1}")
        assert st.text.startswith(f"{sizes[i]} octets")
        raw, lines = c.body()
        body = b"".join(l + b"\r\n" for l in lines)
        want = crlf(m) if crlf(m).endswith(b"\r\n") else crlf(m) + b"\r\n"
        assert body == want
        assert len(body) == sizes[i] or not crlf(m).endswith(b"\r\n")
    c.ok("RETR 1")
    raw, _ = c.body()
    assert b"\r\n..a line with a leading dot\r\n...two dots\r\n..\r\nend\r\n.\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")   # no bare LF
    # TOP: the header, the blank line, n lines
    st, lines = c.multi("TOP 1 0")
    head = crlf(MESSAGES[0]).split(b"\r\n\r\n")[0].split(b"\r\n")
    assert lines == head + [b""]
    st, lines = c.multi("TOP 1 2")
    assert lines == head + [b"", b"Hello.", b".a line with a leading dot"]
    st, lines = c.multi("TOP 3 99999999999999999999999")   # beyond 64 bits: everything
    assert lines[-1] == b"no final newline"
    # DELE marks; the marked message is gone from every listing
    assert c.ok("DELE 2").ok
    assert c.ok("STAT").text == f"2 {sizes[0] + sizes[2]}"
    st, lines = c.multi("LIST")
    assert [l.split()[0] for l in lines] == [b"1", b"3"]
    st, lines = c.multi("UIDL")
    assert [l.split()[0] for l in lines] == [b"1", b"3"]
    for line in ("LIST 2", "UIDL 2", "RETR 2", "TOP 2 1", "DELE 2"):
        st = c.cmd(line)
        assert not st.ok and "deleted" in st.text, (line, st)
    # RSET brings it back
    assert c.ok("RSET").text.startswith("Maildrop has 3 messages")
    assert c.ok("STAT").text == f"3 {sum(sizes)}"
    assert c.ok("NOOP").ok
    c.ok("QUIT")
    assert len(s.maildir("alice", sub="cur")) == 3   # nothing was deleted


def test_dele_and_quit_removes_and_imap_sees_it(postern):
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES)
    im = imap_conn(s)
    im.ok("SELECT INBOX")
    c = pop3_conn(s)
    c.ok("DELE 1")
    c.ok("DELE 3")
    st = c.cmd("QUIT")
    assert st.ok, st
    assert c.is_closed()
    files = s.maildir("alice", sub="cur") + s.maildir("alice", sub="new")
    assert len(files) == 1 and b"Subject: second" in files[0].read_bytes()
    assert s.wait_log("pop3.update", lambda e: e.get("deleted") == 2)
    # an IMAP session open all along learns of the expunges
    r = im.ok("NOOP")
    assert sum(1 for l in r.lines() if l.endswith("EXPUNGE")) == 2, r
    im.close()
    im = imap_conn(s)
    r = im.ok("SELECT INBOX")
    assert "1 EXISTS" in r.lines()
    im.close()
    c = pop3_conn(s)                                 # (poplib refuses lines over 2048 octets)
    assert c.ok("STAT").text.startswith("1 ")
    c.ok("RETR 1")
    assert b"Subject: second" in c.body()[0]
    c.ok("QUIT")


def test_dele_then_dropped_connection_keeps_everything(postern):
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES)
    c = pop3_conn(s)
    c.ok("DELE 1")
    c.ok("DELE 2")
    c.close()                                       # no QUIT
    s.wait_log("pop3.disconnect", lambda e: e.get("user") == ALICE)
    p = pop3s(s)
    assert p.stat()[0] == 3
    p.quit()
    assert len(s.maildir("alice", sub="cur")) == 3


def test_dele_then_autologout_keeps_everything(postern):
    s = pop3_server(postern, config={"services": {"pop3s": {"timeouts": {"idle": "2s"}}}})
    fill(s, ALICE, MESSAGES)
    c = pop3_conn(s)
    c.ok("DELE 1")
    st = c.status(timeout=6)                         # unsolicited, then closed
    assert not st.ok and "utologout" in st.text, st
    assert c.is_closed()
    assert s.wait_log("pop3.timeout")
    p = pop3s(s)
    assert p.stat()[0] == 3
    p.quit()


def test_shutdown_closes_without_update(postern):
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES)
    c = pop3_conn(s)
    c.ok("DELE 1")
    s.send_signal(signal.SIGTERM)
    st = c.status(timeout=10)
    assert not st.ok and st.code == "SYS/TEMP", st
    assert c.is_closed(timeout=10)
    assert s.wait_exit(20) == 0
    assert len(s.maildir("alice", sub="cur")) == 3
    s.start()
    p = pop3s(s)
    assert p.stat()[0] == 3
    p.quit()


def test_quit_in_authorization_and_empty_quit(srv):
    c = pop3_conn(srv, user=None)
    st = c.cmd("QUIT")
    assert st.ok and c.is_closed()
    c = pop3_conn(srv)
    st = c.cmd("QUIT")                               # nothing marked: nothing to do
    assert st.ok and c.is_closed()


# ---- the maildrop lock --------------------------------------------------------------------------


def test_second_session_gets_in_use(postern):
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES[:1])
    a = pop3_conn(s, tls="stls")
    b = pop3_conn(s, user=None)
    b.ok(f"USER {ALICE}")
    st = b.cmd(f"PASS {PASSWORD}")
    assert not st.ok and st.code == "IN-USE", st
    assert not b.cmd("STAT").ok                     # still in AUTHORIZATION
    st = b.cmd("AUTH PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
    assert st.code == "IN-USE", st
    assert s.wait_log("pop3.maildrop_in_use")
    # another user is not affected
    other = pop3_conn(s, user=BOB)
    other.ok("QUIT")
    # the first one quits: the lock is free the moment its +OK arrives
    a.ok("DELE 1")
    a.ok("QUIT")
    b.login()
    assert b.ok("STAT").text == "0 0"
    b.close()
    # a dropped connection frees the lock too
    s.wait_log("pop3.disconnect", lambda e: e.get("user") == ALICE, count=2)
    c = pop3_conn(s)
    c.ok("QUIT")


def test_mail_delivered_during_a_session_appears_at_the_next_login(postern):
    from imap_fixtures import deliver_smtp
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES[:1])
    c = pop3_conn(s)
    assert c.ok("STAT").text.startswith("1 ")
    msg = deliver_smtp(s, subject="arrived meanwhile")
    assert c.ok("STAT").text.startswith("1 ")
    st, lines = c.multi("LIST")
    assert len(lines) == 1
    assert not c.cmd("RETR 2").ok
    c.ok("QUIT")
    c = pop3_conn(s)
    assert c.ok("STAT").text.startswith("2 ")
    c.ok("RETR 2")
    raw, lines = c.body()
    assert b"Subject: arrived meanwhile" in raw
    c.ok("QUIT")


def test_message_expunged_over_imap_during_the_session(postern):
    s = pop3_server(postern)
    fill(s, ALICE, MESSAGES)
    c = pop3_conn(s)
    im = imap_conn(s)
    im.ok("SELECT INBOX")
    im.ok("STORE 2 +FLAGS (\\Deleted)")
    im.ok("EXPUNGE")
    im.close()
    st = c.cmd("RETR 2")
    assert not st.ok and "no longer exists" in st.text, st
    st, lines = c.multi("LIST")                      # the snapshot keeps its numbers
    assert [l.split()[0] for l in lines] == [b"1", b"2", b"3"]
    c.ok("RETR 3")
    c.body()
    c.ok("DELE 2")                                   # already gone: QUIT still succeeds
    c.ok("DELE 1")
    assert c.cmd("QUIT").ok
    assert s.wait_log("pop3.update", lambda e: e.get("deleted") == 1)
    p = pop3s(s)
    assert p.stat()[0] == 1
    p.quit()


def test_pipelined_session(srv):
    user = fresh_user(srv, "pipeline")
    fill(srv, user, MESSAGES)
    c = pop3_conn(srv, user=None)
    c.send(f"USER {user}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nRETR 1\r\nUIDL 3\r\nTOP 2 1\r\n"
           "DELE 3\r\nSTAT\r\nRSET\r\nNOOP\r\nQUIT\r\n".encode())
    assert c.status().ok and c.status().ok
    assert c.status().text.startswith("3 ")
    assert c.status().ok and len(c.body()[1]) == 3
    assert c.status().ok and c.body()
    assert c.status().text.startswith("3 ")
    assert c.status().ok and c.body()
    assert c.status().ok
    assert c.status().text.startswith("2 ")
    assert c.status().ok and c.status().ok and c.status().ok
    assert c.is_closed()
