"""IMAP server (RFC 9051 / RFC 3501): the session, TLS (STARTTLS and implicit
TLS on imaps), authentication (LOGIN, AUTHENTICATE PLAIN with and without
SASL-IR, SCRAM-SHA-256), the commands of any state (CAPABILITY, NOOP,
LOGOUT, ID, ENABLE, NAMESPACE), and the mailbox commands (SELECT/EXAMINE,
CREATE, DELETE, RENAME, SUBSCRIBE, LIST, LSUB, STATUS, APPEND, CHECK, CLOSE,
UNSELECT, EXPUNGE).

Most tests share one server (module scope); each works in mailboxes named after
the test. Message commands are in test_imap_fetch.py, concurrency / IDLE /
index rebuild in test_imap_sync.py, hostile input in test_imap_hostile.py,
real clients in test_imap_clients.py, QRESYNC in test_imap_qresync.py,
IMAP4rev2 mode and SEARCHRES in test_imap_rev2.py, BINARY in
test_imap_binary.py."""
import re
import socket
import ssl
import time

import pytest

from conftest import HOST, HOSTNAME, PASSWORD, insecure_context
from imap_fixtures import (ALICE, BOB, SPECIAL_USE, IMAPConn, fetch_all, imap_conn, imap_server,
                           imaps, imap_starttls, module_server, quote, resp_code, simple_message)
from submission_util import ScramSha256, b64, unb64


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data) as s:
        yield s


def caps_of(text):
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", text)
    assert m, f"no CAPABILITY code in {text!r}"
    return m.group(1).split()


def capability(c):
    r = c.ok("CAPABILITY")
    lines = r.lines("CAPABILITY")
    assert len(lines) == 1, r
    return lines[0].split()[1:]


# ---- greeting, CAPABILITY, STARTTLS ---------------------------------------------------------


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


# ---- LOGOUT, NOOP, ID, ENABLE, NAMESPACE -----------------------------------------------------


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


def test_noop_id_namespace_enable(srv):
    c = imap_conn(srv, login=None)
    c.ok("NOOP")
    r = c.ok('ID ("name" "pytest" "version" "1")')
    assert r.lines("ID") and '"name" "postern"' in r.lines("ID")[0], r
    r = c.ok("ID NIL")
    assert r.lines("ID")
    r = c.cmd("ENABLE CONDSTORE")
    assert r.status == "BAD", r               # RFC 5161: only when authenticated
    c.login()
    r = c.ok("NAMESPACE")
    assert r.lines("NAMESPACE") == ['NAMESPACE (("" "/")) NIL NIL'], r
    r = c.ok("ENABLE CONDSTORE")
    assert r.lines("ENABLED") == ["ENABLED CONDSTORE"], r
    r = c.ok("ENABLE CONDSTORE X-UNKNOWN")   # already enabled, unknown ignored
    assert r.lines("ENABLED") == ["ENABLED"], r
    r = c.ok("SELECT INBOX")
    assert resp_code(r, "HIGHESTMODSEQ") is not None
    c.close()


def test_commands_in_the_wrong_state(srv):
    c = IMAPConn(srv.imap_port)
    for cmd in ("SELECT INBOX", "EXAMINE INBOX", "CREATE x", "LIST \"\" *", "STATUS INBOX (MESSAGES)",
                "APPEND INBOX {0+}\r\n", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
                "EXPUNGE", "CLOSE", "UID FETCH 1 FLAGS", "IDLE", "NAMESPACE"):
        r = c.cmd(cmd)
        assert r.status in ("BAD", "NO"), (cmd, r)
    c.close()
    c = imap_conn(srv)
    for cmd in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "EXPUNGE", "CLOSE",
                "UNSELECT", "CHECK", "COPY 1 INBOX", "MOVE 1 INBOX", "UID SEARCH ALL"):
        r = c.cmd(cmd)
        assert r.status == "BAD", (cmd, r)
    for cmd in ("UID NOOP", "UID SELECT INBOX", "FOO", "UID"):
        r = c.cmd(cmd)
        assert r.status == "BAD", (cmd, r)
    c.ok("NOOP")
    c.close()


# ---- SELECT / EXAMINE -------------------------------------------------------------------------


