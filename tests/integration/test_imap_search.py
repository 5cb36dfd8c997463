"""IMAP SEARCH and UID SEARCH (RFC 9051 6.4.4, 6.4.9): every search key family,
CHARSET (BADCHARSET), flag searches that see the current flags, KEYWORD /
UNKEYWORD seeing every keyword of a message (not the first 32), SENTBEFORE /
SENTON / SENTSINCE reading Date: headers in the RFC 5322 forms (3.3, obsolete
ones of 4.3 included) in the header's own zone, the internal date when there is
no readable Date:; ESEARCH RETURN options (RFC 4731); SEARCHRES (RFC 5182)
"$" in FETCH, STORE, COPY, MOVE and SEARCH; malformed searches; and the
limits: search strings (a linear matcher), the per-user rate limit on
full-text searches (imap.search_rate_limit_per_min: off by default, header
keys never counted), and a SEARCH flood that must not stall other sessions.

One server for the module, each test in mailboxes of its own; tests that
measure time or count searches get a server of their own."""
import re
import threading
import time

import pytest

from imap_fixtures import (assert_alive, capability, crlf, fill, imap_conn, imap_server, make_box,
                           module_server, one, search_numbers, simple_message, write_maildir)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    # the default configuration: the rate limit (off by default) has its own
    # test (test_search_rate_limit) on a server of its own
    with module_server(tmp_path_factory, template_data) as s:
        yield s


# ---- SEARCH keys ---------------------------------------------------------------------------------


SEARCH_MSGS = [
    # (from, to, subject, body, internal date, Date: header, extra headers, flags)
    ("alice@example.org", "bob@example.org", "alpha report", "the quick brown fox\n",
     "01-Jan-2026 12:00:00 +0000", "Mon, 05 Jan 2026 12:00:00 +0000", [], "\\Seen"),
    ("bob@example.org", "carol@example.org", "beta", "lazy dog\n" + "p" * 5000 + "\n",
     "15-Feb-2026 12:00:00 +0000", "Thu, 19 Feb 2026 12:00:00 +0000", [], "\\Flagged"),
    ("carol@example.org", "dave@example.org", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "unicode Stra\u00dfe\n",
     "10-Mar-2026 12:00:00 +0000", "Sat, 14 Mar 2026 12:00:00 +0000", ["X-Custom: hello world"],
     "$Important"),
    ("dave@example.org", "alice@example.org", "alpha beta", "nothing here\n",
     "20-Mar-2026 12:00:00 +0000", "Tue, 24 Mar 2026 12:00:00 +0000", [], "\\Deleted \\Answered"),
]


@pytest.fixture
def search_box(srv):
    """A mailbox with SEARCH_MSGS at sequence 1..4 and UIDs 2..5 (UID 1 expunged)."""
    c = imap_conn(srv)
    name = f"sr{search_box.n}"
    search_box.n += 1
    c.ok(f"CREATE {name}")
    c.append(name, simple_message("placeholder"))
    for frm, to, subj, body, idate, hdate, extra, flags in SEARCH_MSGS:
        msg = crlf(f"From: <{frm}>\nTo: <{to}>\nSubject: {subj}\nDate: {hdate}\n"
                   + "".join(e + "\n" for e in extra)
                   + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                   + "Content-Transfer-Encoding: 8bit\n\n" + body)
        assert c.append(name, msg, flags=flags, date=idate).status == "OK"
    c.ok(f"SELECT {name}")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("UID EXPUNGE 1")
    yield c
    c.close()


search_box.n = 0


