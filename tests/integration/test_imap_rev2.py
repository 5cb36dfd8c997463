"""IMAP4rev2 (RFC 9051) once ENABLEd: no RECENT, LIST in the SELECT answer,
ESEARCH answers, UTF-8 mailbox names; STATUS DELETED; and SEARCHRES (RFC 5182):
SEARCH RETURN (SAVE) and "$" in FETCH, STORE, COPY, MOVE, SEARCH."""
import re

import pytest

from imap_fixtures import imap_conn, module_server, simple_message


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data) as s:
        yield s


def fill(c, name, n, flagged=()):
    c.ok(f'CREATE "{name}"')
    for i in range(n):
        flags = "\\Flagged" if i + 1 in flagged else None
        assert c.append(name, simple_message(f"r{i + 1}"), flags=flags).status == "OK"


def fetched_uids(r):
    return sorted(int(m.group(1)) for l in r.lines("FETCH") for m in [re.search(r"UID (\d+)", l)] if m)


def test_capabilities(srv):
    c = imap_conn(srv, login=None)
    caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].split()
    for cap in ("IMAP4rev1", "IMAP4rev2", "SEARCHRES", "STATUS=SIZE", "ESEARCH", "LITERAL+"):
        assert cap in caps, caps
    c.close()


def test_enable_rev2_changes_select_and_search(srv):
    c = imap_conn(srv)
    fill(c, "rv1", 3, flagged=(2,))
    r = c.ok("SELECT rv1")                       # IMAP4rev1 behaviour first
    assert r.lines("RECENT") and not r.lines("LIST"), r
    assert c.ok("SEARCH FLAGGED").lines("SEARCH") == ["SEARCH 2"]
    c.ok("UNSELECT")
    r = c.ok("ENABLE IMAP4rev2")
    assert r.lines("ENABLED") == ["ENABLED IMAP4rev2"], r
    r = c.ok("SELECT rv1")
    assert not r.lines("RECENT"), r
    assert r.lines("LIST") == ['LIST () "/" "rv1"'], r
    assert not any("[UNSEEN" in l for l in r.lines("OK")), r
    r = c.cmd("SEARCH FLAGGED", tag="s1")
    assert r.status == "OK" and r.lines() == ['ESEARCH (TAG "s1") ALL 2'], r
    r = c.cmd("UID SEARCH ALL", tag="s2")
    assert r.lines() == ['ESEARCH (TAG "s2") UID ALL 1:3'], r
    r = c.cmd("SEARCH DELETED", tag="s3")
    assert r.lines() == ['ESEARCH (TAG "s3")'], r
    c.close()


def test_rev2_mailbox_names_are_utf8(srv):
    c = imap_conn(srv)
    c.ok("ENABLE IMAP4rev2")
    c.ok('CREATE "Caf\u00e9 rv"')
    r = c.ok('LIST "" "Caf*"')
    assert r.lines("LIST") == ['LIST (\\HasNoChildren) "/" "Caf\u00e9 rv"'], r
    c.ok('SELECT "Caf\u00e9 rv"')
    c.close()
    c = imap_conn(srv)                           # without it: modified UTF-7
    r = c.ok('LIST "" "Caf*"')
    assert r.lines("LIST") == ['LIST (\\HasNoChildren) "/" "Caf&AOk- rv"'], r
    c.close()


def test_status_deleted(srv):
    c = imap_conn(srv)
    fill(c, "rv2", 4)
    c.ok("SELECT rv2")
    c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    c.ok("UNSELECT")
    r = c.ok("STATUS rv2 (MESSAGES DELETED SIZE)")
    m = re.search(r"\(MESSAGES 4 DELETED 2 SIZE \d+\)", r.lines("STATUS")[0])
    assert m, r
    c.close()


def test_searchres_save_and_use(srv):
    c = imap_conn(srv)
    fill(c, "rv3", 6, flagged=(2, 4, 5))
    c.ok("SELECT rv3")
    r = c.ok("SEARCH RETURN (SAVE) FLAGGED")
    assert r.untagged == [], r                    # SAVE alone answers nothing
    assert fetched_uids(c.ok("FETCH $ (UID)")) == [2, 4, 5]
    assert fetched_uids(c.ok("UID FETCH $ (FLAGS)")) == [2, 4, 5]
    r = c.ok("SEARCH $ SMALLER 100000")
    assert r.lines("SEARCH") == ["SEARCH 2 4 5"], r
    c.ok("STORE $ +FLAGS.SILENT (\\Seen)")
    assert c.ok("SEARCH SEEN").lines("SEARCH") == ["SEARCH 2 4 5"]
    c.ok('CREATE "rv3 copy"')
    r = c.ok('COPY $ "rv3 copy"')
    assert "COPYUID" in r.text, r
    # expunged messages drop out of "$"
    c.ok("UID STORE 4 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    assert fetched_uids(c.ok("FETCH $ (UID)")) == [2, 5]
    r = c.ok('MOVE $ "rv3 copy"')
    assert c.ok("SEARCH FLAGGED").lines("SEARCH") == ["SEARCH"]
    c.close()


def test_searchres_min_max_all_and_reset(srv):
    c = imap_conn(srv)
    fill(c, "rv4", 5, flagged=(1, 3, 5))
    c.ok("SELECT rv4")
    r = c.cmd("SEARCH RETURN (SAVE MIN) FLAGGED", tag="m1")
    assert r.lines() == ['ESEARCH (TAG "m1") MIN 1'], r
    assert fetched_uids(c.ok("FETCH $ (UID)")) == [1]
    c.ok("SEARCH RETURN (SAVE MIN MAX) FLAGGED")
    assert fetched_uids(c.ok("FETCH $ (UID)")) == [1, 5]
    r = c.cmd("SEARCH RETURN (SAVE ALL) FLAGGED", tag="m2")
    assert r.lines() == ['ESEARCH (TAG "m2") ALL 1,3,5'], r
    assert fetched_uids(c.ok("FETCH $ (UID)")) == [1, 3, 5]
    # a failed SEARCH ... RETURN (SAVE) empties "$"
    assert c.cmd("SEARCH RETURN (SAVE) NOSUCHKEY").status == "BAD"
    assert fetched_uids(c.ok("FETCH $ (UID)")) == []
    # so does leaving the mailbox
    c.ok("SEARCH RETURN (SAVE) FLAGGED")
    c.ok("SELECT rv4")
    assert fetched_uids(c.ok("FETCH $ (UID)")) == []
    c.close()


def test_searchres_pipelined(srv):
    c = imap_conn(srv)
    fill(c, "rv5", 4, flagged=(3,))
    c.ok("SELECT rv5")
    c.send(b"p1 SEARCH RETURN (SAVE) FLAGGED\r\np2 FETCH $ (UID FLAGS)\r\n")
    assert c.wait_tagged("p1").status == "OK"
    r = c.wait_tagged("p2")
    assert r.status == "OK" and fetched_uids(r) == [3], r
    c.close()
