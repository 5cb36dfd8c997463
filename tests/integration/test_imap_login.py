"""IMAP connection set-up and login (RFC 9051 6.1, 6.2, 7.1): the greeting and
CAPABILITY before and after TLS and login (6.1.1, 6.2.3), STARTTLS (6.2.1) and
the injection of commands pipelined after it (CVE-2011-0411), implicit TLS on
imaps (RFC 8314), LOGIN (6.2.3) in its atom, quoted and literal forms and its
failure delay, AUTHENTICATE (6.2.2) PLAIN with and without SASL-IR (RFC 4959),
LOGIN and SCRAM-SHA-256 (RFC 7677), hostile AUTHENTICATE exchanges, the
per-user connection cap checked at login, and LOGOUT (6.1.3).

Most tests share one server (module scope); tests that need their own build one
from `postern` or take `own_srv`. Command reading and the commands of any state
are in test_imap_protocol.py."""
import re
import socket
import ssl
import time

import pytest

from conftest import HOST, HOSTNAME, PASSWORD, insecure_context
from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, own_srv, ALICE, BOB, IMAPConn, assert_alive, capability, imap_conn, imap_server,
                           imaps, imap_starttls, module_server, quote)
from submission_util import ScramSha256, b64, unb64


def caps_of(text):
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", text)
    assert m, f"no CAPABILITY code in {text!r}"
    return m.group(1).split()


# ---- greeting, CAPABILITY, STARTTLS --------------------------------------------------------------