def test_select_and_examine_responses(srv):
    c = imap_conn(srv)
    c.ok("CREATE sel1")
    for i in range(3):
        assert c.append("sel1", simple_message(f"m{i}"), flags="\\Seen" if i == 0 else "").status == "OK"
    r = c.ok("SELECT sel1")
    assert r.code == "READ-WRITE", r
    assert "3 EXISTS" in r.lines()
    flags = r.lines("FLAGS")
    assert flags and all(f in flags[0] for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen",
                                                  "\\Draft")), flags
    perm = resp_code(r, "PERMANENTFLAGS")
    assert perm is not None and "\\*" in perm and "\\Seen" in perm, r
    uv = resp_code(r, "UIDVALIDITY")
    assert uv and int(uv) > 0
    assert resp_code(r, "UIDNEXT") == "4"
    assert int(resp_code(r, "HIGHESTMODSEQ")) >= 1
    assert resp_code(r, "UNSEEN") == "2"          # first unseen
    r = c.ok("EXAMINE sel1")
    assert r.code == "READ-ONLY", r
    assert resp_code(r, "UIDVALIDITY") == uv
    # RFC 9051 6.3.2: CLOSED when a mailbox was already selected
    assert any(u.startswith("OK [CLOSED]") for u in r.lines()), r
    r = c.cmd("STORE 1 +FLAGS (\\Flagged)")
    assert r.status == "NO", r
    r = c.cmd("EXPUNGE")
    assert r.status == "NO", r
    # a failed SELECT leaves no mailbox selected
    r = c.cmd("SELECT does-not-exist")
    assert r.status == "NO", r
    r = c.cmd("FETCH 1 FLAGS")
    assert r.status == "BAD", r
    r = c.ok("SELECT inbox")                      # INBOX in any case
    c.close()


def test_examine_does_not_set_seen(srv):
    c = imap_conn(srv)
    c.ok("CREATE ex1")
    c.append("ex1", simple_message("x"))
    c.ok("EXAMINE ex1")
    r = c.ok("FETCH 1 BODY[]")
    assert b"\\Seen" not in b"".join(r.untagged)
    c.ok("SELECT ex1")
    r = c.ok("FETCH 1 FLAGS")
    assert "\\Seen" not in r.lines()[0], r
    c.close()


# ---- CREATE / DELETE / RENAME / SUBSCRIBE / LIST ------------------------------------------------


def list_names(c, ref='""', pat='"*"', cmd="LIST"):
    r = c.ok(f"{cmd} {ref} {pat}")
    out = {}
    for line in r.lines(cmd):
        m = re.match(rf'{cmd} \(([^)]*)\) (?:"/"|NIL) (.*)$', line, re.S)
        assert m, line
        name = m.group(2)
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif name.startswith("{"):
            name = name.split("\r\n", 1)[1]
        out[name] = m.group(1).split()
    return out


def test_new_user_gets_special_use_folders(srv):
    srv.add_user("carol@example.org")
    c = imap_conn(srv, login="carol@example.org")
    names = list_names(c)
    assert set(names) == {"INBOX", *SPECIAL_USE}, names
    for name, use in SPECIAL_USE.items():
        assert use in names[name], (name, names[name])
    assert "\\HasNoChildren" in names["INBOX"]
    # RFC 6154: LIST (SPECIAL-USE) selection returns only those
    r = c.ok('LIST (SPECIAL-USE) "" "*"')
    got = {l.rsplit(" ", 1)[1].strip('"') for l in r.lines("LIST")}
    assert got == set(SPECIAL_USE), got
    c.close()


def test_create_and_hierarchy(srv):
    c = imap_conn(srv)
    c.ok('CREATE "cr/sub"')
    names = list_names(c, pat='"cr*"')
    assert "cr" in names and "cr/sub" in names, names
    assert "\\HasChildren" in names["cr"] and "\\HasNoChildren" in names["cr/sub"]
    r = c.cmd('CREATE "cr/sub"')
    assert r.status == "NO" and r.code == "ALREADYEXISTS", r
    r = c.cmd("CREATE INBOX")
    assert r.status == "NO", r
    r = c.cmd("CREATE inbox")
    assert r.status == "NO", r
    c.ok('CREATE "cr/trail/"')                    # trailing separator: a hint only
    assert "cr/trail" in list_names(c, pat='"cr/*"')
    for bad in ('"a//b"', '"/lead"', '".hidden"', '"x/../y"', '"pct%"', '"star*"', '""',
                "{3}\r\na\x01b", '"' + "n" * 300 + '"'):
        if bad.startswith("{"):
            c.send(b"cb CREATE {3}\r\n")
            assert c.read_response().startswith(b"+")
            c.send(b"a\x01b\r\n")
            r = c.wait_tagged("cb")
        else:
            r = c.cmd(f"CREATE {bad}")
        assert r.status in ("NO", "BAD"), (bad, r)
    # nothing of those reached the disk
    md = srv.maildir_path("alice")
    assert not any(p.name.startswith("..") for p in md.iterdir())
    c.close()


