"""IMAP CONDSTORE enabling by SELECT (RFC 7162 3.1) and QRESYNC (RFC 7162 3.2):
ENABLE QRESYNC, SELECT/EXAMINE (QRESYNC ...) and (CONDSTORE), VANISHED instead
of EXPUNGE, UID FETCH ... (CHANGEDSINCE n VANISHED), CHANGEDSINCE implying
MODSEQ. STORE UNCHANGEDSINCE is in test_imap_store.py."""
import hashlib
import re

import pytest

from imap_fixtures import srv, imap_conn, module_server, resp_code, simple_message


def fill(c, name, n):
    c.ok(f'CREATE "{name}"')
    for i in range(n):
        assert c.append(name, simple_message(f"q{i + 1}")).status == "OK"


def state(c, name):
    r = c.ok(f"SELECT {name}")
    return int(resp_code(r, "UIDVALIDITY")), int(resp_code(r, "HIGHESTMODSEQ"))


def visited(c, name, n, expunged=(), then=()):
    """A mailbox of n messages as a client saw it (UIDVALIDITY, HIGHESTMODSEQ),
    then changed behind it: UIDs expunged and commands run; the session ends
    unselected with QRESYNC enabled."""
    fill(c, name, n)
    uv, ms = state(c, name)
    for uid in expunged:
        expunge_uid(c, uid)
    for command in then:
        c.ok(command)
    c.ok("UNSELECT")
    c.ok("ENABLE QRESYNC")
    return uv, ms