def test_greeting_and_capabilities_before_tls(srv):
    c = IMAPConn(srv.imap_port)
    g = c.greeting.decode()
    assert g.startswith("* OK [CAPABILITY "), g
    assert HOSTNAME in g
    caps = caps_of(g)
    assert caps == capability(c)
    for cap in ("IMAP4rev1", "STARTTLS", "LOGINDISABLED", "LITERAL+", "SASL-IR", "ID", "ENABLE",
                "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE", "SPECIAL-USE", "CONDSTORE"):
        assert cap in caps, (cap, caps)
    assert any(x.startswith("APPENDLIMIT=") for x in caps)
    # RFC 9051 6.2.3: no clear-text password mechanisms before TLS
    assert "AUTH=PLAIN" not in caps and "AUTH=LOGIN" not in caps
    r = c.cmd(f"LOGIN {ALICE} {PASSWORD}")
    assert r.status == "NO" and r.code == "PRIVACYREQUIRED", r
    r = c.cmd("AUTHENTICATE PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
    assert r.status == "NO", r
    # still not logged in
    r = c.cmd("SELECT INBOX")
    assert r.status in ("BAD", "NO"), r
    c.close()


def test_starttls_then_login(srv):
    c = IMAPConn(srv.imap_port)
    c.starttls_now()
    caps = capability(c)
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
    assert "AUTH=PLAIN" in caps and "AUTH=SCRAM-SHA-256" in caps, caps
    # the mechanisms of SMTP's EHLO, in its order
    assert [x for x in caps if x.startswith("AUTH=")] == \
        ["AUTH=PLAIN", "AUTH=LOGIN", "AUTH=SCRAM-SHA-256"], caps
    r = c.cmd("STARTTLS")
    assert r.status == "BAD", r
    r = c.login()
    # RFC 9051 6.2.3: capabilities after login in the OK
    after = caps_of(r.text)
    assert "IMAP4rev1" in after and "STARTTLS" not in after
    assert not any(x.startswith("AUTH=") for x in after), after
    r = c.cmd("STARTTLS")
    assert r.status == "BAD", r
    c.ok("LOGOUT")
    c.close()


def test_imaps_old_tls_refused_and_logged_with_reason(srv):
    v = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        with socket.create_connection((HOST, srv.imaps_port), timeout=10) as raw:
            with insecure_context(minimum=v, maximum=v).wrap_socket(raw) as tls:
                tls.recv(100)
    ev = [e for e in srv.wait_log("tls.failed") if e.get("protocol") == "imap"][-1]
    assert "protocol" in ev["error"].lower() or "version" in ev["error"].lower(), ev


def test_starttls_injection_is_discarded(srv):
    """Commands pipelined after STARTTLS in the same packet were sent in clear
    text: they must not be run inside TLS (CVE-2011-0411 style)."""
    c = IMAPConn(srv.imap_port)
    c.send(b"a STARTTLS\r\nb NOOP\r\n")
    r = c.read_response()
    assert r.startswith(b"a OK"), r
    c.wrap_tls()
    c.send(b"c NOOP\r\n")
    r = c.read_response()
    assert r.startswith(b"c OK"), f"a reply to the injected command: {r!r}"
    assert c.quiet(0.3)
    c.close()
    srv.wait_log("imap.starttls_injection")


def test_starttls_injection_of_login(srv):
    """The injected command is a LOGIN: nobody is logged in afterwards."""
    c = IMAPConn(srv.imap_port)
    c.send(f"a STARTTLS\r\nb LOGIN {ALICE} {PASSWORD}\r\n".encode())
    assert c.read_response().startswith(b"a OK")
    c.wrap_tls()
    r = c.cmd("SELECT INBOX")
    assert r.status in ("BAD", "NO"), r
    c.close()


def test_implicit_tls(srv):
    c = IMAPConn(srv.imaps_port, tls=True)
    g = c.greeting.decode()
    assert g.startswith("* OK"), g
    caps = caps_of(g)
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps, caps
    c.login()
    c.ok("NOOP")
    c.close()


def test_imaps_without_tls_gets_nothing(srv):
    """A clear-text client on the imaps port: no greeting in clear text, and
    the server drops it (handshake failure) instead of hanging on."""
    c = IMAPConn(srv.imaps_port, greeting=False)
    c.send(b"a CAPABILITY\r\n")
    data = c.read_until_closed(timeout=10)
    assert b"OK" not in data and b"CAPABILITY" not in data, data
    c.close()


def test_imaplib_starttls_and_imaps(srv):
    m = imap_starttls(srv)
    typ, data = m.select("INBOX")
    assert typ == "OK"
    m.logout()
    m = imaps(srv)
    typ, data = m.list()
    assert typ == "OK" and any(b'"INBOX"' in d or b" INBOX" in d for d in data), data
    m.logout()


# ---- LOGIN / AUTHENTICATE ------------------------------------------------------------------------


def test_login_wrong_password_is_delayed(postern):
    s = imap_server(postern, auth={"delay_base": "600ms", "delay_max": "600ms",
                                   "max_attempts_per_ip": 1000, "max_attempts_per_username": 1000,
                                   "fast_block_threshold": 1000})
    c = imap_conn(s, login=None)
    for user, pw in ((ALICE, "wrong"), ("nobody@example.org", "wrong")):
        t0 = time.monotonic()
        r = c.cmd(f"LOGIN {quote(user)} {quote(pw)}")
        took = time.monotonic() - t0
        assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
        assert took >= 0.5, f"failure answered after {took:.3f}s"
    c.login()                              # the right password still works
    c.close()
    ev = s.logs("auth.failure")
    assert len(ev) == 2 and all(e["protocol"] == "imap" for e in ev), ev
    assert all(PASSWORD not in str(e) and "wrong" not in str(e) for e in ev), ev


def test_login_forms(srv):
    c = imap_conn(srv, login=None)
    # atoms, quoted strings and literals (synchronising and LITERAL+)
    r = c.cmd(f"LOGIN {ALICE} wrong")
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
    c.send(b"l1 LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(ALICE), ALICE.encode(), len(PASSWORD),
                                                     PASSWORD.encode()))
    r = c.wait_tagged("l1")
    assert r.status == "OK", r
    r = c.cmd(f"LOGIN {ALICE} {PASSWORD}")
    assert r.status == "BAD", r            # LOGIN in the authenticated state
    c.close()
    c = imap_conn(srv, login=None)
    c.send(b"l2 LOGIN {%d}\r\n" % len(ALICE))
    assert c.read_response().startswith(b"+")
    c.send(ALICE.encode() + b" " + quote(PASSWORD).encode() + b"\r\n")
    assert c.wait_tagged("l2").status == "OK"
    c.close()
    for bad in ("LOGIN", f"LOGIN {ALICE}", f"LOGIN {ALICE} {PASSWORD} extra"):
        c = imap_conn(srv, login=None)
        r = c.cmd(bad)
        assert r.status == "BAD", (bad, r)
        c.close()