def test_mailbox_names_modified_utf7(srv):
    """RFC 3501 5.1.3 / RFC 6855 3: an IMAP4rev1 session sees international
    mailbox names in modified UTF-7; a session that enabled UTF8=ACCEPT sees
    UTF-8. The index keeps UTF-8 (store/mbox.h)."""
    c = imap_conn(srv)
    c.ok('CREATE "Gr&APwA3w-e"')                  # "Gr\u00fc\u00dfe" in modified UTF-7
    names = list_names(c, pat='"Gr*"')
    assert set(names) == {"Gr&APwA3w-e"}, names
    c.ok('SELECT "Gr&APwA3w-e"')
    u = imap_conn(srv)
    u.ok("ENABLE UTF8=ACCEPT")
    raw = u.ok('LIST "" "Gr*"')
    assert "Gr\u00fc\u00dfe" in raw.lines("LIST")[0], raw
    u.ok('CREATE "Stra\u00dfe"'.encode())
    raw = c.ok('LIST "" "Stra*"')
    assert raw.lines("LIST") and all(max(l.encode()) < 0x80 for l in raw.lines("LIST")), raw
    assert "Stra&AN8-e" in raw.lines("LIST")[0], raw
    c.close()
    u.close()


def test_create_hierarchy_under_existing_leaf_and_select(srv):
    c = imap_conn(srv)
    c.ok("CREATE leaf")
    c.append("leaf", simple_message("in leaf"))
    c.ok('CREATE "leaf/child"')
    r = c.ok("SELECT leaf")
    assert "1 EXISTS" in r.lines()
    r = c.ok('SELECT "leaf/child"')
    assert "0 EXISTS" in r.lines()
    c.close()


def test_delete(srv):
    c = imap_conn(srv)
    r = c.cmd("DELETE INBOX")
    assert r.status == "NO", r
    r = c.cmd("DELETE inbox")
    assert r.status == "NO", r
    c.ok('CREATE "del/kid"')
    r = c.cmd("DELETE del")
    assert r.status == "NO", r                    # has children
    c.append("del/kid", simple_message("gone soon"))
    c.ok('DELETE "del/kid"')
    c.ok("DELETE del")
    names = list_names(c, pat='"del*"')
    assert names == {}, names
    r = c.cmd("DELETE del")
    assert r.status == "NO" and r.code == "NONEXISTENT", r
    md = srv.maildir_path("alice")
    assert not (md / ".del").exists() and not (md / ".del.kid").exists()
    # deleting the selected mailbox: it is no longer selected
    c.ok("CREATE delsel")
    c.ok("SELECT delsel")
    c.ok("DELETE delsel")
    r = c.cmd("FETCH 1:* FLAGS")
    assert r.status in ("BAD", "NO"), r
    # a refused DELETE of the selected mailbox leaves it selected
    c.ok('CREATE "selkid/kid"')
    c.append("selkid", simple_message("stays"))
    c.ok("SELECT selkid")
    r = c.cmd("DELETE selkid")
    assert r.status == "NO", r
    assert fetch_all(c.ok("FETCH 1 FLAGS"))[1]["FLAGS"] == [], "still selected"
    c.close()


