"""IMAP APPEND (RFC 9051 6.3.12): flags, keywords and internal date, APPENDUID
(RFC 4315), EXISTS for the selected mailbox, refused arguments, LF-only
messages; APPENDLIMIT (RFC 7889) with synchronising literals and
non-synchronising ones (RFC 7888 4) over the limit; literal bombs (sizes
announced far beyond any limit, refused before anything is allocated); and
APPEND before login (no continuation, nothing buffered).

Most tests share one server (module scope); a second one has a small
imap.append_limit; the literal bombs get a server of their own (own_srv) whose
memory they measure."""
import re

import pytest

from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, own_srv, IMAPConn, assert_alive, capability, fetch_all, imap_conn, imap_server,
                           module_server, rss_kib, simple_message)


# ---- APPEND --------------------------------------------------------------------------------------


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
    assert f[2]["FLAGS"] == ["\\Recent"], f[2]          # appended before the first SELECT
    assert f[1]["INTERNALDATE"] == b"14-Feb-2026 12:45:10 +0000" or \
        f[1]["INTERNALDATE"] == b"14-Feb-2026 13:45:10 +0100", f[1]["INTERNALDATE"]
    assert f[1]["BODY[]"] == msg
    assert int(f[1]["RFC822.SIZE"]) == len(msg)
    # the file is in cur/ with the flag letters, then the keywords' (dovecot-keywords)
    files = list((srv.maildir_path("alice") / ".ap1" / "cur").iterdir())
    assert any(p.name.endswith(":2,FSab") for p in files), files
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


# ---- APPENDLIMIT ---------------------------------------------------------------------------------


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


# ---- literal bombs -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["4294967295", "18446744073709551615", "99999999999999999999999999"])
def test_append_literal_bomb(own_srv, size):
    c = imap_conn(own_srv)
    c.ok("SELECT INBOX")
    rss0 = rss_kib(own_srv.pid)                 # after the login: Argon2 and SQLite have their memory
    c.send(f"a1 APPEND INBOX {{{size}}}\r\n".encode())
    r = c.read_response()
    assert r.startswith(b"a1 NO [TOOBIG]"), r
    c.ok("NOOP")
    c.send(f"a2 APPEND INBOX (\\Seen) {{{size}}}\r\n".encode())
    assert c.read_response().startswith(b"a2 NO [TOOBIG]")
    c.ok("NOOP")
    assert rss_kib(own_srv.pid) - rss0 < 16 * 1024, "RSS jumped"
    c.close()
    assert_alive(own_srv)


def test_append_literal_bomb_non_synchronising(own_srv):
    c = imap_conn(own_srv)
    c.send(b"a1 APPEND INBOX {4294967295+}\r\n" + b"x" * 65536)
    data = c.read_until_closed(timeout=10)
    assert b"a1 NO [TOOBIG]" in data and b"* BYE" in data, data
    assert_alive(own_srv)


# ---- APPEND before login -------------------------------------------------------------------------


def test_append_before_login_gets_no_continuation(own_srv):
    """An unauthenticated client may not make the server wait for (and buffer)
    an APPEND literal of up to imap.append_limit: APPEND is not allowed before
    login, so the announcement itself is refused."""
    c = IMAPConn(own_srv.imaps_port, tls=True)
    c.send(b"p1 APPEND INBOX {20000000}\r\n")
    r = c.read_response()
    assert not r.startswith(b"+"), "continuation sent to an unauthenticated APPEND"
    assert re.match(rb"p1 (BAD|NO)", r), r
    c.close()


def test_append_before_login_non_synchronising_is_not_buffered(own_srv):
    """The same with LITERAL+: 20 MB sent before login must not be held in memory."""
    rss0 = rss_kib(own_srv.pid)
    c = IMAPConn(own_srv.imaps_port, tls=True)
    c.send(b"p1 APPEND INBOX {20000000+}\r\n")
    chunk = b"y" * 65536
    peak = 0
    try:
        for _ in range(20000000 // len(chunk)):
            c.sock.sendall(chunk)
            peak = max(peak, rss_kib(own_srv.pid) - rss0)
    except OSError:
        pass                                             # closed on us: fine
    peak = max(peak, rss_kib(own_srv.pid) - rss0)
    c.close()
    assert peak < 8 * 1024, f"server RSS grew {peak} KiB for an unauthenticated literal"
    assert_alive(own_srv)