def test_login_upper_case_user(srv):
    c = imap_conn(srv, login=None)
    c.login(ALICE.upper(), PASSWORD)
    c.ok("SELECT INBOX")
    c.close()


def test_authenticate_plain_with_sasl_ir(srv):
    c = imap_conn(srv, login=None)
    r = c.cmd("AUTHENTICATE PLAIN " + b64(f"\0{ALICE}\0{PASSWORD}"))
    assert r.status == "OK", r
    assert r.continuations == []
    c.ok("SELECT INBOX")
    c.close()
    c = imap_conn(srv, login=None)
    r = c.cmd("AUTHENTICATE PLAIN " + b64(f"\0{ALICE}\0nope"))
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
    # authzid other than the user: refused like a wrong password
    r = c.cmd("AUTHENTICATE PLAIN " + b64(f"{BOB}\0{ALICE}\0{PASSWORD}"))
    assert r.status == "NO", r
    r = c.cmd("AUTHENTICATE PLAIN !!!notbase64")
    assert r.status == "BAD", r
    c.close()


def test_authenticate_plain_without_sasl_ir(srv):
    c = imap_conn(srv, login=None)
    c.send(b"a1 AUTHENTICATE PLAIN\r\n")
    r = c.read_response()
    assert r.startswith(b"+"), r
    c.send(b64(f"\0{ALICE}\0{PASSWORD}").encode() + b"\r\n")
    r = c.wait_tagged("a1")
    assert r.status == "OK", r
    c.close()
    # the client cancels with "*" (RFC 9051 6.2.2)
    c = imap_conn(srv, login=None)
    c.send(b"a2 AUTHENTICATE PLAIN\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b"*\r\n")
    r = c.wait_tagged("a2")
    assert r.status == "BAD", r
    c.ok("NOOP")
    r = c.cmd("AUTHENTICATE CRAM-MD5")
    assert r.status == "NO", r
    c.close()


def test_authenticate_login(srv):
    # the two fixed challenges, "Username:" and "Password:" in base64
    c = imap_conn(srv, login=None)
    c.send(b"a1 AUTHENTICATE LOGIN\r\n")
    assert c.read_response() == b"+ VXNlcm5hbWU6"
    c.send(b64(ALICE).encode() + b"\r\n")
    assert c.read_response() == b"+ UGFzc3dvcmQ6"
    c.send(b64(PASSWORD).encode() + b"\r\n")
    r = c.wait_tagged("a1")
    assert r.status == "OK" and "[CAPABILITY " in r.text, r
    c.ok("SELECT INBOX")
    c.close()
    # SASL-IR: the username as initial response, then only the password prompt
    c = imap_conn(srv, login=None)
    c.send(f"a2 AUTHENTICATE LOGIN {b64(ALICE.upper())}\r\n".encode())
    assert c.read_response() == b"+ UGFzc3dvcmQ6"
    c.send(b64("wrong").encode() + b"\r\n")
    r = c.wait_tagged("a2")
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
    # cancelled at the password prompt, and a NUL in the username is malformed
    c.send(b"a3 AUTHENTICATE LOGIN\r\n")
    assert c.read_response().startswith(b"+ ")
    c.send(b"*\r\n")
    assert c.wait_tagged("a3").status == "BAD"
    r = c.cmd("AUTHENTICATE LOGIN " + b64(f"{ALICE}\0x"))
    assert r.status == "BAD", r
    c.ok("NOOP")
    c.close()
    # the password travels as it is: not before STARTTLS, and not offered there
    c = IMAPConn(srv.imap_port)
    assert "AUTH=LOGIN" not in capability(c)
    r = c.cmd("AUTHENTICATE LOGIN")
    assert r.status == "NO" and r.code == "PRIVACYREQUIRED", r
    c.close()
    fails = [e for e in srv.logs("auth.failure") if e.get("protocol") == "imap"]
    assert fails and fails[-1]["user"] == ALICE and fails[-1]["reason"] == "bad_password", fails


def scram_login(c, user=ALICE, password=PASSWORD, initial_response=False, tamper=False):
    sc = ScramSha256(user, password)
    tag = c.next_tag()
    if initial_response:
        c.send(f"{tag} AUTHENTICATE SCRAM-SHA-256 {b64(sc.client_first())}\r\n".encode())
    else:
        c.send(f"{tag} AUTHENTICATE SCRAM-SHA-256\r\n".encode())
        r = c.read_response()
        assert r.rstrip() == b"+", r
        c.send(b64(sc.client_first()).encode() + b"\r\n")
    r = c.read_response()
    assert r.startswith(b"+ "), r
    server_first = unb64(r[2:].decode()).decode()
    c.send(b64(sc.client_final(server_first, tamper_proof=tamper)).encode() + b"\r\n")
    r = c.read_response()
    if tamper:
        assert r.startswith(tag.encode() + b" NO"), r
        assert b"AUTHENTICATIONFAILED" in r
        return None
    # server-final comes as a continuation; the client answers with an empty line
    assert r.startswith(b"+ "), r
    assert sc.verify_server_final(unb64(r[2:].decode()).decode()), r
    c.send(b"\r\n")
    res = c.wait_tagged(tag)
    assert res.status == "OK", res
    return res


def test_authenticate_scram_sha_256(srv):
    c = imap_conn(srv, login=None)
    scram_login(c)
    c.ok("SELECT INBOX")
    c.close()
    c = imap_conn(srv, login=None)
    scram_login(c, initial_response=True)
    c.close()
    c = imap_conn(srv, login=None)
    scram_login(c, tamper=True)
    c.close()
    # unknown user: fails at the proof, the same way
    c = imap_conn(srv, login=None)
    scram_login(c, user="nobody@example.org", tamper=True)
    c.close()


def test_scram_over_clear_text_is_offered(srv):
    """SCRAM does not reveal the password: it is allowed before STARTTLS."""
    c = IMAPConn(srv.imap_port)
    assert "AUTH=SCRAM-SHA-256" in capability(c)
    scram_login(c)
    c.close()


def test_authenticate_garbage(own_srv):
    c = imap_conn(own_srv, login=None)
    c.send(b"g1 AUTHENTICATE PLAIN\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b"A" * 20000 + b"\r\n")                      # over the line limit: closed
    data = c.read_until_closed(timeout=10)
    assert b"* BYE" in data or b"g1 BAD" in data, data[-200:]
    c = imap_conn(own_srv, login=None)
    c.send(b"g2 AUTHENTICATE SCRAM-SHA-256\r\n")
    assert c.read_response().startswith(b"+")
    c.send(b"bm90IHNjcmFt\r\n")                         # "not scram"
    r = c.wait_tagged("g2")
    assert r.status in ("BAD", "NO"), r
    c.ok("NOOP")
    c.close()
    assert_alive(own_srv)


# ---- the per-user connection cap -----------------------------------------------------------------


def test_max_connections_per_user(postern):
    s = imap_server(postern, config={"imap": {"max_connections_per_user": 3}})
    conns = [imap_conn(s) for _ in range(3)]
    c = imap_conn(s, login=None)
    r = c.cmd(f"LOGIN {ALICE} secret")
    assert r.status == "NO" and r.code == "LIMIT", r
    other = imap_conn(s, login=BOB)                     # another user is not affected
    conns[0].ok("LOGOUT")
    conns[0].close()
    deadline = time.monotonic() + 5
    while True:
        r = c.cmd(f"LOGIN {ALICE} secret")
        if r.status == "OK" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status == "OK", r
    # a connection that just drops (no LOGOUT) frees its slot too
    conns[1].close()
    c2 = imap_conn(s, login=None)
    deadline = time.monotonic() + 5
    while True:
        r = c2.cmd(f"LOGIN {ALICE} secret")
        if r.status == "OK" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status == "OK", r
    for x in (c, c2, other, conns[2]):
        x.close()
    assert s.logs("imap.too_many_connections")


# ---- LOGOUT --------------------------------------------------------------------------------------


def test_logout_closes(srv):
    c = imap_conn(srv)
    c.send(b"z LOGOUT\r\n")
    assert c.read_response().startswith(b"* BYE")
    assert c.read_response().startswith(b"z OK")
    assert c.is_closed(5)


def test_logout_before_login(srv):
    c = IMAPConn(srv.imap_port)
    c.send(b"z LOGOUT\r\n")
    assert c.read_response().startswith(b"* BYE")
    assert c.read_response().startswith(b"z OK")
    assert c.is_closed(5)
