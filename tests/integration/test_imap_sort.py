"""SORT and UID SORT (RFC 5256 3), SORT=DISPLAY (RFC 5957), ESORT (RFC 5267
3.2) and SORT RETURN (SAVE) (RFC 5182): every sort key, REVERSE, several keys,
ties by sequence number, search criteria and charsets, the header cache that
answers them (made by APPEND, carried by COPY, filled in slices for mail
delivered straight to the Maildir, incomplete rows for overlong headers), and
the hostile cases: bad criteria, an unknown charset (NO [BADCHARSET]), floods
of SORT commands, a mailbox of 10,000 messages whose first SORT must not
stall other sessions. The comparison with Dovecot on one generated mailbox
is test_sort_matches_dovecot (sort_corpus.py, dovecot_fixture.py)."""
import re
import threading
import time

import pytest

from imap_fixtures import (assert_alive, capability, crlf, imap_conn, imap_server, module_server,
                           write_maildir)
import sort_corpus as dc


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data) as s:
        yield s


def sort_numbers(result, name="SORT"):
    for u in result.untagged:
        if u.upper().startswith(name.encode()):
            rest = u[len(name):].decode()
            rest = re.sub(r"\(MODSEQ \d+\)", "", rest)
            return [int(x) for x in rest.split()]
    raise AssertionError(f"no {name} response: {result}")


def esearch(result):
    for u in result.untagged:
        if u.upper().startswith(b"ESEARCH"):
            return u.decode()
    raise AssertionError(f"no ESEARCH response: {result}")


# (From, To, Cc, Subject, Date:, internal date, body size)
SORT_MSGS = [
    ('"Zed Zulu" <zed@b.example>', "carol@x.example", "mike@y.example", "Re: beta",
     "Mon, 02 Mar 2026 10:00:00 +0000", "05-Mar-2026 10:00:00 +0000", 10),
    ("anna@a.example", '"Bob" <bob@x.example>', None, "alpha",
     "Mon, 02 Mar 2026 09:00:00 +0100", "01-Mar-2026 10:00:00 +0000", 400),
    ("=?UTF-8?Q?=C3=89mile?= <emile@c.example>", "Al <al@x.example>", "beth@y.example",
     "[list] Fwd: Alpha", None, "03-Mar-2026 10:00:00 +0000", 50),
    ("Yvonne <yvonne@a.example>", "undisclosed-recipients:;", "Aaron <zz@y.example>",
     "gamma (fwd)", "not a date", "04-Mar-2026 10:00:00 +0000", 1000),
    ("bob@b.example", "zack@x.example", None, "BETA",
     "Sun, 01 Mar 2026 23:00:00 -0500", "02-Mar-2026 10:00:00 +0000", 200),
]


def sort_message(frm, to, cc, subject, date, size):
    hdr = [f"From: {frm}", f"To: {to}"]
    if cc:
        hdr.append(f"Cc: {cc}")
    hdr.append(f"Subject: {subject}")
    if date:
        hdr.append(f"Date: {date}")
    return crlf("\n".join(hdr) + "\n\n" + "x" * size + "\n")


@pytest.fixture(scope="module")
def sort_box(srv):
    c = imap_conn(srv)
    c.ok("CREATE sortbox")
    for frm, to, cc, subj, date, idate, size in SORT_MSGS:
        assert c.append("sortbox", sort_message(frm, to, cc, subj, date, size),
                        date=idate).status == "OK"
    c.close()
    return "sortbox"


@pytest.fixture
def sorted_conn(srv, sort_box):
    c = imap_conn(srv)
    c.ok(f"SELECT {sort_box}")
    yield c
    c.close()


def test_capability_lists_sort_and_thread(srv):
    c = imap_conn(srv)
    caps = capability(c)
    for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"):
        assert cap in caps, caps
    c.close()