SEARCHES = [
    ("ALL", [1, 2, 3, 4]),
    ("SEEN", [1]), ("UNSEEN", [2, 3, 4]), ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4]),
    ("DELETED", [4]), ("UNDELETED", [1, 2, 3]), ("ANSWERED", [4]), ("UNANSWERED", [1, 2, 3]),
    ("DRAFT", []), ("UNDRAFT", [1, 2, 3, 4]),
    ("KEYWORD $Important", [3]), ("UNKEYWORD $Important", [1, 2, 4]), ("KEYWORD $Nothing", []),
    ("FROM alice", [1]), ("FROM ALICE@EXAMPLE.ORG", [1]), ("TO carol", [2]), ("CC anyone", []),
    ("BCC anyone", []),
    ("SUBJECT alpha", [1, 4]), ('SUBJECT "alpha beta"', [4]), ("SUBJECT ALPHA", [1, 4]),
    ("BODY fox", [1]), ("BODY alpha", []), ("TEXT alpha", [1, 4]), ("TEXT fox", [1]),
    ('HEADER X-Custom "hello world"', [3]), ('HEADER X-Custom ""', [3]), ("HEADER Subject beta", [2, 4]),
    ("LARGER 3000", [2]), ("SMALLER 3000", [1, 3, 4]),
    ("BEFORE 15-Feb-2026", [1]), ("SINCE 15-Feb-2026", [2, 3, 4]), ("ON 10-Mar-2026", [3]),
    ("ON 14-Mar-2026", []),
    ("SENTBEFORE 19-Feb-2026", [1]), ("SENTSINCE 19-Feb-2026", [2, 3, 4]), ("SENTON 14-Mar-2026", [3]),
    ("SENTON 10-Mar-2026", []),
    ("UID 2:3", [1, 2]), ("UID 4:*", [3, 4]), ("UID 1", []), ("2,4", [2, 4]), ("3:*", [3, 4]),
    ("NOT SEEN", [2, 3, 4]), ("OR FLAGGED DELETED", [2, 4]), ("NOT (OR SEEN FLAGGED)", [3, 4]),
    ("(FROM alice SEEN)", [1]), ("FROM alice FLAGGED", []), ("OR (FROM bob) (SUBJECT beta)", [2, 4]),
    ("OR OR SEEN FLAGGED DELETED", [1, 2, 4]), ("NOT NOT SEEN", [1]),
    ("SUBJECT alpha UNDELETED SINCE 01-Jan-2026", [1]),
]


@pytest.mark.parametrize("query,want", SEARCHES, ids=[q for q, _ in SEARCHES])
def test_search_keys(search_box, query, want):
    c = search_box
    assert search_numbers(c.ok(f"SEARCH {query}")) == want, query
    # UID SEARCH: the UIDs of the same messages (UID = seq + 1 here)
    assert search_numbers(c.ok(f"UID SEARCH {query}")) == [n + 1 for n in want], query


ADDRESS_FROMS = [
    "user-from@domain.org",                             # 1
    "RealFrom <user-from@domain.org>",                  # 2
    "<user-from (comment)@ (comment) domain.org>",      # 3: comments inside the address
    "user-from@domain.org (RealFrom)",                  # 4: the name as a comment
    "user-from1@domain.org, user-from2@domain.org",     # 5
    '"Real \\"Quoted\\" From" <user-from@domain.org>',   # 6
    "=?UTF-8?Q?J=C3=BCrgen?= <juergen@domain.org>",      # 7: an encoded-word name
]


def test_search_addresses(srv):
    """FROM / TO / CC / BCC match the header's text and its addresses in the
    form "name <local@domain>" (RFC 3501 6.4.4: a substring of the field):
    comments and white space inside an address do not hide it, names are
    decoded, group names match."""
    c = imap_conn(srv)
    c.ok("CREATE sadr")
    for i, frm in enumerate(ADDRESS_FROMS):
        to = "groupname: g1@domain.org, g2@domain.org;, other: g3@domain.org;" if i == 5 else \
             "<to@domain.org>"
        assert c.append("sadr", crlf(f"From: {frm}\nTo: {to}\nSubject: a{i}\n\nbody\n")).status == "OK"
    c.ok("SELECT sadr")
    for query, want in [("FROM user-from@domain.org", [1, 2, 3, 4, 6]),
                        ("FROM realfrom", [2, 4]), ("FROM ser-fro", [1, 2, 3, 4, 5, 6]),
                        ("FROM user-from1", [5]), ('FROM "Quoted"', [6]),
                        ('FROM "<user-from@domain.org>"', [1, 2, 3, 4, 6]),
                        ("TO groupname", [6]), ("TO g3@domain", [6]), ("TO g4", []),
                        ("CC user-from", []), ("BCC user-from", [])]:
        assert search_numbers(c.ok(f"SEARCH {query}")) == want, query
    word = "J\u00fcrgen".encode()
    c.send(b"u1 SEARCH CHARSET UTF-8 FROM {%d}\r\n" % len(word))
    assert c.read_response().startswith(b"+")
    c.send(word + b"\r\n")
    assert search_numbers(c.wait_tagged("u1")) == [7]
    c.close()