def test_rename(srv):
    c = imap_conn(srv)
    c.ok("CREATE rn1")
    c.append("rn1", simple_message("keep me"), flags="\\Flagged")
    c.ok("RENAME rn1 rn2")
    names = list_names(c, pat='"rn*"')
    assert set(names) == {"rn2"}, names
    r = c.ok("SELECT rn2")
    assert "1 EXISTS" in r.lines()
    r = c.ok("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert b"keep me" in r.untagged[0] and b"\\Flagged" in r.untagged[0]
    c.ok("CREATE rn3")
    r = c.cmd("RENAME rn2 rn3")
    assert r.status == "NO" and r.code == "ALREADYEXISTS", r
    r = c.cmd("RENAME nosuch rn4")
    assert r.status == "NO", r
    r = c.cmd('RENAME rn3 "bad//name"')
    assert r.status == "NO", r
    c.close()


def test_rename_moves_children(srv):
    """RFC 9051 6.3.6: inferior hierarchical names are renamed too."""
    c = imap_conn(srv)
    c.ok('CREATE "rk1/kid"')
    c.append("rk1/kid", simple_message("kid mail"))
    c.ok("RENAME rk1 rk2")
    assert set(list_names(c, pat='"rk*"')) == {"rk2", "rk2/kid"}
    assert "1 EXISTS" in c.ok('SELECT "rk2/kid"').lines()
    c.close()


def test_rename_inbox_keeps_inbox(srv):
    """RFC 9051 6.3.6: renaming INBOX moves its messages and leaves an empty INBOX
    (or is refused); either way INBOX must still be there and selectable."""
    s_user = "dave@example.org"
    srv.add_user(s_user)
    c = imap_conn(srv, login=s_user)
    c.append("INBOX", simple_message("old inbox mail"))
    r = c.cmd("RENAME INBOX oldinbox")
    names = list_names(c)
    assert "INBOX" in names
    r2 = c.ok("SELECT INBOX")
    if r.status == "OK":
        assert "0 EXISTS" in r2.lines()
        assert "1 EXISTS" in c.ok("SELECT oldinbox").lines()
    else:
        assert "1 EXISTS" in r2.lines()
    c.close()


def test_subscribe_and_lsub(srv):
    c = imap_conn(srv)
    c.ok("CREATE subme")
    c.ok("SUBSCRIBE subme")
    assert "subme" in list_names(c, cmd="LSUB")
    r = c.ok('LIST (SUBSCRIBED) "" "sub*"')
    lines = r.lines("LIST")
    assert len(lines) == 1 and "\\Subscribed" in lines[0] and "subme" in lines[0], r
    c.ok("UNSUBSCRIBE subme")
    assert "subme" not in list_names(c, cmd="LSUB")
    r = c.cmd("SUBSCRIBE nosuchbox")
    # RFC 9051 6.3.7 allows subscribing to a name that does not exist; refusing is fine too
    assert r.status in ("OK", "NO"), r
    c.close()


def test_list_patterns(srv):
    c = imap_conn(srv)
    for n in ("lp", "lp/a", "lp/a/deep", "lp/b", "lpx"):
        c.ok(f'CREATE "{n}"')
    assert set(list_names(c, pat='"lp*"')) == {"lp", "lp/a", "lp/a/deep", "lp/b", "lpx"}
    assert set(list_names(c, pat='"lp%"')) == {"lp", "lpx"}
    assert set(list_names(c, pat='"lp/%"')) == {"lp/a", "lp/b"}
    assert set(list_names(c, ref='"lp/"', pat='"%"')) == {"lp/a", "lp/b"}
    assert set(list_names(c, pat='"lp/*/deep"')) == {"lp/a/deep"}
    top = list_names(c, pat='"%"')
    assert "lp" in top and "lp/a" not in top and "INBOX" in top
    assert set(list_names(c, pat='"inbox"')) == {"INBOX"}
    assert list_names(c, pat='"nomatch*"') == {}
    # the hierarchy delimiter (RFC 9051 6.3.9)
    r = c.ok('LIST "" ""')
    assert r.lines("LIST") == ['LIST (\\Noselect) "/" ""'], r
    r = c.cmd("LIST")
    assert r.status == "BAD", r
    c.close()


def test_status(srv):
    c = imap_conn(srv)
    c.ok("CREATE st1")
    msgs = [simple_message(f"s{i}", body="x" * (10 * i)) for i in range(3)]
    for i, m in enumerate(msgs):
        c.append("st1", m, flags="\\Seen" if i == 1 else None)
    r = c.ok("STATUS st1 (MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ)")
    line = r.lines("STATUS")[0]
    m = re.match(r'STATUS "?st1"? \((.*)\)$', line)
    assert m, line
    vals = dict(zip(m.group(1).split()[::2], map(int, m.group(1).split()[1::2])))
    assert vals["MESSAGES"] == 3 and vals["UIDNEXT"] == 4 and vals["UNSEEN"] == 2, vals
    assert vals["SIZE"] == sum(len(x) for x in msgs), vals
    assert vals["UIDVALIDITY"] > 0 and vals["HIGHESTMODSEQ"] > 0
    r = c.ok("SELECT st1")
    assert resp_code(r, "UIDVALIDITY") == str(vals["UIDVALIDITY"])
    assert resp_code(r, "HIGHESTMODSEQ") == str(vals["HIGHESTMODSEQ"])
    r = c.cmd("STATUS st1 (BOGUS)")
    assert r.status == "BAD", r
    r = c.cmd("STATUS nosuch (MESSAGES)")
    assert r.status == "NO", r
    r = c.cmd("STATUS st1")
    assert r.status == "BAD", r
    c.close()


# ---- APPEND ---------------------------------------------------------------------------------


def test_append_flags_date_appenduid(srv):
    c = imap_conn(srv)
    c.ok("CREATE ap1")
    r = c.ok("STATUS ap1 (UIDVALIDITY)")
    uv = re.search(r"UIDVALIDITY (\d+)", r.lines("STATUS")[0]).group(1)
    msg = simple_message("appended")
    r = c.append("ap1", msg, flags="\\Flagged \\Seen $Forwarded Custom1",
                 date="14-Feb-2026 13:45:10 +0100")
    assert r.status == "OK", r
    assert r.code == f"APPENDUID {uv} 1", r
    r = c.append("ap1", msg)
    assert r.code == f"APPENDUID {uv} 2", r
    c.ok("SELECT ap1")
    r = c.ok("FETCH 1:2 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    f = fetch_all(r)
    flags1 = f[1]["FLAGS"]
    assert {"\\Flagged", "\\Seen", "$Forwarded", "Custom1"} <= set(flags1), flags1
    assert f[2]["FLAGS"] == [], f[2]
    assert f[1]["INTERNALDATE"] == b"14-Feb-2026 12:45:10 +0000" or \
        f[1]["INTERNALDATE"] == b"14-Feb-2026 13:45:10 +0100", f[1]["INTERNALDATE"]
    assert f[1]["BODY[]"] == msg
    assert int(f[1]["RFC822.SIZE"]) == len(msg)
    # the file is in cur/ with the flag letters
    files = list((srv.maildir_path("alice") / ".ap1" / "cur").iterdir())
    assert any(p.name.endswith(":2,FS") for p in files), files
    c.close()


def test_append_to_selected_reports_exists(srv):
    c = imap_conn(srv)
    c.ok("CREATE ap2")
    c.ok("SELECT ap2")
    r = c.append("ap2", simple_message("one"))
    assert r.status == "OK"
    assert "1 EXISTS" in r.lines(), r
    c.close()


def test_append_errors(srv):
    c = imap_conn(srv)
    r = c.append("nosuchbox", simple_message("x"))
    assert r.status == "NO" and r.code == "TRYCREATE", r
    r = c.append("INBOX", simple_message("x"), flags="\\Bogus")
    assert r.status == "BAD", r
    r = c.append("INBOX", simple_message("x"), date="31-Feb-2026 99:00:00 +0000")
    assert r.status == "BAD", r
    r = c.cmd('APPEND INBOX "not a literal"')
    assert r.status == "BAD", r
    r = c.cmd("APPEND INBOX")
    assert r.status == "BAD", r
    c.ok("NOOP")
    c.close()


def test_append_lf_only_and_binary_literal(srv):
    c = imap_conn(srv)
    c.ok("CREATE ap3")
    lf = b"From: <a@remote.test>\nSubject: lf only\n\nline1\nline2\n"
    r = c.append("ap3", lf)
    assert r.status == "OK", r
    c.ok("SELECT ap3")
    r = c.ok("FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    f = fetch_all(r)[1]
    assert f["BODY[]"] == lf.replace(b"\n", b"\r\n")
    assert int(f["RFC822.SIZE"]) == len(f["BODY[]"])
    c.close()


@pytest.fixture(scope="module")
def small_srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data, config={"imap": {"append_limit": "4K"}}) as s:
        yield s


def test_appendlimit_advertised(small_srv):
    c = IMAPConn(small_srv.imap_port)
    assert "APPENDLIMIT=4096" in capability(c)
    c.close()


def test_append_too_big_synchronising_literal(small_srv):
    """NO [TOOBIG] before the literal: the client never gets a '+' continuation."""
    c = imap_conn(small_srv)
    c.send(b"a1 APPEND INBOX {5000}\r\n")
    r = c.read_response()
    assert r.startswith(b"a1 NO [TOOBIG]"), r
    c.ok("NOOP")
    # just under the limit is fine
    msg = simple_message("fits", body="y" * 3000)
    assert len(msg) < 4096
    assert c.append("INBOX", msg).status == "OK"
    c.close()


def test_append_too_big_non_synchronising_literal_closes(small_srv):
    """RFC 7888 4: the client of a refused {N+} literal sends the data anyway, so
    the server cannot resynchronise: NO [TOOBIG], then BYE and close."""
    c = imap_conn(small_srv)
    data = b"z" * 5000
    c.send(b"a1 APPEND INBOX {5000+}\r\n" + data + b"\r\na2 NOOP\r\n")
    got = c.read_until_closed(timeout=10)
    assert b"a1 NO [TOOBIG]" in got, got
    assert b"* BYE" in got, got
    assert b"a2 OK" not in got, got
    # nothing was stored
    c2 = imap_conn(small_srv)
    r = c2.ok("STATUS INBOX (MESSAGES)")
    n = int(re.search(r"MESSAGES (\d+)", r.lines("STATUS")[0]).group(1))
    c2.ok("SELECT INBOX")
    r = c2.ok("SEARCH BODY zzzzzzzzzz")
    assert r.lines("SEARCH") == ["SEARCH"], (n, r)
    c2.close()


# ---- CHECK / CLOSE / UNSELECT / EXPUNGE ----------------------------------------------------------


def fill(c, name, n, prefix="m"):
    c.ok(f'CREATE "{name}"')
    for i in range(n):
        assert c.append(name, simple_message(f"{prefix}{i + 1}")).status == "OK"


def test_close_expunges_silently(srv):
    c = imap_conn(srv)
    fill(c, "cl1", 4)
    c.ok("SELECT cl1")
    c.ok("STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    c.ok("CHECK")
    r = c.ok("CLOSE")
    assert not r.lines("EXPUNGE") and r.untagged == [], r
    r = c.ok("SELECT cl1")
    assert "2 EXISTS" in r.lines()
    r = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)])")
    subjects = [re.search(rb"Subject: (\w+)", u).group(1) for u in r.untagged]
    assert subjects == [b"m1", b"m4"], subjects
    # CLOSE after EXAMINE expunges nothing
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    c.ok("EXAMINE cl1")
    c.ok("CLOSE")
    assert "2 EXISTS" in c.ok("SELECT cl1").lines()
    # state is authenticated after CLOSE
    c.ok("CLOSE")
    assert c.cmd("FETCH 1 FLAGS").status == "BAD"
    c.close()