SORTS = [
    # arrival: the internal dates
    ("(ARRIVAL)", [2, 5, 3, 4, 1]),
    ("(REVERSE ARRIVAL)", [1, 4, 3, 5, 2]),
    # first Cc mailbox; no Cc is "" and sorts first, ties by number
    ("(CC)", [2, 5, 3, 1, 4]),
    # sent date in UTC (09:00 +0100 is 08:00Z; 23:00 -0500 on 1 Mar is 04:00Z on 2 Mar);
    # no readable Date: takes the internal date
    ("(DATE)", [5, 2, 1, 3, 4]),
    # first From mailbox (local part), ASCII case-insensitive
    ("(FROM)", [2, 5, 3, 4, 1]),
    # RFC822.SIZE: the header counts too
    ("(SIZE)", [1, 3, 5, 2, 4]),
    # base subject: "alpha" x2, "beta" x2 (ties by number), "gamma"
    ("(SUBJECT)", [2, 3, 1, 5, 4]),
    ("(REVERSE SUBJECT)", [4, 1, 5, 2, 3]),
    # first To mailbox; a group's is its name
    ("(TO)", [3, 2, 1, 4, 5]),
    # RFC 5957: the display name, else the address; "Émile" casemapped sorts as "E\u0301MILE"
    ("(DISPLAYFROM)", [2, 5, 3, 4, 1]),
    ("(DISPLAYTO)", [3, 2, 1, 4, 5]),
    # several keys: subject, then reverse date within it
    ("(SUBJECT REVERSE DATE)", [3, 2, 1, 5, 4]),
    # a second REVERSE undoes the first (Dovecot reads it so)
    ("(REVERSE REVERSE SIZE)", [1, 3, 5, 2, 4]),
]


@pytest.mark.parametrize("criteria,want", SORTS, ids=[s[0] for s in SORTS])
def test_sort_keys(sorted_conn, criteria, want):
    r = sorted_conn.ok(f"SORT {criteria} UTF-8 ALL")
    assert sort_numbers(r) == want, r


def test_uid_sort_and_criteria(sorted_conn):
    c = sorted_conn
    uids = {}
    for seq, items in ((int(m.group(1)), m.group(2)) for u in c.ok("FETCH 1:* UID").untagged
                       if (m := re.match(rb"(\d+) FETCH \(UID (\d+)\)", u))):
        uids[seq] = int(items)
    r = c.ok("UID SORT (SUBJECT) US-ASCII ALL")
    assert sort_numbers(r) == [uids[n] for n in [2, 3, 1, 5, 4]], r
    assert "UID SORT completed" in r.text
    # search keys narrow the set; the order is the sort's
    r = c.ok("SORT (REVERSE SIZE) UTF-8 OR SUBJECT alpha SUBJECT beta")
    assert sort_numbers(r) == [2, 5, 3, 1], r
    r = c.ok("SORT (DATE) UTF-8 FROM example NOT 5")
    assert sort_numbers(r) == [2, 1, 3, 4], r
    r = c.ok("SORT (DATE) UTF-8 SUBJECT nothing-like-this")
    assert sort_numbers(r) == [], r
    r = c.ok(b"SORT (ARRIVAL) UTF-8 FROM {6+}\r\n\xc3\x89MILE")   # casemapped
    assert sort_numbers(r) == [3], r
    r = c.ok("SORT (ARRIVAL) UTF-8 SENTBEFORE 2-Mar-2026")
    assert sort_numbers(r) == [5], r


def test_esort_and_saved_result(sorted_conn):
    c = sorted_conn
    e = esearch(c.ok("SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL"))
    # RFC 5267 3.2: MIN and MAX are the first and last in sort order, ALL in that order
    assert "MIN 2" in e and "MAX 4" in e and "COUNT 5" in e and "ALL 2:3,1,5,4" in e, e
    e = esearch(c.ok("SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL"))
    assert e.endswith("ALL 1,4,3,5,2"), e
    e = esearch(c.ok("SORT RETURN (COUNT) (DATE) UTF-8 NOT ALL"))
    assert e.endswith("COUNT 0"), e
    e = esearch(c.ok("UID SORT RETURN (MIN) (SIZE) UTF-8 ALL"))
    assert re.search(r"\) UID MIN \d+$", e), e
    # SAVE: "$" is the set of matches; with MIN alone, the first in sort order
    r = c.ok("SORT RETURN (SAVE) (SUBJECT) UTF-8 2:4")
    assert not [u for u in r.untagged if u.startswith((b"SORT", b"ESEARCH"))], r
    r = c.ok("SEARCH $")
    assert r.untagged[-1] == b"SEARCH 2 3 4", r
    c.ok("SORT RETURN (SAVE MIN) (SUBJECT) UTF-8 ALL")
    assert c.ok("SEARCH $").untagged[-1] == b"SEARCH 2", r
    assert sort_numbers(c.ok("SORT (REVERSE SIZE) UTF-8 $")) == [2]