def test_search_charset_utf8(search_box):
    c = search_box
    word = "Stra\u00dfe".encode()
    c.send(b"u1 SEARCH CHARSET UTF-8 BODY {%d}\r\n" % len(word))
    assert c.read_response().startswith(b"+")
    c.send(word + b"\r\n")
    r = c.wait_tagged("u1")
    assert r.status == "OK" and search_numbers(r) == [3], r
    # an encoded-word Subject matches the decoded text
    word = "Gr\u00fc\u00dfe".encode()
    c.send(b"u2 SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s\r\n" % (len(word), word))
    r = c.wait_tagged("u2")
    assert r.status == "OK" and search_numbers(r) == [3], r
    r = c.ok("SEARCH CHARSET US-ASCII SUBJECT beta")
    assert search_numbers(r) == [2, 4]
    r = c.cmd("SEARCH CHARSET KOI8-R SUBJECT beta")
    assert r.status == "NO" and r.code and r.code.startswith("BADCHARSET"), r


def test_search_errors(postern):
    """Malformed SEARCH: BAD, and nothing leaks (own server: the teardown check
    of LeakSanitizer's report belongs to this test)."""
    s = imap_server(postern)
    c = imap_conn(s)
    make_box(c, "se1", [simple_message("x")])
    for bad in ("SEARCH", "SEARCH BOGUS", "SEARCH BEFORE notadate", "SEARCH BEFORE 32-Jan-2026",
                "SEARCH (SEEN", "SEARCH SEEN)", "SEARCH OR SEEN", "SEARCH NOT", "SEARCH LARGER x",
                "SEARCH LARGER -1", "SEARCH UID x", "SEARCH HEADER", "SEARCH 1:x", "SEARCH FROM",
                "SEARCH " + "(" * 100 + "ALL" + ")" * 100, "SEARCH " + "NOT " * 100 + "ALL"):
        r = c.cmd(bad)
        assert r.status == "BAD", (bad[:60], r)
    c.ok("NOOP")
    c.close()


def test_search_recent_new_old(srv):
    """RECENT, NEW (recent and unseen) and OLD (not recent) follow the
    session's \\Recent (RFC 3501 6.4.4): they found nothing / everything
    while \\Recent was never set."""
    c = imap_conn(srv)
    fill(c, "srn", 4)
    c.ok("SELECT srn")                                  # the first SELECT: all four recent
    c.ok("STORE 2 +FLAGS (\\Seen)")
    for query, want in [("RECENT", [1, 2, 3, 4]), ("NEW", [1, 3, 4]), ("OLD", []),
                        ("NOT RECENT", []), ("RECENT SEEN", [2]), ("OR OLD SEEN", [2])]:
        assert search_numbers(c.ok(f"SEARCH {query}")) == want, query
        assert search_numbers(c.ok(f"SEARCH {query} SUBJECT m")) == want, query   # index path
    other = imap_conn(srv)
    other.ok("SELECT srn")                              # nothing left for it
    for query, want in [("RECENT", []), ("NEW", []), ("OLD", [1, 2, 3, 4])]:
        assert search_numbers(other.ok(f"SEARCH {query}")) == want, query
    c.close()
    other.close()


def test_search_sees_new_flags(search_box):
    c = search_box
    c.ok("STORE 3 +FLAGS (\\Seen)")
    assert search_numbers(c.ok("SEARCH SEEN")) == [1, 3]
    assert c.append("INBOX", simple_message("elsewhere")).status == "OK"
    assert search_numbers(c.ok("SEARCH ALL")) == [1, 2, 3, 4]