def test_unselect_does_not_expunge(srv):
    c = imap_conn(srv)
    fill(c, "un1", 2)
    c.ok("SELECT un1")
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    r = c.ok("UNSELECT")
    assert r.untagged == [], r
    assert "2 EXISTS" in c.ok("SELECT un1").lines()
    c.close()


def test_expunge_and_uid_expunge(srv):
    c = imap_conn(srv)
    fill(c, "xp1", 6)
    c.ok("SELECT xp1")
    c.ok("STORE 2,4,5 +FLAGS (\\Deleted)")
    r = c.ok("UID EXPUNGE 1:4")               # only UIDs 2 and 4
    ex = [int(l.split()[0]) for l in r.lines() if l.endswith("EXPUNGE")]
    # each number refers to the sequence after the previous ones were removed
    assert ex in ([2, 3], [4, 2]), ex
    r = c.ok("FETCH 1:* (UID FLAGS)")
    f = fetch_all(r)
    assert [int(v["UID"]) for v in f.values()] == [1, 3, 5, 6], f
    r = c.ok("EXPUNGE")
    assert [l for l in r.lines() if l.endswith("EXPUNGE")] == ["3 EXPUNGE"], r
    r = c.ok("UID FETCH 1:* UID")
    assert sorted(int(v["UID"]) for v in fetch_all(r).values()) == [1, 3, 6]
    r = c.ok("EXPUNGE")                        # nothing left to remove
    assert not [l for l in r.lines() if l.endswith("EXPUNGE")]
    c.close()


