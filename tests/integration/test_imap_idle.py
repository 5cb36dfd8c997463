"""IMAP IDLE (RFC 2177, RFC 9051 6.3.13): mail delivered over SMTP and changes by
other sessions (flags, expunges) reported while idling, DONE in any case,
other input ending IDLE with BAD, IDLE in the authenticated state; the
autologout timer (RFC 9051 5.4) reaching idling and silent sessions; BYE to
idling clients at shutdown."""
import re
import signal
import time

import pytest

from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, BOB, box, deliver_smtp, exists_of, fetch_all, imap_conn, imap_server,
                           module_server)


def start_idle(c):
    tag = c.next_tag()
    c.send(f"{tag} IDLE\r\n".encode())
    got = c.until(lambda r: r.startswith(b"+"))
    return tag, got


# ---- IDLE ----------------------------------------------------------------------------------------


def test_idle_reports_smtp_delivery(srv):
    c = imap_conn(srv, login=BOB)
    n0 = exists_of(c.ok("SELECT INBOX"))
    tag, _ = start_idle(c)
    assert c.quiet(0.3)
    t0 = time.monotonic()
    deliver_smtp(srv, BOB, subject="while idling")
    got = c.until(lambda r: re.fullmatch(rb"\* \d+ EXISTS", r) is not None, timeout=5)
    took = time.monotonic() - t0
    assert got[-1] == b"* %d EXISTS" % (n0 + 1), got
    assert took < 2.5, f"EXISTS after {took:.2f}s (imap.idle_poll is 1s)"
    c.send(b"DONE\r\n")
    r = c.wait_tagged(tag)
    assert r.status == "OK", r
    c.ok("NOOP")
    c.close()


def test_idle_reports_other_sessions(srv):
    a = imap_conn(srv)
    b = imap_conn(srv)
    box(a, "idle1", 3)
    a.ok("SELECT idle1")
    b.ok("SELECT idle1")
    tag, _ = start_idle(b)
    a.ok("STORE 3 +FLAGS (\\Flagged)")
    got = b.until(lambda r: b"FETCH" in r, timeout=5)
    assert re.match(rb"\* 3 FETCH \(.*FLAGS \(\\Flagged\)", got[-1]), got
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    got = b.until(lambda r: r.endswith(b"EXPUNGE"), timeout=5)
    assert got[-1] == b"* 1 EXPUNGE", got
    b.send(b"done\r\n")                                  # case-insensitive
    assert b.wait_tagged(tag).status == "OK"
    r = b.ok("FETCH 1:* UID")
    assert [int(v["UID"]) for v in fetch_all(r).values()] == [2, 3]
    a.close()
    b.close()


def test_idle_other_input(srv):
    c = imap_conn(srv)
    c.ok("SELECT INBOX")
    tag, _ = start_idle(c)
    c.send(b"t99 NOOP\r\n")
    r = c.wait_tagged(tag)
    assert r.status == "BAD", r                          # only DONE ends IDLE
    c.ok("NOOP")
    # IDLE in the authenticated state works too
    c.ok("UNSELECT")
    tag, _ = start_idle(c)
    c.send(b"DONE\r\n")
    assert c.wait_tagged(tag).status == "OK"
    c.close()


# ---- autologout and shutdown ---------------------------------------------------------------------


def test_autologout_reaches_idling_and_silent_sessions(postern):
    """imap.autologout closes a session that says nothing, in IDLE too (the
    IDLE poll must not keep a vanished client's session alive for ever)."""
    s = imap_server(postern, config={"imap": {"autologout": "2s", "idle_poll": "200ms"}})
    idler, silent = imap_conn(s), imap_conn(s)
    idler.ok("SELECT INBOX")
    start_idle(idler)
    t0 = time.monotonic()
    for c in (idler, silent):
        got = c.until(lambda r: r.startswith(b"* BYE"), timeout=10)
        assert b"Autologout" in got[-1], got
    assert 1.5 < time.monotonic() - t0 < 8
    busy = imap_conn(s)                 # a session that keeps talking stays
    for _ in range(6):
        busy.ok("NOOP")
        time.sleep(0.5)
    busy.ok("NOOP")
    busy.close()


def test_shutdown_says_bye_to_idle_clients(postern):
    s = imap_server(postern)
    c = imap_conn(s)
    c.ok("SELECT INBOX")
    start_idle(c)
    s.send_signal(signal.SIGTERM)
    data = c.read_until_closed(timeout=10)
    assert b"* BYE" in data, data
    assert s.wait_exit(15) == 0
