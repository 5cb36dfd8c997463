"""THREAD and UID THREAD (RFC 5256 4): ORDEREDSUBJECT and REFERENCES over
the header cache, the THREAD response's nesting (a chain written in a row,
two or more children in parentheses, a missing parent as a dummy with no
number), search criteria narrowing the set, and the hostile cases: bad
arguments, unknown charsets, loops in References, a thread as deep as the
mailbox. Dovecot answers the same THREAD commands on the generated mailbox
of sort_corpus.py; where it differs, test_thread_matches_dovecot says
why."""
import os
import re
import time

import pytest

from imap_fixtures import assert_alive, crlf, imap_conn, module_server
import sort_corpus as dc


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data) as s:
        yield s


def thread_of(result):
    for u in result.untagged:
        if u.upper().startswith(b"THREAD"):
            return u[len(b"THREAD"):].decode().strip()
    raise AssertionError(f"no THREAD response: {result}")


def msg(subject, mid=None, refs=None, irt=None, date="Mon, 02 Mar 2026 10:00:00 +0000"):
    hdr = ["From: a@b.example", f"Subject: {subject}"]
    if date:
        hdr.append(f"Date: {date}")
    if mid:
        hdr.append(f"Message-ID: <{mid}@t>")
    if refs:
        hdr.append("References: " + " ".join(f"<{r}@t>" for r in refs))
    if irt:
        hdr.append(f"In-Reply-To: <{irt}@t>")
    return crlf("\n".join(hdr) + "\n\nbody\n")


def at(minute):
    return f"Mon, 02 Mar 2026 10:{minute:02d}:00 +0000"


# (subject, message id, references, in-reply-to, sent minute)
THREAD_MSGS = [
    ("hello", "a", None, None, 0),                 # 1 root
    ("Re: hello", "b", ["a"], None, 5),            # 2 child of 1
    ("Re: hello", "c", ["a", "b"], None, 10),      # 3 child of 2
    ("Re: hello", "d", ["a"], None, 7),            # 4 second child of 1: siblings by date
    ("other", "e", ["gone"], None, 1),             # 5 and 6: children of a missing message
    ("Re: other", "f", ["gone"], None, 2),
    ("Re: lonely", "g", None, "nowhere", 3),       # 7 an unknown parent, alone: no dummy
    ("Fwd: hello", "h", None, None, 20),           # 8 no references: joins "hello" by subject
    ("loop one", "x", ["y"], None, 30),            # 9 and 10 name each other as parent
    ("loop two", "y", ["x"], None, 31),
    ("dup", "a", None, None, 40),                  # 11 a second "a": gets an id of its own
    ("Re: dup-reply", "i", ["a"], None, 41),       # 12 goes to the first "a" (1)
]


@pytest.fixture(scope="module")
def thread_box(srv):
    c = imap_conn(srv)
    c.ok("CREATE threads")
    for subj, mid, refs, irt, minute in THREAD_MSGS:
        assert c.append("threads", msg(subj, mid, refs, irt, at(minute))).status == "OK"
    c.close()
    return "threads"


@pytest.fixture
def tconn(srv, thread_box):
    c = imap_conn(srv)
    c.ok(f"SELECT {thread_box}")
    yield c
    c.close()


def test_references(tconn):
    r = tconn.ok("THREAD REFERENCES UTF-8 ALL")
    # 1: its replies 2 (then 3) and 4 by date, 12 (to "a"), 8 by subject ("Fwd: hello" is
    # a forward, 1 is not); 5 and 6 under a dummy; 10 took 9 as its child (9's link to 10
    # was made first, 10's to 9 would close a loop)
    assert thread_of(r) == "(1 (2 3)(4)(8)(12))((5)(6))(7)(10 9)(11)", r
    assert "THREAD completed" in r.text


def test_ordered_subject(tconn):
    r = tconn.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
    # by base subject, each thread's first message (by date) the parent of the others
    assert thread_of(r) == "(1 (2)(4)(3)(8))(5 6)(7)(9)(10)(11)(12)", r