def test_sort_with_modseq(srv, sort_box):
    c = imap_conn(srv)
    c.ok("ENABLE CONDSTORE")
    c.ok(f"SELECT {sort_box}")
    r = c.ok("SORT (ARRIVAL) UTF-8 MODSEQ 1")
    assert re.search(rb"^SORT [\d ]+ \(MODSEQ \d+\)$", r.untagged[-1]), r
    c.close()


BAD_SORTS = [
    "SORT", "SORT ALL", "SORT () UTF-8 ALL", "SORT (REVERSE) UTF-8 ALL", "SORT (FOO) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8", "SORT SUBJECT UTF-8 ALL", "SORT (SUBJECT ((DATE))) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 FROM", "SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
    "SORT RETURN (SUBJECT) UTF-8 ALL", "SORT (" + "DATE " * 17 + ") UTF-8 ALL",
    "SORT (DATE) UTF-8 ALL extra(", "THREAD", "THREAD REFERENCES", "THREAD FOO UTF-8 ALL",
    "THREAD REFERENCES UTF-8", "THREAD (REFERENCES) UTF-8 ALL", "UID THREAD REFERENCES UTF-8 BOGUS",
]


@pytest.mark.parametrize("cmd", BAD_SORTS)
def test_bad_sort_and_thread_commands(sorted_conn, cmd):
    r = sorted_conn.cmd(cmd)
    assert r.status == "BAD", r


@pytest.mark.parametrize("cmd", ["SORT (DATE) KOI8-R ALL", "SORT (DATE) ISO-2022-JP SUBJECT x",
                                 "THREAD REFERENCES X-UNKNOWN ALL", "SORT (DATE) \"\" ALL"])
def test_unknown_charset(sorted_conn, cmd):
    r = sorted_conn.cmd(cmd)
    assert r.status == "NO" and r.code == "BADCHARSET (US-ASCII UTF-8)", r


def test_sort_needs_a_selected_mailbox(srv):
    c = imap_conn(srv)
    r = c.cmd("SORT (DATE) UTF-8 ALL")
    assert r.status == "BAD", r
    c.close()


# ---- the header cache ------------------------------------------------------------------------


def test_copy_and_delivered_mail_are_sorted(srv):
    """COPY takes the header cache row along; mail written straight into the
    Maildir (as LMTP or a delivery agent does) gets its rows when a session
    sees it, or from the SORT itself."""
    c = imap_conn(srv)
    c.ok("CREATE copysrc")
    for i, subj in enumerate(["m3", "m1", "m2"]):
        assert c.append("copysrc", sort_message("a@b", "c@d", None, subj, None, 10)).status == "OK"
    c.ok("CREATE copydst")
    c.ok("SELECT copysrc")
    c.ok("COPY 1:3 copydst")
    c.ok("SELECT copydst")
    assert sort_numbers(c.ok("SORT (SUBJECT) UTF-8 ALL")) == [2, 3, 1]
    dirs = srv.maildir_path("alice") / ".copydst"
    write_maildir(dirs, [sort_message("z@b", "c@d", None, f"d{i}", None, 10) for i in (2, 0, 1)],
                  host="deliv")
    r = c.ok("NOOP")
    assert any(u == b"6 EXISTS" for u in r.untagged), r
    assert sort_numbers(c.ok("SORT (SUBJECT) UTF-8 ALL")) == [5, 6, 4, 2, 3, 1]
    assert sort_numbers(c.ok("SORT (SUBJECT) UTF-8 FROM z@b")) == [5, 6, 4]
    c.close()