def expunge_uid(c, uid):
    c.ok(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
    return c.ok(f"UID EXPUNGE {uid}")


# ---- ENABLE QRESYNC ------------------------------------------------------------------------------


def test_capability_and_enable(srv):
    c = imap_conn(srv)
    caps = c.ok("CAPABILITY").lines("CAPABILITY")[0].split()
    assert "QRESYNC" in caps and "CONDSTORE" in caps
    r = c.ok("ENABLE QRESYNC")
    assert r.lines("ENABLED") == ["ENABLED QRESYNC"], r
    r = c.ok("ENABLE QRESYNC")                 # already on: nothing new
    assert r.lines("ENABLED") == ["ENABLED"], r
    c.close()


# ---- SELECT (QRESYNC ...) ------------------------------------------------------------------------


def test_select_qresync_needs_enable(srv):
    c = imap_conn(srv)
    fill(c, "qn1", 1)
    uv, ms = state(c, "qn1")
    r = c.cmd(f"SELECT qn1 (QRESYNC ({uv} {ms}))")
    assert r.status == "BAD", r
    c.close()


@pytest.mark.parametrize("args", ["(QRESYNC)", "(QRESYNC (1))", "(QRESYNC (0 5))", "(QRESYNC (1 0))",
                                  "(QRESYNC (1 5 1:*))", "(QRESYNC (1 5 1:3 (1:2)))",
                                  "(QRESYNC (1 5) QRESYNC (1 5))", "(FOO)", "CONDSTORE",
                                  "(QRESYNC (1 5 1:3 (1:2 5:6) x))"])
def test_select_bad_parameters(srv, args):
    c = imap_conn(srv)
    c.ok("ENABLE QRESYNC")
    r = c.cmd(f"SELECT INBOX {args}")
    assert r.status == "BAD", (args, r)
    c.close()


def test_select_qresync_reports_vanished_and_changed(srv):
    c = imap_conn(srv)
    uv, ms = visited(c, "qr1", 5, expunged=(2, 4), then=["UID STORE 3 +FLAGS.SILENT (\\Flagged)"])
    r = c.ok(f"SELECT qr1 (QRESYNC ({uv} {ms}))")
    assert r.lines("VANISHED") == ["VANISHED (EARLIER) 2,4"], r
    fetches = r.lines("FETCH")
    assert len(fetches) == 1, r
    m = re.match(r"(\d+) FETCH \(UID 3 FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)", fetches[0])
    assert m and m.group(1) == "2" and "\\Flagged" in m.group(2), fetches
    assert int(m.group(3)) > ms
    # nothing changed since the new HIGHESTMODSEQ: nothing to tell
    ms2 = int(resp_code(r, "HIGHESTMODSEQ"))
    r = c.ok(f"EXAMINE qr1 (QRESYNC ({uv} {ms2}))")
    assert r.lines("VANISHED") == [] and r.lines("FETCH") == [], r
    assert any("[CLOSED]" in l for l in r.lines("OK")), r
    c.close()


def test_select_qresync_known_uids_and_seq_match(srv):
    c = imap_conn(srv)
    uv, ms = visited(c, "qr2", 6, expunged=(1, 3, 5))
    r = c.ok(f"SELECT qr2 (QRESYNC ({uv} {ms} 3:6))")
    assert r.lines("VANISHED") == ["VANISHED (EARLIER) 3,5"], r
    r = c.ok(f"SELECT qr2 (QRESYNC ({uv} {ms} 1:6 (1:3 2,4,6)))")
    assert r.lines("VANISHED") == ["VANISHED (EARLIER) 1,3,5"], r
    c.close()


def test_select_qresync_other_uidvalidity_is_a_plain_select(srv):
    c = imap_conn(srv)
    uv, ms = visited(c, "qr3", 3, expunged=(1,))
    r = c.ok(f"SELECT qr3 (QRESYNC ({uv + 1} {ms}))")
    assert r.lines("VANISHED") == [] and r.lines("FETCH") == [], r
    assert resp_code(r, "UIDVALIDITY") == str(uv)
    c.close()


# ---- VANISHED ------------------------------------------------------------------------------------


def test_vanished_replaces_expunge_after_enable(srv):
    a, b = imap_conn(srv), imap_conn(srv)
    fill(a, "qr4", 6)
    a.ok("ENABLE QRESYNC")
    a.ok("SELECT qr4")
    b.ok("SELECT qr4")
    a.ok("STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    r = a.ok("EXPUNGE")
    assert r.lines("VANISHED") == ["VANISHED 2:3"] and r.lines("EXPUNGE") == [], r
    # the session without QRESYNC still gets EXPUNGE, numbers counted one after the other
    r = b.ok("NOOP")
    assert [l for l in r.lines() if l.endswith("EXPUNGE")] == ["2 EXPUNGE", "2 EXPUNGE"], r
    # and the other way round: b expunges, a learns it as VANISHED
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    r = a.ok("NOOP")
    assert r.lines("VANISHED") == ["VANISHED 1"], r
    # MOVE reports its removals the same way
    a.ok('CREATE "qr4 dst"')
    r = a.ok('UID MOVE 4:5 "qr4 dst"')
    assert r.lines("VANISHED") == ["VANISHED 4:5"] and r.lines("EXPUNGE") == [], r
    assert len(a.ok("SEARCH ALL").lines("SEARCH")[0].split()) == 2
    a.close()
    b.close()


# ---- SELECT (CONDSTORE) --------------------------------------------------------------------------


def test_select_condstore_parameter_enables_condstore(srv):
    c = imap_conn(srv)
    fill(c, "qc1", 2)
    r = c.ok("SELECT qc1 (CONDSTORE)")
    assert resp_code(r, "HIGHESTMODSEQ"), r
    r = c.ok("STORE 1 +FLAGS (\\Seen)")
    assert re.search(r"MODSEQ \(\d+\)", r.lines("FETCH")[0]), r
    c.close()


@pytest.mark.parametrize("enabling", ["FETCH 1 (MODSEQ)", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
                                      "SEARCH MODSEQ 1", 'SEARCH MODSEQ "/flags/\\\\seen" all 1',
                                      "STORE 2 (UNCHANGEDSINCE 999999) +FLAGS (\\Draft)",
                                      "STATUS INBOX (HIGHESTMODSEQ)"])
def test_condstore_enabling_commands(srv, enabling):
    """RFC 7162 3.1: any CONDSTORE-enabling command, not only ENABLE and SELECT
    (CONDSTORE), turns CONDSTORE on: the first one with a mailbox selected
    tells its HIGHESTMODSEQ, and flag changes are reported with MODSEQ from
    then on."""
    c = imap_conn(srv)
    name = "qe" + hashlib.sha1(enabling.encode()).hexdigest()[:8]
    fill(c, name, 3)
    c.ok(f"SELECT {name}")
    r = c.ok("STORE 1 +FLAGS (\\Flagged)")
    assert "MODSEQ" not in r.lines("FETCH")[0], r
    r = c.ok(enabling)
    hms = resp_code(r, "HIGHESTMODSEQ")
    assert hms is not None and int(hms) > 0, r
    r = c.ok("STORE 3 +FLAGS (\\Seen)")
    assert re.search(r"^3 FETCH \(.*UID 3.*MODSEQ \(\d+\)", r.lines("FETCH")[0]), r
    # only the first enabling command says it
    r = c.ok("FETCH 1 (MODSEQ)")
    assert resp_code(r, "HIGHESTMODSEQ") is None, r
    c.close()


def test_condstore_enabled_before_select_says_nothing_until_select(srv):
    c = imap_conn(srv)
    fill(c, "qe-auth", 1)
    r = c.ok("STATUS qe-auth (HIGHESTMODSEQ)")
    assert resp_code(r, "HIGHESTMODSEQ") is None, r
    c.ok("SELECT qe-auth")
    r = c.ok("STORE 1 +FLAGS (\\Seen)")
    assert "MODSEQ" in r.lines("FETCH")[0], r
    c.close()


# ---- FETCH (CHANGEDSINCE ... VANISHED) -----------------------------------------------------------


def test_uid_fetch_vanished(srv):
    c = imap_conn(srv)
    fill(c, "qv1", 6)
    uv, ms = state(c, "qv1")
    for uid in (2, 5):
        expunge_uid(c, uid)
    c.ok("UID STORE 3 +FLAGS.SILENT (\\Seen)")
    # VANISHED needs QRESYNC enabled, UID FETCH and CHANGEDSINCE
    assert c.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {ms} VANISHED)").status == "BAD"
    c.ok("UNSELECT")
    c.ok("ENABLE QRESYNC")
    c.ok("SELECT qv1")
    assert c.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {ms} VANISHED)").status == "BAD"
    assert c.cmd("UID FETCH 1:* (FLAGS) (VANISHED)").status == "BAD"
    r = c.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {ms} VANISHED)")
    assert r.lines("VANISHED") == ["VANISHED (EARLIER) 2,5"], r
    fetches = r.lines("FETCH")
    assert len(fetches) == 1 and "UID 3" in fetches[0] and "MODSEQ (" in fetches[0], r
    # only the UIDs of the set asked for
    r = c.ok(f"UID FETCH 3:4 (FLAGS) (CHANGEDSINCE {ms} VANISHED)")
    assert r.lines("VANISHED") == [], r
    r = c.ok(f"UID FETCH 4:* (FLAGS) (CHANGEDSINCE {ms} VANISHED)")
    assert r.lines("VANISHED") == ["VANISHED (EARLIER) 5"], r
    c.close()


def test_changedsince_implies_modseq(srv):
    c = imap_conn(srv)
    fill(c, "qv2", 3)
    uv, ms = state(c, "qv2")
    c.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
    r = c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {ms})")
    fetches = r.lines("FETCH")
    assert len(fetches) == 1 and fetches[0].startswith("2 FETCH"), r
    assert re.search(r"MODSEQ \(\d+\)", fetches[0]), r
    c.close()
