"""IMAP STORE and UID STORE (RFC 9051 6.4.6, 6.4.9): system flags and keywords,
+FLAGS / -FLAGS / FLAGS and .SILENT, the flags kept in the Maildir file names,
keywords compared case-insensitively and kept across sessions, many keywords
at once, and UNCHANGEDSINCE / [MODIFIED] (RFC 7162 3.1)."""
import re

import pytest

from imap_fixtures import srv, fetch_all, imap_conn, make_box, module_server, one, search_numbers, simple_message


# ---- STORE ---------------------------------------------------------------------------------------


def without_recent(flags):
    """The flags a STORE decides: \\Recent is the session's own (the
    mailboxes here are new to the session that made them) and stays."""
    return [f for f in flags if f != "\\Recent"]


def flags_of(r, seq):
    return without_recent(fetch_all(r)[seq]["FLAGS"])


def test_store_flags(srv):
    c = imap_conn(srv)
    make_box(c, "s1", [simple_message("a"), simple_message("b")])
    r = c.ok("STORE 1 +FLAGS (\\Flagged)")
    assert fetch_all(r) == {1: {"FLAGS": ["\\Recent", "\\Flagged"]}}, r
    r = c.ok("STORE 1 +FLAGS (\\Seen \\Answered)")
    assert set(flags_of(r, 1)) == {"\\Flagged", "\\Seen", "\\Answered"}
    r = c.ok("STORE 1 -FLAGS (\\Flagged)")
    assert set(flags_of(r, 1)) == {"\\Seen", "\\Answered"}
    r = c.ok("STORE 1 FLAGS (\\Draft)")
    assert flags_of(r, 1) == ["\\Draft"]
    r = c.ok("STORE 1 FLAGS ()")
    assert flags_of(r, 1) == []
    r = c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    assert fetch_all(r) == {}, r
    assert all(without_recent(v["FLAGS"]) == ["\\Deleted"]
               for v in fetch_all(c.ok("FETCH 1:2 FLAGS")).values())
    r = c.ok("STORE 2 FLAGS \\Seen")                   # a single flag without parentheses
    assert flags_of(r, 2) == ["\\Seen"]
    r = c.ok("UID STORE 2 -FLAGS (\\Seen)")
    assert fetch_all(r)[2] == {"UID": "2", "FLAGS": ["\\Recent"]}, r
    # flags in the file names
    cur = srv.maildir_path("alice") / ".s1" / "cur"
    assert sorted(p.name.rsplit(":2,", 1)[1] for p in cur.iterdir()) == ["", "T"]
    for bad in ("STORE 1 +FLAGS (\\Bogus)", "STORE 1 +FLAGS (\\Recent)", "STORE 1 FLAGGED",
                "STORE 1 +FLAGS", "STORE 1 +FLAGS (\\Seen"):
        r = c.cmd(bad)
        assert r.status in ("BAD", "NO"), (bad, r)
    c.close()


def test_store_keywords(srv):
    c = imap_conn(srv)
    make_box(c, "s2", [simple_message("a")])
    r = c.ok("STORE 1 +FLAGS ($Forwarded Custom \\Seen)")
    assert set(flags_of(r, 1)) == {"$Forwarded", "Custom", "\\Seen"}
    r = c.ok("STORE 1 -FLAGS (custom)")                 # keywords compare case-insensitively
    assert set(flags_of(r, 1)) == {"$Forwarded", "\\Seen"}
    r = c.ok("STORE 1 +FLAGS ($forwarded)")
    assert [f for f in flags_of(r, 1) if f.lower() == "$forwarded"] == ["$Forwarded"]
    r = c.ok("SEARCH KEYWORD $Forwarded")
    assert search_numbers(r) == [1]
    # keywords survive in the index across sessions
    c2 = imap_conn(srv)
    c2.ok("SELECT s2")
    assert "$Forwarded" in one(c2, "FETCH 1 FLAGS")["FLAGS"]
    c.close()
    c2.close()


def test_store_many_keywords_not_silently_lost(srv):
    """Sixty 10-octet keywords: either all are kept or the STORE is refused;
    dropping some while answering OK loses the client's data."""
    c = imap_conn(srv)
    make_box(c, "s3", [simple_message("a")])
    kws = [f"Keyword{i:03d}" for i in range(60)]
    r = c.cmd("STORE 1 +FLAGS (" + " ".join(kws) + ")")
    if r.status == "OK":
        got = set(one(c, "FETCH 1 FLAGS")["FLAGS"])
        assert set(kws) <= got, f"{len(set(kws) - got)} keywords lost"
    else:
        assert r.status == "NO", r
    c.close()


def flags_lists(r):
    """(FLAGS list, PERMANENTFLAGS list) of the last such responses, or Nones."""
    flags = perm = None
    for l in r.lines():
        m = re.fullmatch(r"FLAGS \((.*)\)", l)
        flags = m.group(1).split() if m else flags
        m = re.match(r"OK \[PERMANENTFLAGS \((.*)\)\]", l)
        perm = m.group(1).split() if m else perm
    return flags, perm


