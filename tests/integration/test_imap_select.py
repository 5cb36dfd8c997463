"""IMAP SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3): the untagged data and response
codes (FLAGS, PERMANENTFLAGS, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, UNSEEN),
READ-WRITE / READ-ONLY, [CLOSED] when another mailbox was selected, a failed
SELECT leaving none selected, EXAMINE never setting \\Seen; and leaving a
mailbox with CLOSE (6.4.1: expunges silently, not after EXAMINE), UNSELECT
(6.4.2, RFC 3691: expunges nothing) and CHECK. SELECT with CONDSTORE / QRESYNC
parameters is in test_imap_qresync.py."""
import re

import pytest

from imap_fixtures import srv, fill, imap_conn, module_server, resp_code, simple_message


# ---- SELECT / EXAMINE ----------------------------------------------------------------------------


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


ATOM_SOUP = "!#$&'+,-.0123456789:;<=>?@^_`|[}"   # imaptest's "atoms" name: "&'" is not mUTF-7


def test_select_of_a_name_not_in_modified_utf7_is_no(srv):
    """A name that is not valid modified UTF-7 (RFC 3501 5.1.3) names no
    mailbox: SELECT, EXAMINE and STATUS say NO as for any other missing one
    (they said BAD, which counts against the error limit), CREATE refuses it,
    LIST with it as a pattern finds nothing."""
    c = imap_conn(srv)
    for cmd in (f"SELECT {ATOM_SOUP}", f"EXAMINE {ATOM_SOUP}", f"STATUS {ATOM_SOUP} (MESSAGES)",
                f"CREATE {ATOM_SOUP}", 'SELECT "&Jjo"', 'CREATE "a&b"'):
        r = c.cmd(cmd)
        assert r.status == "NO", (cmd, r)
    r = c.ok(f'LIST "" {ATOM_SOUP}%*')
    assert r.lines("LIST") == [], r
    c.ok("NOOP")
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


# ---- CLOSE / UNSELECT ----------------------------------------------------------------------------


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
