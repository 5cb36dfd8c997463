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


# ---- \\Recent (RFC 3501 2.3.2) -----------------------------------------------------------------


def recent_of(r):
    n = [int(l.split()[0]) for l in r.lines() if re.fullmatch(r"\d+ RECENT", l)]
    return n[-1] if n else None


def status_recent(c, name):
    return int(re.search(r"RECENT (\d+)", c.ok(f"STATUS {name} (RECENT)").lines()[0]).group(1))


def test_recent_belongs_to_the_first_session_that_selects(srv):
    """New mail is \\Recent in exactly one session: the first to SELECT the
    mailbox after it came (or that has it selected when it comes). EXAMINE
    shows it without taking it; STATUS counts what nobody took; IMAP4rev2
    has no \\Recent (RFC 9051 2.3.2)."""
    c = imap_conn(srv)
    fill(c, "rc1", 2)
    assert status_recent(c, "rc1") == 2
    ex = imap_conn(srv)
    r = ex.ok("EXAMINE rc1")
    assert recent_of(r) == 2, r
    assert "\\Recent" in ex.ok("FETCH 1 FLAGS").lines("FETCH")[0]
    assert status_recent(c, "rc1") == 2                 # EXAMINE took nothing
    first, second = imap_conn(srv), imap_conn(srv)
    assert recent_of(first.ok("SELECT rc1")) == 2
    assert all("\\Recent" in l for l in first.ok("FETCH 1:2 FLAGS").lines("FETCH"))
    assert recent_of(second.ok("SELECT rc1")) == 0
    assert all("\\Recent" not in l for l in second.ok("FETCH 1:2 FLAGS").lines("FETCH"))
    assert status_recent(c, "rc1") == 0
    # mail arriving while both have it selected: the first to look takes it
    assert c.append("rc1", simple_message("third")).status == "OK"
    r = first.ok("NOOP")
    assert "3 EXISTS" in r.lines() and recent_of(r) == 3, r
    r = second.ok("NOOP")
    assert "3 EXISTS" in r.lines() and recent_of(r) == 0, r
    assert "\\Recent" in first.ok("FETCH 3 FLAGS").lines("FETCH")[0]
    assert "\\Recent" not in second.ok("FETCH 3 FLAGS").lines("FETCH")[0]
    # the flag stays through STORE, which cannot set or clear it
    r = first.ok("STORE 3 FLAGS (\\Seen)")
    assert "\\Recent \\Seen" in r.lines("FETCH")[0], r
    rev2 = imap_conn(srv)
    rev2.ok("ENABLE IMAP4rev2")
    assert c.append("rc1", simple_message("fourth")).status == "OK"
    r = rev2.ok("SELECT rc1")
    assert recent_of(r) is None, r
    assert all("\\Recent" not in l for l in rev2.ok("FETCH 1:* FLAGS").lines("FETCH"))
    assert status_recent(c, "rc1") == 1                  # rev2 took nothing either
    for x in (c, ex, first, second, rev2):
        x.close()


def test_recent_is_claimed_once_by_concurrent_selects(srv):
    """Sessions on different workers SELECTing at once: each new message is
    \\Recent in exactly one of them (the claim is one transaction)."""
    c = imap_conn(srv)
    fill(c, "rc2", 12)
    conns = [imap_conn(srv) for _ in range(8)]
    for i, x in enumerate(conns):
        x.send(f"s{i} SELECT rc2\r\n".encode())
    counts = [recent_of(x.wait_tagged(f"s{i}")) for i, x in enumerate(conns)]
    assert sum(counts) == 12, counts
    assert status_recent(c, "rc2") == 0
    for x in conns + [c]:
        x.close()


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