def test_header_keys_are_answered_from_the_cache(srv):
    """Once a message has its row (APPEND, or the first session to see it
    after delivery), header keys and sent dates never read its file: a file
    rewritten in place (which no client may do, and which no sync notices)
    still answers as it was when the row was made; BODY reads the file."""
    c = imap_conn(srv)
    c.ok("CREATE cachebox")
    old = crlf("From: Old Sender <old@sender.example>\nSubject: original words\n"
               "Date: Tue, 03 Mar 2026 10:00:00 +0000\n\nold body\n")
    new = crlf("From: New Sender <new@sender.example>\nSubject: replaced words\n"
               "Date: Sat, 07 Mar 2026 10:00:00 +0000\n\nnew body\n")
    assert c.append("cachebox", old).status == "OK"
    c.ok("SELECT cachebox")
    box = srv.maildir_path("alice") / ".cachebox"
    write_maildir(box, [old], host="cachedeliv")
    assert any(u == b"2 EXISTS" for u in c.ok("NOOP").untagged)   # its row made now
    for f in (box / "cur").iterdir():
        with open(f, "r+b") as fh:                                   # same name, same directory
            fh.write(new)
            fh.truncate()
    for cmd, want in (("SEARCH FROM old@sender.example", b"SEARCH 1 2"),
                      ("SEARCH FROM new@sender.example", b"SEARCH"),
                      ("SEARCH SUBJECT original", b"SEARCH 1 2"),
                      ("SEARCH HEADER Date \"03 Mar\"", b"SEARCH 1 2"),
                      ("SEARCH SENTON 3-Mar-2026", b"SEARCH 1 2"),
                      ("SEARCH BODY \"new body\"", b"SEARCH 1 2"),
                      ("SEARCH HEADER X-Other x", b"SEARCH")):
        r = c.ok(cmd)
        assert r.untagged[-1] == want, (cmd, r)
    c.close()


def test_overlong_header_falls_back_to_the_file(srv):
    """A header beyond what the cache reads (256 KiB) or a field beyond what it
    keeps (8 KiB) gives an incomplete row: SEARCH reads that message's file and
    still finds what lies beyond."""
    c = imap_conn(srv)
    c.ok("CREATE longhdr")
    big_to = ", ".join(f"user{i}@example.net" for i in range(2000)) + ", needle@far.example"
    filler = "".join(f"X-Filler-{i}: {'y' * 900}\n" for i in range(300))
    msgs = [crlf(f"From: a@b\nTo: {big_to}\nSubject: wide\n\nbody\n"),
            crlf(f"From: a@b\n{filler}Subject: deep needle\n\nbody\n"),
            crlf("From: a@b\nTo: other@x\nSubject: plain\n\nbody\n")]
    for m in msgs:
        assert c.append("longhdr", m).status == "OK"
    c.ok("SELECT longhdr")
    assert c.ok("SEARCH TO needle@far.example").untagged[-1] == b"SEARCH 1"
    assert c.ok("SEARCH SUBJECT needle").untagged[-1] == b"SEARCH 2"
    assert c.ok("SEARCH HEADER X-Filler-299 yyy").untagged[-1] == b"SEARCH 2"
    # SORT has only the cache's rows: message 2's Subject lies beyond what it read
    assert sort_numbers(c.ok("SORT (SUBJECT) UTF-8 ALL")) == [2, 3, 1]
    c.close()


# ---- hostile -----------------------------------------------------------------------------------