def test_flag_search_sees_current_flags(srv):
    """Flag-only searches are answered from the session's view when nothing
    changed; a change by this or another session is seen at once."""
    c = imap_conn(srv)
    make_box(c, "f5s", [simple_message(f"m{i}") for i in range(5)], flags={1: "\\Flagged"})
    assert search_numbers(c.ok("SEARCH FLAGGED")) == [2]
    assert search_numbers(c.ok("SEARCH UNFLAGGED NOT 1")) == [3, 4, 5]
    c2 = imap_conn(srv)
    c2.ok("SELECT f5s")
    c2.ok("STORE 4 +FLAGS.SILENT (\\Flagged)")
    assert search_numbers(c.ok("SEARCH FLAGGED")) == [2, 4]          # before any NOOP
    c.ok("STORE 2 -FLAGS.SILENT (\\Flagged)")
    assert search_numbers(c.ok("UID SEARCH FLAGGED")) == [4]
    c.ok("NOOP")
    assert search_numbers(c.ok("SEARCH OR FLAGGED SEEN")) == [4]
    assert search_numbers(c2.ok("SEARCH FLAGGED")) == [4]
    c.close()
    c2.close()


# ---- KEYWORD -------------------------------------------------------------------------------------


def test_search_sees_every_keyword(srv):
    c = imap_conn(srv)
    make_box(c, "kw40", [simple_message("many keywords"), simple_message("none")])
    kws = [f"k{i}" for i in range(1, 41)]
    c.ok("STORE 1 +FLAGS (" + " ".join(kws) + ")")
    flags = one(c, "FETCH 1 FLAGS")["FLAGS"]
    assert set(kws) <= set(flags), flags
    assert search_numbers(c.ok("SEARCH KEYWORD k40")) == [1]
    assert search_numbers(c.ok("SEARCH KEYWORD K33")) == [1]       # ASCII case-insensitive
    assert search_numbers(c.ok("SEARCH KEYWORD k1")) == [1]
    assert search_numbers(c.ok("SEARCH UNKEYWORD k40")) == [2]
    assert search_numbers(c.ok("SEARCH KEYWORD k4")) == [1]
    assert search_numbers(c.ok("SEARCH KEYWORD k41")) == []
    assert search_numbers(c.ok("SEARCH KEYWORD k")) == []
    assert search_numbers(c.ok("UID SEARCH KEYWORD k40 UNKEYWORD k39")) == []
    # a long keyword after many short ones
    long_kw = "L" * 200
    c.ok(f"STORE 2 +FLAGS ({' '.join(kws[:35])} {long_kw})")
    assert search_numbers(c.ok(f"SEARCH KEYWORD {long_kw}")) == [2]
    assert search_numbers(c.ok(f"SEARCH UNKEYWORD {long_kw}")) == [1]
    assert search_numbers(c.ok("SEARCH KEYWORD k35")) == [1, 2]
    c.close()


# ---- SENT* and the Date: header ------------------------------------------------------------------


INTERNAL = "15-Jan-2020 12:00:00 +0000"     # the fallback: 15-Jan-2020


# (Date: header as in the message, the date SENTON must find it on)
SENT_DATES = [
    ("Tue, 1 Jul 2003 10:52:37 +0200", "1-Jul-2003"),
    ("2 Jul 2003 10:52:37 +0200", "2-Jul-2003"),                     # no day of week
    ("Thu, 3 Jul 03 10:52:37 +0200", "3-Jul-2003"),                  # 2-digit year < 50
    ("Fri, 4 Jul 97 10:52:37 +0200", "4-Jul-1997"),                  # 2-digit year >= 50
    ("5 Jul 103 10:52:37 +0200", "5-Jul-2003"),                      # 3-digit year
    ("Sun, 6 Jul 2003 10:52 +0200", "6-Jul-2003"),                   # no seconds
    ("Mon, 7 Jul 2003 10:52:37 GMT", "7-Jul-2003"),
    ("Tue, 8 Jul 2003 23:52:37 EST", "8-Jul-2003"),                  # UTC is the 9th
    ("Wed, 9 Jul 2003 00:10:00 +1400", "9-Jul-2003"),                # UTC is the 8th
    ("Thu, 10 Jul 2003 10:52:37 +0100 (CET)", "10-Jul-2003"),
    ("11 Jul 2003 10:52:37 Z", "11-Jul-2003"),                       # military: -0000
    ("Sat, 12 Jul 2003 10:52:37 PDT", "12-Jul-2003"),
    ("Sun,\n 13 Jul 2003\n 10:52:37 +0200", "13-Jul-2003"),          # folded
    ("(sent) Mon , 14 (x) Jul 2003 10:52:37 -0000", "14-Jul-2003"),  # comments
    ("15 Jul 2003 10:52:37 UT", "15-Jul-2003"),
    ("yesterday at noon", "15-Jan-2020"),                            # garbage: internal date
    ("Wed, 31 Jun 2003 10:52:37 +0200", "15-Jan-2020"),              # no such day
]