def test_esearch_capability_announced(srv):
    c = imap_conn(srv)
    assert "ESEARCH" in capability(c)
    c.close()


def test_list_status(srv):
    c = imap_conn(srv)
    assert "LIST-STATUS" in capability(c)
    fill(c, "ls1", 2)
    r = c.ok('LIST "" "ls1" RETURN (STATUS (MESSAGES UIDNEXT))')
    assert any(l.startswith("STATUS") and "MESSAGES 2" in l for l in r.lines()), r
    c.close()


def test_rename_of_the_selected_mailbox(srv):
    """RFC 9051 6.3.6: the session stays on the renamed mailbox; another
    session that has it selected follows it too."""
    a, b = imap_conn(srv), imap_conn(srv)
    fill(a, "rs1", 3)
    a.ok("SELECT rs1")
    b.ok("SELECT rs1")
    a.ok('RENAME rs1 "rs1 new"')
    r = a.ok("STORE 2 +FLAGS (\\Flagged)")
    assert "\\Flagged" in r.lines("FETCH")[0], r
    assert a.ok("FETCH 3 (BODY.PEEK[HEADER.FIELDS (Subject)])").untagged
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert [l for l in a.ok("EXPUNGE").lines() if l.endswith("EXPUNGE")] == ["1 EXPUNGE"]
    # the other session learns of the expunge, then works on the new name
    r = b.ok("NOOP")
    assert "1 EXPUNGE" in r.lines(), r
    b.ok("STORE 1 -FLAGS (\\Flagged)")
    r = a.ok("STATUS \"rs1 new\" (MESSAGES)")
    assert "MESSAGES 2" in r.lines("STATUS")[0], r
    # a parent renamed under a selected child
    fill(a, "rs2/kid", 1)
    a.ok('SELECT "rs2/kid"')
    a.ok('RENAME rs2 rs3')
    a.ok("STORE 1 +FLAGS (\\Seen)")
    assert a.ok('STATUS "rs3/kid" (UNSEEN)').lines("STATUS")[0].endswith("(UNSEEN 0)")
    a.close()
    b.close()


