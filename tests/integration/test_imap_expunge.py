"""IMAP EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, 6.4.9; RFC 4315 2.1): the EXPUNGE
responses and their numbering, UIDs never handed out again after an expunge
(RFC 9051 2.3.1.1), and an EXPUNGE or CLOSE that spares a message another
session took \\Deleted off meanwhile. CLOSE and UNSELECT are in
test_imap_select.py, VANISHED (QRESYNC) in test_imap_qresync.py."""
import pytest

from imap_fixtures import (  # noqa: F401 (fixtures)
    srv, box, fetch_all, fill, imap_conn, module_server, search_numbers,
                           simple_message)


# ---- EXPUNGE / UID EXPUNGE -----------------------------------------------------------------------


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


def test_expunge_reports_a_message_another_session_expunged_first(srv):
    """Both sessions mark message 1 \\Deleted; the first EXPUNGEs it; the
    second's EXPUNGE must report it too (it is gone): it said nothing,
    leaving the client with a message that no longer exists."""
    a, b = imap_conn(srv), imap_conn(srv)
    fill(a, "xpboth", 3)
    a.ok("SELECT xpboth")
    b.ok("SELECT xpboth")
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert a.ok("EXPUNGE").lines("EXPUNGE") == ["1 EXPUNGE"]
    assert b.ok("EXPUNGE").lines("EXPUNGE") == ["1 EXPUNGE"]
    assert search_numbers(b.ok("SEARCH ALL")) == [1, 2]
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    assert b.ok("UID EXPUNGE 3").lines("EXPUNGE") == ["2 EXPUNGE"]
    assert a.ok("UID EXPUNGE 1:*").lines("EXPUNGE") == ["2 EXPUNGE"]
    a.close()
    b.close()


def test_uid_not_reused_after_expunge(srv):
    c = imap_conn(srv)
    box(c, "noreuse", 3)
    c.ok("SELECT noreuse")
    c.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    r = c.append("noreuse", simple_message("after"))
    assert r.code.split()[2] == "4", r
    c.close()


# ---- two sessions --------------------------------------------------------------------------------


def test_expunge_spares_a_message_undeleted_meanwhile(srv):
    """A's view says \\Deleted, B takes the flag back; A's EXPUNGE (and CLOSE)
    before any NOOP must not remove the message: the store checks again."""
    a, b = imap_conn(srv), imap_conn(srv)
    a.ok('CREATE "undel"')
    for i in range(3):
        assert a.append("undel", simple_message(f"u{i}"), flags="\\Deleted").status == "OK"
    a.ok('SELECT "undel"')
    b.ok('SELECT "undel"')
    b.ok("STORE 2 -FLAGS.SILENT (\\Deleted)")
    r = a.ok("EXPUNGE")
    assert len(r.lines("EXPUNGE")) == 2, r
    a.ok("NOOP")
    r = a.ok("UID SEARCH ALL")
    assert len(search_numbers(r)) == 1, r
    b.ok("NOOP")
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("NOOP")                                        # A now sees \\Deleted
    b.ok("STORE 1 -FLAGS.SILENT (\\Deleted)")
    a.ok("CLOSE")
    b.ok("NOOP")
    assert len(search_numbers(b.ok("SEARCH ALL"))) == 1
    a.close()
    b.close()