@pytest.fixture(scope="module")
def sent_box(srv):
    c = imap_conn(srv)
    msgs = [crlf(f"From: a@remote.test\nSubject: sent {i}\nDate: {d}\n\nbody\n")
            for i, (d, _) in enumerate(SENT_DATES)]
    msgs.append(crlf("From: a@remote.test\nSubject: no date\n\nbody\n"))
    make_box(c, "sent", msgs, date=INTERNAL)
    yield c
    c.close()


@pytest.mark.parametrize("header,day", SENT_DATES, ids=[d for d, _ in SENT_DATES])
def test_senton(sent_box, header, day):
    c = sent_box
    seq = [d for d, _ in SENT_DATES].index(header) + 1
    got = search_numbers(c.ok(f"SEARCH SENTON {day}"))
    if day == "15-Jan-2020":
        assert seq in got and len(SENT_DATES) + 1 in got, got     # with the message without Date:
    else:
        assert got == [seq], (header, got)


def test_sentbefore_sentsince(sent_box):
    c = sent_box
    # 1-Jul-2003 is the first of the July dates; 1997 and the fallback lie outside
    got = search_numbers(c.ok("SEARCH SENTSINCE 1-Jul-2003 SENTBEFORE 16-Jul-2003"))
    assert got == [i + 1 for i, (_, d) in enumerate(SENT_DATES) if d.endswith("Jul-2003")], got
    assert search_numbers(c.ok("SEARCH SENTBEFORE 1-Jan-2000")) == [4]
    got = search_numbers(c.ok("SEARCH SENTSINCE 1-Jan-2020"))
    assert got == [16, 17, 18], got


def test_search_modseq_with_entry_name(srv):
    """RFC 7162 3.1.5: MODSEQ [entry-name entry-type] mod-sequence; entry
    "/flags/\\seen" and type priv, shared or all. We keep one modseq per
    message, so the entry narrows nothing: every message changed at or after
    the given modseq matches (as Dovecot answers too). As imaptest does, the
    modseqs come from the STORE responses after a CONDSTORE-enabling FETCH:
    without them it sent "MODSEQ ... all" with no number (BAD)."""
    c = imap_conn(srv)
    fill(c, "smq", 3)
    c.ok("SELECT smq")
    c.ok("FETCH 1 (MODSEQ)")
    mods = {}
    for n in (1, 3):
        r = c.ok(f"STORE {n} +FLAGS (\\Seen)")
        mods[n] = int(re.search(r"MODSEQ \((\d+)\)", r.lines("FETCH")[0]).group(1))
    for kind in ("all", "priv", "shared"):
        r = c.ok(f'SEARCH MODSEQ "/flags/\\\\seen" {kind} {mods[3]}')
        assert search_numbers(r) == [3], r
        assert r.lines("SEARCH")[0].endswith(f"(MODSEQ {mods[3]})"), r
    r = c.ok(f'SEARCH MODSEQ "/flags/\\\\seen" all {mods[1]}')
    assert search_numbers(r) == [1, 3], r
    r = c.ok(f'SEARCH RETURN (ALL) 2:3 MODSEQ "/flags/\\\\seen" all {mods[1]}')
    assert r.lines("ESEARCH") == [f'ESEARCH (TAG "{r.tag}") ALL 3 MODSEQ {mods[3]}'], r
    # RFC 7162 3.1.5: with only MIN / MAX, the modseq of the messages returned
    r = c.ok(f'SEARCH RETURN (MIN) 1:3 MODSEQ "/flags/\\\\seen" all 1')
    assert r.lines("ESEARCH") == [f'ESEARCH (TAG "{r.tag}") MIN 1 MODSEQ {mods[1]}'], r
    r = c.ok(f'SEARCH RETURN (MIN MAX) 1:3 MODSEQ 1')
    assert r.lines("ESEARCH")[0].endswith(f"MIN 1 MAX 3 MODSEQ {mods[3]}"), r
    for bad in ('SEARCH MODSEQ "/flags/\\\\seen" mine 1', 'SEARCH MODSEQ "/nope" all 1',
                'SEARCH MODSEQ "/flags/\\\\seen" all'):
        assert c.cmd(bad).status == "BAD", bad
    c.close()