def test_list_extended_options(srv):
    """RFC 5258: several patterns, RETURN (SUBSCRIBED), SUBSCRIBED RECURSIVEMATCH
    with CHILDINFO, unknown options refused."""
    c = imap_conn(srv)
    for name in ("zlx/a", "zlx/b", "zly"):
        c.ok(f'CREATE "{name}"')
    c.ok('UNSUBSCRIBE "zlx"')
    c.ok('UNSUBSCRIBE "zlx/b"')
    r = c.ok('LIST "" ("zlx/*" "zly")')
    assert sorted(l.split()[-1] for l in r.lines("LIST")) == ['"zlx/a"', '"zlx/b"', '"zly"'], r
    r = c.ok('LIST "" "zl*" RETURN (SUBSCRIBED CHILDREN)')
    attrs = {l.split('"/"')[1].strip(): l for l in r.lines("LIST")}
    assert "\\Subscribed" in attrs['"zlx/a"'] and "\\Subscribed" not in attrs['"zlx/b"'], r
    assert "\\Subscribed" not in attrs['"zlx"'] and "\\HasChildren" in attrs['"zlx"'], r
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "zl%"')
    lines = r.lines("LIST")
    assert any('"zlx" ("CHILDINFO" ("SUBSCRIBED"))' in l for l in lines), r
    assert any(l.endswith('"zly"') and "\\Subscribed" in l for l in lines), r
    r = c.ok('LIST (SUBSCRIBED) "" "zl%"')
    assert [l.split()[-1] for l in r.lines("LIST")] == ['"zly"'], r
    for bad in ('LIST (RECURSIVEMATCH) "" "*"', 'LIST (BOGUS) "" "*"',
                'LIST "" "*" RETURN (BOGUS)', 'LIST "" ()', 'LIST "" "*" RETURN (STATUS (NOPE))'):
        assert c.cmd(bad).status == "BAD", bad
    c.close()
