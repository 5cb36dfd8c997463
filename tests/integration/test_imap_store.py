"""IMAP STORE and UID STORE (RFC 9051 6.4.6, 6.4.9): system flags and keywords,
+FLAGS / -FLAGS / FLAGS and .SILENT, the flags kept in the Maildir file names,
keywords compared case-insensitively and kept across sessions, many keywords
at once, and UNCHANGEDSINCE / [MODIFIED] (RFC 7162 3.1)."""
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
