"""IMAP fixes from a code review, each through the real server:

- ENVELOPE of an address header holding thousands of tiny addresses stays
  small (at most MIME_MAX_ADDRESSES structures per list) and keeps the first;
- SEARCH KEYWORD / UNKEYWORD see every keyword of a message, not the first 32;
- SENTBEFORE / SENTON / SENTSINCE read Date: headers in the RFC 5322 forms
  (obsolete ones included) in the header's own zone, the internal date when
  there is no readable Date:;
- FETCH of BODY[HEADER.FIELDS (...)] with a long name list answers with the
  whole item name, or BAD when it is too long: never an empty name."""
import re

import pytest

from imap_fixtures import crlf, fetch_all, imap_conn, module_server, search_numbers, simple_message

MIME_MAX_ADDRESSES = 500        # IMAP_ENVELOPE_MAX_ADDRESSES, src/imap/imap_render.h
IMAP_FETCH_NAME_MAX = 8192      # src/imap/imap_fetch.h, NUL included


@pytest.fixture(scope="module")
def srv(tmp_path_factory, template_data):
    with module_server(tmp_path_factory, template_data) as s:
        yield s


def make_box(c, name, messages, date=None):
    """CREATE name, APPEND the messages (all with internal date `date`), SELECT it."""
    c.ok(f'CREATE "{name}"')
    for m in messages:
        r = c.append(name, m, date=date)
        assert r.status == "OK", r
    return c.ok(f'SELECT "{name}"')


def one(c, cmd):
    f = fetch_all(c.ok(cmd))
    assert len(f) == 1, f
    return next(iter(f.values()))


# ---- ENVELOPE address lists ------------------------------------------------------------------


def folded(addresses, per_line=30):
    """An address list folded into lines of per_line addresses."""
    lines = [", ".join(addresses[i:i + per_line]) for i in range(0, len(addresses), per_line)]
    return ",\n ".join(lines)


BOMB_TAILS = {"tiny": "a", "groups": "g:;", "empty-angle": "<>", "at": "@"}


@pytest.mark.parametrize("kind", BOMB_TAILS)
def test_envelope_address_bomb(srv, kind):
    """~60 KiB of one tiny element repeated: the ENVELOPE lists the first
    addresses and at most MIME_MAX_ADDRESSES structures, well-formed."""
    tail = BOMB_TAILS[kind]
    n = 60 * 1024 // (len(tail) + 2)
    value = folded(["first@x.test", "second@y.test"] + [tail] * n)
    msg = crlf(f"From: sender@remote.test\nTo: {value}\nCc: ,,,,{',' * 1000}\n"
               f"Subject: bomb\nDate: Mon, 02 Mar 2026 10:00:00 +0000\n\nbody\n")
    c = imap_conn(srv)
    make_box(c, f"env-{kind}", [msg])
    for _ in range(2):      # made from the message, then from the index cache
        r = c.ok("FETCH 1 ENVELOPE")
        # each structure ("(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")" at most) under 50
        assert len(r.untagged[0]) < MIME_MAX_ADDRESSES * 50 + 500, len(r.untagged[0])
        env = fetch_all(r)[1]["ENVELOPE"]
        to = env[5]
        assert to[0] == [None, None, b"first", b"x.test"], to[:2]
        assert to[1] == [None, None, b"second", b"y.test"], to[:2]
        assert MIME_MAX_ADDRESSES - 1 <= len(to) <= MIME_MAX_ADDRESSES, len(to)
        # group starts (host NIL, mailbox set) and ends (all NIL) pair up
        depth = 0
        for a in to:
            if a[3] is None and a[2] is not None:
                assert depth == 0, "nested group"
                depth += 1
            elif a[2] is None:
                assert depth == 1, "group end without start"
                depth -= 1
        assert depth == 0, "group left open"
        assert env[6] is None       # Cc of only commas: no address
    # the header itself is untouched
    hdr = one(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (To)]")["BODY[HEADER.FIELDS (TO)]"]
    assert hdr.count(tail.encode()) >= n
    c.close()


# ---- SEARCH KEYWORD ----------------------------------------------------------------------------


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


# ---- SENT* and the Date: header ----------------------------------------------------------------

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


# ---- FETCH item names ------------------------------------------------------------------------


def fetch_raw(c, text):
    r = c.cmd(text)
    return r, [u for u in r.untagged if re.match(rb"\d+ FETCH ", u)]


def test_fetch_long_header_field_list(srv):
    c = imap_conn(srv)
    make_box(c, "names", [simple_message("names")])
    # 200 names of 8 octets: a 1.8 KiB response name, rendered whole
    names = ["Subject"] + [f"X-F{i:05d}" for i in range(199)]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})])")
    assert r.status == "OK", r
    assert len(lines) == 1, r
    want = f"BODY[HEADER.FIELDS ({' '.join(names)})]".encode()
    assert lines[0].startswith(b"1 FETCH (" + want + b" {"), lines[0][:80]
    f = fetch_all(r)[1]
    assert f[want.decode().upper()] == b"Subject: names\r\n\r\n"
    # 300 names of ~8 octets: more names than one list may hold
    names = [f"X-F{i:05d}" for i in range(300)]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})])")
    assert r.status == "BAD" and not lines, r
    # names that would make a response name over IMAP_FETCH_NAME_MAX: BAD, nothing sent
    names = [f"X-{i:03d}-" + "n" * 60 for i in range(150)]
    r, lines = fetch_raw(c, f"FETCH 1 (UID BODY.PEEK[HEADER.FIELDS.NOT ({' '.join(names)})])")
    assert r.status == "BAD" and not lines, r
    assert "too long" in r.text, r
    # quoted names count with their escapes
    names = ['"' + f"{i:040d}" + '\\"' * 4 + '"' for i in range(170)]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})])")
    assert r.status == "BAD" and not lines, r
    names = names[:160]
    r, lines = fetch_raw(c, f"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({' '.join(names)})]<0.5>)")
    assert r.status == "OK" and len(lines) == 1, r
    want = f"BODY[HEADER.FIELDS ({' '.join(names)})]<0>".encode()
    assert lines[0].startswith(b"1 FETCH (" + want + b" "), lines[0][:80]
    assert len(want) < IMAP_FETCH_NAME_MAX
    # the session goes on
    assert one(c, "FETCH 1 UID")["UID"] == "1"
    c.close()
