"""IMAP COPY and MOVE (RFC 9051 6.4.7, 6.4.8; RFC 6851) and their UID forms:
COPYUID (RFC 4315), flags and internal dates copied, the copy independent of
the original, TRYCREATE, the EXPUNGE responses of MOVE after its COPYUID, MOVE
refused in a read-only mailbox. SEARCHRES "$" with COPY and MOVE is in
test_imap_search.py."""
import re

import pytest

from imap_fixtures import srv, fetch_all, imap_conn, make_box, module_server, one, simple_message


# ---- COPY ----------------------------------------------------------------------------------------


def test_copy(srv):
    c = imap_conn(srv)
    msgs = [simple_message(f"c{i}") for i in range(3)]
    make_box(c, "cp1", msgs, flags={0: "\\Flagged $Label"}, dates={0: "01-Jan-2026 00:00:01 +0000"})
    c.ok("CREATE cp1dst")
    uv = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS cp1dst (UIDVALIDITY)").lines()[0]).group(1)
    r = c.ok("COPY 1:2 cp1dst")
    assert r.code == f"COPYUID {uv} 1:2 1:2", r
    r = c.ok("UID COPY 3 cp1dst")
    assert r.code == f"COPYUID {uv} 3 3", r
    r = c.cmd("COPY 1 nosuchbox")
    assert r.status == "NO" and r.code == "TRYCREATE", r
    r = c.ok("COPY 1 cp1")                              # into itself
    assert "4 EXISTS" in c.ok("NOOP").lines() or "4 EXISTS" in r.lines()
    c.ok("SELECT cp1dst")
    f = one(c, "FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])")
    assert set(f["FLAGS"]) == {"\\Flagged", "$Label", "\\Recent"}, f   # a copy is new mail
    assert f["INTERNALDATE"] == b"01-Jan-2026 00:00:01 +0000"
    assert f["BODY[]"] == msgs[0]
    # the copy is independent of the original
    c.ok("STORE 1 FLAGS (\\Deleted)")
    c.ok("EXPUNGE")
    c.ok("SELECT cp1")
    f = one(c, "FETCH 1 (FLAGS BODY.PEEK[])")
    assert set(f["FLAGS"]) == {"\\Flagged", "$Label"} and f["BODY[]"] == msgs[0], f
    c.close()


# ---- MOVE ----------------------------------------------------------------------------------------


def test_move(srv):
    c = imap_conn(srv)
    make_box(c, "mv1", [simple_message(f"m{i}") for i in range(4)])
    c.ok("CREATE mv1dst")
    uv = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS mv1dst (UIDVALIDITY)").lines()[0]).group(1)
    r = c.ok("MOVE 2:3 mv1dst")
    # RFC 6851: OK [COPYUID ...] untagged first, then the EXPUNGEs
    lines = r.lines()
    assert lines[0] == f"OK [COPYUID {uv} 2:3 1:2] Moved" or lines[0].startswith(f"OK [COPYUID {uv} 2:3 1:2]"), r
    ex = [l for l in lines[1:] if l.endswith("EXPUNGE")]
    assert ex in (["2 EXPUNGE", "2 EXPUNGE"], ["3 EXPUNGE", "2 EXPUNGE"]), r
    r = c.ok("UID MOVE 4 mv1dst")
    assert any(l.startswith(f"OK [COPYUID {uv} 4 3]") for l in r.lines()), r
    assert "2 EXPUNGE" in r.lines()
    r = c.ok("FETCH 1:* UID")
    assert [int(v["UID"]) for v in fetch_all(r).values()] == [1]
    r = c.ok("STATUS mv1dst (MESSAGES)")
    assert "MESSAGES 3" in r.lines()[0]
    r = c.cmd("MOVE 1 nosuchbox")
    assert r.status == "NO" and r.code == "TRYCREATE", r
    c.ok("EXAMINE mv1")
    r = c.cmd("MOVE 1 mv1dst")
    assert r.status == "NO", r
    c.close()


def test_move_and_copy_into_the_selected_mailbox_report_the_new_messages(srv):
    """MOVE (RFC 6851) or COPY into the mailbox that is selected: the copies
    are new messages there, reported before the tagged OK (EXISTS, after
    MOVE's EXPUNGE, with their new UIDs); they were not reported at all."""
    c = imap_conn(srv)
    make_box(c, "mvself", [simple_message(f"s{i}") for i in range(3)])
    uv = re.search(r"UIDVALIDITY (\d+)", c.ok("STATUS mvself (UIDVALIDITY)").lines()[0]).group(1)
    r = c.ok("MOVE 1 mvself")
    lines = r.lines()
    assert lines[0].startswith(f"OK [COPYUID {uv} 1 4]"), r
    assert lines.index("1 EXPUNGE") < lines.index("3 EXISTS"), r
    assert [int(v["UID"]) for v in fetch_all(c.ok("FETCH 1:* UID")).values()] == [2, 3, 4]
    r = c.ok("UID COPY 2 mvself")
    assert "4 EXISTS" in r.lines(), r
    assert [int(v["UID"]) for v in fetch_all(c.ok("FETCH 1:* UID")).values()] == [2, 3, 4, 5]
    assert c.ok("NOOP").lines() == []                    # nothing left to tell
    c.close()


def test_copy_and_move_keep_the_mailbox_keyword_cap(srv):
    """A mailbox holds at most 1000 distinct keywords (APPEND and STORE
    refuse more with NO [LIMIT]); COPY and MOVE bringing messages whose
    keywords would pass it are refused whole, the same way."""
    c = imap_conn(srv)
    # 100 a message (a flag list holds 128 at most, a message's keywords 1023 octets)
    src = [" ".join(f"a{m}x{i:02d}" for i in range(100)) for m in range(7)]       # 700 keywords
    dst = [" ".join(f"b{m}x{i:02d}" for i in range(100)) for m in range(4)]       # 400 keywords
    c.ok("CREATE kwsrc")
    c.ok("CREATE kwdst")
    for i, kws in enumerate(src):
        assert c.append("kwsrc", simple_message(f"src {i}"), flags=kws).status == "OK"
    for i, kws in enumerate(dst):
        assert c.append("kwdst", simple_message(f"dst {i}"), flags=kws).status == "OK"
    c.ok("SELECT kwsrc")
    for cmd in ("COPY", "MOVE"):
        r = c.cmd(f"{cmd} 1:7 kwdst")                   # 400 + 700 > 1000
        assert (r.status, r.code) == ("NO", "LIMIT"), r
    assert "MESSAGES 4" in c.ok("STATUS kwdst (MESSAGES)").lines()[0]
    assert "MESSAGES 7" in c.ok("STATUS kwsrc (MESSAGES)").lines()[0]
    c.ok("COPY 1:6 kwdst")                              # 400 + 600: room
    assert "MESSAGES 10" in c.ok("STATUS kwdst (MESSAGES)").lines()[0]
    c.close()