# ---- ESEARCH -------------------------------------------------------------------------------------


def test_esearch_capability_announced(srv):
    c = imap_conn(srv)
    assert "ESEARCH" in capability(c)
    c.close()


def test_esearch_return_options(search_box):
    c = search_box
    r = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT alpha")
    es = r.lines("ESEARCH")
    assert len(es) == 1, r
    m = re.match(r'ESEARCH \(TAG "(\w+)"\) (.*)$', es[0])
    assert m and m.group(1) == r.tag, es
    items = m.group(2).split()
    got = dict(zip(items[::2], items[1::2]))
    assert got == {"MIN": "1", "MAX": "4", "COUNT": "2", "ALL": "1,4"}, es
    assert not r.lines("SEARCH ")
    r = c.ok("UID SEARCH RETURN (COUNT) ALL")
    assert re.fullmatch(r'ESEARCH \(TAG "\w+"\) UID COUNT 4', r.lines("ESEARCH")[0]), r
    r = c.ok("SEARCH RETURN () UNSEEN")
    assert r.lines("ESEARCH")[0].endswith(" ALL 2:4"), r
    r = c.ok("SEARCH RETURN (MIN MAX) KEYWORD $Nothing")
    assert re.fullmatch(r'ESEARCH \(TAG "\w+"\)', r.lines("ESEARCH")[0]), r
    r = c.ok("SEARCH RETURN (COUNT) KEYWORD $Nothing")
    assert r.lines("ESEARCH")[0].endswith(" COUNT 0"), r
    r = c.cmd("SEARCH RETURN (BOGUS) ALL")
    assert r.status == "BAD", r


# ---- SEARCHRES -----------------------------------------------------------------------------------


def fetched_uids(r):
    return sorted(int(m.group(1)) for l in r.lines("FETCH") for m in [re.search(r"UID (\d+)", l)] if m)


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


# ---- resource use --------------------------------------------------------------------------------


def test_search_flood_does_not_stall_other_sessions(postern):
    s = imap_server(postern)
    md = s.maildir_path("bob")
    body = ("lorem ipsum dolor sit amet " * 40 + "\n") * 20      # ~20 KB
    write_maildir(md, [simple_message(f"flood {i}", body=body, to="bob@example.org")
                       for i in range(300)], host="flood")
    att = imap_conn(s, login="bob@example.org")
    att.ok("SELECT INBOX", timeout=30)
    victims = [imap_conn(s) for _ in range(10)]     # some share the flooded worker
    for v in victims:
        v.ok("SELECT INBOX")
    n = 20
    att.send(b"".join(b"f%d SEARCH TEXT nomatchanywhere\r\n" % i for i in range(n)))
    worst = [0.0]
    stop = threading.Event()

    def probe(v):
        while not stop.is_set():
            t0 = time.monotonic()
            v.ok("NOOP", timeout=30)
            worst[0] = max(worst[0], time.monotonic() - t0)
            time.sleep(0.05)

    threads = [threading.Thread(target=probe, args=(v,)) for v in victims]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    try:
        att.until(lambda r: r.startswith(b"f%d " % (n - 1)), timeout=120)
    finally:
        flood_s = time.monotonic() - t0
        stop.set()
        for t in threads:
            t.join(40)
    assert worst[0] < 2.0, f"a NOOP took {worst[0]:.2f}s while a {flood_s:.1f}s SEARCH flood ran"
    for v in victims:
        v.close()
    att.close()


