"""How the IMAP server reads commands (RFC 9051 2.2, 4, 5.5, 9; RFC 7888
LITERAL+) and the commands of any state: NOOP (6.1.2), ID (RFC 2971), ENABLE
(RFC 5161, 6.3.1) and NAMESPACE (RFC 2342, 6.3.10); commands refused in the
wrong state (3); command lines up to and past the line limit, before and after
login; tags, garbage, NUL octets and unknown commands; nesting depth; the error
limit; literals announced far beyond any limit in LOGIN and SEARCH, and too
many literals in one command. (APPEND's literals are in test_imap_append.py.)

Hostile input ends with the server still answering; those tests get a server of
their own (own_srv), the others share one."""
import re

import pytest

from imap_fixtures import srv, own_srv, IMAPConn, assert_alive, imap_conn, imap_server, module_server, resp_code


# ---- NOOP, ID, ENABLE, NAMESPACE -----------------------------------------------------------------


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
    assert r.lines("NAMESPACE") == ['NAMESPACE (("" "/")) NIL (("Shared/" "/"))'], r
    r = c.ok("ENABLE CONDSTORE")
    assert r.lines("ENABLED") == ["ENABLED CONDSTORE"], r
    r = c.ok("ENABLE CONDSTORE X-UNKNOWN")   # already enabled, unknown ignored
    assert r.lines("ENABLED") == ["ENABLED"], r
    r = c.ok("SELECT INBOX")
    assert resp_code(r, "HIGHESTMODSEQ") is not None
    c.close()


# ---- commands in the wrong state -----------------------------------------------------------------


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


# ---- command lines, garbage, nesting, errors -----------------------------------------------------


def test_one_mib_command_line(own_srv):
    c = imap_conn(own_srv)
    c.send(b"l1 NOOP " + b"x" * (1 << 20) + b"\r\n")
    try:
        r = c.read_response(timeout=10)
    except Exception as e:                               # a clean close is acceptable
        assert c.is_closed(5), e
        assert_alive(own_srv)
        return
    assert r.startswith(b"l1 BAD") or r.startswith(b"* BAD") or r.startswith(b"* BYE"), r[:200]
    if r.startswith(b"* BYE"):
        assert c.is_closed(5)
    else:
        c.ok("NOOP")
    assert_alive(own_srv)


def test_long_line_before_login(own_srv):
    c = IMAPConn(own_srv.imap_port)
    c.send(b"l1 LOGIN " + b"u" * (200 * 1024) + b" pw\r\n")
    r = c.read_response(timeout=10)
    assert re.match(rb"(l1|\*) (BAD|BYE)", r), r[:200]
    c.close()
    assert_alive(own_srv)


def test_garbage_nul_and_unknown_commands(own_srv):
    c = imap_conn(own_srv)
    for line in (b"a1 FROB", b"a2 NOOP\x00", b"a3 SELECT IN\x00BOX", b"a4 \x00", b"a5 LIST \"\" \"\x00\"",
                 b"a6 UID FROB 1", b"a7 fetch"):
        c.send(line + b"\r\n")
        r = c.read_response()
        assert re.match(rb"(a\d|\*) BAD", r), (line, r)
    # no tag at all, a tag with forbidden characters, an over-long tag
    for line in (b"\x00\x01\x02", b"(tag) NOOP", b"t+ NOOP", b"t{ NOOP", b"T" * 300 + b" NOOP", b"  "):
        c.send(line + b"\r\n")
        if line.strip() == b"":
            continue                                     # an empty line may be ignored
        r = c.read_response()
        assert re.match(rb"\S+ BAD", r) and b" OK " not in r, (line, r)
    c.ok("NOOP")
    c.close()


def test_error_flood_is_cut_off(own_srv):
    """Unparseable input in a loop: the server closes after a bounded number of errors."""
    c = imap_conn(own_srv, login=None)
    c.send(b"\x01\x02garbage\r\n" * 200)
    data = c.read_until_closed(timeout=10)
    assert b"* BYE" in data, data[-200:]
    assert data.count(b"BAD") < 200
    assert_alive(own_srv)


def test_deeply_nested_lists(own_srv):
    c = imap_conn(own_srv)
    c.ok("SELECT INBOX")
    for cmd in (b"FETCH 1 " + b"(" * 2000 + b"FLAGS" + b")" * 2000,
                b"SEARCH " + b"(" * 2000 + b"ALL" + b")" * 2000,
                b"APPEND INBOX " + b"(" * 2000 + b")" * 2000 + b" {1}\r\nx",
                b"STORE 1 FLAGS " + b"(" * 2000 + b")" * 2000):
        r = c.cmd(cmd)
        assert r.status == "BAD", (cmd[:40], r)
    c.ok("NOOP")
    c.close()


# ---- literals ------------------------------------------------------------------------------------


def test_literal_bomb_in_other_commands(own_srv):
    c = imap_conn(own_srv, login=None)
    for cmd in (b"b1 LOGIN {4294967295}\r\n", b"b2 LOGIN {70000}\r\n"):
        c.send(cmd)
        r = c.read_response()
        assert re.match(rb"b\d (BAD|NO)", r) and b"+ " not in r, r
    c.ok("NOOP")
    c.login()
    c.ok("SELECT INBOX")
    c.send(b"b3 SEARCH TEXT {4294967295}\r\n")
    r = c.read_response()
    assert r.startswith(b"b3 BAD") or r.startswith(b"b3 NO"), r
    c.ok("NOOP")
    c.close()


def test_too_many_literals_in_one_command(own_srv):
    c = imap_conn(own_srv)
    c.ok("SELECT INBOX")
    payload = b"c1 SEARCH" + b" OR TEXT {1+}\r\na" * 1100 + b" ALL\r\n"
    c.send(payload)
    data = b""
    try:
        data = c.read_until_closed(timeout=10)
    except TimeoutError:
        data = c.buf
    assert b"c1 BAD" in data or b"c1 NO" in data or b"* BYE" in data, data[-300:]
    assert_alive(own_srv)