def test_new_keyword_is_announced_before_it_shows(srv):
    """RFC 3501 7.2.6: FLAGS lists the mailbox's flags; a keyword must be in a
    FLAGS response (and PERMANENTFLAGS) before a FETCH shows it: after the
    client's own STORE (.SILENT too), another session's STORE, and a FETCH
    of a message another session changed. SELECT lists every keyword."""
    a, b = imap_conn(srv), imap_conn(srv)
    make_box(a, "ka", [simple_message("a"), simple_message("b")])
    b.ok("SELECT ka")
    r = a.ok("STORE 1 +FLAGS ($Own)")
    order = [l.split()[0] if not l[0].isdigit() else "FETCH" for l in r.lines()]
    assert order == ["FLAGS", "OK", "FETCH"], r
    flags, perm = flags_lists(r)
    assert "$Own" in flags and "$Own" in perm and "\\*" in perm, r
    r = a.ok("STORE 2 +FLAGS.SILENT (Quiet)")
    assert "Quiet" in flags_lists(r)[0] and r.lines("FETCH") == [], r
    assert a.ok("STORE 2 +FLAGS (Quiet)").lines("FLAGS") == []       # told once
    # another session's keyword: FLAGS before the FETCH that reports it
    r = b.ok("NOOP")
    kinds = [l.split()[0] if not l[0].isdigit() else "FETCH" for l in r.lines()]
    assert kinds.index("FLAGS") < kinds.index("FETCH"), r
    assert {"$Own", "Quiet"} <= set(flags_lists(r)[0]), r
    a.ok("STORE 1 +FLAGS.SILENT (Late)")
    r = b.ok("FETCH 1 FLAGS")                            # before any NOOP
    kinds = [l.split()[0] if not l[0].isdigit() else "FETCH" for l in r.lines()]
    assert kinds[:2] == ["FLAGS", "OK"] and "Late" in flags_lists(r)[0], r
    # a new SELECT lists them all, kept even when no message has one any more
    a.ok("STORE 1:2 -FLAGS ($Own Quiet Late)")
    flags, perm = flags_lists(imap_conn(srv).ok("SELECT ka"))
    assert {"$Own", "Quiet", "Late"} <= set(flags) and {"$Own", "Quiet", "Late"} <= set(perm)
    a.close()
    b.close()


def test_keyword_nil_is_a_keyword(srv):
    """NIL is an atom, so a valid flag-keyword (RFC 3501 9): Dovecot keeps it
    and imaptest's nil test expects FLAGS (NIL) back. Announced like any."""
    c = imap_conn(srv)
    make_box(c, "knil", [simple_message("a")])
    r = c.ok("STORE 1 +FLAGS NIL")
    assert "NIL" in flags_lists(r)[0], r
    assert c.ok("FETCH 1 FLAGS").lines("FETCH") == ["1 FETCH (FLAGS (\\Recent NIL))"]
    c.close()


def test_keywords_per_mailbox_are_bounded(srv):
    """At most 1000 keywords a mailbox: past them STORE says NO [LIMIT] and
    PERMANENTFLAGS no longer offers \\*; known ones can still be set."""
    c = imap_conn(srv)
    make_box(c, "kmax", [simple_message("a")])
    for k in range(10):
        c.ok("STORE 1 FLAGS (" + " ".join(f"k{k}x{i}" for i in range(100)) + ")")
    r = c.cmd("STORE 1 +FLAGS (oneTooMany)")
    assert r.status == "NO" and r.code == "LIMIT", r
    c.ok("STORE 1 +FLAGS (k0x1 \\Seen)")
    flags, perm = flags_lists(c.ok("SELECT kmax"))
    assert len(flags) == 1005 and "\\*" not in perm, (len(flags), perm[-3:])
    c.close()


# ---- UNCHANGEDSINCE ------------------------------------------------------------------------------


def test_store_unchangedsince(srv):
    c = imap_conn(srv)
    c.ok("ENABLE CONDSTORE")
    make_box(c, "s4", [simple_message("a"), simple_message("b")])
    ms1 = int(one(c, "FETCH 1 MODSEQ")["MODSEQ"][0])
    ms2 = int(one(c, "FETCH 2 MODSEQ")["MODSEQ"][0])
    r = c.ok(f"STORE 1 (UNCHANGEDSINCE {ms1}) +FLAGS (\\Flagged)")
    f = fetch_all(r)[1]
    new = int(f["MODSEQ"][0])
    assert new > max(ms1, ms2) and "\\Flagged" in f["FLAGS"], r
    # message 1 changed since: left alone, reported in MODIFIED; message 2 is changed
    r = c.cmd(f"STORE 1:2 (UNCHANGEDSINCE {max(ms1, ms2)}) +FLAGS (\\Seen)")
    assert r.status == "OK" and r.code == "MODIFIED 1", r
    assert "\\Seen" not in one(c, "FETCH 1 FLAGS")["FLAGS"]
    assert "\\Seen" in one(c, "FETCH 2 FLAGS")["FLAGS"]
    r = c.cmd("UID STORE 1 (UNCHANGEDSINCE 1) -FLAGS (\\Flagged)")
    assert r.code == "MODIFIED 1", r
    r = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % new)
    assert sorted(fetch_all(r)) == [2], r
    r = c.ok("SEARCH MODSEQ %d" % (new + 1))         # modseq >= n
    assert search_numbers(r) == [2], r
    c.close()