def test_uid_thread_and_criteria(tconn):
    c = tconn
    c.ok("STORE 1:* +FLAGS.SILENT (\\Seen)")
    c.ok("STORE 5,6 -FLAGS.SILENT (\\Seen)")
    assert thread_of(c.ok("THREAD REFERENCES US-ASCII UNSEEN")) == "((5)(6))"
    assert thread_of(c.ok("THREAD REFERENCES UTF-8 SUBJECT nothing-like-it")) == ""
    # without 1 and 2, their places are dummies: 3 (under "b", under "a"), 4 and 12
    # meet under "a", which stays as a dummy at the top; 8 joins it by subject
    assert thread_of(c.ok("THREAD REFERENCES UTF-8 3:4,8,12")) == "((4)(3)(8)(12))"
    uids = {}
    for u in c.ok("FETCH 1:* UID").untagged:
        m = re.match(rb"(\d+) FETCH \(UID (\d+)\)", u)
        uids[int(m.group(1))] = int(m.group(2))
    r = c.ok("UID THREAD ORDEREDSUBJECT UTF-8 5:7")
    assert thread_of(r) == f"({uids[5]} {uids[6]})({uids[7]})", r
    assert "UID THREAD completed" in r.text


BAD = ["THREAD", "THREAD REFERENCES", "THREAD FOO UTF-8 ALL", "THREAD REFERENCES UTF-8",
       "THREAD (REFERENCES) UTF-8 ALL", "UID THREAD REFERENCES UTF-8 BOGUS",
       "THREAD REFERENCES UTF-8 ALL (", "THREAD RETURN (ALL) REFERENCES UTF-8 ALL"]


@pytest.mark.parametrize("cmd", BAD)
def test_bad_thread_commands(tconn, cmd):
    assert tconn.cmd(cmd).status == "BAD"


def test_unknown_charset(tconn):
    r = tconn.cmd("THREAD ORDEREDSUBJECT KOI8-R ALL")
    assert r.status == "NO" and r.code == "BADCHARSET (US-ASCII UTF-8)", r


def test_deep_thread(srv):
    """3,000 messages, each answering the one before: one chain, written in a
    row, with no recursion on the way (it would need a deep stack)."""
    n = 3000
    msgs = [msg("Re: deep" if i else "deep", f"deep{i}", [f"deep{i - 1}"] if i else None,
                date=f"Mon, 02 Mar 2026 {i // 60 % 24:02d}:{i % 60:02d}:00 +0000")
            for i in range(n)]
    c = imap_conn(srv)
    c.ok("CREATE deep")
    box = srv.maildir_path("alice") / ".deep"
    now = int(time.time())
    for i, m in enumerate(msgs):     # names in delivery order, so UIDs follow i
        (box / "tmp" / f"{now}.M{i:05d}.deep").write_bytes(m)
        os.rename(box / "tmp" / f"{now}.M{i:05d}.deep", box / "new" / f"{now}.M{i:05d}.deep")
    c.ok("SELECT deep")
    r = c.ok("THREAD REFERENCES UTF-8 ALL", timeout=120)
    want = "(" + " ".join(str(i) for i in range(1, n + 1)) + ")"
    assert thread_of(r) == want
    c.close()
    assert_alive(srv)


# ---- against Dovecot ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def both(srv, tmp_path_factory):
    with dc.dovecot_peer(tmp_path_factory.mktemp("dovecot")) as d:
        msgs = dc.corpus()
        ours = imap_conn(srv)
        dc.fill(ours, "tcorpus", msgs)
        theirs = d.connect()
        dc.fill(theirs, "tcorpus", msgs)
        yield ours, theirs
        ours.close()
        theirs.close()


@pytest.mark.parametrize("cmd", ["THREAD ORDEREDSUBJECT UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL",
                                 "UID THREAD REFERENCES UTF-8 ALL",
                                 "THREAD REFERENCES UTF-8 NOT SUBJECT hello",
                                 "UID THREAD ORDEREDSUBJECT UTF-8 1:100"])
def test_thread_matches_dovecot(both, cmd):
    ours, theirs = both
    a = thread_of(ours.ok(cmd))
    b = thread_of(theirs.ok(cmd))
    assert a == b, f"{cmd}:\npostern {a}\nDovecot {b}"
