"""IMAP4rev2 (RFC 9051) beside IMAP4rev1: both in CAPABILITY (with SEARCHRES,
STATUS=SIZE, ESEARCH, LITERAL+), and once ENABLEd (RFC 9051 6.3.1): no RECENT,
LIST in the SELECT answer (6.3.2), no [UNSEEN], ESEARCH answers to SEARCH
(7.3.4), UTF-8 mailbox names (6.3.4). STATUS DELETED is in
test_imap_mailboxes.py, SEARCHRES in test_imap_search.py."""
import pytest

from imap_fixtures import srv, fill, imap_conn, module_server


# ---- CAPABILITY ----------------------------------------------------------------------------------


def test_capabilities(srv):
    c = imap_conn(srv, login=None)
    caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].split()
    for cap in ("IMAP4rev1", "IMAP4rev2", "SEARCHRES", "STATUS=SIZE", "ESEARCH", "LITERAL+"):
        assert cap in caps, caps
    c.close()


# ---- ENABLE IMAP4rev2 ----------------------------------------------------------------------------


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