def test_header_searches_are_never_limited(postern):
    """With the default configuration a client may search headers as often
    as it likes: imaptest's compliance run (and a client filtering a folder
    by sender) sends dozens of FROM / SUBJECT / SENTON searches a minute,
    which the old default (60, header keys counted) refused."""
    s = imap_server(postern)
    write_maildir(s.maildir_path("alice"), [simple_message(f"h{i}") for i in range(5)], host="hdr")
    c = imap_conn(s)
    c.ok("SELECT INBOX")
    keys = ("FROM sender", "SUBJECT h1", "HEADER X-None x", "SENTON 2-Mar-2026", "BODY hello")
    c.send(b"".join(b"h%d SEARCH %s\r\n" % (i, keys[i % len(keys)].encode()) for i in range(150)))
    got = c.until(lambda r: r.startswith(b"h149 "), timeout=60)
    tagged = [r for r in got if re.match(rb"h\d+ ", r)]
    assert len(tagged) == 150 and all(re.match(rb"h\d+ OK", r) for r in tagged), \
        [r for r in tagged if not re.match(rb"h\d+ OK", r)][:3]
    c.close()


def test_search_rate_limit(postern):
    """imap.search_rate_limit_per_min bounds full-text searches (BODY, TEXT),
    per user over all sessions; header and index-only searches are not
    counted."""
    s = imap_server(postern, config={"imap": {"search_rate_limit_per_min": 30}})
    write_maildir(s.maildir_path("alice"), [simple_message(f"r{i}", body="text " * 200)
                                            for i in range(20)], host="rate")
    c = imap_conn(s)
    c.ok("SELECT INBOX")
    c.send(b"".join(b"r%d SEARCH TEXT nomatch\r\n" % i for i in range(100)))
    got = c.until(lambda r: r.startswith(b"r99 "), timeout=120)
    tagged = [r for r in got if re.match(rb"r\d+ ", r)]
    ok = [r for r in tagged if re.match(rb"r\d+ OK", r)]
    limited = [r for r in tagged if re.match(rb"r\d+ NO \[LIMIT\]", r)]
    assert len(tagged) == 100
    assert 30 <= len(ok) <= 32, f"{len(ok)} of 100 text searches ran with a budget of 30/min"
    assert len(limited) == 100 - len(ok)
    assert c.ok("SEARCH FLAGGED").status == "OK"         # index only: not counted
    assert c.ok("SEARCH FROM nobody SENTON 1-Jan-2026").status == "OK"   # headers: not counted
    other = imap_conn(s)                                # same user: same budget
    other.ok("SELECT INBOX")
    r = other.cmd("SEARCH OR FROM nobody BODY nobody")
    assert r.status == "NO" and "[LIMIT]" in r.text, r
    other.close()
    c.close()
    time.sleep(0.2)
    again = imap_conn(s)                                # logging in again does not reset it
    again.ok("SELECT INBOX")
    results = [again.cmd("SEARCH BODY nomatch").status for _ in range(5)]
    assert results.count("NO") >= 3, results
    again.close()
    assert_alive(s)


def test_long_search_string_against_a_big_message_is_linear(postern):
    """SEARCH BODY "aaa...ab" in a message of 4 MB of "a": a naive matcher
    compares at every offset (about 4e9 steps); ours must answer at once.
    Search strings beyond IMAP_SEARCH_STRING_MAX (1024) are BAD."""
    s = imap_server(postern)
    c = imap_conn(s)
    big = simple_message("aaaa", body=("a" * 998 + "\n") * 4000)
    assert c.append("INBOX", big).status == "OK"
    c.ok("SELECT INBOX")
    needle = "A" * 900 + "b"                            # folded: still no match
    t0 = time.monotonic()
    r = c.ok('SEARCH BODY "%s"' % needle, timeout=30)
    assert search_numbers(r) == [], r
    assert time.monotonic() - t0 < 2.0
    assert search_numbers(c.ok('SEARCH BODY "%s"' % ("A" * 900))) == [1]
    r = c.cmd('SEARCH TEXT "%s"' % ("a" * 1025))
    assert r.status == "BAD" and "too long" in r.text, r
    c.close()