def test_sort_flood_pipelined(srv, sort_box):
    """2,000 SORT and THREAD commands in one write: every one answered, in order."""
    c = imap_conn(srv)
    c.ok(f"SELECT {sort_box}")
    cmds = ["SORT (SUBJECT) UTF-8 ALL", "SORT (REVERSE DATE) UTF-8 FROM example",
            "THREAD REFERENCES UTF-8 ALL", "SORT (FOO) UTF-8 ALL", "SORT (DATE) KOI8-R ALL"]
    c.send(b"".join(b"f%d %s\r\n" % (i, cmds[i % len(cmds)].encode()) for i in range(2000)))
    got = c.until(lambda r: r.startswith(b"f1999 "), timeout=120)
    tagged = [r for r in got if re.match(rb"f\d+ ", r)]
    assert [int(re.match(rb"f(\d+)", r).group(1)) for r in tagged] == list(range(2000))
    assert all(r.split()[1] == (b"BAD" if i % 5 == 3 else b"NO" if i % 5 == 4 else b"OK")
               for i, r in enumerate(tagged))
    c.close()
    assert_alive(srv)


def test_ten_thousand_messages(postern):
    """A mailbox of 10,000 messages delivered to the Maildir: the first SORT
    fills the header cache in slices while another session keeps being
    answered; later SORTs, SEARCHes and THREADs come from the cache."""
    s = imap_server(postern)
    n = 10000
    msgs = [crlf(f"From: user{(i * 7919) % 500}@example.com\nTo: bench@example.org\n"
                 f"Subject: {['Re: ', '', 'Fwd: '][i % 3]}topic {(i * 31) % 997}\n"
                 f"Date: Mon, 02 Mar 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\n"
                 f"Message-ID: <{i}@bench>\n"
                 + (f"References: <{i - 1}@bench>\n" if i % 4 else "")
                 + "\nbody\n") for i in range(n)]
    write_maildir(s.maildir_path("alice"), msgs, host="tenk")
    c = imap_conn(s)
    c.ok("SELECT INBOX", timeout=120)
    other = imap_conn(s)
    stop = threading.Event()
    worst = [0.0]

    def poll():
        while not stop.is_set():
            t0 = time.monotonic()
            other.ok("NOOP")
            worst[0] = max(worst[0], time.monotonic() - t0)
            time.sleep(0.02)

    th = threading.Thread(target=poll)
    th.start()
    try:
        r = c.ok("SORT (SUBJECT DATE) UTF-8 ALL", timeout=300)
    finally:
        stop.set()
        th.join()
    order = sort_numbers(r)
    assert sorted(order) == list(range(1, n + 1))
    assert worst[0] < 2.0, f"another session waited {worst[0]:.2f}s during the first SORT"
    t0 = time.monotonic()
    r = c.ok("SORT (REVERSE DATE) UTF-8 ALL", timeout=60)
    assert len(sort_numbers(r)) == n
    r = c.ok("SEARCH FROM user7@example.com", timeout=60)
    assert len(r.untagged[-1].split()) - 1 == 20, r.untagged[-1][:100]
    r = c.ok("THREAD REFERENCES UTF-8 ALL", timeout=60)
    assert r.untagged[-1].startswith(b"THREAD (")
    assert time.monotonic() - t0 < 30
    c.close()
    other.close()


# ---- against Dovecot ---------------------------------------------------------------------------


DOVECOT_SORTS = ["ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM",
                 "DISPLAYTO", "REVERSE DATE", "REVERSE SUBJECT", "SUBJECT DATE", "FROM REVERSE SIZE",
                 "DISPLAYFROM SUBJECT", "TO CC"]


@pytest.fixture(scope="module")
def both(srv, tmp_path_factory):
    """The same generated mailbox in postern and in a private Dovecot."""
    with dc.dovecot_peer(tmp_path_factory.mktemp("dovecot")) as d:
        msgs = dc.corpus()
        ours = imap_conn(srv)
        dc.fill(ours, "corpus", msgs)
        theirs = d.connect()
        dc.fill(theirs, "corpus", msgs)
        yield ours, theirs
        ours.close()
        theirs.close()


@pytest.mark.parametrize("criteria", DOVECOT_SORTS)
def test_sort_matches_dovecot(both, criteria):
    ours, theirs = both
    for cmd in (f"SORT ({criteria}) UTF-8 ALL", f"UID SORT ({criteria}) UTF-8 NOT SUBJECT x"):
        a = sort_numbers(ours.ok(cmd))
        b = sort_numbers(theirs.ok(cmd))
        assert a == b, dc.explain(cmd, a, b)
